//! The SQLite checkpoint `Store` (src/checkpoint) under `RustSqliteSaver`, on a
//! real file (in cargo's target tmp dir, so fsync costs what it costs on this disk),
//! with bytes already serialized: the SQLite layer alone, without `serde` or the
//! Python saver. Writes at `synchronous=FULL` (the saver's default) and `NORMAL`.

// A benchmark that cannot set up its input should stop at once: unwrap is the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use _core::checkpoint::{sqlite_api, Key, ListQuery, NewWrite, Options, Store, Synchronous};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// Checkpoints already in the thread the reads use (as in `bench saver`).
const HISTORY: usize = 1000;
/// A 50-message checkpoint is ~20 KB once serialized.
const CHECKPOINT_BYTES: usize = 20 << 10;

/// A directory removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("checkpoint-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self(dir)
    }

    fn db(&self, name: &str) -> String {
        self.0.join(name).to_str().expect("utf-8 path").to_owned()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sortable like LangGraph's uuid6 checkpoint ids: later ids compare greater.
fn checkpoint_id(i: usize) -> String {
    format!("1f0c{i:012x}-0000-6000-8000-000000000000")
}

fn key(thread: &str, i: usize) -> Key {
    Key {
        thread_id: thread.to_owned(),
        checkpoint_ns: String::new(),
        checkpoint_id: checkpoint_id(i),
    }
}

struct Payload {
    checkpoint: Vec<u8>,
    metadata: Vec<u8>,
    write: Vec<u8>,
}

fn payload() -> Payload {
    Payload {
        checkpoint: (0..CHECKPOINT_BYTES)
            .map(|i| (i * 31 % 251) as u8)
            .collect(),
        metadata: br#"{"source": "loop", "step": 12, "parents": {}, "run_id": "run-1"}"#.to_vec(),
        write: vec![0x92; 200],
    }
}

fn writes(p: &Payload) -> [NewWrite<'_>; 2] {
    [
        NewWrite {
            idx: 0,
            channel: "messages",
            type_: "msgpack",
            value: &p.write,
        },
        NewWrite {
            idx: 1,
            channel: "branch:to:tools",
            type_: "msgpack",
            value: &p.write,
        },
    ]
}

/// A store whose thread "history" holds `HISTORY` checkpoints, each with 2 writes
/// (loaded at `synchronous=OFF`, then reopened at `sync`).
fn store(path: &str, sync: Synchronous, p: &Payload) -> Store {
    // No Python here to have loaded SQLite: load the system library.
    sqlite_api::init_from_library(sqlite_api::SYSTEM_LIBRARY)
        .as_ref()
        .expect("load SQLite");
    {
        let load = Options {
            synchronous: Synchronous::Off,
            ..Options::default()
        };
        let mut s = Store::open(path, &load).expect("open");
        for i in 0..HISTORY {
            let parent = i.checked_sub(1).map(checkpoint_id);
            let k = key("history", i);
            s.put(&k, parent.as_deref(), "msgpack", &p.checkpoint, &p.metadata)
                .expect("put");
            s.put_writes(&k, "task", "~0", &writes(p), false)
                .expect("put_writes");
        }
    }
    let options = Options {
        synchronous: sync,
        ..Options::default()
    };
    Store::open(path, &options).expect("reopen")
}

fn write(c: &mut Criterion) {
    let dir = ScratchDir::new();
    let p = payload();
    let mut group = c.benchmark_group("checkpoint/write");
    // Each write is a commit with an fsync at FULL: a few hundred µs to ms per call.
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    for sync in [Synchronous::Full, Synchronous::Normal] {
        let mut s = store(&dir.db(&format!("{}.db", sync.as_sql())), sync, &p);
        let mut i = 0;
        group.bench_function(BenchmarkId::new("put_20KB", sync.as_sql()), |b| {
            b.iter(|| {
                i += 1;
                s.put(
                    &key("writes", i),
                    None,
                    "msgpack",
                    black_box(&p.checkpoint),
                    &p.metadata,
                )
                .expect("put")
            })
        });
        let k = key("writes", 1);
        let mut task = 0;
        group.bench_function(BenchmarkId::new("put_writes_2", sync.as_sql()), |b| {
            b.iter(|| {
                task += 1;
                s.put_writes(
                    &k,
                    &format!("task-{task}"),
                    "~0",
                    black_box(&writes(&p)),
                    false,
                )
                .expect("put_writes")
            })
        });
    }
    group.finish();
}

fn read(c: &mut Criterion) {
    let dir = ScratchDir::new();
    let p = payload();
    let mut s = store(&dir.db("read.db"), Synchronous::Full, &p);
    let mut group = c.benchmark_group("checkpoint/read");
    group.bench_function("get_latest", |b| {
        b.iter(|| {
            s.get(black_box("history"), "", None)
                .expect("get")
                .expect("found")
        })
    });
    let mut i = 0;
    group.bench_function("get_by_id", |b| {
        b.iter(|| {
            i = (i + 7) % HISTORY;
            let id = checkpoint_id(i);
            s.get("history", "", Some(black_box(&id)))
                .expect("get")
                .expect("found")
        })
    });
    // `list(limit=10)` on a 1,000-checkpoint thread: the keys in order, then their rows.
    let query = ListQuery {
        thread_id: Some("history".to_owned()),
        checkpoint_ns: Some(String::new()),
        limit: Some(10),
        ..ListQuery::default()
    };
    group.bench_function("list_limit_10", |b| {
        b.iter(|| {
            let keys = s.list_keys(black_box(&query)).expect("list_keys");
            s.get_many(&keys).expect("get_many")
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = write, read
}
criterion_main!(benches);

use super::*;

fn key(thread: &str, ns: &str, id: &str) -> Key {
    Key {
        thread_id: thread.into(),
        checkpoint_ns: ns.into(),
        checkpoint_id: id.into(),
    }
}

fn memory() -> Store {
    Store::open(":memory:", &Options::default()).unwrap()
}

fn put(store: &mut Store, thread: &str, ns: &str, id: &str, parent: Option<&str>, meta: &str) {
    store
        .put(
            &key(thread, ns, id),
            parent,
            "msgpack",
            id.as_bytes(),
            meta.as_bytes(),
        )
        .unwrap();
}

#[test]
fn put_get_latest_and_by_id() {
    let mut s = memory();
    put(&mut s, "t", "", "1", None, "{}");
    put(&mut s, "t", "", "2", Some("1"), "{}");
    put(&mut s, "t", "ns", "3", None, "{}");
    let latest = s.get("t", "", None).unwrap().unwrap();
    assert_eq!(latest.key.checkpoint_id, "2");
    assert_eq!(latest.parent_checkpoint_id.as_deref(), Some("1"));
    assert_eq!(latest.checkpoint, b"2");
    let first = s.get("t", "", Some("1")).unwrap().unwrap();
    assert_eq!(first.parent_checkpoint_id, None);
    assert!(s.get("t", "", Some("9")).unwrap().is_none());
    assert!(s.get("other", "", None).unwrap().is_none());
    assert_eq!(
        s.get("t", "ns", None).unwrap().unwrap().key.checkpoint_id,
        "3"
    );
}

#[test]
fn writes_are_sorted_and_ignore_or_replace() {
    let mut s = memory();
    put(&mut s, "t", "", "1", None, "{}");
    let k = key("t", "", "1");
    let w = |idx, channel, value: &'static [u8]| NewWrite {
        idx,
        channel,
        type_: "msgpack",
        value,
    };
    s.put_writes(&k, "b", "~1", &[w(0, "x", b"b0"), w(1, "y", b"b1")], false)
        .unwrap();
    s.put_writes(&k, "a", "~2", &[w(0, "x", b"a0")], false)
        .unwrap();
    // First write wins for regular channels.
    s.put_writes(&k, "b", "~1", &[w(0, "x", b"changed")], false)
        .unwrap();
    // Special channels (negative idx) replace.
    s.put_writes(&k, "a", "~2", &[w(-1, "__error__", b"e1")], true)
        .unwrap();
    s.put_writes(&k, "a", "~2", &[w(-1, "__error__", b"e2")], true)
        .unwrap();
    let row = s.get("t", "", None).unwrap().unwrap();
    let got: Vec<_> = row
        .writes
        .iter()
        .map(|w| {
            (
                w.task_id.as_str(),
                w.channel.as_str(),
                w.value.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("b", "x", b"b0".to_vec()),
            ("b", "y", b"b1".to_vec()),
            ("a", "__error__", b"e2".to_vec()),
            ("a", "x", b"a0".to_vec()),
        ]
    );
}

#[test]
fn list_filters_before_limit() {
    let mut s = memory();
    put(
        &mut s,
        "t",
        "",
        "1",
        None,
        r#"{"source":"input","step":-1}"#,
    );
    put(
        &mut s,
        "t",
        "",
        "2",
        Some("1"),
        r#"{"source":"loop","step":0}"#,
    );
    put(
        &mut s,
        "t",
        "sub",
        "3",
        None,
        r#"{"source":"loop","step":1}"#,
    );
    put(
        &mut s,
        "u",
        "",
        "4",
        None,
        r#"{"source":"loop","step":1,"x":null}"#,
    );
    let ids = |s: &mut Store, q: &ListQuery| -> Vec<String> {
        s.list_keys(q)
            .unwrap()
            .into_iter()
            .map(|k| k.checkpoint_id)
            .collect()
    };
    let all = ListQuery::default();
    assert_eq!(ids(&mut s, &all), ["4", "3", "2", "1"]);
    let thread = ListQuery {
        thread_id: Some("t".into()),
        ..Default::default()
    };
    assert_eq!(ids(&mut s, &thread), ["3", "2", "1"]);
    let ns = ListQuery {
        checkpoint_ns: Some("".into()),
        ..thread.clone()
    };
    assert_eq!(ids(&mut s, &ns), ["2", "1"]);
    let filtered = ListQuery {
        filter: vec![("source".into(), FilterValue::Text("loop".into()))],
        ..Default::default()
    };
    assert_eq!(ids(&mut s, &filtered), ["4", "3", "2"]);
    let step = ListQuery {
        filter: vec![("step".into(), FilterValue::Int(1))],
        before: Some("4".into()),
        ..Default::default()
    };
    assert_eq!(ids(&mut s, &step), ["3"]);
    let null = ListQuery {
        filter: vec![("x".into(), FilterValue::Null)],
        limit: Some(2),
        ..Default::default()
    };
    // json_extract of a missing key is NULL too, as upstream.
    assert_eq!(ids(&mut s, &null), ["4", "3"]);
    let keys = s.list_keys(&thread).unwrap();
    let rows = s.get_many(&keys).unwrap();
    assert_eq!(rows.len(), 3);
}

#[test]
fn filter_keys_are_validated() {
    let mut s = memory();
    let bad = ListQuery {
        filter: vec![("x') OR '1'='1".into(), FilterValue::Int(1))],
        ..Default::default()
    };
    assert!(matches!(
        s.list_keys(&bad),
        Err(StoreError::InvalidFilterKey(_))
    ));
    assert!(validate_filter_key("a.b-c_1").is_ok());
    assert!(validate_filter_key("").is_err());
}

#[test]
fn delete_thread_removes_all_namespaces() {
    let mut s = memory();
    put(&mut s, "t", "", "1", None, "{}");
    put(&mut s, "t", "ns", "2", None, "{}");
    put(&mut s, "u", "", "3", None, "{}");
    s.put_writes(
        &key("t", "", "1"),
        "task",
        "",
        &[NewWrite {
            idx: 0,
            channel: "c",
            type_: "msgpack",
            value: b"v",
        }],
        false,
    )
    .unwrap();
    s.delete_thread("t").unwrap();
    assert!(s.get("t", "", None).unwrap().is_none());
    assert!(s.get("t", "ns", None).unwrap().is_none());
    assert!(s.get("u", "", None).unwrap().is_some());
    let n: i64 = s
        .conn
        .query_row("SELECT count(*) FROM writes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn corrupt_rows_are_reported_with_their_key() {
    let mut s = memory();
    s.conn
        .execute(
            "INSERT INTO checkpoints VALUES ('t', '', '1', NULL, 'msgpack', 42, NULL)",
            [],
        )
        .unwrap();
    let err = s.get("t", "", None).unwrap_err().to_string();
    assert!(
        err.contains("corrupt checkpoint") && err.contains("\"1\""),
        "{err}"
    );
}

#[test]
fn file_is_private_and_wal() {
    let dir = std::env::temp_dir().join(format!("flg-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite");
    let _ = std::fs::remove_file(&path);
    let s = Store::open(path.to_str().unwrap(), &Options::default()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let pragmas = s.pragmas().unwrap();
    assert!(pragmas.contains(&("journal_mode", "wal".to_string())));
    assert!(pragmas.contains(&("synchronous", "2".to_string())));
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn options_parse() {
    assert_eq!(Synchronous::parse("normal").unwrap(), Synchronous::Normal);
    assert!(Synchronous::parse("fast").is_err());
    assert_eq!(parse_journal_mode("wal").unwrap(), "WAL");
    assert!(parse_journal_mode("wal; DROP TABLE x").is_err());
}

#[test]
fn copy_prune_and_delete_for_runs() {
    let mut s = memory();
    put(&mut s, "t", "", "1", None, r#"{"run_id":"r1"}"#);
    put(&mut s, "t", "", "2", Some("1"), r#"{"run_id":"r2"}"#);
    put(&mut s, "t", "ns", "3", None, r#"{"run_id":"r2"}"#);
    let w = [NewWrite {
        idx: 0,
        channel: "c",
        type_: "msgpack",
        value: b"v",
    }];
    s.put_writes(&key("t", "", "1"), "task", "", &w, false)
        .unwrap();
    s.put_writes(&key("t", "", "2"), "task", "", &w, false)
        .unwrap();
    s.copy_thread("t", "u").unwrap();
    let all_u = ListQuery {
        thread_id: Some("u".into()),
        ..Default::default()
    };
    assert_eq!(s.list_keys(&all_u).unwrap().len(), 3);
    assert_eq!(s.get("u", "", Some("1")).unwrap().unwrap().writes.len(), 1);
    s.prune(&["u".into()], true).unwrap();
    let ids: Vec<_> = s
        .list_keys(&all_u)
        .unwrap()
        .into_iter()
        .map(|k| k.checkpoint_id)
        .collect();
    assert_eq!(ids, ["3", "2"]);
    assert_eq!(s.get("u", "", None).unwrap().unwrap().writes.len(), 1);
    s.prune(&["u".into()], false).unwrap();
    assert!(s.list_keys(&all_u).unwrap().is_empty());
    s.delete_for_runs(&["r2".into()]).unwrap();
    let left: Vec<_> = s
        .list_keys(&ListQuery::default())
        .unwrap()
        .into_iter()
        .map(|k| k.checkpoint_id)
        .collect();
    assert_eq!(left, ["1"]);
    let n: i64 = s
        .conn
        .query_row("SELECT count(*) FROM writes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn group_commit_keeps_each_job_atomic() {
    let mut s = memory();
    s.conn
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON writes WHEN NEW.channel = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .unwrap();
    put(&mut s, "t", "", "1", None, "{}");
    let job = |task: &'static str, channels: &'static [&'static str]| -> WriteJob {
        Box::new(move |s: &mut Store| {
            let writes: Vec<NewWrite<'_>> = channels
                .iter()
                .enumerate()
                .map(|(i, c)| NewWrite {
                    idx: i as i64,
                    channel: c,
                    type_: "msgpack",
                    value: b"v",
                })
                .collect();
            s.put_writes(&key("t", "", "1"), task, "", &writes, false)
        })
    };
    let results = s.write_group(vec![
        job("a", &["x", "y"]),
        job("b", &["x", "boom"]),
        job("c", &["z"]),
        Box::new(|s: &mut Store| s.put(&key("t", "", "2"), Some("1"), "msgpack", b"2", b"{}")),
    ]);
    assert!(results[0].is_ok() && results[2].is_ok() && results[3].is_ok());
    assert!(results[1].is_err());
    let tasks: Vec<_> = s
        .get("t", "", Some("1"))
        .unwrap()
        .unwrap()
        .writes
        .into_iter()
        .map(|w| (w.task_id, w.channel))
        .collect();
    let expected: Vec<(String, String)> = [("a", "x"), ("a", "y"), ("c", "z")]
        .iter()
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .collect();
    assert_eq!(tasks, expected);
    assert!(s.get("t", "", Some("2")).unwrap().is_some());
    assert!(!s.in_group);
}

#[test]
fn legacy_writes_table_is_migrated_or_read_as_is_when_read_only() {
    let dir = std::env::temp_dir().join(format!("flg-legacy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for journal in ["DELETE", "WAL"] {
        let path = dir.join(format!("legacy-{journal}.sqlite"));
        let _ = std::fs::remove_file(&path);
        let path = path.to_str().unwrap().to_owned();
        // The schema of langgraph-checkpoint-sqlite before `writes.task_path`.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA journal_mode={journal};
             CREATE TABLE checkpoints (thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '',
                 checkpoint_id TEXT NOT NULL, parent_checkpoint_id TEXT, type TEXT, checkpoint BLOB,
                 metadata BLOB, PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id));
             INSERT INTO checkpoints VALUES ('t', '', '1', NULL, 'json', '{{}}', '{{}}');
             CREATE TABLE writes (thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '',
                 checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL, idx INTEGER NOT NULL,
                 channel TEXT NOT NULL, type TEXT, value BLOB,
                 PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx));
             INSERT INTO writes VALUES ('t', '', '1', 'b', 0, 'x', 'json', '1');
             INSERT INTO writes VALUES ('t', '', '1', 'a', 1, 'y', 'json', '2');"
        ))
        .unwrap();
        drop(conn);
        let has_column = |path: &str| {
            Connection::open(path)
                .unwrap()
                .query_row(
                    "SELECT count(*) FROM pragma_table_info('writes') WHERE name = 'task_path'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
                > 0
        };
        let read_only = format!("file:{path}?mode=ro");
        // Read-only: no migration (the file is not written), writes read with task_path ''.
        let mut ro = Store::open(&read_only, &Options::default()).unwrap();
        assert!(!ro.has_task_path);
        let row = ro.get("t", "", None).unwrap().unwrap();
        let tasks: Vec<&str> = row.writes.iter().map(|w| w.task_id.as_str()).collect();
        assert_eq!(tasks, ["a", "b"]);
        assert!(ro.put(&key("t", "", "1"), None, "m", b"x", b"{}").is_err());
        drop(ro);
        assert!(!has_column(&path));
        // Read-write: the column is added, old rows get '', and opening again changes nothing.
        for _ in 0..2 {
            let mut s = Store::open(&path, &Options::default()).unwrap();
            assert!(s.has_task_path);
            let row = s.get("t", "", Some("1")).unwrap().unwrap();
            let tasks: Vec<&str> = row.writes.iter().map(|w| w.task_id.as_str()).collect();
            assert_eq!(tasks, ["a", "b"]);
        }
        assert!(has_column(&path));
        let ro = Store::open(&read_only, &Options::default()).unwrap();
        assert!(ro.has_task_path);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sqlite_is_resolved_at_run_time_once() {
    // cargo test has no Python: `status` loads the system library (see sqlite_api).
    let version = Store::sqlite_version().unwrap();
    assert!(version.starts_with("3."), "{version}");
    // A second init does not replace the first library.
    assert_eq!(
        sqlite_api::init_from_library("no-such-library.so").as_ref(),
        Ok(&version)
    );
}

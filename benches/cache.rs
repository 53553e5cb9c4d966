//! `LruTtlCache` (src/cache): the structure under `@cached`, `RustLLMCache` and
//! `RustNodeCache`, without the Python layer (its mutex, key building, refcounts).

// A benchmark that cannot set up its input should stop at once: unwrap is the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hint::black_box;

use _core::cache::{Lookup, LruTtlCache, Nanos};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// Keys shaped like the Python layer's: a type tag then ~40 bytes of value.
fn keys(n: usize, tag: &str) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("s{tag}:call_llm:prompt-{i:08}:temperature=0.0").into_bytes())
        .collect()
}

const SECOND: Nanos = 1_000_000_000;

/// A full cache of `n` entries, with a one-hour default TTL or none.
fn full(n: usize, ttl: Option<Nanos>) -> (LruTtlCache<u64>, Vec<Vec<u8>>) {
    let ks = keys(n, "live");
    let mut cache = LruTtlCache::new(n, ttl);
    for (i, k) in ks.iter().enumerate() {
        cache.insert(k, i as u64, None, 0);
    }
    (cache, ks)
}

fn get(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache/get");
    for (label, ttl) in [("no_ttl", None), ("ttl", Some(3600 * SECOND))] {
        let (mut cache, ks) = full(10_000, ttl);
        let mut i = 0;
        // A hit moves the entry to the most-recent end; cycling over every key keeps
        // the list order changing as it would under real traffic.
        group.bench_function(BenchmarkId::new("hit", label), |b| {
            b.iter(|| {
                i = (i + 1) % ks.len();
                match cache.get(black_box(&ks[i]), SECOND) {
                    Lookup::Hit(v) => *v,
                    Lookup::Miss(_) => unreachable!("every key is present"),
                }
            })
        });
        let absent = keys(1024, "absent");
        let mut j = 0;
        group.bench_function(BenchmarkId::new("miss", label), |b| {
            b.iter(|| {
                j = (j + 1) % absent.len();
                matches!(cache.get(black_box(&absent[j]), SECOND), Lookup::Miss(None))
            })
        });
    }
    group.finish();
}

fn insert(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache/insert_evicting");
    // Each insert adds a key the cache does not hold (the pool is twice the capacity,
    // cycled), so every insert evicts the least recently used entry. Two sizes show
    // whether the cost depends on the number of entries.
    for n in [1_000, 10_000] {
        for (label, ttl) in [("no_ttl", None), ("ttl", Some(3600 * SECOND))] {
            let (mut cache, _) = full(n, ttl);
            let pool = keys(2 * n, "new");
            let mut i = 0;
            group.bench_function(BenchmarkId::new(label, n), |b| {
                b.iter(|| {
                    i = (i + 1) % pool.len();
                    cache.insert(black_box(&pool[i]), i as u64, None, SECOND)
                })
            });
        }
    }
    group.finish();
}

fn expiry(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache/ttl_expiry");
    // A read finding its entry expired removes it and hands the value back; the
    // entry is then inserted again (expiring at once) for the next round.
    let (mut cache, ks) = full(10_000, Some(3600 * SECOND));
    let mut i = 0;
    group.bench_function("expired_get_then_insert", |b| {
        b.iter(|| {
            i = (i + 1) % ks.len();
            let k = &ks[i];
            cache.insert(k, i as u64, Some(Some(0)), SECOND);
            matches!(cache.get(black_box(k), SECOND), Lookup::Miss(Some(_)))
        })
    });
    // For comparison: the same insert and a read that hits.
    group.bench_function("live_get_then_insert", |b| {
        b.iter(|| {
            i = (i + 1) % ks.len();
            let k = &ks[i];
            cache.insert(k, i as u64, None, SECOND);
            matches!(cache.get(black_box(k), SECOND), Lookup::Hit(_))
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = get, insert, expiry
}
criterion_main!(benches);

//! LRU cache with optional per-entry TTL: O(1) get, insert and eviction.
//!
//! Pure Rust (no Python types): the PyO3 layer in `py::cache` wraps it in a
//! mutex and feeds it byte keys. Values that leave the cache (evicted,
//! expired, replaced, cleared) are handed back to the caller instead of being
//! dropped here, so a Python wrapper can release them after unlocking (a
//! decref may run arbitrary Python code).

use hashlink::LinkedHashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Nanoseconds on a monotonic clock.
pub type Nanos = u64;

/// A time source. Production uses [`MonotonicClock`]; tests use [`ManualClock`].
pub trait Clock: Send + Sync {
    fn now(&self) -> Nanos;
}

/// `Instant`-based: unaffected by wall-clock changes.
pub struct MonotonicClock {
    origin: Instant,
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Nanos {
        self.origin.elapsed().as_nanos() as Nanos
    }
}

/// A clock that only moves when told to.
#[derive(Default)]
pub struct ManualClock {
    now: AtomicU64,
}

impl ManualClock {
    pub fn advance(&self, by: Nanos) {
        self.now.fetch_add(by, Ordering::SeqCst);
    }
    pub fn set(&self, to: Nanos) {
        self.now.store(to, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Nanos {
        self.now.load(Ordering::SeqCst)
    }
}

/// Counters, exact because they change under the same lock as the map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub inserts: u64,
    pub evictions: u64,
    pub expirations: u64,
}

struct Entry<V> {
    value: V,
    expires_at: Option<Nanos>,
}

impl<V> Entry<V> {
    fn expired(&self, now: Nanos) -> bool {
        matches!(self.expires_at, Some(t) if now >= t)
    }
}

/// Result of a lookup.
pub enum Lookup<'a, V> {
    Hit(&'a V),
    /// Absent, or expired (the expired value is returned for the caller to drop).
    Miss(Option<V>),
}

/// Least-recently-used cache keyed by bytes, with an optional default TTL.
pub struct LruTtlCache<V> {
    map: LinkedHashMap<Box<[u8]>, Entry<V>>,
    max_size: usize,
    default_ttl: Option<Nanos>,
    stats: CacheStats,
    /// How many entries have an expiry time.
    expiring: usize,
    /// At most the earliest expiry time of any entry (exact after a purge, lower
    /// after removals). Until `now` reaches it nothing can have expired, so an
    /// insert into a full cache skips the scan for expired entries: O(1), not O(len).
    next_expiry: Nanos,
}

impl<V> LruTtlCache<V> {
    /// `max_size == 0` means unbounded.
    pub fn new(max_size: usize, default_ttl: Option<Nanos>) -> Self {
        Self {
            map: LinkedHashMap::new(),
            max_size,
            default_ttl,
            stats: CacheStats::default(),
            expiring: 0,
            next_expiry: Nanos::MAX,
        }
    }

    /// Book-keeping for an entry that leaves the map.
    fn forget(&mut self, entry: Entry<V>) -> V {
        if entry.expires_at.is_some() {
            self.expiring -= 1;
        }
        entry.value
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn max_size(&self) -> usize {
        self.max_size
    }

    pub fn default_ttl(&self) -> Option<Nanos> {
        self.default_ttl
    }

    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// Look `key` up, counting a hit or a miss; a hit becomes the most recently used.
    pub fn get(&mut self, key: &[u8], now: Nanos) -> Lookup<'_, V> {
        match self.map.get(key) {
            None => {
                self.stats.misses += 1;
                Lookup::Miss(None)
            }
            Some(entry) if entry.expired(now) => {
                self.stats.misses += 1;
                self.stats.expirations += 1;
                let removed = self.map.remove(key);
                Lookup::Miss(removed.map(|entry| self.forget(entry)))
            }
            Some(_) => {
                self.stats.hits += 1;
                self.map.to_back(key);
                match self.map.get(key) {
                    Some(entry) => Lookup::Hit(&entry.value),
                    None => Lookup::Miss(None), // not reached: the key was just found
                }
            }
        }
    }

    /// Like [`get`](Self::get) for a hit; a miss is not counted and changes nothing,
    /// for a caller that will look the key up again on its slow path.
    pub fn get_if_hit(&mut self, key: &[u8], now: Nanos) -> Option<&V> {
        match self.map.get(key) {
            Some(entry) if !entry.expired(now) => {
                self.stats.hits += 1;
                self.map.to_back(key);
                self.map.get(key).map(|e| &e.value)
            }
            _ => None,
        }
    }

    /// Whether `key` holds a live value (no counters, no reordering).
    pub fn contains(&self, key: &[u8], now: Nanos) -> bool {
        matches!(self.map.get(key), Some(e) if !e.expired(now))
    }

    /// Insert or replace. `ttl` overrides the default (`Some(None)` = never expires).
    /// Returns the values that left the cache (the replaced one, evictions).
    pub fn insert(
        &mut self,
        key: &[u8],
        value: V,
        ttl: Option<Option<Nanos>>,
        now: Nanos,
    ) -> Vec<V> {
        let ttl = ttl.unwrap_or(self.default_ttl);
        let entry = Entry {
            value,
            expires_at: ttl.map(|t| now.saturating_add(t)),
        };
        let mut gone = Vec::new();
        if let Some(old) = self.map.remove(key) {
            gone.push(self.forget(old));
        }
        if let Some(t) = entry.expires_at {
            self.expiring += 1;
            self.next_expiry = self.next_expiry.min(t);
        }
        self.map.insert(key.into(), entry);
        self.stats.inserts += 1;
        if self.max_size > 0 && self.map.len() > self.max_size {
            // Expired entries go first, then the least recently used.
            gone.extend(self.purge_expired(now));
            while self.map.len() > self.max_size {
                let Some((_, old)) = self.map.pop_front() else {
                    break;
                };
                self.stats.evictions += 1;
                gone.push(self.forget(old));
            }
        }
        gone
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        let entry = self.map.remove(key)?;
        Some(self.forget(entry))
    }

    /// Remove every key starting with `prefix` (a scan: O(len)); returns their values.
    pub fn remove_prefix(&mut self, prefix: &[u8]) -> Vec<V> {
        let doomed: Vec<Box<[u8]>> = self
            .map
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        doomed.iter().filter_map(|k| self.remove(k)).collect()
    }

    /// Drop every expired entry; returns their values. A scan of every entry, but
    /// only once `now` has reached the earliest expiry time (else nothing to do).
    pub fn purge_expired(&mut self, now: Nanos) -> Vec<V> {
        if self.expiring == 0 || now < self.next_expiry {
            return Vec::new();
        }
        let mut expired: Vec<Box<[u8]>> = Vec::new();
        let mut next = Nanos::MAX;
        for (k, e) in self.map.iter() {
            match e.expires_at {
                Some(t) if now >= t => expired.push(k.clone()),
                Some(t) => next = next.min(t),
                None => {}
            }
        }
        self.next_expiry = next;
        self.stats.expirations += expired.len() as u64;
        expired.iter().filter_map(|k| self.remove(k)).collect()
    }

    /// Empty the cache (counters are kept; see [`reset_stats`](Self::reset_stats)).
    pub fn clear(&mut self) -> Vec<V> {
        self.expiring = 0;
        self.next_expiry = Nanos::MAX;
        self.map.drain().map(|(_, e)| e.value).collect()
    }

    pub fn reset_stats(&mut self) {
        self.stats = CacheStats::default();
    }

    /// Keys from least to most recently used.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.map.keys().map(|k| &**k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit<V: Clone>(c: &mut LruTtlCache<V>, k: &[u8], now: Nanos) -> Option<V> {
        match c.get(k, now) {
            Lookup::Hit(v) => Some(v.clone()),
            Lookup::Miss(_) => None,
        }
    }

    #[test]
    fn evicts_least_recently_used() {
        let mut c = LruTtlCache::new(2, None);
        c.insert(b"a", 1, None, 0);
        c.insert(b"b", 2, None, 0);
        assert_eq!(hit(&mut c, b"a", 0), Some(1)); // a is now most recent
        let gone = c.insert(b"c", 3, None, 0);
        assert_eq!(gone, vec![2]);
        assert_eq!(hit(&mut c, b"b", 0), None);
        assert_eq!(c.keys().collect::<Vec<_>>(), vec![&b"a"[..], &b"c"[..]]);
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.inserts, s.evictions), (1, 1, 3, 1));
    }

    #[test]
    fn ttl_expires_on_read_and_per_entry_override() {
        let mut c = LruTtlCache::new(0, Some(10));
        c.insert(b"a", 1, None, 0);
        c.insert(b"forever", 2, Some(None), 0);
        c.insert(b"short", 3, Some(Some(1)), 0);
        assert_eq!(hit(&mut c, b"a", 9), Some(1));
        assert!(!c.contains(b"short", 1));
        assert_eq!(hit(&mut c, b"a", 10), None);
        assert_eq!(hit(&mut c, b"forever", u64::MAX - 1), Some(2));
        assert_eq!(c.purge_expired(20), vec![3]);
        assert_eq!(c.stats().expirations, 2);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn remove_prefix_only_touches_matching_keys() {
        let mut c = LruTtlCache::new(0, None);
        c.insert(b"ns1:a", 1, None, 0);
        c.insert(b"ns1:b", 2, None, 0);
        c.insert(b"ns2:a", 3, None, 0);
        let mut gone = c.remove_prefix(b"ns1:");
        gone.sort();
        assert_eq!(gone, vec![1, 2]);
        assert_eq!(c.keys().collect::<Vec<_>>(), vec![&b"ns2:a"[..]]);
    }

    #[test]
    fn get_if_hit_counts_only_hits() {
        let mut c = LruTtlCache::new(0, Some(5));
        c.insert(b"a", 1, None, 0);
        assert_eq!(c.get_if_hit(b"a", 1), Some(&1));
        assert_eq!(c.get_if_hit(b"b", 1), None);
        assert_eq!(c.get_if_hit(b"a", 5), None);
        assert_eq!(c.len(), 1); // the expired entry is left for get() to count
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.expirations), (1, 0, 0));
    }

    #[test]
    fn replacing_returns_old_value_and_keeps_size() {
        let mut c = LruTtlCache::new(1, None);
        assert!(c.insert(b"k", 1, None, 0).is_empty());
        assert_eq!(c.insert(b"k", 2, None, 0), vec![1]);
        assert_eq!(c.len(), 1);
        assert_eq!(c.stats().evictions, 0);
    }

    #[test]
    fn full_cache_drops_expired_before_live_entries() {
        let mut c = LruTtlCache::new(2, None);
        c.insert(b"live", 1, None, 0);
        c.insert(b"stale", 2, Some(Some(5)), 0);
        let gone = c.insert(b"new", 3, None, 10);
        assert_eq!(gone, vec![2]);
        assert!(c.contains(b"live", 10) && c.contains(b"new", 10));
    }

    #[test]
    fn expired_entries_found_after_the_earliest_one_left() {
        let mut c = LruTtlCache::new(2, None);
        c.insert(b"a", 1, Some(Some(5)), 0);
        c.insert(b"b", 2, Some(Some(100)), 0);
        assert_eq!(c.remove(b"a"), Some(1)); // the earliest expiry is gone
        c.insert(b"x", 0, None, 10);
        assert_eq!(c.insert(b"c", 3, None, 50), vec![2]); // nothing expired: LRU
        assert_eq!(c.insert(b"d", 4, Some(Some(1)), 50), vec![0]);
        assert_eq!(c.keys().collect::<Vec<_>>(), vec![&b"c"[..], &b"d"[..]]);
        assert_eq!(c.insert(b"e", 5, None, 60), vec![4]); // d expired at 51: it goes first
        assert!(c.purge_expired(u64::MAX).is_empty());
        assert_eq!(c.stats().expirations, 1);
    }

    /// The cache against a plain list (least recently used first) doing every
    /// operation the obvious, O(len) way.
    #[test]
    fn matches_a_naive_model_on_random_operations() {
        type Model = Vec<(u8, u32, Option<Nanos>)>;
        fn model_take_expired(m: &mut Model, now: Nanos) -> Vec<u32> {
            let (gone, kept): (Model, Model) = m
                .drain(..)
                .partition(|e| matches!(e.2, Some(t) if now >= t));
            *m = kept;
            gone.into_iter().map(|e| e.1).collect()
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..200 {
            let max_size = next(6) as usize; // 0: unbounded
            let default_ttl = [None, Some(3), Some(20)][next(3) as usize];
            let mut c = LruTtlCache::new(max_size, default_ttl);
            let mut m: Model = Vec::new();
            let mut now: Nanos = 0;
            for step in 0..300u32 {
                now += next(4);
                let k = next(8) as u8;
                let ctx = format!("round {round} step {step}");
                match next(10) {
                    0..=3 => {
                        let ttl = [None, Some(None), Some(Some(next(10)))][next(3) as usize];
                        let mut gone = Vec::new();
                        if let Some(i) = m.iter().position(|e| e.0 == k) {
                            gone.push(m.remove(i).1);
                        }
                        let t = ttl.unwrap_or(default_ttl).map(|t| now + t);
                        m.push((k, step, t));
                        if max_size > 0 && m.len() > max_size {
                            gone.extend(model_take_expired(&mut m, now));
                            while m.len() > max_size {
                                gone.push(m.remove(0).1);
                            }
                        }
                        assert_eq!(c.insert(&[k], step, ttl, now), gone, "{ctx}");
                    }
                    4..=6 => {
                        let want = match m.iter().position(|e| e.0 == k) {
                            Some(i) if matches!(m[i].2, Some(t) if now >= t) => {
                                Err(Some(m.remove(i).1))
                            }
                            Some(i) => {
                                let e = m.remove(i);
                                m.push(e);
                                Ok(e.1)
                            }
                            None => Err(None),
                        };
                        let got = match c.get(&[k], now) {
                            Lookup::Hit(v) => Ok(*v),
                            Lookup::Miss(v) => Err(v),
                        };
                        assert_eq!(got, want, "{ctx}");
                    }
                    7 => {
                        let want = m.iter().position(|e| e.0 == k).map(|i| m.remove(i).1);
                        assert_eq!(c.remove(&[k]), want, "{ctx}");
                    }
                    8 => {
                        let want = model_take_expired(&mut m, now);
                        assert_eq!(c.purge_expired(now), want, "{ctx}");
                    }
                    _ => {
                        if next(10) == 0 {
                            let want: Vec<u32> = m.drain(..).map(|e| e.1).collect();
                            assert_eq!(c.clear(), want, "{ctx}");
                        }
                    }
                }
                let keys: Vec<u8> = c.keys().map(|k| k[0]).collect();
                assert_eq!(keys, m.iter().map(|e| e.0).collect::<Vec<_>>(), "{ctx}");
            }
        }
    }

    #[test]
    fn clear_and_manual_clock() {
        let clock = ManualClock::default();
        let mut c = LruTtlCache::new(0, Some(100));
        c.insert(b"a", 1, None, clock.now());
        clock.advance(100);
        assert!(!c.contains(b"a", clock.now()));
        assert_eq!(c.clear(), vec![1]);
        assert!(c.is_empty());
        clock.set(5);
        assert_eq!(clock.now(), 5);
    }
}

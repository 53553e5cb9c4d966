//! Encoded messages remembered per message object.
//!
//! A chat agent's checkpoint holds its whole history, and every step writes it again:
//! over a conversation the same, unchanged message objects are encoded O(turns²)
//! times. Here the encoder keeps the bytes it wrote for a verified message (see
//! `message_codec`), from the second time it writes it, together with a *snapshot* of
//! the message's `__dict__` tree in pre-order: each container's kind and length, and
//! each leaf object (keys included), held by a strong reference.
//!
//! An entry is used only when the message is provably unchanged: the same class-name
//! str objects, and a walk of its `__dict__` meets exact dicts and lists where the
//! snapshot has them, of the same lengths, and the very same leaf objects. A canonical
//! message's leaves are exact `str`/`int`/`float`/`bool`/`None`, which are immutable,
//! and since the entry holds a reference to each, no other object can take one of
//! their addresses. Equal walks therefore mean an equal tree, hence the same bytes.
//! Any difference (a reassigned field, a key added to a nested dict, an item replaced
//! in a list, a renamed class) is a miss, and the message is encoded as before.
//!
//! Containers are not held: a snapshot pins only immutable leaves, which the cyclic
//! collector does not track, so the cache adds nothing to its passes. No Python code
//! runs here: pointer comparisons and `PyDict_Next`/`PyList_GetItem` on exact
//! builtins; dropping an entry only releases such leaves. Entries not used between two
//! sweeps are dropped by the second (a sweep runs each time the entries double, from
//! `FIRST_SWEEP`): a dead message's entry goes within a few hundred encodes, with no
//! weak reference or callback on the user's objects. Bounded in entries and bytes.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::message_codec::{self, is_plain_leaf};

/// Messages whose encoding is larger than this are not kept: their cost is copying
/// their strings, which a cached copy would not save.
const MAX_ENTRY_BYTES: usize = 64 << 10;

/// Objects in one snapshot, at most (a message with a huge nested tree is not kept).
const MAX_ENTRY_NODES: usize = 4096;

/// All entries' encoded bytes, at most: past it the cache starts over.
const MAX_TOTAL_BYTES: usize = 64 << 20;

/// Entries before the first sweep of dead ones; later sweeps at twice the survivors.
const FIRST_SWEEP: usize = 256;

/// Nesting deeper than this is never canonical: plain trees start below the
/// `__dict__` and its field values.
const MAX_DEPTH: u32 = message_codec::MAX_PLAIN_DEPTH + 2;

struct Entry {
    /// The sweep epoch of its last use.
    epoch: u64,
    module: Py<PyAny>,
    name: Py<PyAny>,
    /// The `__dict__` tree in pre-order (the dict first, then each key and value; a
    /// container's items after it).
    nodes: Vec<Node>,
    encoded: Arc<[u8]>,
}

enum Node {
    Dict(usize),
    List(usize),
    Leaf(Py<PyAny>),
}

/// Addresses are already well spread except for their low (alignment) bits.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Addresses of messages encoded once and not kept, at most; then forgotten.
const MAX_SEEN: usize = 1 << 16;

#[derive(Default)]
struct Cache {
    entries: HashMap<usize, Entry, BuildHasherDefault<AddressHasher>>,
    /// Messages encoded once: kept only when met again (a message written once, as a
    /// node's new output or a one-off dump, costs no snapshot). An address reused by
    /// another object only makes that one kept at its first encode.
    seen: HashSet<usize, BuildHasherDefault<AddressHasher>>,
    bytes: usize,
    sweep_at: usize,
    /// Sweeps so far.
    epoch: u64,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// Lookups answered from the cache, for the tests.
static HITS: AtomicU64 = AtomicU64::new(0);

#[inline]
fn is_exact(obj: *mut ffi::PyObject, ty: *mut ffi::PyTypeObject) -> bool {
    unsafe { ffi::Py_TYPE(obj) == ty }
}

#[inline]
fn is_dict(obj: *mut ffi::PyObject) -> bool {
    is_exact(obj, &raw mut ffi::PyDict_Type)
}

#[inline]
fn is_list(obj: *mut ffi::PyObject) -> bool {
    is_exact(obj, &raw mut ffi::PyList_Type)
}

/// Record `obj`'s tree into `nodes`; `false` if it is not a plain tree.
fn snapshot(py: Python<'_>, obj: *mut ffi::PyObject, depth: u32, nodes: &mut Vec<Node>) -> bool {
    if nodes.len() >= MAX_ENTRY_NODES || depth > MAX_DEPTH {
        return false;
    }
    if is_plain_leaf(obj) {
        nodes.push(Node::Leaf(
            unsafe { Bound::from_borrowed_ptr(py, obj) }.unbind(),
        ));
        return true;
    }
    if is_dict(obj) {
        nodes.push(Node::Dict(unsafe { ffi::PyDict_Size(obj) } as usize));
        let mut pos: ffi::Py_ssize_t = 0;
        let mut key = std::ptr::null_mut();
        let mut value = std::ptr::null_mut();
        while unsafe { ffi::PyDict_Next(obj, &mut pos, &mut key, &mut value) } != 0 {
            if !is_exact(key, &raw mut ffi::PyUnicode_Type) {
                return false;
            }
            nodes.push(Node::Leaf(
                unsafe { Bound::from_borrowed_ptr(py, key) }.unbind(),
            ));
            if !snapshot(py, value, depth + 1, nodes) {
                return false;
            }
        }
        return true;
    }
    if is_list(obj) {
        let len = unsafe { ffi::PyList_Size(obj) };
        nodes.push(Node::List(len as usize));
        for i in 0..len {
            let item = unsafe { ffi::PyList_GetItem(obj, i) };
            if item.is_null() || !snapshot(py, item, depth + 1, nodes) {
                unsafe { ffi::PyErr_Clear() };
                return false;
            }
        }
        return true;
    }
    false
}

/// Whether `obj`'s tree is the one recorded in `nodes` from `at` on (advancing `at`).
fn unchanged(nodes: &[Node], obj: *mut ffi::PyObject, depth: u32, at: &mut usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let Some(node) = nodes.get(*at) else {
        return false;
    };
    *at += 1;
    match *node {
        Node::Leaf(ref leaf) => leaf.as_ptr() == obj,
        Node::Dict(len) => {
            if !is_dict(obj) || unsafe { ffi::PyDict_Size(obj) } as usize != len {
                return false;
            }
            let mut pos: ffi::Py_ssize_t = 0;
            let mut key = std::ptr::null_mut();
            let mut value = std::ptr::null_mut();
            while unsafe { ffi::PyDict_Next(obj, &mut pos, &mut key, &mut value) } != 0 {
                if !unchanged(nodes, key, depth + 1, at) || !unchanged(nodes, value, depth + 1, at)
                {
                    return false;
                }
            }
            true
        }
        Node::List(len) => {
            if !is_list(obj) || unsafe { ffi::PyList_Size(obj) } as usize != len {
                return false;
            }
            (0..len).all(|i| {
                let item = unsafe { ffi::PyList_GetItem(obj, i as ffi::Py_ssize_t) };
                if item.is_null() {
                    unsafe { ffi::PyErr_Clear() };
                    return false;
                }
                unchanged(nodes, item, depth + 1, at)
            })
        }
    }
}

/// The bytes last encoded for `message` (class `module.name`, fields `fields`), if
/// it is provably unchanged since.
pub fn lookup(
    message: &Bound<'_, PyAny>,
    module: &Bound<'_, PyAny>,
    name: &Bound<'_, PyAny>,
    fields: &Bound<'_, PyDict>,
) -> Option<Arc<[u8]>> {
    let mut guard = CACHE.try_lock().ok()?;
    let cache = guard.as_mut()?;
    let epoch = cache.epoch;
    let entry = cache.entries.get_mut(&(message.as_ptr() as usize))?;
    if !entry.module.is(module) || !entry.name.is(name) {
        return None;
    }
    let mut at = 0;
    let hit = unchanged(&entry.nodes, fields.as_ptr(), 0, &mut at) && at == entry.nodes.len();
    if !hit {
        return None;
    }
    entry.epoch = epoch;
    HITS.fetch_add(1, Ordering::Relaxed);
    Some(entry.encoded.clone())
}

/// Keep `encoded`, the bytes just written for `message`, for [`lookup`], if this is
/// not the first time it is written. Skipped quietly where the message cannot be kept
/// (too large, too deep).
pub fn remember(
    message: &Bound<'_, PyAny>,
    module: &Bound<'_, PyAny>,
    name: &Bound<'_, PyAny>,
    fields: &Bound<'_, PyDict>,
    encoded: &[u8],
) {
    if encoded.len() > MAX_ENTRY_BYTES {
        return;
    }
    let key = message.as_ptr() as usize;
    {
        let Ok(mut guard) = CACHE.try_lock() else {
            return;
        };
        let cache = guard.get_or_insert_with(Cache::default);
        if !cache.entries.contains_key(&key) && !cache.seen.remove(&key) {
            if cache.seen.len() >= MAX_SEEN {
                cache.seen.clear();
            }
            cache.seen.insert(key);
            return;
        }
    }
    let py = message.py();
    let mut nodes = Vec::new();
    if !snapshot(py, fields.as_ptr(), 0, &mut nodes) {
        return;
    }
    let mut entry = Entry {
        epoch: 0,
        module: module.clone().unbind(),
        name: name.clone().unbind(),
        nodes,
        encoded: Arc::from(encoded),
    };
    // Entries are dropped outside the lock (releasing leaves runs no Python code;
    // this keeps it so should an entry ever hold more).
    let mut dropped = Vec::new();
    let mut dropped_all = None;
    if let Ok(mut guard) = CACHE.try_lock() {
        let cache = guard.get_or_insert_with(Cache::default);
        if cache.bytes + encoded.len() > MAX_TOTAL_BYTES {
            dropped_all = Some(std::mem::take(cache));
        }
        if cache.entries.len() >= cache.sweep_at.max(FIRST_SWEEP) {
            sweep(cache, &mut dropped);
        }
        entry.epoch = cache.epoch;
        cache.bytes += encoded.len();
        if let Some(old) = cache.entries.insert(key, entry) {
            cache.bytes -= old.encoded.len();
            dropped.push(old);
        }
    }
    drop(dropped);
    drop(dropped_all);
}

/// Move the entries not used since the last sweep to `dropped`.
fn sweep(cache: &mut Cache, dropped: &mut Vec<Entry>) {
    let epoch = cache.epoch;
    let unused: Vec<usize> = cache
        .entries
        .iter()
        .filter(|(_, e)| e.epoch != epoch)
        .map(|(&key, _)| key)
        .collect();
    for key in unused {
        if let Some(e) = cache.entries.remove(&key) {
            cache.bytes -= e.encoded.len();
            dropped.push(e);
        }
    }
    cache.epoch += 1;
    cache.sweep_at = 2 * cache.entries.len();
}

/// Forget every entry (the codec's configuration changed).
pub fn clear() {
    let old = CACHE
        .lock()
        .map(|mut g| g.take())
        .unwrap_or_else(|e| e.into_inner().take());
    drop(old);
}

/// For the tests: ``(entries kept, lookups answered since the process started)``.
#[pyfunction]
pub fn message_cache_info() -> (usize, u64) {
    let entries = CACHE
        .lock()
        .map(|g| g.as_ref().map_or(0, |c| c.entries.len()))
        .unwrap_or(0);
    (entries, HITS.load(Ordering::Relaxed))
}

/// For the tests and a user who wants the memory back now.
#[pyfunction]
pub fn message_cache_clear() {
    clear();
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(message_cache_info, m)?)?;
    m.add_function(wrap_pyfunction!(message_cache_clear, m)?)?;
    Ok(())
}

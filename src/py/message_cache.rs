//! Encoded messages remembered per message object.
//!
//! A chat agent's checkpoint holds its whole history, and every step writes it again:
//! over a conversation the same, unchanged message objects are encoded O(turns²)
//! times. Here the encoder keeps the bytes it wrote for a verified message (see
//! `message_codec`), from the second time it writes it, together with a *snapshot* of
//! the message's `__dict__`: every object met in a pre-order walk, held strongly, and
//! every container's length.
//!
//! An entry is used only when the message is provably unchanged: the same class-name
//! str objects, and a walk of its `__dict__` now meets the very same objects, in the
//! same order, containers of the same lengths. A canonical message holds only exact
//! `str`/`int`/`float`/`bool`/`None` (immutable) and exact `dict`/`list` (walked);
//! since the entry holds a reference to each, no other object can reuse an address
//! it compares. Equal walks therefore mean an equal tree, hence the same bytes. Any
//! difference (a reassigned field, a key added to a nested dict, an item replaced in
//! a list, a renamed class) is a miss, and the message is encoded as before.
//!
//! No Python code runs here: pointer comparisons, `PyDict_Next`/`PyList_GetItem` on
//! exact builtins, and dropping references to plain builtin trees (no finalizers).
//! Entries die some time after their message: a weak reference (no callback) tells a
//! sweep which ones are dead. Bounded in entries and bytes.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyWeakrefReference};

/// Messages whose encoding is larger than this are not kept: their cost is copying
/// their strings, which a cached copy would not save.
const MAX_ENTRY_BYTES: usize = 64 << 10;

/// Objects in one snapshot, at most (a message with a huge nested tree is not kept).
const MAX_ENTRY_NODES: usize = 4096;

/// All entries' encoded bytes, at most: past it the cache starts over.
const MAX_TOTAL_BYTES: usize = 64 << 20;

/// Entries before the first sweep of dead ones; later sweeps at twice the survivors.
const FIRST_SWEEP: usize = 4096;

/// Nesting deeper than this is never canonical (`message_codec::MAX_PLAIN_DEPTH`).
const MAX_DEPTH: u32 = 66;

struct Entry {
    /// A weak reference to the message: only the sweep reads it.
    message: Py<PyAny>,
    module: Py<PyAny>,
    name: Py<PyAny>,
    /// Every object of the `__dict__` tree, pre-order (the dict itself first, then
    /// each key and value; a container's items after it).
    nodes: Vec<Py<PyAny>>,
    /// The length of each container in `nodes`, in the same order.
    lens: Vec<usize>,
    encoded: Arc<[u8]>,
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

#[inline]
fn is_leaf(obj: *mut ffi::PyObject) -> bool {
    is_exact(obj, &raw mut ffi::PyUnicode_Type)
        || is_exact(obj, &raw mut ffi::PyLong_Type)
        || obj == unsafe { ffi::Py_None() }
        || is_exact(obj, &raw mut ffi::PyFloat_Type)
        || is_exact(obj, &raw mut ffi::PyBool_Type)
}

/// Record `obj`'s tree into `nodes`/`lens`; `false` if it is not a plain tree.
fn snapshot(
    py: Python<'_>,
    obj: *mut ffi::PyObject,
    depth: u32,
    nodes: &mut Vec<Py<PyAny>>,
    lens: &mut Vec<usize>,
) -> bool {
    if nodes.len() >= MAX_ENTRY_NODES || depth > MAX_DEPTH {
        return false;
    }
    nodes.push(unsafe { Bound::from_borrowed_ptr(py, obj) }.unbind());
    if is_leaf(obj) {
        return true;
    }
    if is_dict(obj) {
        lens.push(unsafe { ffi::PyDict_Size(obj) } as usize);
        let mut pos: ffi::Py_ssize_t = 0;
        let mut key = std::ptr::null_mut();
        let mut value = std::ptr::null_mut();
        while unsafe { ffi::PyDict_Next(obj, &mut pos, &mut key, &mut value) } != 0 {
            if !is_exact(key, &raw mut ffi::PyUnicode_Type) {
                return false;
            }
            nodes.push(unsafe { Bound::from_borrowed_ptr(py, key) }.unbind());
            if !snapshot(py, value, depth + 1, nodes, lens) {
                return false;
            }
        }
        return true;
    }
    if is_list(obj) {
        let len = unsafe { ffi::PyList_Size(obj) };
        lens.push(len as usize);
        for i in 0..len {
            let item = unsafe { ffi::PyList_GetItem(obj, i) };
            if item.is_null() || !snapshot(py, item, depth + 1, nodes, lens) {
                unsafe { ffi::PyErr_Clear() };
                return false;
            }
        }
        return true;
    }
    false
}

/// Whether `obj`'s tree is the one `entry` recorded from `at` on (advancing both cursors).
fn unchanged(
    entry: &Entry,
    obj: *mut ffi::PyObject,
    depth: u32,
    at: &mut usize,
    len_at: &mut usize,
) -> bool {
    let Some(node) = entry.nodes.get(*at) else {
        return false;
    };
    if depth > MAX_DEPTH {
        return false;
    }
    if node.as_ptr() != obj {
        return false;
    }
    *at += 1;
    // The same object as recorded, so the same type as recorded.
    if is_dict(obj) {
        let len = unsafe { ffi::PyDict_Size(obj) } as usize;
        if entry.lens.get(*len_at) != Some(&len) {
            return false;
        }
        *len_at += 1;
        let mut pos: ffi::Py_ssize_t = 0;
        let mut key = std::ptr::null_mut();
        let mut value = std::ptr::null_mut();
        while unsafe { ffi::PyDict_Next(obj, &mut pos, &mut key, &mut value) } != 0 {
            if entry.nodes.get(*at).map(Py::as_ptr) != Some(key) {
                return false;
            }
            *at += 1;
            if !unchanged(entry, value, depth + 1, at, len_at) {
                return false;
            }
        }
    } else if is_list(obj) {
        let len = unsafe { ffi::PyList_Size(obj) } as usize;
        if entry.lens.get(*len_at) != Some(&len) {
            return false;
        }
        *len_at += 1;
        for i in 0..len {
            let item = unsafe { ffi::PyList_GetItem(obj, i as ffi::Py_ssize_t) };
            if item.is_null() {
                unsafe { ffi::PyErr_Clear() };
                return false;
            }
            if !unchanged(entry, item, depth + 1, at, len_at) {
                return false;
            }
        }
    }
    true
}

/// The bytes last encoded for `message` (class `module.name`, fields `fields`), if
/// it is provably unchanged since.
pub fn lookup(
    message: &Bound<'_, PyAny>,
    module: &Bound<'_, PyAny>,
    name: &Bound<'_, PyAny>,
    fields: &Bound<'_, PyDict>,
) -> Option<Arc<[u8]>> {
    let guard = CACHE.try_lock().ok()?;
    let entry = guard.as_ref()?.entries.get(&(message.as_ptr() as usize))?;
    if !entry.module.is(module) || !entry.name.is(name) {
        return None;
    }
    let (mut at, mut len_at) = (0, 0);
    let hit = unchanged(entry, fields.as_ptr(), 0, &mut at, &mut len_at)
        && at == entry.nodes.len()
        && len_at == entry.lens.len();
    if !hit {
        return None;
    }
    HITS.fetch_add(1, Ordering::Relaxed);
    Some(entry.encoded.clone())
}

/// Keep `encoded`, the bytes just written for `message`, for [`lookup`], if this is
/// not the first time it is written. Skipped quietly where the message cannot be kept
/// (too large, not weakly referenceable).
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
    let mut lens = Vec::new();
    if !snapshot(py, fields.as_ptr(), 0, &mut nodes, &mut lens) {
        return;
    }
    // Not under the lock: allocating the weak reference may run a collection.
    let Ok(weak) = PyWeakrefReference::new(message) else {
        PyErr::take(py);
        return;
    };
    let entry = Entry {
        message: weak.into_any().unbind(),
        module: module.clone().unbind(),
        name: name.clone().unbind(),
        nodes,
        lens,
        encoded: Arc::from(encoded),
    };
    // Entries leave the cache before they are dropped, outside the lock: a container
    // changed since its snapshot may now hold anything, and dropping the last reference
    // to it may run a finalizer (Python code, which may switch threads).
    let mut dropped = Vec::new();
    let mut dropped_all = None;
    if let Ok(mut guard) = CACHE.try_lock() {
        let cache = guard.get_or_insert_with(Cache::default);
        if cache.bytes + encoded.len() > MAX_TOTAL_BYTES {
            dropped_all = Some(std::mem::take(cache));
        }
        if cache.entries.len() >= cache.sweep_at.max(FIRST_SWEEP) {
            sweep(py, cache, &mut dropped);
        }
        cache.bytes += encoded.len();
        if let Some(old) = cache.entries.insert(key, entry) {
            cache.bytes -= old.encoded.len();
            dropped.push(old);
        }
    }
    drop(dropped);
    drop(dropped_all);
}

/// Move the entries whose message is gone to `dropped`.
fn sweep(py: Python<'_>, cache: &mut Cache, dropped: &mut Vec<Entry>) {
    let dead: Vec<usize> = cache
        .entries
        .iter()
        .filter(|(_, e)| {
            e.message
                .bind(py)
                .cast::<PyWeakrefReference>()
                .map_or(true, |w| w.upgrade().is_none())
        })
        .map(|(&key, _)| key)
        .collect();
    for key in dead {
        if let Some(e) = cache.entries.remove(&key) {
            cache.bytes -= e.encoded.len();
            dropped.push(e);
        }
    }
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

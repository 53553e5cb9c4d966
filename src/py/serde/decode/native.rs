//! The Rust msgpack reader behind `msgpack_unpackb` (Cargo feature `native-decoder`):
//! a [`Builder`] that creates the Python objects `crate::serde::decode::decode`
//! reads, with the cyclic GC paused while only builtin objects are created (see the
//! parent module). It gives ormsgpack's values, hook calls and errors, but ormsgpack
//! builds objects faster, so the default build leaves large inputs to ormsgpack with
//! the GC paused and does not compile this; the benchmarks compare the two.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::{interpreter_symbol, statics, GcPause, GC_PAUSE};
use crate::serde::decode::{decode, Builder, DecodeError};

/// `_PyDict_NewPresized(n)`: a dict with room for `n` items (what ormsgpack uses;
/// filling a `PyDict_New()` dict resizes it as it grows, most of the cost of a
/// small map). Not in the stable ABI, so looked up at run time; `PyDict_New`
/// where an interpreter does not export it.
pub(super) type NewPresized = unsafe extern "C" fn(ffi::Py_ssize_t) -> *mut ffi::PyObject;

pub(super) fn dict_new_presized() -> Option<NewPresized> {
    let symbol = interpreter_symbol(c"_PyDict_NewPresized");
    // SAFETY: `PyObject *_PyDict_NewPresized(Py_ssize_t minused)` in CPython 3.9-3.13.
    (!symbol.is_null())
        .then(|| unsafe { std::mem::transmute::<*mut std::ffi::c_void, NewPresized>(symbol) })
}

const GC_PAUSE_MIN_INPUT: usize = 1024;

/// Map keys of up to this many bytes are interned (as ormsgpack does): checkpoints
/// repeat the same few keys (`content`, `type`, `id`...) thousands of times.
const KEY_CACHE_MAX_LEN: usize = 64;
const KEY_CACHE_SLOTS: usize = 512;

/// One slot: the key's bytes inline (no pointer to chase on a lookup) and its str.
struct KeySlot {
    len: usize,
    bytes: [u8; KEY_CACHE_MAX_LEN],
    key: Py<PyString>,
}

struct KeyCache {
    slots: Vec<Option<KeySlot>>,
}

/// The key cache, touched only by `key_str`: with the GIL held (abi3 builds never
/// run free-threaded) and without running Python code (creating, hashing and
/// freeing a str run none), so no lock is needed and no access can overlap.
struct GilCell(std::cell::UnsafeCell<Option<KeyCache>>);
// SAFETY: see above, every access happens under the GIL and cannot re-enter.
unsafe impl Sync for GilCell {}

static KEY_CACHE: GilCell = GilCell(std::cell::UnsafeCell::new(None));

fn key_slot(bytes: &[u8]) -> usize {
    // FxHash over 8-byte words: keys are short.
    let mut h: u64 = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        h = (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    // Built in a register: a copy through memory stalls on the wide load.
    let mut tail = 0u64;
    for (i, &b) in chunks.remainder().iter().enumerate() {
        tail |= (b as u64) << (8 * i);
    }
    h = (h.rotate_left(5) ^ tail).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    ((h >> 32) as usize) % KEY_CACHE_SLOTS
}

/// Kept small (it is in every `Result` of the recursive reader).
enum BuildError {
    /// The ext hook raised: ormsgpack reports every such error as "ext_hook failed".
    Hook,
    /// A C-API call failed; its exception is still set (fetched at the top: until
    /// then only builtin objects are released, which runs no Python code).
    Py,
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Hook => f.write_str("ext_hook failed"),
            BuildError::Py => f.write_str("internal error"),
        }
    }
}

struct PyBuilder<'a, 'py> {
    py: Python<'py>,
    hook: &'a Bound<'py, PyAny>,
    /// Whether this decode pauses the GC between hook calls.
    pause: bool,
    gc: GcPause,
    /// Everything the hook returned, alive until the pause is over.
    keepalive: Vec<Bound<'py, PyAny>>,
    dict_new_presized: Option<NewPresized>,
}

#[inline]
fn owned<'py>(py: Python<'py>, ptr: *mut ffi::PyObject) -> Result<Bound<'py, PyAny>, BuildError> {
    if ptr.is_null() {
        return Err(BuildError::Py);
    }
    Ok(unsafe { Bound::from_owned_ptr(py, ptr) })
}

impl<'py> Builder for PyBuilder<'_, 'py> {
    type Value = Bound<'py, PyAny>;
    type Map = Bound<'py, PyAny>;
    type Error = BuildError;

    fn nil(&mut self) -> Result<Self::Value, BuildError> {
        Ok(self.py.None().into_bound(self.py))
    }

    fn boolean(&mut self, value: bool) -> Result<Self::Value, BuildError> {
        Ok(pyo3::types::PyBool::new(self.py, value)
            .to_owned()
            .into_any())
    }

    fn int(&mut self, value: i64) -> Result<Self::Value, BuildError> {
        owned(self.py, unsafe { ffi::PyLong_FromLongLong(value) })
    }

    fn uint(&mut self, value: u64) -> Result<Self::Value, BuildError> {
        owned(self.py, unsafe { ffi::PyLong_FromUnsignedLongLong(value) })
    }

    fn float(&mut self, value: f64) -> Result<Self::Value, BuildError> {
        owned(self.py, unsafe { ffi::PyFloat_FromDouble(value) })
    }

    fn str(&mut self, value: &str) -> Result<Self::Value, BuildError> {
        owned(self.py, unsafe {
            ffi::PyUnicode_FromStringAndSize(value.as_ptr().cast(), value.len() as ffi::Py_ssize_t)
        })
    }

    fn key_str(&mut self, value: &str) -> Result<Self::Value, BuildError> {
        let bytes = value.as_bytes();
        if bytes.len() > KEY_CACHE_MAX_LEN {
            return self.str(value);
        }
        let slot = key_slot(bytes);
        // SAFETY: the GIL is held (`self.py`) and nothing below runs Python code.
        let cache = unsafe { &mut *KEY_CACHE.0.get() };
        let cache = cache.get_or_insert_with(|| KeyCache {
            slots: (0..KEY_CACHE_SLOTS).map(|_| None).collect(),
        });
        if let Some(hit) = &cache.slots[slot] {
            if hit.len == bytes.len() && &hit.bytes[..hit.len] == bytes {
                return Ok(hit.key.bind(self.py).clone().into_any());
            }
        }
        let key = self.str(value)?;
        // Hash once now: every dict insert of this key reuses it.
        if unsafe { ffi::PyObject_Hash(key.as_ptr()) } == -1 {
            return Err(BuildError::Py);
        }
        let mut inline = [0u8; KEY_CACHE_MAX_LEN];
        inline[..bytes.len()].copy_from_slice(bytes);
        // The replaced str (if any) is freed here: no Python code runs for a str.
        cache.slots[slot] = Some(KeySlot {
            len: bytes.len(),
            bytes: inline,
            key: unsafe { key.clone().cast_into_unchecked::<PyString>() }.unbind(),
        });
        Ok(key)
    }

    fn bin(&mut self, value: &[u8]) -> Result<Self::Value, BuildError> {
        owned(self.py, unsafe {
            ffi::PyBytes_FromStringAndSize(value.as_ptr().cast(), value.len() as ffi::Py_ssize_t)
        })
    }

    fn array(
        &mut self,
        items: std::vec::Drain<'_, Self::Value>,
    ) -> Result<Self::Value, BuildError> {
        let list = owned(self.py, unsafe {
            ffi::PyList_New(items.len() as ffi::Py_ssize_t)
        })?;
        for (i, item) in items.enumerate() {
            // Steals the reference; the list is complete before anything else runs.
            unsafe { ffi::PyList_SetItem(list.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr()) };
        }
        Ok(list)
    }

    fn tuple(
        &mut self,
        items: std::vec::Drain<'_, Self::Value>,
    ) -> Result<Self::Value, BuildError> {
        let tuple = owned(self.py, unsafe {
            ffi::PyTuple_New(items.len() as ffi::Py_ssize_t)
        })?;
        for (i, item) in items.enumerate() {
            unsafe { ffi::PyTuple_SetItem(tuple.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr()) };
        }
        Ok(tuple)
    }

    fn map(&mut self, capacity: usize) -> Result<Self::Map, BuildError> {
        // `capacity` is bounded by the bytes left in the input (see `Reader::map`).
        match self.dict_new_presized {
            Some(presized) if capacity > 5 => {
                owned(self.py, unsafe { presized(capacity as ffi::Py_ssize_t) })
            }
            _ => owned(self.py, unsafe { ffi::PyDict_New() }),
        }
    }

    fn map_insert(
        &mut self,
        map: &mut Self::Map,
        key: Self::Value,
        value: Self::Value,
    ) -> Result<(), BuildError> {
        // Keys are builtin scalars, str, bytes or tuples of them: hashing and
        // comparing them runs no Python code.
        if unsafe { ffi::PyDict_SetItem(map.as_ptr(), key.as_ptr(), value.as_ptr()) } != 0 {
            return Err(BuildError::Py);
        }
        Ok(())
    }

    fn map_end(&mut self, map: Self::Map) -> Result<Self::Value, BuildError> {
        Ok(map)
    }

    fn ext(&mut self, tag: i8, payload: &[u8]) -> Result<Self::Value, BuildError> {
        let data = PyBytes::new(self.py, payload);
        // Python code runs from here: the collector must be on.
        self.gc.resume();
        let code = owned(self.py, unsafe { ffi::PyLong_FromLongLong(tag as i64) })?;
        // As ormsgpack calls it: no argument tuple (a tuple would be one more
        // GC-tracked allocation per ext value).
        let result = unsafe {
            Bound::from_owned_ptr_or_err(
                self.py,
                ffi::PyObject_CallFunctionObjArgs(
                    self.hook.as_ptr(),
                    code.as_ptr(),
                    data.as_ptr(),
                    std::ptr::null_mut::<ffi::PyObject>(),
                ),
            )
        };
        drop(code);
        drop(data);
        match result {
            Ok(value) => {
                self.keepalive.push(value.clone());
                if self.pause {
                    self.gc.pause();
                }
                Ok(value)
            }
            Err(err) => {
                drop(err);
                Err(BuildError::Hook)
            }
        }
    }
}

/// Decode `input` exactly as `ormsgpack.unpackb(input, ext_hook=hook, option=OPT_NON_STR_KEYS)`.
pub(super) fn decode_with_hook<'py>(
    py: Python<'py>,
    input: &[u8],
    hook: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let st = statics(py)?;
    let mut builder = PyBuilder {
        py,
        hook,
        pause: false,
        gc: GcPause {
            api: st.gc_api,
            paused: false,
        },
        keepalive: Vec::new(),
        dict_new_presized: st.dict_new_presized,
    };
    let mut stack: Vec<Bound<'py, PyAny>> = Vec::new();
    // A small input creates too few objects for a collection to matter.
    let pause = GC_PAUSE.load(Ordering::Relaxed) && input.len() >= GC_PAUSE_MIN_INPUT;
    builder.pause = pause;
    if pause {
        builder.gc.pause();
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| decode(input, &mut builder, &mut stack)));
    // Take a pending C-API error before anything can run Python code.
    let c_api_error =
        matches!(outcome, Ok(Err(DecodeError::Build(BuildError::Py)))).then(|| PyErr::fetch(py));
    // Resume before anything that may run Python code (finalizers) is released.
    builder.gc.resume();
    drop(stack);
    let result = match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(DecodeError::Build(BuildError::Py))) => Err(c_api_error.unwrap_or_else(|| {
            PyValueError::new_err("internal error in fast_langgraph's msgpack decoder")
        })),
        Ok(Err(DecodeError::Build(BuildError::Hook))) => {
            Err(PyValueError::new_err("ext_hook failed"))
        }
        Ok(Err(err)) => Err(PyValueError::new_err(err.to_string())),
        Err(_) => Err(PyValueError::new_err(
            "internal error in fast_langgraph's msgpack decoder",
        )),
    };
    drop(builder);
    result
}

/// Whether large inputs that are not ext-heavy are decoded by the Rust decoder
/// (`true`) or by ormsgpack with the GC paused (`false`, the default: ormsgpack
/// builds objects faster; the pause is where the time goes).
pub(super) static NATIVE_DECODER: AtomicBool = AtomicBool::new(false);

/// Choose the decoder for large inputs (see `NATIVE_DECODER`); returns the previous setting.
#[pyfunction]
pub fn msgpack_decode_native(enabled: bool) -> bool {
    NATIVE_DECODER.swap(enabled, Ordering::Relaxed)
}

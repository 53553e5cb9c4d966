//! `fast_langgraph._core.msgpack_unpackb`: a drop-in for
//! `ormsgpack.unpackb(data, ext_hook=hook, option=ormsgpack.OPT_NON_STR_KEYS)`
//! (LangGraph's only decode call) that builds the Python objects straight from
//! `crate::serde::decode`. Inputs under `NATIVE_MIN_INPUT` bytes (most ext payloads)
//! and every other kind of call are passed to ormsgpack's own C function unchanged.
//!
//! Ext values go to the caller's hook as bytes, exactly as ormsgpack hands them
//! over (the `serde` patch calls this from `JsonPlusSerializer.loads_typed` with
//! LangGraph's own hook, which unpacks its payloads with ormsgpack as before), so
//! the allow/deny decision, the events, the warnings and the construction all stay
//! LangGraph's own code, run in the same order as unpatched.
//!
//! Cyclic GC: while only builtin objects are being created (no Python code can
//! run, on any thread: the GIL is held and no bytecode executes), the collector
//! is paused; it is resumed before every call into Python (the ext hook) and at
//! the end, so nobody can ever observe the pause. Objects returned by the hook are
//! kept alive until the end of the decode, so no finalizer runs during a pause
//! (a duplicate map key replacing such a value frees it only after the decode).

use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyInt, PyString};

use crate::serde::decode::{decode, scan_prefix, Builder, DecodeError};

/// `PyGC_Enable` / `PyGC_Disable`: stable ABI from Python 3.10, absent from 3.9's
/// libpython. Looked up at run time: a link-time reference would make the whole
/// module fail to import on 3.9 (extensions are loaded with RTLD_NOW).
#[derive(Clone, Copy)]
struct GcApi {
    enable: unsafe extern "C" fn() -> c_int,
    disable: unsafe extern "C" fn() -> c_int,
}

/// A symbol of the running interpreter; null where absent (and on Windows, which has no
/// `dlsym`: the fallbacks run there).
fn interpreter_symbol(name: &std::ffi::CStr) -> *mut std::ffi::c_void {
    #[cfg(unix)]
    return unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    #[cfg(not(unix))]
    return {
        let _ = name;
        std::ptr::null_mut()
    };
}

fn gc_api() -> Option<GcApi> {
    let enable = interpreter_symbol(c"PyGC_Enable");
    let disable = interpreter_symbol(c"PyGC_Disable");
    if enable.is_null() || disable.is_null() {
        return None;
    }
    // SAFETY: both are `int (void)` in CPython >= 3.10.
    Some(unsafe {
        GcApi {
            enable: std::mem::transmute::<*mut std::ffi::c_void, unsafe extern "C" fn() -> c_int>(
                enable,
            ),
            disable: std::mem::transmute::<*mut std::ffi::c_void, unsafe extern "C" fn() -> c_int>(
                disable,
            ),
        }
    })
}

/// `_PyDict_NewPresized(n)`: a dict with room for `n` items (what ormsgpack uses;
/// filling a `PyDict_New()` dict resizes it as it grows, most of the cost of a
/// small map). Not in the stable ABI, so looked up at run time; `PyDict_New`
/// where an interpreter does not export it.
type NewPresized = unsafe extern "C" fn(ffi::Py_ssize_t) -> *mut ffi::PyObject;

fn dict_new_presized() -> Option<NewPresized> {
    let symbol = interpreter_symbol(c"_PyDict_NewPresized");
    // SAFETY: `PyObject *_PyDict_NewPresized(Py_ssize_t minused)` in CPython 3.9-3.13.
    (!symbol.is_null())
        .then(|| unsafe { std::mem::transmute::<*mut std::ffi::c_void, NewPresized>(symbol) })
}

struct Statics {
    ormsgpack_unpackb: Py<PyAny>,
    /// ormsgpack's own METH_FASTCALL | METH_KEYWORDS C function and its `self`, to
    /// forward a call unchanged (what CPython itself would call); `None` if it is
    /// not such a builtin.
    ormsgpack_fastcall: Option<(FastCallWithKeywords, usize)>,
    opt_non_str_keys: i64,
    gc_api: Option<GcApi>,
    dict_new_presized: Option<NewPresized>,
}

static STATICS: PyOnceLock<Statics> = PyOnceLock::new();

fn statics(py: Python<'_>) -> PyResult<&'static Statics> {
    STATICS.get_or_try_init(py, || {
        let ormsgpack = py.import("ormsgpack")?;
        let unpackb = ormsgpack.getattr("unpackb")?;
        let ormsgpack_fastcall = if py.version_info() >= (3, 10)
            && unpackb.get_type_ptr() == &raw mut ffi::PyCFunction_Type
            && unsafe { ffi::PyCFunction_GetFlags(unpackb.as_ptr()) }
                == METH_FASTCALL | METH_KEYWORDS
        {
            let function = unsafe { ffi::PyCFunction_GetFunction(unpackb.as_ptr()) };
            let slf = unsafe { ffi::PyCFunction_GetSelf(unpackb.as_ptr()) };
            // SAFETY: the flags say this is the function's real signature.
            function.map(|f| unsafe {
                (
                    std::mem::transmute::<ffi::PyCFunction, FastCallWithKeywords>(f),
                    slf as usize,
                )
            })
        } else {
            None
        };
        Ok(Statics {
            ormsgpack_fastcall,
            ormsgpack_unpackb: unpackb.unbind(),
            opt_non_str_keys: ormsgpack.getattr("OPT_NON_STR_KEYS")?.extract()?,
            gc_api: if py.version_info() >= (3, 10) {
                gc_api()
            } else {
                None
            },
            dict_new_presized: dict_new_presized(),
        })
    })
}

/// Inputs shorter than this go to ormsgpack itself: for a small payload (LangGraph
/// unpacks every ext payload separately) ormsgpack's C entry point is cheaper, and a
/// pause of the GC buys nothing. Both give the same result for every input.
static NATIVE_MIN_INPUT: AtomicUsize = AtomicUsize::new(128 * 1024);

/// Values looked at (at most) to tell an ext-heavy blob; see `ormsgpack_as_is`.
const EXT_SCAN_VALUES: usize = 4096;

/// Whether `input` goes to ormsgpack's own function as unpatched (no GC pause, no
/// hook wrapper), judged from its first `EXT_SCAN_VALUES` values:
/// * mostly ext values (e.g. a list of messages): loading it is object construction
///   in LangGraph's hook whoever reads the bytes, and pausing the GC between hook
///   calls buys nothing there (measured: 0.72x to parity);
/// * malformed there (a reserved byte, a length past the end): it fails early
///   anyway, and the pause and the wrapper would make the error path slower than
///   unpatched (a denial-of-service surface for whoever can write bad blobs).
///
/// The scan stops once the ext share is decided (`exts * 16 > EXT_SCAN_VALUES`), so a
/// blob of ext values costs a few hundred steps, not 4,096. Every route gives the
/// same result and errors for every input.
fn ormsgpack_as_is(input: &[u8]) -> bool {
    let prefix = scan_prefix(input, EXT_SCAN_VALUES, EXT_SCAN_VALUES / 16 + 1);
    prefix.malformed || prefix.exts.saturating_mul(16) > prefix.values
}

/// Whether decodes pause the cyclic GC (see the module docs); a switch for benchmarks.
static GC_PAUSE: AtomicBool = AtomicBool::new(true);
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

/// Pauses the cyclic GC while no Python code can run; see the module docs.
struct GcPause {
    api: Option<GcApi>,
    paused: bool,
}

impl GcPause {
    /// Pause, unless the collector is already off (then leave it alone).
    fn pause(&mut self) {
        if let (Some(api), false) = (self.api, self.paused) {
            // PyGC_Disable returns the previous state.
            self.paused = unsafe { (api.disable)() } == 1;
        }
    }

    fn resume(&mut self) {
        if self.paused {
            if let Some(api) = self.api {
                unsafe { (api.enable)() };
            }
            self.paused = false;
        }
    }
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
fn decode_with_hook<'py>(
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

/// ``ormsgpack.unpackb``, with LangGraph's call (``ext_hook`` given,
/// ``option=OPT_NON_STR_KEYS``, bytes input) decoded natively: the same objects, the
/// same ``MsgpackDecodeError`` (``ValueError``) for bad input, the hook called for the
/// same ext values in the same order. Any other call goes to ormsgpack itself.
#[pyfunction]
#[pyo3(signature = (obj, /, *, ext_hook=None, option=None))]
pub fn msgpack_unpackb<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    ext_hook: Option<&Bound<'py, PyAny>>,
    option: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    unpackb(py, obj, ext_hook, option)
}

fn unpackb<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    ext_hook: Option<&Bound<'py, PyAny>>,
    option: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let st = statics(py)?;
    let hook = ext_hook.filter(|h| !h.is_none());
    let native_option = match option {
        Some(o) if o.is_exact_instance_of::<PyInt>() => {
            o.extract::<i64>().ok() == Some(st.opt_non_str_keys)
        }
        _ => false,
    };
    if let (Some(hook), true) = (hook, native_option) {
        let min = NATIVE_MIN_INPUT.load(Ordering::Relaxed);
        if let Some(bytes) = obj
            .cast_exact::<PyBytes>()
            .ok()
            .filter(|b| b.as_bytes().len() >= min)
            // A minimum of 0 (tests) sends every input to the Rust decoder.
            .filter(|b| min == 0 || !ormsgpack_as_is(b.as_bytes()))
        {
            if min == 0 || NATIVE_DECODER.load(Ordering::Relaxed) {
                // Bytes are immutable: the slice stays valid while the hook runs.
                return decode_with_hook(py, bytes.as_bytes(), hook);
            }
            if let Some(api) = st.gc_api.filter(|_| GC_PAUSE.load(Ordering::Relaxed)) {
                return ormsgpack_gc_paused(py, st, api, bytes, hook, option);
            }
        }
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("ext_hook", ext_hook)?;
    kwargs.set_item("option", option)?;
    st.ormsgpack_unpackb.bind(py).call((obj,), Some(&kwargs))
}

/// ormsgpack's own `unpackb` with the cyclic GC paused while it builds builtin
/// objects: the hook it calls is a wrapper that resumes the collector around every
/// call of LangGraph's hook (so Python code never runs with the GC off) and keeps
/// what the hook returned alive until the end (so no finalizer runs during a pause).
/// The values, the hook calls and the errors are ormsgpack's own.
fn ormsgpack_gc_paused<'py>(
    py: Python<'py>,
    st: &Statics,
    api: GcApi,
    data: &Bound<'py, PyBytes>,
    hook: &Bound<'py, PyAny>,
    option: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    struct Shared {
        gc: GcPause,
        keepalive: Vec<Py<PyAny>>,
    }
    let shared = std::sync::Arc::new(std::sync::Mutex::new(Shared {
        gc: GcPause {
            api: Some(api),
            paused: false,
        },
        keepalive: Vec::new(),
    }));
    let inner = shared.clone();
    let real_hook = hook.clone().unbind();
    let wrapper = pyo3::types::PyCFunction::new_closure(
        py,
        Some(c"ext_hook"),
        None,
        move |args: &Bound<'_, pyo3::types::PyTuple>,
              kwargs: Option<&Bound<'_, PyDict>>|
              -> PyResult<Py<PyAny>> {
            let py = args.py();
            // The lock is never held while Python code runs (the hook may decode
            // again, re-entering this function through another wrapper).
            let lock = || inner.lock().unwrap_or_else(|e| e.into_inner());
            lock().gc.resume();
            let result = real_hook.bind(py).call(args, kwargs);
            let mut state = lock();
            state.gc.pause();
            let value = result?.unbind();
            state.keepalive.push(value.clone_ref(py));
            Ok(value)
        },
    )?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("ext_hook", &wrapper)?;
    kwargs.set_item("option", option)?;
    shared.lock().unwrap_or_else(|e| e.into_inner()).gc.pause();
    let result = st.ormsgpack_unpackb.bind(py).call((data,), Some(&kwargs));
    // Resume first: releasing the kept values may run finalizers.
    let keepalive = {
        let mut state = shared.lock().unwrap_or_else(|e| e.into_inner());
        state.gc.resume();
        std::mem::take(&mut state.keepalive)
    };
    drop(keepalive);
    result
}

/// Whether large inputs that are not ext-heavy are decoded by the Rust decoder
/// (`true`) or by ormsgpack with the GC paused (`false`, the default: ormsgpack
/// builds objects faster; the pause is where the time goes).
static NATIVE_DECODER: AtomicBool = AtomicBool::new(false);

/// Choose the decoder for large inputs (see `NATIVE_DECODER`); returns the previous setting.
#[pyfunction]
pub fn msgpack_decode_native(enabled: bool) -> bool {
    NATIVE_DECODER.swap(enabled, Ordering::Relaxed)
}

/// Set the input size from which `msgpack_unpackb` decodes in Rust (smaller inputs,
/// and ext-heavy ones, go to ormsgpack); returns the previous value. Tests set 0 to
/// send every input, ext-heavy ones included, to Rust.
#[pyfunction]
pub fn msgpack_native_min_input(nbytes: usize) -> usize {
    NATIVE_MIN_INPUT.swap(nbytes, Ordering::Relaxed)
}

/// Turn the GC pause during decodes on or off (for benchmarks); returns the previous setting.
#[pyfunction]
pub fn msgpack_decode_gc_pause(enabled: bool) -> bool {
    GC_PAUSE.swap(enabled, Ordering::Relaxed)
}

// --- a METH_FASTCALL entry point --------------------------------------------------
//
// LangGraph calls `unpackb` once per ext value, with keyword arguments. PyO3's
// abi3-py39 functions take a tuple and a dict (METH_VARARGS), which costs more
// than decoding a small payload; METH_FASTCALL is in the stable ABI from 3.10, so
// there the same function is exposed through it.

const METH_FASTCALL: c_int = 0x0080;
const METH_KEYWORDS: c_int = 0x0002;

type FastCallWithKeywords = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;

struct MethodDef(ffi::PyMethodDef);
// SAFETY: immutable after construction; CPython only reads it.
unsafe impl Sync for MethodDef {}

static UNPACKB_FASTCALL: MethodDef = MethodDef(ffi::PyMethodDef {
    ml_name: c"msgpack_unpackb".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer {
        // SAFETY: CPython calls it with the METH_FASTCALL | METH_KEYWORDS signature
        // the flags below declare; the union only stores the pointer.
        PyCFunctionWithKeywords: unsafe {
            std::mem::transmute::<FastCallWithKeywords, ffi::PyCFunctionWithKeywords>(
                unpackb_fastcall,
            )
        },
    },
    ml_flags: METH_FASTCALL | METH_KEYWORDS,
    ml_doc: c"msgpack_unpackb(obj, /, *, ext_hook=None, option=None)\n--\n\normsgpack.unpackb, with LangGraph's call decoded natively.".as_ptr(),
});

unsafe extern "C" fn unpackb_fastcall(
    _module: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held (attached thread).
    let py = unsafe { Python::assume_attached() };
    // Anything but a large bytes input: ormsgpack's own C function, called with the
    // very arguments CPython gave us. The ext-heavy scan also runs later, in the
    // native route (at most 4,096 values, microseconds): deciding only there would send
    // large ext-heavy blobs through a Python-level call, whose recursion accounting
    // truncates deep nesting one or two levels earlier than ormsgpack's own entry point.
    if let Ok(st) = statics(py) {
        if let Some((function, slf)) = st.ormsgpack_fastcall {
            let input = if nargs >= 1 {
                unsafe { *args }
            } else {
                std::ptr::null_mut()
            };
            let min = NATIVE_MIN_INPUT.load(Ordering::Relaxed);
            let native = !input.is_null()
                && unsafe { ffi::Py_TYPE(input) } == &raw mut ffi::PyBytes_Type
                && unsafe { ffi::PyBytes_Size(input) } as usize >= min
                && (min == 0 || !ormsgpack_as_is(unsafe { bytes_of(input) }));
            if !native {
                return unsafe { function(slf as *mut ffi::PyObject, args, nargs, kwnames) };
            }
        }
    } else {
        return std::ptr::null_mut();
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| unsafe {
        fastcall_args(py, args, nargs, kwnames)
    }));
    let result = match outcome {
        Ok(r) => r,
        Err(_) => Err(PyValueError::new_err(
            "internal error in fast_langgraph's msgpack decoder",
        )),
    };
    match result {
        Ok(value) => value.into_ptr(),
        Err(err) => {
            err.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// The contents of a `bytes` object (the caller has checked the type).
unsafe fn bytes_of<'a>(bytes: *mut ffi::PyObject) -> &'a [u8] {
    unsafe {
        std::slice::from_raw_parts(
            ffi::PyBytes_AsString(bytes).cast::<u8>(),
            ffi::PyBytes_Size(bytes) as usize,
        )
    }
}

unsafe fn fastcall_args<'py>(
    py: Python<'py>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<Bound<'py, PyAny>> {
    let nkw = if kwnames.is_null() {
        0
    } else {
        unsafe { ffi::PyTuple_Size(kwnames) }
    };
    let arg = |i: ffi::Py_ssize_t| unsafe { Bound::from_borrowed_ptr(py, *args.offset(i)) };
    let mut ext_hook = None;
    let mut option = None;
    let mut unusual = nargs != 1;
    for i in 0..nkw {
        let name = unsafe { ffi::PyTuple_GetItem(kwnames, i) };
        let value = arg(nargs + i);
        if unsafe { ffi::PyUnicode_CompareWithASCIIString(name, c"ext_hook".as_ptr()) } == 0 {
            ext_hook = Some(value);
        } else if unsafe { ffi::PyUnicode_CompareWithASCIIString(name, c"option".as_ptr()) } == 0 {
            option = Some(value);
        } else {
            unusual = true;
        }
    }
    if unusual {
        // Let ormsgpack raise its own TypeError for a call it would refuse.
        let positional = pyo3::types::PyTuple::new(py, (0..nargs).map(arg))?;
        let kwargs = PyDict::new(py);
        for i in 0..nkw {
            let name = unsafe { Bound::from_borrowed_ptr(py, ffi::PyTuple_GetItem(kwnames, i)) };
            kwargs.set_item(name, arg(nargs + i))?;
        }
        return statics(py)?
            .ormsgpack_unpackb
            .bind(py)
            .call(positional, Some(&kwargs));
    }
    unpackb(py, &arg(0), ext_hook.as_ref(), option.as_ref())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    if py.version_info() >= (3, 10) {
        let name = m.name()?;
        let function = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyCFunction_NewEx(
                    &UNPACKB_FASTCALL.0 as *const ffi::PyMethodDef as *mut ffi::PyMethodDef,
                    std::ptr::null_mut(),
                    name.as_ptr(),
                ),
            )?
        };
        m.add("msgpack_unpackb", function)?;
    } else {
        m.add_function(wrap_pyfunction!(msgpack_unpackb, m)?)?;
    }
    m.add_function(wrap_pyfunction!(msgpack_decode_gc_pause, m)?)?;
    m.add_function(wrap_pyfunction!(msgpack_decode_native, m)?)?;
    m.add_function(wrap_pyfunction!(msgpack_native_min_input, m)?)?;
    Ok(())
}

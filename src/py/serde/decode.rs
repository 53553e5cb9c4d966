//! `fast_langgraph._core.msgpack_unpackb`: a drop-in for
//! `ormsgpack.unpackb(data, ext_hook=hook, option=ormsgpack.OPT_NON_STR_KEYS)`
//! (LangGraph's only decode call). Inputs of at least `LARGE_INPUT` bytes that are
//! not mostly ext values (a skip-scan of their first values, `scan_prefix`) are
//! decoded by ormsgpack with the cyclic GC paused; everything else, and every other
//! kind of call, goes to ormsgpack's own C function unchanged. With the Cargo
//! feature `native-decoder`, `msgpack_decode_native(True)` sends those large inputs
//! to the Rust reader instead (`native`; for benchmarks and its tests).
//!
//! A decode whose hook is the message codec's `MessageExtHook` (LangGraph's hook,
//! wrapped by the `serde` patch when the codec is on) keeps the GC paused whatever its
//! size: that hook builds verified messages without running Python code, and resumes
//! the collector around every call of LangGraph's hook (see `with_hook_gc_paused`).
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

#[cfg(feature = "native-decoder")]
mod native;

use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyInt};

use crate::serde::decode::scan_prefix;

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

struct Statics {
    ormsgpack_unpackb: Py<PyAny>,
    /// ormsgpack's own METH_FASTCALL | METH_KEYWORDS C function and its `self`, to
    /// forward a call unchanged (what CPython itself would call); `None` if it is
    /// not such a builtin.
    ormsgpack_fastcall: Option<(FastCallWithKeywords, usize)>,
    opt_non_str_keys: i64,
    gc_api: Option<GcApi>,
    #[cfg(feature = "native-decoder")]
    dict_new_presized: Option<native::NewPresized>,
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
            #[cfg(feature = "native-decoder")]
            dict_new_presized: native::dict_new_presized(),
        })
    })
}

/// Inputs shorter than this go to ormsgpack itself: for a small payload (LangGraph
/// unpacks every ext payload separately) ormsgpack's C entry point is cheaper, and a
/// pause of the GC buys nothing. Both give the same result for every input.
/// 0 (tests) also skips the ext-heavy scan: every bytes input takes the large route.
static LARGE_INPUT: AtomicUsize = AtomicUsize::new(128 * 1024);

/// Values looked at (at most) to tell an ext-heavy blob; see `ormsgpack_as_is`.
const EXT_SCAN_VALUES: usize = 4096;

/// Whether `input` goes to ormsgpack's own function as unpatched (no GC pause, no
/// hook wrapper), judged from its first `EXT_SCAN_VALUES` values:
/// * mostly ext values (e.g. a list of messages): loading it is object construction
///   in LangGraph's hook whoever reads the bytes, and pausing the GC between hook
///   calls buys nothing there (measured: 0.72x to parity); with the message codec's
///   hook the pause covers the hook's own work too, and is taken for every input
///   (`with_hook_gc_paused`);
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
        let min = LARGE_INPUT.load(Ordering::Relaxed);
        if let Some(bytes) = obj
            .cast_exact::<PyBytes>()
            .ok()
            .filter(|b| b.as_bytes().len() >= min)
            .filter(|b| min == 0 || !ormsgpack_as_is(b.as_bytes()))
        {
            #[cfg(feature = "native-decoder")]
            if native::NATIVE_DECODER.load(Ordering::Relaxed) {
                // Bytes are immutable: the slice stays valid while the hook runs.
                return native::decode_with_hook(py, bytes.as_bytes(), hook);
            }
            if let Some(api) = st.gc_api.filter(|_| GC_PAUSE.load(Ordering::Relaxed)) {
                if hook.is_exact_instance_of::<crate::py::message_codec::MessageExtHook>() {
                    return with_hook_gc_paused(api, hook.as_ptr(), || {
                        ormsgpack_unpackb(py, st, obj, Some(hook), option)
                    });
                }
                return ormsgpack_gc_paused(py, st, api, bytes, hook, option);
            }
        }
    }
    ormsgpack_unpackb(py, st, obj, ext_hook, option)
}

/// `ormsgpack.unpackb(obj, ext_hook=ext_hook, option=option)`, called through Python.
fn ormsgpack_unpackb<'py>(
    py: Python<'py>,
    st: &Statics,
    obj: &Bound<'py, PyAny>,
    ext_hook: Option<&Bound<'py, PyAny>>,
    option: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
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
    shared.lock().unwrap_or_else(|e| e.into_inner()).gc.pause();
    let result = ormsgpack_unpackb(py, st, data.as_any(), Some(wrapper.as_any()), option);
    // Resume first: releasing the kept values may run finalizers.
    let keepalive = {
        let mut state = shared.lock().unwrap_or_else(|e| e.into_inner());
        state.gc.resume();
        std::mem::take(&mut state.keepalive)
    };
    drop(keepalive);
    result
}

// --- the GC pause for decodes through a `MessageExtHook` ---------------------------
//
// A checkpoint of messages is mostly ext values, each handed to the ext hook. With
// the message codec on, LangGraph's hook is wrapped in a `MessageExtHook`, which builds
// verified messages without running Python code: the whole decode then keeps the
// collector paused, as for large plain blobs (measured: the collections the paused
// decode no longer triggers were ~30 % of a 200-message load). Only where the hook
// hands a value to LangGraph's hook is the collector resumed, around that call, and
// what LangGraph's hook returned is kept alive until the end.

struct HookFrame {
    /// The `MessageExtHook` object this decode was called with; null while LangGraph's
    /// hook runs, so that nothing called from there sees this decode's pause.
    hook: *mut ffi::PyObject,
    gc: GcPause,
    keepalive: Vec<Py<PyAny>>,
}

thread_local! {
    /// The decodes in progress on this thread, innermost last (LangGraph's hook may
    /// decode again).
    static HOOK_FRAMES: std::cell::RefCell<Vec<HookFrame>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Pops this decode's frame and resumes the collector, also on unwinding; the kept
/// values are released after the resume (releasing them may run finalizers).
struct HookFrameGuard;

impl Drop for HookFrameGuard {
    fn drop(&mut self) {
        let frame = HOOK_FRAMES.with_borrow_mut(|frames| frames.pop());
        if let Some(mut frame) = frame {
            frame.gc.resume();
            drop(frame.keepalive);
        }
    }
}

/// `decode()` (ormsgpack called with `hook`, a `MessageExtHook`, as its ext hook)
/// with the collector paused.
fn with_hook_gc_paused<R>(api: GcApi, hook: *mut ffi::PyObject, decode: impl FnOnce() -> R) -> R {
    let mut gc = GcPause {
        api: Some(api),
        paused: false,
    };
    gc.pause();
    HOOK_FRAMES.with_borrow_mut(|frames| {
        frames.push(HookFrame {
            hook,
            gc,
            keepalive: Vec::new(),
        })
    });
    let _guard = HookFrameGuard;
    decode()
}

/// For `MessageExtHook`: runs `call` (LangGraph's hook) with the collector resumed
/// if the decode calling `hook` paused it, pausing it again afterwards.
pub(crate) fn call_with_gc_resumed<'py>(
    hook: *mut ffi::PyObject,
    call: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let ours = HOOK_FRAMES.with_borrow_mut(|frames| match frames.last_mut() {
        Some(frame) if frame.hook == hook => {
            frame.gc.resume();
            frames.push(HookFrame {
                hook: std::ptr::null_mut(),
                gc: GcPause {
                    api: None,
                    paused: false,
                },
                keepalive: Vec::new(),
            });
            true
        }
        _ => false,
    });
    if !ours {
        return call();
    }
    let result = call();
    HOOK_FRAMES.with_borrow_mut(|frames| {
        frames.pop();
        if let Some(frame) = frames.last_mut() {
            // Not paused again if LangGraph's hook turned the collector off itself.
            frame.gc.pause();
            if let Ok(value) = &result {
                frame.keepalive.push(value.clone().unbind());
            }
        }
    });
    result
}

/// The `ext_hook=` keyword argument of a vectorcall, if it is a `MessageExtHook`.
unsafe fn message_ext_hook(
    py: Python<'_>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> Option<*mut ffi::PyObject> {
    if kwnames.is_null() {
        return None;
    }
    let hook_type =
        <crate::py::message_codec::MessageExtHook as pyo3::PyTypeInfo>::type_object_raw(py);
    for i in 0..unsafe { ffi::PyTuple_Size(kwnames) } {
        let value = unsafe { *args.offset(nargs + i) };
        if unsafe { ffi::Py_TYPE(value) } == hook_type
            && unsafe {
                ffi::PyUnicode_CompareWithASCIIString(
                    ffi::PyTuple_GetItem(kwnames, i),
                    c"ext_hook".as_ptr(),
                )
            } == 0
        {
            return Some(value);
        }
    }
    None
}

/// Set the input size from which `msgpack_unpackb` takes the large-input route (see
/// `LARGE_INPUT`); returns the previous value. Tests set 1 (every input not mostly ext
/// values) or 0 (every bytes input).
#[pyfunction]
pub fn msgpack_gc_pause_min_input(nbytes: usize) -> usize {
    LARGE_INPUT.swap(nbytes, Ordering::Relaxed)
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
            let min = LARGE_INPUT.load(Ordering::Relaxed);
            let native = !input.is_null()
                && unsafe { ffi::Py_TYPE(input) } == &raw mut ffi::PyBytes_Type
                && unsafe { ffi::PyBytes_Size(input) } as usize >= min
                && (min == 0 || !ormsgpack_as_is(unsafe { bytes_of(input) }));
            if !native {
                let forward =
                    || unsafe { function(slf as *mut ffi::PyObject, args, nargs, kwnames) };
                if let (Some(api), true) = (st.gc_api, GC_PAUSE.load(Ordering::Relaxed)) {
                    if let Some(hook) = unsafe { message_ext_hook(py, args, nargs, kwnames) } {
                        return with_hook_gc_paused(api, hook, forward);
                    }
                }
                return forward();
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
    m.add_function(wrap_pyfunction!(msgpack_gc_pause_min_input, m)?)?;
    #[cfg(feature = "native-decoder")]
    m.add_function(wrap_pyfunction!(native::msgpack_decode_native, m)?)?;
    Ok(())
}

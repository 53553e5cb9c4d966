//! `fast_langgraph._core.msgpack_encode`: walks Python objects and writes the bytes
//! `ormsgpack.packb(obj, default=default, option=LangGraph's option set)` writes
//! (OPT_NON_STR_KEYS | PASSTHROUGH_DATACLASS/DATETIME/ENUM/UUID | REPLACE_SURROGATES).
//!
//! Native types follow ormsgpack 1.13's check order exactly. Everything else goes
//! to `default`, as in ormsgpack; with `langgraph_default=True` the branches of
//! LangGraph's `_msgpack_default` handled in `super::langgraph_ext` run first.
//!
//! Safety: every Python object is held by a strong reference while it is encoded,
//! containers are re-checked after each element (a callback may mutate them), the
//! Rust recursion is bounded (255 containers, as ormsgpack, times
//! `MAX_NATIVE_EXT_LEVELS`), and panics are caught and raised as
//! `MsgpackEncodeError`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType,
};

use super::langgraph_ext::MAX_NATIVE_EXT_LEVELS;
use super::{Types, TYPES};
use crate::serde::{replace_surrogates, EncodeError, Writer, MAX_DEFAULT_CALLS, MAX_DEPTH};

/// OPT_NON_STR_KEYS | PASSTHROUGH_DATACLASS/DATETIME/UUID/ENUM | REPLACE_SURROGATES:
/// LangGraph's `jsonplus._option` (checked when the serde patch applies).
const LANGGRAPH_OPTION: u32 = 2 | 16 | 32 | 4096 | 8192 | 32768;

/// Why an encode stopped. All of them reach Python as `MsgpackEncodeError`.
pub(super) enum Fail {
    Encode(EncodeError),
    Message(String),
}

impl From<EncodeError> for Fail {
    fn from(err: EncodeError) -> Self {
        Fail::Encode(err)
    }
}

impl Fail {
    fn message(self) -> String {
        match self {
            Fail::Encode(err) => err.to_string(),
            Fail::Message(msg) => msg,
        }
    }
}

pub(super) type Result<T> = std::result::Result<T, Fail>;

fn not_serializable(obj: &Bound<'_, PyAny>) -> Fail {
    let name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned());
    Fail::Message(format!("Type is not msgpack serializable: {name}"))
}

/// The limits of one `packb` call: LangGraph's nested `_msgpack_enc` calls each start fresh.
#[derive(Default, Clone, Copy)]
pub(super) struct Limits {
    pub(super) depth: u32,
    default_calls: u32,
}

pub(super) struct Encoder<'a, 'py> {
    pub(super) py: Python<'py>,
    pub(super) types: &'a Types,
    default: Option<&'a Bound<'py, PyAny>>,
    langgraph_default: bool,
    /// Python >= 3.10: `PyUnicode_AsUTF8AndSize` is in the stable ABI there.
    utf8_in_place: bool,
    pub(super) ext_levels: u32,
    pub(super) out: Writer,
}

extern "C" {
    // Declared here because pyo3-ffi hides it from abi3-py39 builds; only called
    // on Python >= 3.10, where it is part of the stable ABI.
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut ffi::PyObject,
        size: *mut ffi::Py_ssize_t,
    ) -> *const std::os::raw::c_char;
}

#[inline]
pub(super) fn type_is(obj: &Bound<'_, PyAny>, ty: &Py<PyType>) -> bool {
    obj.get_type_ptr() == ty.as_ptr().cast::<ffi::PyTypeObject>()
}

#[inline]
fn exact(obj: &Bound<'_, PyAny>, ty: *mut ffi::PyTypeObject) -> bool {
    obj.get_type_ptr() == ty
}

impl<'a, 'py> Encoder<'a, 'py> {
    /// Write `obj` if it is one of the exact builtin scalars (str, bytes, int, bool,
    /// None, float), which are written without running any Python code; `Ok(false)`
    /// otherwise. Container items go through here on a borrowed reference: no
    /// refcount traffic for the leaves, which are most of a checkpoint's objects.
    #[inline(always)]
    fn scalar(&mut self, obj: &Bound<'py, PyAny>) -> Result<bool> {
        // Same order as ormsgpack's `PyObject::serialize`: the common exact types first.
        unsafe {
            if exact(obj, &raw mut ffi::PyUnicode_Type) {
                self.string(obj.cast_unchecked::<PyString>(), true)?;
            } else if exact(obj, &raw mut ffi::PyBytes_Type) {
                self.out
                    .write_bin(obj.cast_unchecked::<PyBytes>().as_bytes())?;
            } else if exact(obj, &raw mut ffi::PyLong_Type) {
                self.int(obj)?;
            } else if exact(obj, &raw mut ffi::PyBool_Type) {
                self.out.write_bool(obj.as_ptr() == ffi::Py_True());
            } else if obj.is_none() {
                self.out.write_nil();
            } else if exact(obj, &raw mut ffi::PyFloat_Type) {
                self.out.write_f64(obj.cast_unchecked::<PyFloat>().value());
            } else {
                return Ok(false);
            }
        }
        Ok(true)
    }

    pub(super) fn value(&mut self, obj: &Bound<'py, PyAny>, lim: &mut Limits) -> Result<()> {
        if self.scalar(obj)? {
            return Ok(());
        }
        unsafe {
            if exact(obj, &raw mut ffi::PyList_Type) {
                return self.list(obj.cast_unchecked::<PyList>(), lim);
            }
            if exact(obj, &raw mut ffi::PyDict_Type) {
                return self.dict(obj.cast_unchecked::<PyDict>(), lim);
            }
        }
        self.value_unlikely(obj, lim)
    }

    #[inline(never)]
    fn value_unlikely(&mut self, obj: &Bound<'py, PyAny>, lim: &mut Limits) -> Result<()> {
        // ormsgpack's `serialize_unlikely` with PASSTHROUGH_DATETIME/UUID/DATACLASS set.
        if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
            return self.tuple(tuple, lim, false);
        }
        // ormsgpack's Enum test: the class's metaclass is exactly EnumMeta.
        if unsafe { ffi::Py_TYPE(obj.get_type_ptr().cast()) }
            == self.types.enum_meta.as_ptr().cast()
        {
            return self.with_default(obj, lim);
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return self.string(s, true);
        }
        if obj.cast::<PyInt>().is_ok() {
            return self.int(obj);
        }
        if let Ok(list) = obj.cast::<PyList>() {
            return self.list(list, lim);
        }
        if let Ok(dict) = obj.cast::<PyDict>() {
            return self.dict(dict, lim);
        }
        if obj
            .is_instance(self.types.ext.bind(self.py))
            .map_err(|e| self.py_fail(e))?
        {
            return self.spliced(obj, false);
        }
        if let Ok(bytes) = obj.cast_exact::<PyByteArray>() {
            // Copy first: the buffer is not stable across any Python call.
            let data = bytes.to_vec();
            return Ok(self.out.write_bin(&data)?);
        }
        if type_is(obj, &self.types.memoryview) {
            return self.memoryview(obj);
        }
        if let Some(fragment) = &self.types.fragment {
            if obj
                .is_instance(fragment.bind(self.py))
                .map_err(|e| self.py_fail(e))?
            {
                return self.spliced(obj, false);
            }
        }
        self.with_default(obj, lim)
    }

    fn py_fail(&self, err: PyErr) -> Fail {
        Fail::Message(err.to_string())
    }

    fn string(&mut self, s: &Bound<'py, PyString>, replace: bool) -> Result<()> {
        if self.utf8_in_place {
            let mut size: ffi::Py_ssize_t = 0;
            // Stable ABI from 3.10 (checked at the call site): the UTF-8 buffer is
            // cached on the str (for ASCII it is the str's own data), no copy.
            let data = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size) };
            if !data.is_null() {
                let utf8 = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size as usize) };
                return Ok(self.out.write_str(utf8)?);
            }
            // Lone surrogates: UnicodeEncodeError.
            PyErr::take(self.py);
            return self.surrogates(s, replace);
        }
        match s.to_cow() {
            Ok(text) => Ok(self.out.write_str(text.as_bytes())?),
            Err(_) => self.surrogates(s, replace),
        }
    }

    #[cold]
    fn surrogates(&mut self, s: &Bound<'py, PyString>, replace: bool) -> Result<()> {
        if !replace {
            return Err(Fail::Message("string contains surrogates".to_owned()));
        }
        {
            {
                let raw = s
                    .call_method1(intern!(self.py, "encode"), ("utf-8", "surrogatepass"))
                    .map_err(|e| self.py_fail(e))?;
                let raw = raw
                    .cast::<PyBytes>()
                    .map_err(|e| Fail::Message(e.to_string()))?;
                Ok(self.out.write_str(&replace_surrogates(raw.as_bytes()))?)
            }
        }
    }

    fn int(&mut self, obj: &Bound<'py, PyAny>) -> Result<()> {
        let mut overflow = 0;
        let value = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj.as_ptr(), &mut overflow) };
        if overflow == 0 {
            if value == -1 {
                if let Some(err) = PyErr::take(self.py) {
                    return Err(self.py_fail(err));
                }
            }
            self.out.write_i64(value);
            return Ok(());
        }
        if overflow > 0 {
            let value = unsafe { ffi::PyLong_AsUnsignedLongLong(obj.as_ptr()) };
            if value == u64::MAX && PyErr::take(self.py).is_some() {
                return Err(EncodeError::IntOverflow.into());
            }
            self.out.write_u64(value);
            return Ok(());
        }
        Err(EncodeError::IntOverflow.into())
    }

    pub(super) fn open(&mut self, lim: &mut Limits) -> Result<()> {
        if lim.depth == MAX_DEPTH {
            return Err(EncodeError::DepthLimit.into());
        }
        lim.depth += 1;
        Ok(())
    }

    fn list(&mut self, list: &Bound<'py, PyList>, lim: &mut Limits) -> Result<()> {
        self.open(lim)?;
        let len = list.len();
        self.out.write_array_len(len)?;
        for i in 0..len {
            // Bounds-checked on every item: a callback may have shrunk the list.
            let ptr = unsafe { ffi::PyList_GetItem(list.as_ptr(), i as ffi::Py_ssize_t) };
            if ptr.is_null() {
                unsafe { ffi::PyErr_Clear() };
                return Err(Fail::Message(
                    "list changed size during serialization".to_owned(),
                ));
            }
            // A scalar is written from the borrowed reference (no Python code runs
            // meanwhile); anything else is held strongly, since writing it may call
            // Python code that drops the list's own reference.
            let item = unsafe { Borrowed::from_ptr(self.py, ptr) };
            if !self.scalar(&item)? {
                self.value(&item.to_owned(), lim)?;
            }
        }
        lim.depth -= 1;
        Ok(())
    }

    fn tuple(&mut self, tuple: &Bound<'py, PyTuple>, lim: &mut Limits, as_key: bool) -> Result<()> {
        self.open(lim)?;
        let len = tuple.len();
        self.out.write_array_len(len)?;
        for item in tuple.iter() {
            if as_key {
                self.key(&item, lim)?;
            } else {
                self.value(&item, lim)?;
            }
        }
        lim.depth -= 1;
        Ok(())
    }

    pub(super) fn dict(&mut self, dict: &Bound<'py, PyDict>, lim: &mut Limits) -> Result<()> {
        self.open(lim)?;
        let len = dict.len();
        self.out.write_map_len(len)?;
        let mut pos: ffi::Py_ssize_t = 0;
        let mut seen = 0usize;
        let mut maybe_changed = false;
        loop {
            let mut key_ptr = std::ptr::null_mut();
            let mut value_ptr = std::ptr::null_mut();
            // Safe even if a callback mutated the dict: PyDict_Next bounds-checks
            // `pos`; the borrowed refs are made strong before any Python code runs.
            let more =
                unsafe { ffi::PyDict_Next(dict.as_ptr(), &mut pos, &mut key_ptr, &mut value_ptr) };
            if more == 0 {
                break;
            }
            seen += 1;
            // The size can only change while Python code ran (`maybe_changed`).
            if seen > len || (maybe_changed && dict.len() != len) {
                return Err(Fail::Message(
                    "dict changed size during serialization".to_owned(),
                ));
            }
            // Borrowed while only builtin scalars are written (no Python code runs);
            // made strong before anything that may call back into Python.
            let key = unsafe { Borrowed::from_ptr(self.py, key_ptr) };
            let value = unsafe { Borrowed::from_ptr(self.py, value_ptr) };
            if exact(&key, &raw mut ffi::PyUnicode_Type) {
                // Exact str keys get no surrogate replacement in ormsgpack.
                self.string(unsafe { (*key).cast_unchecked::<PyString>() }, false)?;
                maybe_changed = !self.scalar(&value)?;
                if maybe_changed {
                    self.value(&value.to_owned(), lim)?;
                }
            } else {
                maybe_changed = true;
                let value = value.to_owned();
                self.key(&key.to_owned(), lim)?;
                self.value(&value, lim)?;
            }
        }
        if seen != len {
            return Err(Fail::Message(
                "dict changed size during serialization".to_owned(),
            ));
        }
        lim.depth -= 1;
        Ok(())
    }

    /// A dict key under OPT_NON_STR_KEYS (ormsgpack's `DictKey`; keys never reach `default`).
    fn key(&mut self, key: &Bound<'py, PyAny>, lim: &mut Limits) -> Result<()> {
        unsafe {
            if exact(key, &raw mut ffi::PyUnicode_Type) {
                return self.string(key.cast_unchecked::<PyString>(), true);
            }
            if exact(key, &raw mut ffi::PyBytes_Type) {
                return Ok(self
                    .out
                    .write_bin(key.cast_unchecked::<PyBytes>().as_bytes())?);
            }
            if exact(key, &raw mut ffi::PyLong_Type) {
                return self.int(key);
            }
            if exact(key, &raw mut ffi::PyBool_Type) {
                self.out.write_bool(key.is(PyBool::new(self.py, true)));
                return Ok(());
            }
            if key.is_none() {
                self.out.write_nil();
                return Ok(());
            }
            if exact(key, &raw mut ffi::PyFloat_Type) {
                self.out.write_f64(key.cast_unchecked::<PyFloat>().value());
                return Ok(());
            }
        }
        if let Ok(tuple) = key.cast_exact::<PyTuple>() {
            return self.tuple(tuple, lim, true);
        }
        // datetime/date/time/UUID/Enum/str and int subclasses/memoryview keys, and
        // every key error: let ormsgpack itself write (or refuse) the key.
        self.spliced(key, true)
    }

    /// Append what ormsgpack writes for `obj` (or for `{obj: None}`'s key), for the
    /// rare values whose encoding is ormsgpack's own business (Ext, Fragment, odd keys).
    fn spliced(&mut self, obj: &Bound<'py, PyAny>, as_key: bool) -> Result<()> {
        let packb = self.types.ormsgpack_packb.bind(self.py);
        let option = LANGGRAPH_OPTION;
        let encoded = if as_key {
            let wrapper = PyDict::new(self.py);
            wrapper
                .set_item(obj, self.py.None())
                .map_err(|e| self.py_fail(e))?;
            packb.call1((wrapper, self.py.None(), option))
        } else {
            packb.call1((obj, self.py.None(), option))
        }
        .map_err(|e| self.py_fail(e))?;
        let bytes = encoded
            .cast::<PyBytes>()
            .map_err(|e| Fail::Message(e.to_string()))?;
        let bytes = bytes.as_bytes();
        if as_key {
            // fixmap(1) + key + nil
            if bytes.len() < 2 {
                return Err(Fail::Message("unexpected key encoding".to_owned()));
            }
            self.out.write_raw(&bytes[1..bytes.len() - 1]);
        } else {
            self.out.write_raw(bytes);
        }
        Ok(())
    }

    fn memoryview(&mut self, obj: &Bound<'py, PyAny>) -> Result<()> {
        // The buffer protocol is not in the 3.9 limited API: ask the memoryview.
        // ormsgpack accepts C-contiguous views only.
        let failed = || Fail::Message("Failed to get buffer from memoryview".to_owned());
        let contiguous = obj
            .getattr(intern!(self.py, "c_contiguous"))
            .and_then(|c| c.is_truthy())
            .map_err(|_| failed())?;
        if !contiguous {
            return Err(failed());
        }
        let data = obj
            .call_method0(intern!(self.py, "tobytes"))
            .map_err(|_| failed())?;
        let data = data.cast::<PyBytes>().map_err(|_| failed())?;
        Ok(self.out.write_bin(data.as_bytes())?)
    }

    /// ormsgpack's default hook: call it (or its native equivalent) and encode the result.
    fn with_default(&mut self, obj: &Bound<'py, PyAny>, lim: &mut Limits) -> Result<()> {
        let Some(default) = self.default else {
            return Err(not_serializable(obj));
        };
        if lim.default_calls == MAX_DEFAULT_CALLS {
            return Err(EncodeError::DefaultLimit.into());
        }
        if self.langgraph_default && self.ext_levels < MAX_NATIVE_EXT_LEVELS {
            let mark = self.out.len();
            match self.langgraph_ext(obj) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                // Inside `default` every failure surfaces as "not serializable", as in ormsgpack.
                Err(_) => {
                    self.out.truncate(mark);
                    return Err(not_serializable(obj));
                }
            }
            self.out.truncate(mark);
        }
        lim.default_calls += 1;
        let result = default.call1((obj,)).map_err(|_| not_serializable(obj))?;
        let res = self.value(&result, lim);
        lim.default_calls -= 1;
        res
    }
}

/// Buffers of up to this capacity are kept for the thread's next encode: a large
/// checkpoint then costs no reallocation (growth copies) and no fresh pages.
const SPARE_BUFFER_MAX: usize = 1 << 20;

/// One larger buffer (up to this capacity) is kept for the whole process, for outputs
/// above `SPARE_BUFFER_MAX`: without it a multi-MB checkpoint blob grows a fresh Vec by
/// doubling (growth copies, ~1.2k extra page faults for 6.5 MB) before the copy into
/// the `bytes` object, and ran slower than ormsgpack, which writes into the `bytes`
/// object itself (issue 16; `_PyBytes_Resize` is not in the limited API we build for).
const LARGE_BUFFER_MAX: usize = 16 << 20;

/// A thread uses the large buffer for this many encodes after its last output above
/// `SPARE_BUFFER_MAX`; the one that ends the window frees it.
const LARGE_WINDOW: u32 = 32;

static LARGE_BUFFER: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

thread_local! {
    static SPARE_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    /// Encodes left in this thread's `LARGE_WINDOW`.
    static LARGE_RECENT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The buffer for an encode: the process's large buffer while the thread is in its
/// large-output window and no other encode holds it, else the thread's spare buffer
/// (an empty new one if a re-entrant encode holds it).
fn take_buffer() -> Vec<u8> {
    if LARGE_RECENT.try_with(|r| r.get()).unwrap_or(0) > 0 {
        // Never waits: a busy (or poisoned, or inherited-locked after fork) slot is skipped.
        if let Ok(mut slot) = LARGE_BUFFER.try_lock() {
            let buf = std::mem::take(&mut *slot);
            if buf.capacity() > 0 {
                return buf;
            }
        }
    }
    let buf = SPARE_BUFFER.try_with(|b| b.take()).unwrap_or_default();
    if buf.capacity() == 0 {
        Vec::with_capacity(256)
    } else {
        buf
    }
}

fn return_buffer(buf: Vec<u8>) {
    let recent = LARGE_RECENT
        .try_with(|r| {
            let before = r.get();
            let after = if buf.len() > SPARE_BUFFER_MAX {
                LARGE_WINDOW
            } else {
                before.saturating_sub(1)
            };
            r.set(after);
            (before, after)
        })
        .unwrap_or((0, 0));
    if buf.capacity() > SPARE_BUFFER_MAX {
        if recent.1 > 0 && buf.capacity() <= LARGE_BUFFER_MAX {
            if let Ok(mut slot) = LARGE_BUFFER.try_lock() {
                if slot.capacity() < buf.capacity() {
                    *slot = buf;
                }
            }
        }
        return; // else dropped
    }
    if recent == (1, 0) {
        // The window just ended: stop holding up to 16 MiB for large outputs.
        if let Ok(mut slot) = LARGE_BUFFER.try_lock() {
            *slot = Vec::new();
        }
    }
    let _ = SPARE_BUFFER.try_with(|b| {
        // Keep the larger of the two (a nested encode may have returned one).
        let other = b.take();
        b.set(if other.capacity() > buf.capacity() {
            other
        } else {
            buf
        });
    });
}

/// Objects `plain_blob` looks at, at most; containers it can hold to look at next; dict
/// entries it reads per dict.
const PROBE_VISITS: usize = 256;
const PROBE_STACK: usize = 64;
const PROBE_ENTRIES: usize = 32;

#[inline]
fn plain_scalar(ptr: *mut ffi::PyObject) -> bool {
    let ty = unsafe { ffi::Py_TYPE(ptr) };
    ty == &raw mut ffi::PyUnicode_Type
        || ty == &raw mut ffi::PyLong_Type
        || ty == &raw mut ffi::PyFloat_Type
        || ty == &raw mut ffi::PyBool_Type
        || ty == &raw mut ffi::PyBytes_Type
        || ptr == unsafe { ffi::Py_None() }
}

/// Whether `obj` looks like a blob of plain data: a list or dict in which a bounded probe
/// (every value of the first `PROBE_ENTRIES` entries of each dict, the first and last item
/// of each list or tuple, `PROBE_VISITS` objects at most) meets only exact builtin
/// containers with str keys and builtin scalars. ormsgpack writes such data 20-28 % faster
/// than this walk, at every size; messages, models, dates and other ext values, which this
/// walk writes natively and ormsgpack hands to LangGraph's Python default, are usually met
/// by the probe (a checkpoint's messages, a list of models). A miss costs no more than
/// LangGraph's own call.
fn plain_blob(obj: &Bound<'_, PyAny>) -> bool {
    let list = &raw mut ffi::PyList_Type;
    let dict = &raw mut ffi::PyDict_Type;
    let tuple = &raw mut ffi::PyTuple_Type;
    let root = obj.as_ptr();
    let root_type = unsafe { ffi::Py_TYPE(root) };
    if root_type != list && root_type != dict {
        return false;
    }
    // Borrowed pointers: no Python code runs while the probe reads (GIL held, only
    // type checks, PyDict_Next and PyList_GetItem/PyTuple_GetItem).
    let mut stack: [*mut ffi::PyObject; PROBE_STACK] = [std::ptr::null_mut(); PROBE_STACK];
    let mut depth = 1;
    stack[0] = root;
    let mut visits = 0;
    let push = |stack: &mut [*mut ffi::PyObject; PROBE_STACK], depth: &mut usize, item| {
        if *depth < PROBE_STACK {
            stack[*depth] = item;
            *depth += 1;
        }
    };
    while depth > 0 {
        depth -= 1;
        let current = stack[depth];
        visits += 1;
        if visits > PROBE_VISITS {
            return true;
        }
        let ty = unsafe { ffi::Py_TYPE(current) };
        if ty == dict {
            let mut pos: ffi::Py_ssize_t = 0;
            let mut key = std::ptr::null_mut();
            let mut value = std::ptr::null_mut();
            let mut entries = 0;
            while entries < PROBE_ENTRIES
                && unsafe { ffi::PyDict_Next(current, &mut pos, &mut key, &mut value) } != 0
            {
                entries += 1;
                if unsafe { ffi::Py_TYPE(key) } != &raw mut ffi::PyUnicode_Type {
                    return false;
                }
                if !plain_scalar(value) {
                    push(&mut stack, &mut depth, value);
                }
            }
        } else if ty == list || ty == tuple {
            let size = if ty == list {
                unsafe { ffi::PyList_Size(current) }
            } else {
                unsafe { ffi::PyTuple_Size(current) }
            };
            let item = |i| unsafe {
                if ty == list {
                    ffi::PyList_GetItem(current, i)
                } else {
                    ffi::PyTuple_GetItem(current, i)
                }
            };
            // The first and the last item (one when there is one).
            let ends = [0, size - 1];
            let count = size.clamp(0, 2) as usize;
            for &i in &ends[..count] {
                let value = item(i);
                if value.is_null() {
                    unsafe { ffi::PyErr_Clear() };
                    return false;
                }
                if !plain_scalar(value) {
                    push(&mut stack, &mut depth, value);
                }
            }
        } else if !plain_scalar(current) {
            return false;
        }
    }
    true
}

/// Encode `obj` exactly as ``ormsgpack.packb(obj, default=default, option=jsonplus._option)``
/// (LangGraph's options). Raises ``ormsgpack.MsgpackEncodeError`` where ormsgpack does.
///
/// With ``langgraph_default=True``, ``default`` must be langgraph-checkpoint's own
/// ``_msgpack_default`` (4.1-4.3 layout): its common branches are then run natively.
#[pyfunction]
#[pyo3(signature = (obj, default=None, langgraph_default=false))]
pub fn msgpack_encode<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    default: Option<&Bound<'py, PyAny>>,
    langgraph_default: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let types = TYPES.get_or_try_init(py, || Types::load(py))?;
    let default = default.filter(|d| !d.is_none());
    if langgraph_default && plain_blob(obj) {
        // What LangGraph's own `_msgpack_enc` calls: the same bytes (ormsgpack defines
        // them), the same errors; LangGraph's default serves whatever is not plain.
        let packb = types.ormsgpack_packb.bind(py);
        let encoded = packb.call1((obj, default, LANGGRAPH_OPTION))?;
        return encoded.cast_into::<PyBytes>().map_err(PyErr::from);
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut enc = Encoder {
            py,
            types,
            default,
            langgraph_default,
            utf8_in_place: types.utf8_in_place,
            ext_levels: 0,
            out: Writer::from_buffer(take_buffer()),
        };
        let mut lim = Limits::default();
        enc.value(obj, &mut lim).map(|()| enc.out.into_bytes())
    }));
    let error = |msg: String| PyErr::from_type(types.encode_error.bind(py).clone(), msg);
    match outcome {
        Ok(Ok(bytes)) => {
            let encoded = PyBytes::new(py, &bytes);
            return_buffer(bytes);
            Ok(encoded)
        }
        Ok(Err(fail)) => Err(error(fail.message())),
        Err(_) => Err(error(
            "internal error in fast_langgraph's msgpack encoder".to_owned(),
        )),
    }
}

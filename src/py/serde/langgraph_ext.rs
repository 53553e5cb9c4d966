//! The branches of langgraph-checkpoint's `_msgpack_default` (4.1-4.3 layout) that
//! `msgpack_encode` runs natively when told `default` is that function: pydantic v2
//! models, the datetime family, UUID, Decimal, set/frozenset/deque, Enum, Send,
//! dataclasses, `_DeltaSnapshot`, and LangChain messages verified by
//! `crate::py::message_codec`. Same check order and duck typing as the Python
//! function; every other branch still calls it. Kept apart from `encode` (which
//! matches ormsgpack) because it follows LangGraph's code, not ormsgpack's.

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyType};

use super::encode::{type_is, Encoder, Fail, Limits, Result};
use crate::py::{message_cache, message_codec};
use crate::serde::EncodeError;

/// How many ext payloads may nest inside one Rust call before the rest is left to
/// the Python `default` (whose own recursion is bounded by Python's limit).
pub(super) const MAX_NATIVE_EXT_LEVELS: u32 = 8;

// LangGraph's ext codes (langgraph.checkpoint.serde.jsonplus).
const EXT_CONSTRUCTOR_SINGLE_ARG: i8 = 0;
const EXT_CONSTRUCTOR_POS_ARGS: i8 = 1;
const EXT_CONSTRUCTOR_KW_ARGS: i8 = 2;
const EXT_METHOD_SINGLE_ARG: i8 = 3;
const EXT_PYDANTIC_V2: i8 = 5;
const EXT_DELTA_SNAPSHOT: i8 = 7;

/// `langgraph.types.Send`, once something has imported `langgraph.types` (until then
/// no `Send` can exist). Never imported from here: unpatched encoding imports
/// nothing, and that module pulls in langchain-core's tracers (~0.2 s).
static SEND: PyOnceLock<Option<Py<PyType>>> = PyOnceLock::new();
static SYS_MODULES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

fn send_type(py: Python<'_>) -> Option<&'static Py<PyType>> {
    if let Some(send) = SEND.get(py) {
        return send.as_ref();
    }
    // A plain dict lookup (no exception when absent): this runs for every object
    // that reaches this branch until langgraph.types is imported.
    let modules = SYS_MODULES
        .get_or_try_init(py, || {
            py.import(intern!(py, "sys"))?
                .getattr(intern!(py, "modules"))?
                .cast_into::<PyDict>()
                .map(Bound::unbind)
                .map_err(PyErr::from)
        })
        .ok()?;
    let module = modules
        .bind(py)
        .get_item(intern!(py, "langgraph.types"))
        .ok()??;
    // Cached only once found (a module still being imported may not have it yet).
    let send = module
        .getattr("Send")
        .ok()?
        .cast_into::<PyType>()
        .ok()?
        .unbind();
    SEND.get_or_init(py, || Some(send)).as_ref()
}

impl<'py> Encoder<'_, 'py> {
    /// Write `obj` the way langgraph-checkpoint's `_msgpack_default` would, for the
    /// branches handled here; `Ok(false)` leaves it to the Python function.
    /// The branch order and the duck typing are those of `_msgpack_default` (4.1-4.3).
    pub(super) fn langgraph_ext(&mut self, obj: &Bound<'py, PyAny>) -> Result<bool> {
        let py = self.py;
        let t = self.types;
        let fail = |e: PyErr| Fail::Message(e.to_string());
        // Exact standard-library types: none of the earlier branches can match them
        // (their classes are immutable and have no model_dump/dict/_asdict/...).
        if type_is(obj, &t.datetime) {
            let iso = obj.call_method0(intern!(py, "isoformat")).map_err(fail)?;
            return self.ext_tuple(EXT_METHOD_SINGLE_ARG, Some(4), |enc, lim| {
                enc.out.write_str(b"datetime")?;
                enc.out.write_str(b"datetime")?;
                enc.value(&iso, lim)?;
                Ok(enc.out.write_str(b"fromisoformat")?)
            });
        }
        if type_is(obj, &t.date) {
            let args = [
                intern!(py, "year"),
                intern!(py, "month"),
                intern!(py, "day"),
            ];
            return self.ext_attrs(EXT_CONSTRUCTOR_POS_ARGS, obj, b"datetime", b"date", &args);
        }
        if type_is(obj, &t.timedelta) {
            let args = [
                intern!(py, "days"),
                intern!(py, "seconds"),
                intern!(py, "microseconds"),
            ];
            return self.ext_attrs(
                EXT_CONSTRUCTOR_POS_ARGS,
                obj,
                b"datetime",
                b"timedelta",
                &args,
            );
        }
        if type_is(obj, &t.time) {
            let names = ["hour", "minute", "second", "microsecond", "tzinfo", "fold"];
            let kwargs = PyDict::new(py);
            for name in names {
                kwargs
                    .set_item(name, obj.getattr(name).map_err(fail)?)
                    .map_err(fail)?;
            }
            return self.ext_tuple(EXT_CONSTRUCTOR_KW_ARGS, Some(3), |enc, lim| {
                enc.out.write_str(b"datetime")?;
                enc.out.write_str(b"time")?;
                enc.dict(&kwargs, lim)
            });
        }
        if type_is(obj, &t.uuid) {
            let hex = obj.getattr(intern!(py, "hex")).map_err(fail)?;
            return self.ext_triple(EXT_CONSTRUCTOR_SINGLE_ARG, b"uuid", b"UUID", &hex);
        }
        if type_is(obj, &t.decimal) {
            let text = obj.str().map_err(fail)?.into_any();
            return self.ext_triple(EXT_CONSTRUCTOR_SINGLE_ARG, b"decimal", b"Decimal", &text);
        }
        for (ty, module, name) in [
            (&t.set, &b"builtins"[..], &b"set"[..]),
            (&t.frozenset, b"builtins", b"frozenset"),
            (&t.deque, b"collections", b"deque"),
        ] {
            if type_is(obj, ty) {
                let items = unsafe {
                    Bound::from_owned_ptr_or_err(py, ffi::PySequence_Tuple(obj.as_ptr()))
                        .map_err(fail)?
                };
                return self.ext_triple(EXT_CONSTRUCTOR_SINGLE_ARG, module, name, &items);
            }
        }
        if let Some(send) = send_type(py) {
            if type_is(obj, send) {
                return self.send(obj);
            }
        }

        // A verified LangChain message: its `__dict__` is what `model_dump()` returns
        // (checked in `message_codec`; no `_DeltaSnapshot` branch can match it).
        if let Some(message) = message_codec::message_dict(obj) {
            let fields = &message.fields;
            // `obj.__class__` is `type(obj)`: no verified class overrides `__class__`.
            let cls = obj.get_type();
            let module = cls.getattr(intern!(py, "__module__")).map_err(fail)?;
            let name = cls.getattr(intern!(py, "__name__")).map_err(fail)?;
            if let Some(encoded) = message_cache::lookup(obj, &module, &name, fields) {
                // What `ext_tuple` charges, so that deep nesting fails alike.
                let _guard = RecursionGuard::enter(2).ok_or(EncodeError::DepthLimit)?;
                self.out.write_raw(&encoded);
                return Ok(true);
            }
            if message.canonical() {
                let start = self.out.len();
                self.ext_tuple(EXT_PYDANTIC_V2, Some(4), |enc, lim| {
                    enc.value(&module, lim)?;
                    enc.value(&name, lim)?;
                    enc.dict(fields, lim)?;
                    Ok(enc.out.write_str(b"model_validate_json")?)
                })?;
                let encoded = &self.out.as_bytes()[start..];
                message_cache::remember(obj, &module, &name, fields, encoded);
                return Ok(true);
            }
        }

        // Everything else: the full duck-typed chain, in `_msgpack_default`'s order.
        if let Some(delta) = &t.delta_snapshot {
            if obj.is_instance(delta.bind(py)).map_err(fail)? {
                let value = obj.getattr(intern!(py, "value")).map_err(fail)?;
                return self.ext_tuple(EXT_DELTA_SNAPSHOT, None, |enc, lim| enc.value(&value, lim));
            }
        }
        if let Some(model_dump) = callable_attr(obj, intern!(py, "model_dump")).map_err(fail)? {
            let dumped = model_dump.call0().map_err(fail)?;
            let (module, name) = module_and_name(obj).map_err(fail)?;
            return self.ext_tuple(EXT_PYDANTIC_V2, Some(4), |enc, lim| {
                enc.value(&module, lim)?;
                enc.value(&name, lim)?;
                enc.value(&dumped, lim)?;
                Ok(enc.out.write_str(b"model_validate_json")?)
            });
        }
        for attr in [
            intern!(py, "get_secret_value"),
            intern!(py, "dict"),
            intern!(py, "_asdict"),
        ] {
            if callable_attr(obj, attr).map_err(fail)?.is_some() {
                return Ok(false);
            }
        }
        if obj.is_instance(t.before_enum.bind(py)).map_err(fail)? {
            return Ok(false);
        }
        if obj.is_instance(t.enum_.bind(py)).map_err(fail)? {
            let value = obj.getattr(intern!(py, "value")).map_err(fail)?;
            let (module, name) = module_and_name(obj).map_err(fail)?;
            return self.ext_tuple(EXT_CONSTRUCTOR_SINGLE_ARG, Some(3), |enc, lim| {
                enc.value(&module, lim)?;
                enc.value(&name, lim)?;
                enc.value(&value, lim)
            });
        }
        if let Some(protocol) = &t.send_protocol {
            if obj.is_instance(protocol.bind(py)).map_err(fail)? {
                return Ok(false);
            }
        }
        // dataclasses.is_dataclass(obj), for an instance: the class has __dataclass_fields__.
        if obj
            .get_type()
            .hasattr(intern!(py, "__dataclass_fields__"))
            .map_err(fail)?
        {
            let fields = t.dataclass_fields.bind(py).call1((obj,)).map_err(fail)?;
            let kwargs = PyDict::new(py);
            for field in fields.try_iter().map_err(fail)? {
                let field = field.map_err(fail)?;
                let name = field.getattr(intern!(py, "name")).map_err(fail)?;
                let value = obj
                    .getattr(
                        name.cast::<PyString>()
                            .map_err(|e| Fail::Message(e.to_string()))?,
                    )
                    .map_err(fail)?;
                kwargs.set_item(name, value).map_err(fail)?;
            }
            let (module, name) = module_and_name(obj).map_err(fail)?;
            return self.ext_tuple(EXT_CONSTRUCTOR_KW_ARGS, Some(3), |enc, lim| {
                enc.value(&module, lim)?;
                enc.value(&name, lim)?;
                enc.dict(&kwargs, lim)
            });
        }
        Ok(false)
    }

    fn send(&mut self, obj: &Bound<'py, PyAny>) -> Result<bool> {
        let py = self.py;
        let fail = |e: PyErr| Fail::Message(e.to_string());
        let node = obj.getattr(intern!(py, "node")).map_err(fail)?;
        let arg = obj.getattr(intern!(py, "arg")).map_err(fail)?;
        let timeout = obj
            .getattr_opt(intern!(py, "timeout"))
            .map_err(fail)?
            .filter(|t| !t.is_none());
        let (module, name) = module_and_name(obj).map_err(fail)?;
        self.ext_tuple(EXT_CONSTRUCTOR_POS_ARGS, Some(3), |enc, lim| {
            enc.value(&module, lim)?;
            enc.value(&name, lim)?;
            enc.open(lim)?;
            enc.out
                .write_array_len(if timeout.is_some() { 3 } else { 2 })?;
            enc.value(&node, lim)?;
            enc.value(&arg, lim)?;
            if let Some(timeout) = &timeout {
                enc.value(timeout, lim)?;
            }
            lim.depth -= 1;
            Ok(())
        })
    }

    /// `Ext(code, _msgpack_enc(...))`: the payload is a fresh encode (fresh limits),
    /// written in place. `write` must produce one value; its first container counts.
    fn ext_tuple(
        &mut self,
        code: i8,
        items: Option<usize>,
        write: impl FnOnce(&mut Self, &mut Limits) -> Result<()>,
    ) -> Result<bool> {
        let mark = self.out.begin_ext(code)?;
        // LangGraph spends two Python frames per nested ext (`_msgpack_default` and
        // `_msgpack_enc`): charge them to Python's recursion budget, so that deep
        // nesting fails (RecursionError, raised as MsgpackEncodeError) where it fails
        // unpatched, give or take a few levels.
        let guard = RecursionGuard::enter(2).ok_or(EncodeError::DepthLimit)?;
        self.ext_levels += 1;
        let mut lim = Limits::default();
        let res = match items {
            // The payload is a tuple: it counts as the first level of nesting.
            Some(n) => self
                .open(&mut lim)
                .and_then(|()| Ok(self.out.write_array_len(n)?))
                .and_then(|()| write(self, &mut lim)),
            None => write(self, &mut lim),
        };
        self.ext_levels -= 1;
        drop(guard);
        res?;
        self.out.end_ext(mark)?;
        Ok(true)
    }

    fn ext_triple(
        &mut self,
        code: i8,
        module: &[u8],
        name: &[u8],
        arg: &Bound<'py, PyAny>,
    ) -> Result<bool> {
        self.ext_tuple(code, Some(3), |enc, lim| {
            enc.out.write_str(module)?;
            enc.out.write_str(name)?;
            enc.value(arg, lim)
        })
    }

    fn ext_attrs(
        &mut self,
        code: i8,
        obj: &Bound<'py, PyAny>,
        module: &[u8],
        name: &[u8],
        attrs: &[&Bound<'py, PyString>],
    ) -> Result<bool> {
        let values = attrs
            .iter()
            .map(|a| obj.getattr(*a))
            .collect::<PyResult<Vec<_>>>()
            .map_err(|e| Fail::Message(e.to_string()))?;
        self.ext_tuple(code, Some(3), |enc, lim| {
            enc.out.write_str(module)?;
            enc.out.write_str(name)?;
            enc.open(lim)?;
            enc.out.write_array_len(values.len())?;
            for v in &values {
                enc.value(v, lim)?;
            }
            lim.depth -= 1;
            Ok(())
        })
    }
}

/// Charges `n` levels to Python's recursion budget until dropped.
struct RecursionGuard(u32);

impl RecursionGuard {
    fn enter(n: u32) -> Option<Self> {
        let mut guard = RecursionGuard(0);
        for _ in 0..n {
            if unsafe { ffi::Py_EnterRecursiveCall(c" while encoding msgpack".as_ptr()) } != 0 {
                // The RecursionError is reported as a MsgpackEncodeError instead.
                unsafe { ffi::PyErr_Clear() };
                return None; // `guard` leaves what it entered
            }
            guard.0 += 1;
        }
        Some(guard)
    }
}

impl Drop for RecursionGuard {
    fn drop(&mut self) {
        for _ in 0..self.0 {
            unsafe { ffi::Py_LeaveRecursiveCall() };
        }
    }
}

/// `hasattr(obj, name) and callable(obj.name)`, returning the attribute.
fn callable_attr<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(obj.getattr_opt(name)?.filter(|a| a.is_callable()))
}

/// `(obj.__class__.__module__, obj.__class__.__name__)`.
fn module_and_name<'py>(
    obj: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let py = obj.py();
    let cls = obj.getattr(intern!(py, "__class__"))?;
    Ok((
        cls.getattr(intern!(py, "__module__"))?,
        cls.getattr(intern!(py, "__name__"))?,
    ))
}

//! The message codec: LangChain messages checkpointed without pydantic's generic
//! `model_dump()` and re-validation, with the same bytes and equal objects.
//!
//! Configured from Python (`fast_langgraph.patches.message_codec`) with the
//! langchain-core message classes whose fields, validators, serializers and config
//! were verified for the installed release; each field comes with a *kind* saying
//! which values are canonical for it (values validation returns unchanged and
//! `model_dump()` writes unchanged). Unconfigured, everything takes LangGraph's path.
//!
//! * Encode (`message_dict` and `MessageDict::canonical`, called by `serde.rs` where `_msgpack_default` would call
//!   `model_dump()`): an instance of exactly a verified class whose `__dict__` holds
//!   exactly the fields, in order, every value canonical and a plain builtin tree, and
//!   no extras, is written from its `__dict__`: `model_dump()` returns an equal dict
//!   with the same key order, so the bytes are the same. Anything else: `model_dump()`.
//! * Decode (`MessageExtHook`, wrapping LangGraph's own ext hook): an `EXT_PYDANTIC_V2`
//!   payload naming a verified class that LangGraph lists in `SAFE_MSGPACK_TYPES` (its
//!   hook then allows it in every allowlist mode, with no event or warning), resolving
//!   to that very class, whose field dict is canonical, is built as validation would
//!   build it (`__dict__`, fields set = the keys, `__pydantic_extra__ = {}`,
//!   `__pydantic_private__ = None`). Every other ext value, and any doubt, goes to
//!   LangGraph's hook with the same arguments.
//!
//! The payload of such a message is read by the crate's msgpack reader
//! (`crate::serde::decode::decode`, ormsgpack's accepted inputs and limits) with a
//! builder of ormsgpack's objects (`payload` below); it declines on an ext value, a
//! non-str key or malformed bytes, and ormsgpack decodes the payload as before.
//!
//! Nothing here runs Python code other than builtin operations on builtin objects
//! (exact types are checked before anything is compared), `ormsgpack.unpackb` on
//! bytes, and allocating the instance; every failure falls back to LangGraph's path.

use std::sync::{Arc, RwLock};

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyType};

/// Plain trees deeper than this are left to `model_dump()` (which handles any depth).
pub(crate) const MAX_PLAIN_DEPTH: u32 = 64;

/// Classes with more fields than this are left to LangGraph (the verified ones have 6-11).
const MAX_FIELDS: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Validation is the identity on a canonical field dict.
    Plain,
    /// `AIMessage`: its before-validator parses `additional_kwargs["tool_calls"]`
    /// when `tool_calls` and `invalid_tool_calls` are empty.
    AiMessage,
    /// `RemoveMessage`: its `__init__` refuses a truthy `content`.
    RemoveMessage,
    /// `AIMessageChunk`: as `AiMessage`, and its after-validators rebuild tool calls
    /// from chunks (and content blocks when `chunk_position` is set): canonical only
    /// without tool calls of any kind and without a chunk position.
    AiMessageChunk,
}

enum Kind {
    /// `str | list[str | dict[Any, Any]]`
    Content,
    /// `dict[Any, Any]`
    AnyDict,
    /// `Any`
    Any,
    Str,
    OptStr,
    /// `Literal[...]` of str values.
    Literal(Vec<Py<PyString>>),
    /// `Literal[...] | None`
    OptLiteral(Vec<Py<PyString>>),
    /// `list[ToolCall]`
    ToolCalls,
    /// `list[InvalidToolCall]`
    InvalidToolCalls,
    /// `list[ToolCallChunk]`
    ToolCallChunks,
    /// `UsageMetadata | None`
    Usage,
}

struct Field {
    name: Py<PyString>,
    kind: Kind,
}

struct ClassSpec {
    cls: Py<PyType>,
    module: Py<PyString>,
    name: Py<PyString>,
    /// The same, as UTF-8, to pick the class from a payload's first bytes.
    module_utf8: String,
    name_utf8: String,
    fields: Vec<Field>,
    /// Whether payloads of this class are built here (encode is always on).
    decode: bool,
    rule: Rule,
    /// Where the fields the rules read are, in `fields`.
    at: RuleFields,
}

/// Positions in a class's fields of the ones a [`Rule`] reads (`None`: no such field).
#[derive(Default)]
struct RuleFields {
    content: Option<usize>,
    additional_kwargs: Option<usize>,
    tool_calls: Option<usize>,
    invalid_tool_calls: Option<usize>,
    tool_call_chunks: Option<usize>,
    chunk_position: Option<usize>,
}

/// The TypedDicts' keys in schema order (validation writes them in this order).
struct TypedKeys {
    tool_call: Vec<Py<PyString>>,
    invalid_tool_call: Vec<Py<PyString>>,
    tool_call_chunk: Vec<Py<PyString>>,
    usage: Vec<Py<PyString>>,
    input_details: Vec<Py<PyString>>,
    output_details: Vec<Py<PyString>>,
}

struct Codec {
    classes: Vec<ClassSpec>,
    keys: TypedKeys,
    tool_call_type: Py<PyString>,
    invalid_tool_call_type: Py<PyString>,
    tool_call_chunk_type: Py<PyString>,
    /// `langgraph.checkpoint.serde._msgpack` and its `SAFE_MSGPACK_TYPES` when
    /// configured (a frozenset): the hook reads the module attribute at call time.
    safe_module: Py<PyAny>,
    safe_types: Py<PyAny>,
    /// `jsonplus.__dict__`: its `_lg_msgpack` global is what the hook reads.
    jsonplus_globals: Py<PyDict>,
    sys_modules: Py<PyDict>,
    unpackb: Py<PyAny>,
    unpack_kwargs: Py<PyDict>,
    empty_args: Py<PyAny>,
    dict_new_presized: Option<payload::NewPresized>,
    /// The map keys payloads hold (field names, TypedDict keys) as the very str
    /// objects the checks compare with, so that they compare by identity.
    known_keys: payload::KnownKeys,
    /// `"model_validate_json"`, the method LangGraph writes last in a payload.
    method: Py<PyString>,
}

static CODEC: RwLock<Option<Arc<Codec>>> = RwLock::new(None);

fn codec() -> Option<Arc<Codec>> {
    CODEC.read().ok().and_then(|c| c.clone())
}

#[inline]
fn is_exact(obj: &Bound<'_, PyAny>, ty: *mut ffi::PyTypeObject) -> bool {
    obj.get_type_ptr() == ty
}

#[inline]
fn is_str(obj: &Bound<'_, PyAny>) -> bool {
    is_exact(obj, &raw mut ffi::PyUnicode_Type)
}

#[inline]
fn is_int(obj: &Bound<'_, PyAny>) -> bool {
    is_exact(obj, &raw mut ffi::PyLong_Type)
}

#[inline]
fn is_opt_str(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_none() || is_str(obj)
}

/// Exact-str equality (both are exact `str`: comparing runs no Python code).
#[inline]
fn str_eq(a: &Bound<'_, PyAny>, b: &Py<PyString>) -> bool {
    if a.as_ptr() == b.as_ptr() {
        return true;
    }
    is_str(a) && unsafe { ffi::PyUnicode_Compare(a.as_ptr(), b.as_ptr()) } == 0
}

fn one_of(obj: &Bound<'_, PyAny>, values: &[Py<PyString>]) -> bool {
    is_str(obj) && values.iter().any(|v| str_eq(obj, v))
}

/// An exact `str` / `int` / `None` / `float` / `bool`: the leaves of a plain tree
/// (immutable; also what the encoded-message cache holds).
#[inline]
pub(crate) fn is_plain_leaf(obj: *mut ffi::PyObject) -> bool {
    let ty = unsafe { ffi::Py_TYPE(obj) };
    ty == &raw mut ffi::PyUnicode_Type
        || ty == &raw mut ffi::PyLong_Type
        || obj == unsafe { ffi::Py_None() }
        || ty == &raw mut ffi::PyFloat_Type
        || ty == &raw mut ffi::PyBool_Type
}

/// A tree of exact `dict` (str keys) / `list` / `str` / `int` / `float` / `bool` /
/// `None`: what `model_dump()` returns equal, in the same order, for an `Any` value.
fn plain(obj: &Bound<'_, PyAny>, depth: u32) -> bool {
    if is_plain_leaf(obj.as_ptr()) {
        return true;
    }
    if depth >= MAX_PLAIN_DEPTH {
        return false;
    }
    if let Ok(list) = obj.cast_exact::<PyList>() {
        return list.iter().all(|item| plain(&item, depth + 1));
    }
    if let Ok(dict) = obj.cast_exact::<PyDict>() {
        return dict.iter().all(|(k, v)| is_str(&k) && plain(&v, depth + 1));
    }
    false
}

/// What is checked besides the schema: on encode, that `Any` values are plain trees.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Encode,
    Decode,
}

fn any_ok(obj: &Bound<'_, PyAny>, mode: Mode) -> bool {
    mode == Mode::Decode || plain(obj, 0)
}

/// A TypedDict value in canonical form: an exact dict whose keys are a subsequence
/// of `keys` (schema order, nothing else) including the first `required` of them;
/// `check(index, value)` checks each value.
fn typed_dict(
    obj: &Bound<'_, PyAny>,
    keys: &[Py<PyString>],
    required: usize,
    mut check: impl FnMut(usize, &Bound<'_, PyAny>) -> bool,
) -> bool {
    let Ok(dict) = obj.cast_exact::<PyDict>() else {
        return false;
    };
    let mut next = 0usize;
    let mut present = 0usize;
    for (k, v) in dict.iter() {
        let Some(offset) = keys[next..].iter().position(|key| str_eq(&k, key)) else {
            return false;
        };
        let index = next + offset;
        if index < required {
            present += 1;
        }
        if !check(index, &v) {
            return false;
        }
        next = index + 1;
    }
    present == required.min(keys.len())
}

fn list_of(obj: &Bound<'_, PyAny>, mut item: impl FnMut(&Bound<'_, PyAny>) -> bool) -> bool {
    match obj.cast_exact::<PyList>() {
        Ok(list) => list.iter().all(|x| item(&x)),
        Err(_) => false,
    }
}

impl Codec {
    fn field_ok(&self, kind: &Kind, value: &Bound<'_, PyAny>, mode: Mode) -> bool {
        let k = &self.keys;
        match kind {
            Kind::Content => {
                is_str(value)
                    || list_of(value, |item| {
                        is_str(item)
                            || (is_exact(item, &raw mut ffi::PyDict_Type) && any_ok(item, mode))
                    })
            }
            Kind::AnyDict => is_exact(value, &raw mut ffi::PyDict_Type) && any_ok(value, mode),
            Kind::Any => any_ok(value, mode),
            Kind::Str => is_str(value),
            Kind::OptStr => is_opt_str(value),
            Kind::Literal(values) => one_of(value, values),
            Kind::OptLiteral(values) => value.is_none() || one_of(value, values),
            // name, args, id, type: all present (the validator rebuilds each call
            // with exactly these keys).
            Kind::ToolCalls => list_of(value, |tc| {
                typed_dict(tc, &k.tool_call, k.tool_call.len(), |i, v| match i {
                    0 => is_str(v),
                    1 => match v.cast_exact::<PyDict>() {
                        Ok(args) => args.iter().all(|(ak, av)| is_str(&ak) && any_ok(&av, mode)),
                        Err(_) => false,
                    },
                    2 => is_opt_str(v),
                    _ => str_eq(v, &self.tool_call_type),
                })
            }),
            // type, id, name, args, error: all present.
            Kind::InvalidToolCalls => list_of(value, |tc| {
                typed_dict(
                    tc,
                    &k.invalid_tool_call,
                    k.invalid_tool_call.len(),
                    |i, v| match i {
                        0 => str_eq(v, &self.invalid_tool_call_type),
                        _ => is_opt_str(v),
                    },
                )
            }),
            // name, args, id, index (required), type (not required).
            Kind::ToolCallChunks => list_of(value, |tc| {
                typed_dict(tc, &k.tool_call_chunk, 4, |i, v| match i {
                    0..=2 => is_opt_str(v),
                    3 => v.is_none() || is_int(v),
                    _ => str_eq(v, &self.tool_call_chunk_type),
                })
            }),
            Kind::Usage => {
                value.is_none()
                    || typed_dict(value, &k.usage, 3, |i, v| match i {
                        0..=2 => is_int(v),
                        3 => typed_dict(v, &k.input_details, 0, |_, n| is_int(n)),
                        _ => typed_dict(v, &k.output_details, 0, |_, n| is_int(n)),
                    })
            }
        }
    }

    /// Whether `dict` holds exactly `spec`'s fields, in order, each canonical.
    fn canonical(&self, spec: &ClassSpec, dict: &Bound<'_, PyDict>, mode: Mode) -> bool {
        self.canonical_values(spec, dict, mode, &mut [std::ptr::null_mut(); MAX_FIELDS])
    }

    /// [`Codec::canonical`], leaving the values (borrowed from `dict`) in `values`,
    /// in field order.
    fn canonical_values(
        &self,
        spec: &ClassSpec,
        dict: &Bound<'_, PyDict>,
        mode: Mode,
        values: &mut [*mut ffi::PyObject; MAX_FIELDS],
    ) -> bool {
        if dict.len() != spec.fields.len() || spec.fields.len() > MAX_FIELDS {
            return false;
        }
        let mut pos: ffi::Py_ssize_t = 0;
        for (i, field) in spec.fields.iter().enumerate() {
            let mut key = std::ptr::null_mut();
            let mut value = std::ptr::null_mut();
            if unsafe { ffi::PyDict_Next(dict.as_ptr(), &mut pos, &mut key, &mut value) } == 0 {
                return false;
            }
            values[i] = value;
            // Strong references: the checks below may create temporaries.
            let py = dict.py();
            let key = unsafe { Bound::from_borrowed_ptr(py, key) };
            let value = unsafe { Bound::from_borrowed_ptr(py, value) };
            if !str_eq(&key, &field.name) || !self.field_ok(&field.kind, &value, mode) {
                return false;
            }
        }
        true
    }

    /// Where `ty` is in `classes`, if it is exactly a verified class.
    fn spec_index(&self, ty: *mut ffi::PyTypeObject) -> Option<usize> {
        self.classes
            .iter()
            .position(|s| s.cls.as_ptr().cast::<ffi::PyTypeObject>() == ty)
    }
}

/// For `serde.rs`: a verified message's fields, found by [`message_dict`].
pub struct MessageDict<'py> {
    codec: Arc<Codec>,
    spec: usize,
    /// The instance's `__dict__`.
    pub fields: Bound<'py, PyDict>,
}

impl MessageDict<'_> {
    /// Whether `fields` is what `obj.model_dump()` returns (equal, same key order):
    /// exactly the class's fields, in order, every value canonical and a plain tree.
    pub fn canonical(&self) -> bool {
        self.codec
            .canonical(&self.codec.classes[self.spec], &self.fields, Mode::Encode)
    }
}

/// For `serde.rs`: the `__dict__` of `obj` when `obj` is exactly a verified message
/// class with no extras; `None` to take LangGraph's path. Whether it can be written in
/// place of `obj.model_dump()` is [`MessageDict::canonical`]'s to say (or the
/// encoded-message cache's). Never fails: any error means `None`.
pub fn message_dict<'py>(obj: &Bound<'py, PyAny>) -> Option<MessageDict<'py>> {
    let codec = codec()?;
    let spec = codec.spec_index(obj.get_type_ptr())?;
    let py = obj.py();
    // The verified classes inherit object's `__getattribute__` (checked at configure),
    // so the generic lookup is what `getattr` does, minus pydantic's `__getattr__`
    // hook, which only runs when the generic lookup fails.
    let generic = |name: &Bound<'py, PyString>| unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyObject_GenericGetAttr(obj.as_ptr(), name.as_ptr()),
        )
    };
    let extra = generic(intern!(py, "__pydantic_extra__")).ok()?;
    // model_dump() writes extras after the fields.
    if !(extra.is_none() || extra.cast_exact::<PyDict>().is_ok_and(|d| d.is_empty())) {
        return None;
    }
    let fields = generic(intern!(py, "__dict__"))
        .ok()?
        .cast_into_exact::<PyDict>()
        .ok()?;
    Some(MessageDict {
        codec,
        spec,
        fields,
    })
}

impl Codec {
    /// The message for an `EXT_PYDANTIC_V2` payload, or `None` for LangGraph's hook.
    fn build<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyBytes>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        // Other models (a pydantic state...) are left to the hook before any decoding.
        let Some((module_utf8, name_utf8)) = peek_class(data.as_bytes()) else {
            return Ok(None);
        };
        let Some(spec) = self.classes.iter().find(|s| {
            s.decode
                && s.module_utf8.as_bytes() == module_utf8
                && s.name_utf8.as_bytes() == name_utf8
        }) else {
            return Ok(None);
        };
        let heads = payload::Heads {
            // `peek_class` read `[str, str, ...`: the first two str built are these.
            module: Some((module_utf8, &spec.module)),
            name: Some((name_utf8, &spec.name)),
            method: &self.method,
        };
        let tup = match payload::decode(
            py,
            self.dict_new_presized,
            &self.known_keys,
            heads,
            data.as_bytes(),
        ) {
            Some(tup) => tup,
            None => self
                .unpackb
                .bind(py)
                .call((data,), Some(self.unpack_kwargs.bind(py)))?,
        };
        let Ok(tup) = tup.cast_exact::<PyList>() else {
            return Ok(None);
        };
        if tup.len() != 4 {
            return Ok(None);
        }
        let module = tup.get_item(0)?;
        let name = tup.get_item(1)?;
        // The class the first bytes named (whoever decoded the payload).
        if !str_eq(&module, &spec.module) || !str_eq(&name, &spec.name) {
            return Ok(None);
        }
        let Ok(fields) = tup.get_item(2)?.cast_into_exact::<PyDict>() else {
            return Ok(None);
        };
        let mut values = [std::ptr::null_mut(); MAX_FIELDS];
        if !self.canonical_values(spec, &fields, Mode::Decode, &mut values)
            || !rule_ok(py, spec, &values)?
        {
            return Ok(None);
        }
        // LangGraph's `_check_allowed`: a SAFE_MSGPACK_TYPES member is allowed in
        // every mode, before any event or warning. Read as the hook reads it.
        let safe_module = self
            .jsonplus_globals
            .bind(py)
            .get_item(intern!(py, "_lg_msgpack"))?;
        if !safe_module.is_some_and(|m| m.is(self.safe_module.bind(py))) {
            return Ok(None);
        }
        let safe_types =
            module_global(self.safe_module.bind(py), intern!(py, "SAFE_MSGPACK_TYPES"))?;
        if !safe_types.is_some_and(|t| t.is(self.safe_types.bind(py))) {
            return Ok(None);
        }
        // `getattr(importlib.import_module(module), name)` is the verified class.
        let Some(loaded) = self.sys_modules.bind(py).get_item(&module)? else {
            return Ok(None);
        };
        if !module_global(&loaded, spec.name.bind(py))?.is_some_and(|c| c.is(spec.cls.bind(py))) {
            return Ok(None);
        }
        // `object.__new__(cls)` (what pydantic's own construction does): the class
        // was checked at configuration to be a plain, non-abstract heap type using
        // `object.__new__`, so this is its `tp_alloc`.
        let obj = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyType_GenericNew(
                    spec.cls.as_ptr().cast::<ffi::PyTypeObject>(),
                    self.empty_args.as_ptr(),
                    std::ptr::null_mut(),
                ),
            )?
        };
        // As pydantic-core builds it: an empty set, the fields added in field order
        // (the same table size and layout, so the same iteration order; the keys are
        // exactly these fields, checked above).
        let fields_set =
            unsafe { Bound::from_owned_ptr_or_err(py, ffi::PySet_New(std::ptr::null_mut()))? };
        for field in &spec.fields {
            if unsafe { ffi::PySet_Add(fields_set.as_ptr(), field.name.as_ptr()) } != 0 {
                return Err(PyErr::fetch(py));
            }
        }
        let set = |name: &Bound<'py, PyString>, value: &Bound<'py, PyAny>| -> PyResult<()> {
            if unsafe { ffi::PyObject_GenericSetAttr(obj.as_ptr(), name.as_ptr(), value.as_ptr()) }
                != 0
            {
                return Err(PyErr::fetch(py));
            }
            Ok(())
        };
        set(intern!(py, "__dict__"), fields.as_any())?;
        set(intern!(py, "__pydantic_fields_set__"), &fields_set)?;
        set(intern!(py, "__pydantic_extra__"), PyDict::new(py).as_any())?;
        set(
            intern!(py, "__pydantic_private__"),
            &py.None().into_bound(py),
        )?;
        Ok(Some(obj))
    }
}

/// `getattr(module, name)` where that is a plain lookup in the module's namespace: an
/// exact module (no `__getattr__` of a module subclass) holding `name`. `None` also
/// where getattr would run a module-level `__getattr__`: the caller then declines, and
/// no Python code runs here (decodes may have the collector paused).
fn module_global<'py>(
    module: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if !is_exact(module, &raw mut ffi::PyModule_Type) {
        return Ok(None);
    }
    let namespace = unsafe { ffi::PyModule_GetDict(module.as_ptr()) };
    if namespace.is_null() {
        return Err(PyErr::fetch(module.py()));
    }
    // SAFETY: a module's dict, borrowed from the module the caller holds.
    let namespace = unsafe { Bound::from_borrowed_ptr(module.py(), namespace) };
    namespace.cast_into_exact::<PyDict>()?.get_item(name)
}

/// Whether validation leaves a canonical field dict (its `values`, in field order)
/// unchanged: what the class's validators and `__init__` would do besides.
fn rule_ok(
    py: Python<'_>,
    spec: &ClassSpec,
    values: &[*mut ffi::PyObject; MAX_FIELDS],
) -> PyResult<bool> {
    let at = |i: Option<usize>| -> Option<Bound<'_, PyAny>> {
        let ptr = *values.get(i?)?;
        (!ptr.is_null()).then(|| unsafe { Bound::from_borrowed_ptr(py, ptr) })
    };
    let empty_list = |i: Option<usize>| -> bool {
        at(i)
            .and_then(|v| v.cast_into_exact::<PyList>().ok())
            .is_some_and(|l| l.is_empty())
    };
    let f = &spec.at;
    match spec.rule {
        Rule::Plain => Ok(true),
        Rule::RemoveMessage => Ok(at(f.content).is_some_and(|c| {
            c.cast_exact::<PyString>()
                .is_ok_and(|s| s.len().is_ok_and(|n| n == 0))
        })),
        Rule::AiMessage | Rule::AiMessageChunk => {
            if spec.rule == Rule::AiMessageChunk {
                let all_empty = empty_list(f.tool_calls)
                    && empty_list(f.invalid_tool_calls)
                    && empty_list(f.tool_call_chunks);
                let no_position = at(f.chunk_position).is_some_and(|p| p.is_none());
                if !all_empty || !no_position {
                    return Ok(false);
                }
            }
            if !empty_list(f.tool_calls) || !empty_list(f.invalid_tool_calls) {
                return Ok(true);
            }
            let Some(kwargs) = at(f.additional_kwargs) else {
                return Ok(false);
            };
            let Ok(kwargs) = kwargs.cast_into_exact::<PyDict>() else {
                return Ok(false);
            };
            // Builtin values only (decoded from msgpack): truth runs no Python code.
            match kwargs.get_item(intern!(py, "tool_calls"))? {
                None => Ok(true),
                Some(v) => Ok(!v.is_truthy()?),
            }
        }
    }
}

/// The module and class names at the head of an `EXT_PYDANTIC_V2` payload
/// (`[module, name, fields, method]`, a 4-array starting with two str), if it has that shape.
fn peek_class(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    fn read_str<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
        let tag = *buf.get(*pos)?;
        *pos += 1;
        let mut be = |n: usize| -> Option<usize> {
            let bytes = buf.get(*pos..pos.checked_add(n)?)?;
            *pos += n;
            Some(bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize))
        };
        let len = match tag {
            0xa0..=0xbf => (tag & 0x1f) as usize,
            0xd9 => be(1)?,
            0xda => be(2)?,
            0xdb => be(4)?,
            _ => return None,
        };
        let s = buf.get(*pos..pos.checked_add(len)?)?;
        *pos += len;
        Some(s)
    }
    if *buf.first()? != 0x94 {
        return None;
    }
    let mut pos = 1;
    let module = read_str(buf, &mut pos)?;
    let name = read_str(buf, &mut pos)?;
    Some((module, name))
}

/// LangGraph's own ext hook (checked by the caller), with verified message payloads
/// built here. Called exactly as the hook: ``hook(code, data)``.
#[pyclass(module = "fast_langgraph._core", frozen)]
pub struct MessageExtHook {
    inner: Py<PyAny>,
}

const EXT_PYDANTIC_V2: i64 = 5;

#[pymethods]
impl MessageExtHook {
    #[new]
    fn new(inner: Py<PyAny>) -> Self {
        Self { inner }
    }

    /// The wrapped LangGraph hook.
    #[getter]
    fn inner(&self, py: Python<'_>) -> Py<PyAny> {
        self.inner.clone_ref(py)
    }

    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        py: Python<'py>,
        code: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if is_int(code) && code.extract::<i64>().ok() == Some(EXT_PYDANTIC_V2) {
            if let (Some(codec), Ok(bytes)) = (codec(), data.cast_exact::<PyBytes>()) {
                let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    codec.build(py, bytes)
                }));
                match built {
                    Ok(Ok(Some(obj))) => return Ok(obj),
                    // Any doubt or failure: LangGraph's hook decides, from scratch.
                    Ok(Ok(None)) => {}
                    Ok(Err(err)) => drop(err),
                    Err(_) => {}
                }
            }
        }
        // CPython charged one recursion level for calling this object; give it back
        // while LangGraph's hook runs, so deep nesting hits the limit where it does
        // unpatched (the hook recurses through itself for nested ext values).
        unsafe { ffi::Py_LeaveRecursiveCall() };
        let result = crate::py::serde::decode::call_with_gc_resumed(slf.as_ptr(), || {
            slf.get().inner.bind(py).call1((code, data))
        });
        if unsafe { ffi::Py_EnterRecursiveCall(c" in an ext hook".as_ptr()) } != 0 {
            // Only if the limit was lowered meanwhile: the caller's own check reports it.
            unsafe { ffi::PyErr_Clear() };
        }
        result
    }
}

fn strs(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Py<PyString>>> {
    obj.try_iter()?
        .map(|s| Ok(s?.cast_into_exact::<PyString>()?.unbind()))
        .collect()
}

fn parse_kind(kind: &str, arg: &Bound<'_, PyAny>) -> PyResult<Kind> {
    Ok(match kind {
        "content" => Kind::Content,
        "any_dict" => Kind::AnyDict,
        "any" => Kind::Any,
        "str" => Kind::Str,
        "opt_str" => Kind::OptStr,
        "literal" => Kind::Literal(strs(arg)?),
        "opt_literal" => Kind::OptLiteral(strs(arg)?),
        "tool_calls" => Kind::ToolCalls,
        "invalid_tool_calls" => Kind::InvalidToolCalls,
        "tool_call_chunks" => Kind::ToolCallChunks,
        "usage" => Kind::Usage,
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown field kind {other:?}"
            )))
        }
    })
}

/// Configure the codec (``None`` turns it off). ``classes``: a list of
/// ``(cls, decode, rule, [(field, kind, literal_values), ...])``; ``typed_keys``: a
/// dict of the TypedDict key orders; ``safe_module``: LangGraph's ``_msgpack``;
/// ``jsonplus``: the loaded ``jsonplus`` module. Returns whether it is on.
#[pyfunction]
#[pyo3(signature = (classes, typed_keys=None, safe_module=None, jsonplus=None))]
pub fn message_codec_configure(
    py: Python<'_>,
    classes: Option<&Bound<'_, PyList>>,
    typed_keys: Option<&Bound<'_, PyDict>>,
    safe_module: Option<&Bound<'_, PyAny>>,
    jsonplus: Option<&Bound<'_, PyModule>>,
) -> PyResult<bool> {
    let (Some(classes), Some(typed_keys), Some(safe_module), Some(jsonplus)) =
        (classes, typed_keys, safe_module, jsonplus)
    else {
        *CODEC.write().unwrap_or_else(|e| e.into_inner()) = None;
        super::message_cache::clear();
        return Ok(false);
    };
    let mut specs = Vec::new();
    for entry in classes.iter() {
        let (cls, decode, rule, fields): (Bound<'_, PyType>, bool, String, Bound<'_, PyList>) =
            entry.extract()?;
        let rule = match rule.as_str() {
            "plain" => Rule::Plain,
            "ai_message" => Rule::AiMessage,
            "remove_message" => Rule::RemoveMessage,
            "ai_message_chunk" => Rule::AiMessageChunk,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "unknown rule {other:?}"
                )))
            }
        };
        let mut parsed = Vec::new();
        for f in fields.iter() {
            let (name, kind, arg): (Bound<'_, PyString>, String, Bound<'_, PyAny>) = f.extract()?;
            parsed.push(Field {
                name: name.unbind(),
                kind: parse_kind(&kind, &arg)?,
            });
        }
        let names: Vec<String> = parsed.iter().map(|f| f.name.bind(py).to_string()).collect();
        let position = |name: &str| names.iter().position(|n| n == name);
        let module_utf8: String = cls.getattr("__module__")?.extract()?;
        let name_utf8: String = cls.getattr("__name__")?.extract()?;
        specs.push(ClassSpec {
            module_utf8,
            name_utf8,
            module: cls
                .getattr("__module__")?
                .cast_into_exact::<PyString>()?
                .unbind(),
            name: cls
                .getattr("__name__")?
                .cast_into_exact::<PyString>()?
                .unbind(),
            at: RuleFields {
                content: position("content"),
                additional_kwargs: position("additional_kwargs"),
                tool_calls: position("tool_calls"),
                invalid_tool_calls: position("invalid_tool_calls"),
                tool_call_chunks: position("tool_call_chunks"),
                chunk_position: position("chunk_position"),
            },
            cls: cls.unbind(),
            decode: decode && parsed.len() <= MAX_FIELDS,
            fields: parsed,
            rule,
        });
    }
    let key = |name: &str| -> PyResult<Vec<Py<PyString>>> {
        match typed_keys.get_item(name)? {
            Some(v) => strs(&v),
            None => Err(pyo3::exceptions::PyKeyError::new_err(name.to_owned())),
        }
    };
    let typed = TypedKeys {
        tool_call: key("ToolCall")?,
        invalid_tool_call: key("InvalidToolCall")?,
        tool_call_chunk: key("ToolCallChunk")?,
        usage: key("UsageMetadata")?,
        input_details: key("InputTokenDetails")?,
        output_details: key("OutputTokenDetails")?,
    };
    let known: Vec<Py<PyString>> = specs
        .iter()
        .flat_map(|s| s.fields.iter().map(|f| f.name.clone_ref(py)))
        .chain(
            [
                &typed.tool_call,
                &typed.invalid_tool_call,
                &typed.tool_call_chunk,
                &typed.usage,
                &typed.input_details,
                &typed.output_details,
            ]
            .into_iter()
            .flatten()
            .map(|k| k.clone_ref(py)),
        )
        .collect();
    let ormsgpack = py.import("ormsgpack")?;
    let unpack_kwargs = PyDict::new(py);
    unpack_kwargs.set_item("option", ormsgpack.getattr("OPT_NON_STR_KEYS")?)?;
    let codec = Codec {
        classes: specs,
        keys: typed,
        tool_call_type: PyString::new(py, "tool_call").unbind(),
        invalid_tool_call_type: PyString::new(py, "invalid_tool_call").unbind(),
        tool_call_chunk_type: PyString::new(py, "tool_call_chunk").unbind(),
        safe_types: safe_module.getattr("SAFE_MSGPACK_TYPES")?.unbind(),
        safe_module: safe_module.clone().unbind(),
        jsonplus_globals: jsonplus.dict().unbind(),
        sys_modules: py
            .import("sys")?
            .getattr("modules")?
            .cast_into::<PyDict>()?
            .unbind(),
        unpackb: ormsgpack.getattr("unpackb")?.unbind(),
        unpack_kwargs: unpack_kwargs.unbind(),
        empty_args: pyo3::types::PyTuple::empty(py).into_any().unbind(),
        dict_new_presized: payload::dict_new_presized(),
        known_keys: payload::KnownKeys::new(py, &known)?,
        method: PyString::new(py, "model_validate_json").unbind(),
    };
    *CODEC.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(codec));
    super::message_cache::clear();
    Ok(true)
}

/// For the differential tests: ``(value,)`` as the codec's payload builder decodes
/// ``data`` (the configured known keys, no head strings), or ``None`` where it
/// declines and ormsgpack decodes the payload.
#[pyfunction]
pub fn message_codec_decode_payload<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
) -> PyResult<Option<Bound<'py, pyo3::types::PyTuple>>> {
    let codec = codec();
    let empty;
    let (known, method) = match &codec {
        Some(c) => (&c.known_keys, c.method.clone_ref(py)),
        None => {
            empty = payload::KnownKeys::new(py, &[])?;
            (&empty, PyString::new(py, "model_validate_json").unbind())
        }
    };
    let heads = payload::Heads {
        module: None,
        name: None,
        method: &method,
    };
    let presized = payload::dict_new_presized();
    payload::decode(py, presized, known, heads, data.as_bytes())
        .map(|v| pyo3::types::PyTuple::new(py, [v]))
        .transpose()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<MessageExtHook>()?;
    m.add_function(wrap_pyfunction!(message_codec_decode_payload, m)?)?;
    m.add_function(wrap_pyfunction!(message_codec_configure, m)?)?;
    Ok(())
}

/// `ormsgpack.unpackb(payload, option=OPT_NON_STR_KEYS)` for the payloads of
/// verified messages, without the call through Python: the same reader as
/// ormsgpack (`crate::serde::decode::decode`) and a builder making the objects
/// ormsgpack makes (exact `str`/`int`/`float`/`bool`/`None`/`bytes`/`list`/`dict`,
/// dicts in input order, a later duplicate key replacing the value in place).
/// It declines (`None`, and the caller asks ormsgpack) on anything else: an ext
/// value, a map key that is not a str, malformed input, or a failed allocation.
mod payload {
    use pyo3::ffi;
    use pyo3::prelude::*;
    use pyo3::types::PyString;

    use crate::serde::decode::{decode as read, Builder};

    /// `_PyDict_NewPresized(n)`, as ormsgpack sizes its dicts; looked up at run
    /// time (not in the stable ABI), `PyDict_New` where absent.
    pub type NewPresized = unsafe extern "C" fn(ffi::Py_ssize_t) -> *mut ffi::PyObject;

    pub fn dict_new_presized() -> Option<NewPresized> {
        #[cfg(unix)]
        {
            let symbol =
                unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"_PyDict_NewPresized".as_ptr()) };
            // SAFETY: `PyObject *_PyDict_NewPresized(Py_ssize_t minused)` in CPython 3.9-3.14.
            (!symbol.is_null()).then(|| unsafe {
                std::mem::transmute::<*mut std::ffi::c_void, NewPresized>(symbol)
            })
        }
        #[cfg(not(unix))]
        None
    }

    /// Why the builder declined.
    pub enum Decline {
        /// Something ormsgpack builds differently or hands to a hook (ext, non-str key).
        Unsupported,
        /// A C-API call failed; its exception is set (cleared by `decode`).
        Py,
    }

    impl std::fmt::Display for Decline {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("declined")
        }
    }

    /// Map keys of up to this many bytes come from a small cache (as ormsgpack's
    /// key cache): payloads repeat the same few keys, and a cached str keeps its hash.
    const KEY_MAX_LEN: usize = 32;
    const KEY_SLOTS: usize = 256;

    struct KeySlot {
        len: usize,
        bytes: [u8; KEY_MAX_LEN],
        key: Py<PyAny>,
    }

    /// Touched only by `key_str`, with the GIL held (abi3 builds never run
    /// free-threaded) and without running Python code (creating, hashing and
    /// freeing an exact str run none): no lock needed, no access can overlap.
    struct KeyCache(std::cell::UnsafeCell<Option<Vec<Option<KeySlot>>>>);
    // SAFETY: see above.
    unsafe impl Sync for KeyCache {}
    static KEYS: KeyCache = KeyCache(std::cell::UnsafeCell::new(None));

    fn key_slot(bytes: &[u8]) -> usize {
        let mut h: u64 = bytes.len() as u64;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        let mut tail = 0u64;
        for (i, &b) in chunks.remainder().iter().enumerate() {
            tail |= (b as u64) << (8 * i);
        }
        h = (h.rotate_left(5) ^ tail).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        ((h >> 32) as usize) % KEY_SLOTS
    }

    /// A fixed set of keys (linear probing over `KEY_SLOTS` slots), never changed
    /// after configuration: looked up before the cache, they are returned as these
    /// very objects.
    /// A known key's UTF-8 bytes and its str.
    type KnownKey = (Box<[u8]>, Py<PyAny>);

    pub struct KnownKeys {
        slots: Vec<Option<KnownKey>>,
    }

    impl KnownKeys {
        pub fn new(py: Python<'_>, keys: &[Py<PyString>]) -> PyResult<Self> {
            let mut slots: Vec<Option<KnownKey>> = (0..KEY_SLOTS).map(|_| None).collect();
            for key in keys {
                let key = key.bind(py);
                let text = key.to_cow()?;
                let bytes = text.as_bytes();
                if bytes.len() > KEY_MAX_LEN {
                    continue;
                }
                // The str's hash computed once, here.
                key.hash()?;
                let mut slot = key_slot(bytes);
                for _ in 0..KEY_SLOTS {
                    match &slots[slot] {
                        Some((b, _)) if &b[..] == bytes => break,
                        Some(_) => slot = (slot + 1) % KEY_SLOTS,
                        None => {
                            slots[slot] = Some((bytes.into(), key.clone().into_any().unbind()));
                            break;
                        }
                    }
                }
            }
            Ok(Self { slots })
        }

        #[inline]
        fn get<'py>(
            &self,
            py: Python<'py>,
            bytes: &[u8],
            mut slot: usize,
        ) -> Option<Bound<'py, PyAny>> {
            loop {
                match &self.slots[slot] {
                    Some((b, key)) if &b[..] == bytes => return Some(key.bind(py).clone()),
                    Some(_) => slot = (slot + 1) % KEY_SLOTS,
                    None => return None,
                }
            }
        }
    }

    /// The payload's head strings: `[module, name, fields, method]`. Known by the
    /// caller (module and name read from the first bytes), they are returned as
    /// these objects when the bytes are theirs.
    pub struct Heads<'a> {
        /// Only for a payload known to start with an array whose first two items are str.
        pub module: Option<(&'a [u8], &'a Py<PyString>)>,
        pub name: Option<(&'a [u8], &'a Py<PyString>)>,
        /// `"model_validate_json"` (returned for every str value of these bytes).
        pub method: &'a Py<PyString>,
    }

    struct PyBuilder<'a, 'py> {
        py: Python<'py>,
        dict_new_presized: Option<NewPresized>,
        known: &'a KnownKeys,
        heads: Heads<'a>,
        /// How many str values were built (the first two are the module and name).
        strs: usize,
    }

    #[inline]
    fn owned<'py>(py: Python<'py>, ptr: *mut ffi::PyObject) -> Result<Bound<'py, PyAny>, Decline> {
        if ptr.is_null() {
            return Err(Decline::Py);
        }
        Ok(unsafe { Bound::from_owned_ptr(py, ptr) })
    }

    impl<'py> PyBuilder<'_, 'py> {
        fn new_str(&mut self, value: &str) -> Result<Bound<'py, PyAny>, Decline> {
            owned(self.py, unsafe {
                ffi::PyUnicode_FromStringAndSize(
                    value.as_ptr().cast(),
                    value.len() as ffi::Py_ssize_t,
                )
            })
        }
    }

    impl<'py> Builder for PyBuilder<'_, 'py> {
        type Value = Bound<'py, PyAny>;
        type Map = Bound<'py, PyAny>;
        type Error = Decline;

        fn nil(&mut self) -> Result<Self::Value, Decline> {
            Ok(self.py.None().into_bound(self.py))
        }

        fn boolean(&mut self, value: bool) -> Result<Self::Value, Decline> {
            Ok(pyo3::types::PyBool::new(self.py, value)
                .to_owned()
                .into_any())
        }

        fn int(&mut self, value: i64) -> Result<Self::Value, Decline> {
            owned(self.py, unsafe { ffi::PyLong_FromLongLong(value) })
        }

        fn uint(&mut self, value: u64) -> Result<Self::Value, Decline> {
            owned(self.py, unsafe { ffi::PyLong_FromUnsignedLongLong(value) })
        }

        fn float(&mut self, value: f64) -> Result<Self::Value, Decline> {
            owned(self.py, unsafe { ffi::PyFloat_FromDouble(value) })
        }

        fn str(&mut self, value: &str) -> Result<Self::Value, Decline> {
            let bytes = value.as_bytes();
            let head = match self.strs {
                0 => self.heads.module,
                1 => self.heads.name,
                _ => None,
            };
            self.strs += 1;
            if let Some((head, obj)) = head {
                if head == bytes {
                    return Ok(obj.bind(self.py).clone().into_any());
                }
            }
            let method = self.heads.method.bind(self.py);
            if bytes == b"model_validate_json" {
                return Ok(method.clone().into_any());
            }
            self.new_str(value)
        }

        fn key_str(&mut self, value: &str) -> Result<Self::Value, Decline> {
            let bytes = value.as_bytes();
            if bytes.len() > KEY_MAX_LEN {
                return self.new_str(value);
            }
            let slot = key_slot(bytes);
            if let Some(key) = self.known.get(self.py, bytes, slot) {
                return Ok(key);
            }
            // SAFETY: the GIL is held (`self.py`) and nothing below runs Python code.
            let cache = unsafe { &mut *KEYS.0.get() };
            let cache = cache.get_or_insert_with(|| (0..KEY_SLOTS).map(|_| None).collect());
            if let Some(hit) = &cache[slot] {
                if hit.len == bytes.len() && &hit.bytes[..hit.len] == bytes {
                    return Ok(hit.key.bind(self.py).clone());
                }
            }
            let key = self.new_str(value)?;
            // Hashed once here: every insert of this key reuses the hash.
            if unsafe { ffi::PyObject_Hash(key.as_ptr()) } == -1 {
                return Err(Decline::Py);
            }
            let mut inline = [0u8; KEY_MAX_LEN];
            inline[..bytes.len()].copy_from_slice(bytes);
            // A replaced str is freed here: no Python code runs for an exact str.
            cache[slot] = Some(KeySlot {
                len: bytes.len(),
                bytes: inline,
                key: key.clone().unbind(),
            });
            Ok(key)
        }

        fn bin(&mut self, value: &[u8]) -> Result<Self::Value, Decline> {
            owned(self.py, unsafe {
                ffi::PyBytes_FromStringAndSize(
                    value.as_ptr().cast(),
                    value.len() as ffi::Py_ssize_t,
                )
            })
        }

        fn array(
            &mut self,
            items: std::vec::Drain<'_, Self::Value>,
        ) -> Result<Self::Value, Decline> {
            let list = owned(self.py, unsafe {
                ffi::PyList_New(items.len() as ffi::Py_ssize_t)
            })?;
            for (i, item) in items.enumerate() {
                // Steals the reference; the list is complete before anything else runs.
                unsafe {
                    ffi::PyList_SetItem(list.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr())
                };
            }
            Ok(list)
        }

        /// Only map keys are tuples: declined with every non-str key.
        fn tuple(
            &mut self,
            _items: std::vec::Drain<'_, Self::Value>,
        ) -> Result<Self::Value, Decline> {
            Err(Decline::Unsupported)
        }

        fn map(&mut self, capacity: usize) -> Result<Self::Map, Decline> {
            // `capacity` is bounded by the bytes left in the input (see the reader).
            match self.dict_new_presized {
                Some(presized) => owned(self.py, unsafe { presized(capacity as ffi::Py_ssize_t) }),
                None => owned(self.py, unsafe { ffi::PyDict_New() }),
            }
        }

        fn map_insert(
            &mut self,
            map: &mut Self::Map,
            key: Self::Value,
            value: Self::Value,
        ) -> Result<(), Decline> {
            // Exact str keys only: hashing and comparing them runs no Python code.
            if key.get_type_ptr() != &raw mut ffi::PyUnicode_Type {
                return Err(Decline::Unsupported);
            }
            if unsafe { ffi::PyDict_SetItem(map.as_ptr(), key.as_ptr(), value.as_ptr()) } != 0 {
                return Err(Decline::Py);
            }
            Ok(())
        }

        fn map_end(&mut self, map: Self::Map) -> Result<Self::Value, Decline> {
            Ok(map)
        }

        /// ormsgpack would hand it to an ext hook (none is given for a payload: it
        /// fails there, and LangGraph's hook decides).
        fn ext(&mut self, _tag: i8, _payload: &[u8]) -> Result<Self::Value, Decline> {
            Err(Decline::Unsupported)
        }
    }

    /// The payload's value as ormsgpack builds it, or `None` (no exception set).
    pub fn decode<'py>(
        py: Python<'py>,
        dict_new_presized: Option<NewPresized>,
        known: &KnownKeys,
        heads: Heads<'_>,
        input: &[u8],
    ) -> Option<Bound<'py, PyAny>> {
        let mut builder = PyBuilder {
            py,
            dict_new_presized,
            known,
            heads,
            strs: 0,
        };
        let mut stack = Vec::new();
        match read(input, &mut builder, &mut stack) {
            Ok(value) => Some(value),
            Err(err) => {
                if matches!(err, crate::serde::decode::DecodeError::Build(Decline::Py)) {
                    // A failed allocation: ormsgpack gets its chance (and its error).
                    drop(PyErr::take(py));
                }
                None
            }
        }
    }
}

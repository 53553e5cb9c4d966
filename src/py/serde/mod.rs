//! The Python side of LangGraph's msgpack serializer (`JsonPlusSerializer`), one
//! file per thing matched, so each can be checked against its original:
//! * [`encode`]: `msgpack_encode`, the object walk writing ormsgpack's exact bytes;
//! * `langgraph_ext`: langgraph-checkpoint's `_msgpack_default` branches, run inside
//!   that walk when the caller passes LangGraph's own `default`;
//! * [`decode`]: `msgpack_unpackb`, ormsgpack's `unpackb` for LangGraph's call.
//!
//! The byte-level writer and reader are Python-free, in `crate::serde`.

pub mod decode;
pub mod encode;
mod langgraph_ext;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};

/// Classes looked up once (all from the standard library or ormsgpack, plus the
/// optional LangGraph ones).
struct Types {
    encode_error: Py<PyType>,
    ormsgpack_packb: Py<PyAny>,
    ext: Py<PyType>,
    fragment: Option<Py<PyType>>,
    memoryview: Py<PyType>,
    datetime: Py<PyType>,
    date: Py<PyType>,
    time: Py<PyType>,
    timedelta: Py<PyType>,
    uuid: Py<PyType>,
    decimal: Py<PyType>,
    set: Py<PyType>,
    frozenset: Py<PyType>,
    deque: Py<PyType>,
    enum_: Py<PyType>,
    enum_meta: Py<PyType>,
    /// `isinstance` checks that sit between `_asdict` and `Enum` in `_msgpack_default`:
    /// any hit there is left to Python.
    before_enum: Py<PyTuple>,
    dataclass_fields: Py<PyAny>,
    send_protocol: Option<Py<PyAny>>,
    delta_snapshot: Option<Py<PyType>>,
    utf8_in_place: bool,
}

static TYPES: PyOnceLock<Types> = PyOnceLock::new();

fn class(py: Python<'_>, module: &str, name: &str) -> PyResult<Py<PyType>> {
    Ok(py
        .import(module)?
        .getattr(name)?
        .cast_into::<PyType>()?
        .unbind())
}

fn optional_class(py: Python<'_>, module: &str, name: &str) -> Option<Py<PyType>> {
    class(py, module, name).ok()
}

impl Types {
    fn load(py: Python<'_>) -> PyResult<Self> {
        let ormsgpack = py.import("ormsgpack")?;
        let before_enum = PyTuple::new(
            py,
            [
                ("pathlib", "Path"),
                ("re", "Pattern"),
                ("uuid", "UUID"),
                ("decimal", "Decimal"),
                ("builtins", "set"),
                ("builtins", "frozenset"),
                ("collections", "deque"),
                ("ipaddress", "IPv4Address"),
                ("ipaddress", "IPv4Interface"),
                ("ipaddress", "IPv4Network"),
                ("ipaddress", "IPv6Address"),
                ("ipaddress", "IPv6Interface"),
                ("ipaddress", "IPv6Network"),
                ("datetime", "datetime"),
                ("datetime", "timedelta"),
                ("datetime", "date"),
                ("datetime", "time"),
                ("datetime", "timezone"),
                ("zoneinfo", "ZoneInfo"),
            ]
            .iter()
            .map(|(m, n)| class(py, m, n))
            .collect::<PyResult<Vec<_>>>()?,
        )?
        .unbind();
        Ok(Self {
            encode_error: ormsgpack
                .getattr("MsgpackEncodeError")?
                .cast_into::<PyType>()?
                .unbind(),
            ormsgpack_packb: ormsgpack.getattr("packb")?.unbind(),
            ext: ormsgpack.getattr("Ext")?.cast_into::<PyType>()?.unbind(),
            fragment: ormsgpack
                .getattr("Fragment")
                .ok()
                .and_then(|f| f.cast_into::<PyType>().ok())
                .map(Bound::unbind),
            memoryview: class(py, "builtins", "memoryview")?,
            datetime: class(py, "datetime", "datetime")?,
            date: class(py, "datetime", "date")?,
            time: class(py, "datetime", "time")?,
            timedelta: class(py, "datetime", "timedelta")?,
            uuid: class(py, "uuid", "UUID")?,
            decimal: class(py, "decimal", "Decimal")?,
            set: class(py, "builtins", "set")?,
            frozenset: class(py, "builtins", "frozenset")?,
            deque: class(py, "collections", "deque")?,
            enum_: class(py, "enum", "Enum")?,
            enum_meta: class(py, "enum", "EnumMeta")?,
            before_enum,
            dataclass_fields: py.import("dataclasses")?.getattr("fields")?.unbind(),
            send_protocol: py
                .import("langgraph.checkpoint.serde.types")
                .and_then(|m| m.getattr("SendProtocol"))
                .ok()
                .map(Bound::unbind),
            delta_snapshot: optional_class(
                py,
                "langgraph.checkpoint.serde.types",
                "_DeltaSnapshot",
            ),
            utf8_in_place: py.version_info() >= (3, 10),
        })
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encode::msgpack_encode, m)?)?;
    decode::register(m)
}

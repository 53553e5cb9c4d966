//! `fast_langgraph._core.MessageMerger`: LangGraph's `add_messages` reducer, step for
//! step, for the common case (plain lists of plain `BaseMessage`s, no `format=`).
//!
//! The algorithm is the one every LangGraph release from 0.2 to 1.2 runs
//! (`langgraph.graph.message.add_messages`): wrap non-lists, coerce, give id-less
//! messages a `str(uuid.uuid4())` id in place (left side first), honour
//! `RemoveMessage(id=REMOVE_ALL_MESSAGES)` (0.3+), then copy `left`, index it by id,
//! replace/append/remove from `right`, and drop removed ids. Python does this in
//! three passes over the history with an attribute read per message per pass; here
//! it is one pass, with the same reads, writes, exceptions and call order where the
//! order is observable (id assignment, `uuid4` calls).
//!
//! Anything else (list subclasses, dicts/tuples/strings/chunks to coerce, `format=`)
//! goes to the original Python function, decided before anything is mutated.

use hashbrown::HashTable;
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PySet, PyType};

/// A drop-in for the function inside `add_messages`' closure (`func(left, right, **kw)`).
#[pyclass(frozen, module = "fast_langgraph._core")]
pub struct MessageMerger {
    /// LangGraph's own function: every case outside the fast path goes there.
    original: Py<PyAny>,
    base_message: Py<PyType>,
    message_chunk: Py<PyType>,
    remove_message: Py<PyType>,
    /// Globals of `langgraph.graph.message`: `uuid` is read from them at call time,
    /// as the original does (tests patch it there).
    module_globals: Py<PyDict>,
    /// `REMOVE_ALL_MESSAGES`, or None for releases without it (0.2).
    remove_all: Option<Py<PyAny>>,
}

impl MessageMerger {
    /// Whether `messages` is a plain list whose items are all non-chunk `BaseMessage`s
    /// (LangGraph 1.2's `_coerce_to_messages` fast path; earlier releases convert, and
    /// the conversion returns such messages unchanged). Only type checks: no side effects.
    /// Records each new type in `seen`.
    fn all_plain(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyList>,
        seen: &mut Vec<SeenType>,
    ) -> PyResult<bool> {
        let base = self.base_message.bind(py);
        let chunk = self.message_chunk.bind(py);
        let object_getattribute = OBJECT_GETATTRIBUTE
            .get_or_try_init(py, || {
                PyResult::Ok(py.get_type::<PyAny>().getattr("__getattribute__")?.unbind())
            })?
            .bind(py);
        for item in messages.iter() {
            let typ = item.get_type();
            let ptr = typ.as_type_ptr();
            if seen.iter().any(|t| t.ptr == ptr) {
                continue;
            }
            if !typ.is_subclass(base)? || typ.is_subclass(chunk)? {
                return Ok(false);
            }
            let generic = typ
                .getattr(intern!(py, "__getattribute__"))?
                .is(object_getattribute);
            seen.push(SeenType {
                ptr,
                generic_getattr: generic,
            });
        }
        Ok(true)
    }

    /// `str(uuid.uuid4())`, looked up where LangGraph looks it up.
    fn new_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let globals = self.module_globals.bind(py);
        let uuid = globals
            .get_item(intern!(py, "uuid"))?
            .ok_or_else(|| PyValueError::new_err("langgraph.graph.message has no 'uuid'"))?;
        Ok(uuid
            .getattr(intern!(py, "uuid4"))?
            .call0()?
            .str()?
            .into_any())
    }

    /// `m.id`, assigning a fresh one first when it is None (LangGraph's "assign missing ids").
    fn ensure_id<'py>(
        &self,
        py: Python<'py>,
        m: &Bound<'py, PyAny>,
        seen: &[SeenType],
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = read_id(py, m, seen)?;
        if !id.is_none() {
            return Ok(id);
        }
        let key = intern!(py, "id");
        m.setattr(key, self.new_id(py)?)?;
        m.getattr(key)
    }

    fn merge<'py>(
        &self,
        py: Python<'py>,
        left: &Bound<'py, PyList>,
        right: &Bound<'py, PyList>,
        seen: &[SeenType],
    ) -> PyResult<Bound<'py, PyList>> {
        let remove_message = self.remove_message.bind(py);

        let mut left_ids = Vec::with_capacity(left.len());
        for m in left.iter() {
            left_ids.push(self.ensure_id(py, &m, seen)?);
        }
        let mut remove_all_idx = None;
        for (idx, m) in right.iter().enumerate() {
            let id = self.ensure_id(py, &m, seen)?;
            if let Some(remove_all) = &self.remove_all {
                if m.is_instance(remove_message)? && id.eq(remove_all.bind(py))? {
                    remove_all_idx = Some(idx);
                }
            }
        }
        if let Some(idx) = remove_all_idx {
            return Ok(right.get_slice(idx + 1, right.len()));
        }

        let merged = left.get_slice(0, left.len());
        let mut by_id = IdIndex::with_capacity(left_ids.len() + right.len());
        for (i, id) in left_ids.into_iter().enumerate() {
            by_id.insert(id, i)?;
        }
        let mut ids_to_remove: Option<Bound<'py, PySet>> = None;
        for m in right.iter() {
            let id = read_id(py, &m, seen)?;
            match by_id.get(&id)? {
                Some(existing) => {
                    if m.is_instance(remove_message)? {
                        match &ids_to_remove {
                            Some(set) => set.add(&id)?,
                            None => ids_to_remove = Some(PySet::new(py, [&id])?),
                        }
                    } else {
                        if let Some(set) = &ids_to_remove {
                            set.discard(&id)?;
                        }
                        merged.set_item(existing, &m)?;
                    }
                }
                None => {
                    if m.is_instance(remove_message)? {
                        let shown = id.call_method1(intern!(py, "__format__"), ("",))?;
                        return Err(PyValueError::new_err(format!(
                            "Attempting to delete a message with an ID that doesn't exist ('{shown}')"
                        )));
                    }
                    by_id.insert(id, merged.len())?;
                    merged.append(&m)?;
                }
            }
        }
        match ids_to_remove {
            Some(set) if !set.is_empty() => {
                let kept = PyList::empty(py);
                for m in merged.iter() {
                    if !set.contains(read_id(py, &m, seen)?)? {
                        kept.append(m)?;
                    }
                }
                Ok(kept)
            }
            _ => Ok(merged),
        }
    }
}

/// A message class met in this call, and whether its attribute lookup is plain
/// `object.__getattribute__` (pydantic models add only a `__getattr__` fallback).
pub(crate) struct SeenType {
    ptr: *mut pyo3::ffi::PyTypeObject,
    generic_getattr: bool,
}

static OBJECT_GETATTRIBUTE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `m.id`. For classes whose `__getattribute__` is object's, the generic lookup is what
/// Python's `getattr` runs first; only when it fails does the class's `__getattr__`
/// run, so call the generic lookup directly and fall back to `getattr` on failure.
fn read_id<'py>(
    py: Python<'py>,
    m: &Bound<'py, PyAny>,
    seen: &[SeenType],
) -> PyResult<Bound<'py, PyAny>> {
    let key = intern!(py, "id");
    let ptr = m.get_type_ptr();
    if seen.iter().any(|t| t.ptr == ptr && t.generic_getattr) {
        // SAFETY: both pointers are live (borrowed from `m` and the interned key);
        // the result is a new reference or NULL with an exception set.
        let raw = unsafe { pyo3::ffi::PyObject_GenericGetAttr(m.as_ptr(), key.as_ptr()) };
        if !raw.is_null() {
            return Ok(unsafe { Bound::from_owned_ptr(py, raw) });
        }
        let err = PyErr::fetch(py);
        if !err.is_instance_of::<pyo3::exceptions::PyAttributeError>(py) {
            return Err(err);
        }
    }
    m.getattr(key)
}

/// `{id: index}` with Python dict semantics (hash, then identity or `==`; a repeated
/// key keeps its first key object and takes the new value) and no Python int per entry.
struct IdIndex<'py> {
    table: HashTable<usize>,
    keys: Vec<Bound<'py, PyAny>>,
    hashes: Vec<u64>,
    values: Vec<usize>,
}

impl<'py> IdIndex<'py> {
    fn with_capacity(n: usize) -> Self {
        IdIndex {
            table: HashTable::with_capacity(n),
            keys: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            values: Vec::with_capacity(n),
        }
    }

    fn hash_of(key: &Bound<'py, PyAny>) -> PyResult<u64> {
        // Spread the bits: hashbrown keys on the top ones, small ints hash to themselves.
        Ok((key.hash()? as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn find(&self, key: &Bound<'py, PyAny>, hash: u64) -> PyResult<Option<usize>> {
        let mut error = None;
        let found = self.table.find(hash, |&entry| {
            if error.is_some() || self.hashes[entry] != hash {
                return false;
            }
            let stored = &self.keys[entry];
            if stored.is(key) {
                return true;
            }
            stored.eq(key).unwrap_or_else(|e| {
                error = Some(e);
                false
            })
        });
        match error {
            Some(e) => Err(e),
            None => Ok(found.copied()),
        }
    }

    fn get(&self, key: &Bound<'py, PyAny>) -> PyResult<Option<usize>> {
        let hash = Self::hash_of(key)?;
        Ok(self.find(key, hash)?.map(|entry| self.values[entry]))
    }

    fn insert(&mut self, key: Bound<'py, PyAny>, value: usize) -> PyResult<()> {
        let hash = Self::hash_of(&key)?;
        if let Some(entry) = self.find(&key, hash)? {
            self.values[entry] = value;
            return Ok(());
        }
        let entry = self.keys.len();
        let hashes = &self.hashes;
        self.table.insert_unique(hash, entry, |&e| hashes[e]);
        self.keys.push(key);
        self.hashes.push(hash);
        self.values.push(value);
        Ok(())
    }
}

/// `left`/`right` as the list the algorithm works on: an exact list as is, any
/// non-list wrapped in one; None for list subclasses (their methods may be overridden).
fn as_plain_list<'py>(value: &Bound<'py, PyAny>) -> Option<Bound<'py, PyList>> {
    if let Ok(list) = value.cast_exact::<PyList>() {
        return Some(list.clone());
    }
    if value.is_instance_of::<PyList>() {
        return None;
    }
    PyList::new(value.py(), [value]).ok()
}

#[pymethods]
impl MessageMerger {
    #[new]
    #[pyo3(signature = (original, base_message, message_chunk, remove_message, module_globals, remove_all=None))]
    fn new(
        original: Py<PyAny>,
        base_message: Py<PyType>,
        message_chunk: Py<PyType>,
        remove_message: Py<PyType>,
        module_globals: Py<PyDict>,
        remove_all: Option<Py<PyAny>>,
    ) -> Self {
        MessageMerger {
            original,
            base_message,
            message_chunk,
            remove_message,
            module_globals,
            remove_all,
        }
    }

    /// `add_messages(left, right, *, format=None)`.
    #[pyo3(signature = (left, right, **kwargs))]
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        left: Bound<'py, PyAny>,
        right: Bound<'py, PyAny>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // `format=None` is the default spelled out; any other keyword goes to Python.
        let plain_call = match kwargs {
            None => true,
            Some(kw) => match kw.len() {
                0 => true,
                1 => kw
                    .get_item(intern!(py, "format"))?
                    .is_some_and(|f| f.is_none()),
                _ => false,
            },
        };
        if plain_call {
            if let (Some(l), Some(r)) = (as_plain_list(&left), as_plain_list(&right)) {
                let mut seen = Vec::new();
                if self.all_plain(py, &l, &mut seen)? && self.all_plain(py, &r, &mut seen)? {
                    return Ok(self.merge(py, &l, &r, &seen)?.into_any());
                }
            }
        }
        self.original.bind(py).call((left, right), kwargs)
    }

    /// The function this one stands in for.
    #[getter]
    fn __wrapped__(&self, py: Python<'_>) -> Py<PyAny> {
        self.original.clone_ref(py)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<MessageMerger>()?;
    Ok(())
}

//! `fast_langgraph._core.WritesApplier`: LangGraph's `apply_writes` (0.6-1.2), step
//! for step, with the built-in channels' bookkeeping done without Python calls.
//!
//! Every superstep LangGraph calls `is_available()`, `update(EMPTY_SEQ)` and
//! `finish()` on *every* channel, and `consume()` on each trigger: a Python method
//! call each, and almost always a no-op. For the built-in channel classes whose
//! methods are still LangGraph's own (checked per call), those four operations read
//! and write the same slots here; `update()` with values, custom channels and
//! subclasses still go through Python. The order of every call that can run user
//! code (sort keys, `get_next_version`, reducers, `==` on barrier names, logging)
//! is the original's.
//!
//! Inputs that are not plain dicts go to the original function, decided before
//! anything is touched.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PySet, PyTuple, PyType};

/// The built-in channel classes whose bookkeeping is done natively.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    LastValue,
    LastValueAfterFinish,
    BinaryOperatorAggregate,
    EphemeralValue,
    Topic,
    NamedBarrierValue,
    NamedBarrierValueAfterFinish,
    AnyValue,
    UntrackedValue,
}

impl Kind {
    fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "LastValue" => Kind::LastValue,
            "LastValueAfterFinish" => Kind::LastValueAfterFinish,
            "BinaryOperatorAggregate" => Kind::BinaryOperatorAggregate,
            "EphemeralValue" => Kind::EphemeralValue,
            "Topic" => Kind::Topic,
            "NamedBarrierValue" => Kind::NamedBarrierValue,
            "NamedBarrierValueAfterFinish" => Kind::NamedBarrierValueAfterFinish,
            "AnyValue" => Kind::AnyValue,
            "UntrackedValue" => Kind::UntrackedValue,
            _ => return None,
        })
    }
}

/// The four methods inlined here, in this order.
const METHODS: [&str; 4] = ["is_available", "update", "consume", "finish"];

struct KnownClass {
    class: Py<PyType>,
    kind: Kind,
    /// The class's methods when the patch was made; a class whose methods changed
    /// since (monkeypatched) is treated as unknown.
    methods: Vec<Py<PyAny>>,
}

/// Per-call view of a channel class: native kind, or None for "call Python".
struct SeenClass {
    ptr: *mut pyo3::ffi::PyTypeObject,
    kind: Option<Kind>,
}

#[pyclass(frozen, module = "fast_langgraph._core")]
pub struct WritesApplier {
    original: Py<PyAny>,
    sort_key: Py<PyAny>,
    native_sort: Option<NativeSort>,
    skip: Py<PyTuple>,
    reserved: Py<PyAny>,
    empty_seq: Py<PyAny>,
    missing: Py<PyAny>,
    warn_unknown: Py<PyAny>,
    known: Vec<KnownClass>,
    /// METHODS as interned strings: the type attribute cache only serves interned names.
    method_names: Vec<Py<pyo3::types::PyString>>,
}

/// What the native task ordering needs to know it computes LangGraph's key: the
/// `_algo` globals and the functions the key reads from them when the patch was made.
struct NativeSort {
    globals: Py<PyDict>,
    task_path_str: Py<PyAny>,
    /// 1.2: `writes_sort_key(task_path_str(t.path))`, i.e. `(s, "", 0)`; None up to
    /// 1.1, whose key is `task_path_str(t.path[:3])`.
    writes_sort_key: Option<Py<PyAny>>,
}

impl NativeSort {
    fn still_valid(&self, py: Python<'_>) -> PyResult<bool> {
        let g = self.globals.bind(py);
        let same = |name: &str, f: &Py<PyAny>| -> PyResult<bool> {
            Ok(g.get_item(name)?.is_some_and(|v| v.is(f.bind(py))))
        };
        Ok(same("task_path_str", &self.task_path_str)?
            && match &self.writes_sort_key {
                Some(f) => same("writes_sort_key", f)?,
                None => true,
            })
    }

    /// The key string, or None where only Python can say (a part that is not an
    /// exact str, an int that fits in i64, or a tuple/list of those).
    fn key(&self, path: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        let mut out = String::new();
        let limit = if self.writes_sort_key.is_some() {
            usize::MAX
        } else {
            3
        };
        Ok(path_str(path, &mut out, limit)?.then_some(out))
    }
}

/// `(algo globals, task_path_str, writes_sort_key or None)` as passed from Python.
type NativeSortArgs = (Py<PyDict>, Py<PyAny>, Option<Py<PyAny>>);

/// `task_path_str(tup[:limit])` (the limit applies at the top level only).
fn path_str(part: &Bound<'_, PyAny>, out: &mut String, limit: usize) -> PyResult<bool> {
    use std::fmt::Write;
    if let Ok(s) = part.cast_exact::<pyo3::types::PyString>() {
        out.push_str(&s.to_cow()?);
        return Ok(true);
    }
    if let Ok(i) = part.cast_exact::<pyo3::types::PyInt>() {
        let Ok(v) = i.extract::<i64>() else {
            return Ok(false);
        };
        // f"{v:010d}": zero-padded to 10 including the sign.
        let _ = write!(out, "{v:010}");
        return Ok(true);
    }
    let items: Vec<Bound<'_, PyAny>> = if let Ok(t) = part.cast_exact::<PyTuple>() {
        t.iter().take(limit).collect()
    } else if let Ok(l) = part.cast_exact::<PyList>() {
        l.iter().take(limit).collect()
    } else {
        return Ok(false);
    };
    out.push('~');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if !path_str(item, out, usize::MAX)? {
            return Ok(false);
        }
    }
    Ok(true)
}

static BUILTINS: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

fn sorted_and_max(py: Python<'_>) -> PyResult<(Bound<'_, PyAny>, Bound<'_, PyAny>)> {
    let (sorted, max) = BUILTINS.get_or_try_init(py, || {
        let builtins = py.import("builtins")?;
        PyResult::Ok((
            builtins.getattr("sorted")?.unbind(),
            builtins.getattr("max")?.unbind(),
        ))
    })?;
    Ok((sorted.bind(py).clone(), max.bind(py).clone()))
}

struct Step<'a, 'py> {
    applier: &'a WritesApplier,
    py: Python<'py>,
    seen: Vec<SeenClass>,
    missing: Bound<'py, PyAny>,
}

impl<'py> Step<'_, 'py> {
    fn kind(&mut self, ch: &Bound<'py, PyAny>) -> PyResult<Option<Kind>> {
        let ptr = ch.get_type_ptr();
        if let Some(seen) = self.seen.iter().find(|s| s.ptr == ptr) {
            return Ok(seen.kind);
        }
        let mut kind = None;
        if let Some(known) = self
            .applier
            .known
            .iter()
            .find(|k| k.class.bind(self.py).as_type_ptr() == ptr)
        {
            let class = known.class.bind(self.py);
            let mut pristine = true;
            for (name, original) in self.applier.method_names.iter().zip(&known.methods) {
                if !class
                    .getattr(name.bind(self.py))?
                    .is(original.bind(self.py))
                {
                    pristine = false;
                    break;
                }
            }
            if pristine {
                kind = Some(known.kind);
            }
        }
        self.seen.push(SeenClass { ptr, kind });
        Ok(kind)
    }

    fn has_value(&self, ch: &Bound<'py, PyAny>) -> PyResult<bool> {
        Ok(!ch.getattr(intern!(self.py, "value"))?.is(&self.missing))
    }

    fn barrier_full(&self, ch: &Bound<'py, PyAny>) -> PyResult<bool> {
        let py = self.py;
        ch.getattr(intern!(py, "seen"))?
            .eq(ch.getattr(intern!(py, "names"))?)
    }

    fn finished(&self, ch: &Bound<'py, PyAny>) -> PyResult<bool> {
        ch.getattr(intern!(self.py, "finished"))?.is_truthy()
    }

    fn call(
        &self,
        ch: &Bound<'py, PyAny>,
        method: &Bound<'py, pyo3::types::PyString>,
    ) -> PyResult<bool> {
        ch.call_method0(method)?.is_truthy()
    }

    /// `if ch.is_available():`
    fn is_available(&mut self, ch: &Bound<'py, PyAny>) -> PyResult<bool> {
        match self.kind(ch)? {
            Some(
                Kind::LastValue
                | Kind::BinaryOperatorAggregate
                | Kind::EphemeralValue
                | Kind::AnyValue
                | Kind::UntrackedValue,
            ) => self.has_value(ch),
            // `self.value is not MISSING and self.finished`
            Some(Kind::LastValueAfterFinish) => Ok(self.has_value(ch)? && self.finished(ch)?),
            Some(Kind::Topic) => ch.getattr(intern!(self.py, "values"))?.is_truthy(),
            Some(Kind::NamedBarrierValue) => self.barrier_full(ch),
            // `self.finished and self.seen == self.names`
            Some(Kind::NamedBarrierValueAfterFinish) => {
                Ok(self.finished(ch)? && self.barrier_full(ch)?)
            }
            None => self.call(ch, intern!(self.py, "is_available")),
        }
    }

    /// `if ch.update(EMPTY_SEQ):`
    fn update_empty(&mut self, ch: &Bound<'py, PyAny>) -> PyResult<bool> {
        let py = self.py;
        match self.kind(ch)? {
            Some(
                Kind::LastValue
                | Kind::LastValueAfterFinish
                | Kind::BinaryOperatorAggregate
                | Kind::UntrackedValue
                | Kind::NamedBarrierValue
                | Kind::NamedBarrierValueAfterFinish,
            ) => Ok(false),
            Some(Kind::EphemeralValue | Kind::AnyValue) => {
                if self.has_value(ch)? {
                    ch.setattr(intern!(py, "value"), &self.missing)?;
                    Ok(true)
                } else {
                    Ok(false)
                }
            }
            Some(Kind::Topic) => {
                // Not accumulating: updated = bool(self.values); self.values = [] ; nothing to add.
                if ch.getattr(intern!(py, "accumulate"))?.is_truthy()? {
                    return Ok(false);
                }
                let updated = ch.getattr(intern!(py, "values"))?.is_truthy()?;
                ch.setattr(intern!(py, "values"), PyList::empty(py))?;
                Ok(updated)
            }
            None => ch
                .call_method1(intern!(py, "update"), (self.applier.empty_seq.bind(py),))?
                .is_truthy(),
        }
    }

    /// `if ch.update(vals):` for the pending writes of one channel (a non-empty list).
    fn update_values(
        &mut self,
        ch: &Bound<'py, PyAny>,
        vals: &Bound<'py, PyList>,
    ) -> PyResult<bool> {
        let py = self.py;
        let single = vals.len() == 1;
        let kind = self.kind(ch)?;
        let native = match kind {
            Some(Kind::LastValue) => single,
            Some(Kind::EphemeralValue | Kind::UntrackedValue) => {
                single || !ch.getattr(intern!(py, "guard"))?.is_truthy()?
            }
            Some(Kind::AnyValue | Kind::LastValueAfterFinish) => true,
            // Reducers, Topic's flattening and barrier checks (and every error message) stay Python's.
            _ => false,
        };
        if !native || vals.is_empty() {
            return ch.call_method1(intern!(py, "update"), (vals,))?.is_truthy();
        }
        if kind == Some(Kind::LastValueAfterFinish) {
            ch.setattr(intern!(py, "finished"), false)?;
        }
        ch.setattr(intern!(py, "value"), vals.get_item(vals.len() - 1)?)?;
        Ok(true)
    }

    /// `if ch.consume():`
    fn consume(&mut self, ch: &Bound<'py, PyAny>) -> PyResult<bool> {
        let py = self.py;
        match self.kind(ch)? {
            Some(Kind::LastValueAfterFinish) => {
                if self.finished(ch)? {
                    ch.setattr(intern!(py, "finished"), false)?;
                    ch.setattr(intern!(py, "value"), &self.missing)?;
                    return Ok(true);
                }
                Ok(false)
            }
            Some(Kind::NamedBarrierValue) => {
                if self.barrier_full(ch)? {
                    ch.setattr(intern!(py, "seen"), PySet::empty(py)?)?;
                    return Ok(true);
                }
                Ok(false)
            }
            Some(Kind::NamedBarrierValueAfterFinish) => {
                if self.finished(ch)? && self.barrier_full(ch)? {
                    ch.setattr(intern!(py, "finished"), false)?;
                    ch.setattr(intern!(py, "seen"), PySet::empty(py)?)?;
                    return Ok(true);
                }
                Ok(false)
            }
            Some(_) => Ok(false),
            None => self.call(ch, intern!(py, "consume")),
        }
    }

    /// `if ch.finish():`
    fn finish(&mut self, ch: &Bound<'py, PyAny>) -> PyResult<bool> {
        let py = self.py;
        match self.kind(ch)? {
            Some(Kind::LastValueAfterFinish) => {
                if !self.finished(ch)? && self.has_value(ch)? {
                    ch.setattr(intern!(py, "finished"), true)?;
                    return Ok(true);
                }
                Ok(false)
            }
            Some(Kind::NamedBarrierValueAfterFinish) => {
                if !self.finished(ch)? && self.barrier_full(ch)? {
                    ch.setattr(intern!(py, "finished"), true)?;
                    return Ok(true);
                }
                Ok(false)
            }
            Some(_) => Ok(false),
            None => self.call(ch, intern!(py, "finish")),
        }
    }
}

impl WritesApplier {
    /// `sorted(tasks, key=...)` with the key built here, when every path allows it.
    fn sort_natively<'py>(
        &self,
        py: Python<'py>,
        tasks: &Bound<'py, PyList>,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let Some(native) = &self.native_sort else {
            return Ok(None);
        };
        if !native.still_valid(py)? {
            return Ok(None);
        }
        let mut keyed = Vec::with_capacity(tasks.len());
        for task in tasks.iter() {
            match native.key(&task.getattr(intern!(py, "path"))?)? {
                Some(key) => keyed.push((key, task)),
                None => return Ok(None),
            }
        }
        // Stable, like sorted(); UTF-8 byte order is code point order, as Python compares str.
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Some(PyList::new(py, keyed.into_iter().map(|(_, t)| t))?))
    }

    #[allow(clippy::too_many_arguments)]
    fn apply<'py>(
        &self,
        py: Python<'py>,
        channels: &Bound<'py, PyDict>,
        versions: &Bound<'py, PyDict>,
        versions_seen: &Bound<'py, PyDict>,
        tasks: &Bound<'py, PyAny>,
        get_next_version: &Bound<'py, PyAny>,
        trigger_to_nodes: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PySet>> {
        let (sorted, max) = sorted_and_max(py)?;
        let tasks = PyList::new(py, tasks.try_iter()?.collect::<PyResult<Vec<_>>>()?)?;
        // Fewer than two tasks: nothing to order, and the key (pure string formatting
        // of the task path) has no effect worth computing.
        let tasks = if tasks.len() < 2 {
            tasks
        } else if let Some(ordered) = self.sort_natively(py, &tasks)? {
            ordered
        } else {
            let kwargs = PyDict::new(py);
            kwargs.set_item(intern!(py, "key"), self.sort_key.bind(py))?;
            sorted
                .call((tasks,), Some(&kwargs))?
                .cast_into::<PyList>()?
        };
        let mut step = Step {
            applier: self,
            py,
            seen: Vec::new(),
            missing: self.missing.bind(py).clone(),
        };

        let mut bump_step = false;
        for task in tasks.iter() {
            if task.getattr(intern!(py, "triggers"))?.is_truthy()? {
                bump_step = true;
                break;
            }
        }

        // versions_seen[task.name] |= {chan: versions[chan] for chan in task.triggers if chan in versions}
        for task in tasks.iter() {
            let name = task.getattr(intern!(py, "name"))?;
            let seen_for_task = match versions_seen.get_item(&name)? {
                Some(existing) => existing,
                None => {
                    let fresh = PyDict::new(py);
                    versions_seen.set_item(&name, &fresh)?;
                    fresh.into_any()
                }
            };
            let update = PyDict::new(py);
            for chan in task.getattr(intern!(py, "triggers"))?.try_iter()? {
                let chan = chan?;
                if let Some(version) = versions.get_item(&chan)? {
                    update.set_item(chan, version)?;
                }
            }
            match seen_for_task.cast::<PyDict>() {
                Ok(d) if d.is_exact_instance_of::<PyDict>() => d.update(update.as_mapping())?,
                _ => {
                    seen_for_task.call_method1(intern!(py, "update"), (update,))?;
                }
            }
        }

        let next_version = if get_next_version.is_none() {
            None
        } else {
            let current = if versions.is_empty() {
                py.None().into_bound(py)
            } else {
                max.call1((versions.values(),))?
            };
            Some(get_next_version.call1((current, py.None()))?)
        };

        // Consume every channel a task was triggered by (a set: its iteration order).
        let reserved = self.reserved.bind(py);
        let to_consume = PySet::empty(py)?;
        for task in tasks.iter() {
            for chan in task.getattr(intern!(py, "triggers"))?.try_iter()? {
                let chan = chan?;
                if !reserved.contains(&chan)? && channels.contains(&chan)? {
                    to_consume.add(chan)?;
                }
            }
        }
        for chan in to_consume.iter() {
            let ch = channels
                .get_item(&chan)?
                .ok_or_else(|| missing_channel(&chan))?;
            if step.consume(&ch)? {
                if let Some(v) = &next_version {
                    versions.set_item(&chan, v)?;
                }
            }
        }

        // Group writes by channel, in task order.
        let skip = self.skip.bind(py);
        let pending = PyDict::new(py);
        for task in tasks.iter() {
            for write in task.getattr(intern!(py, "writes"))?.try_iter()? {
                let (chan, val) = unpack_pair(&write?)?;
                if skip.contains(&chan)? {
                    continue;
                }
                if channels.contains(&chan)? {
                    match pending.get_item(&chan)? {
                        Some(list) => list.cast::<PyList>()?.append(val)?,
                        None => pending.set_item(&chan, PyList::new(py, [val])?)?,
                    }
                } else {
                    self.warn_unknown.bind(py).call1((&task, &chan))?;
                }
            }
        }

        let updated = PySet::empty(py)?;
        for (chan, vals) in pending.iter() {
            if let Some(ch) = channels.get_item(&chan)? {
                if step.update_values(&ch, vals.cast::<PyList>()?)? {
                    if let Some(v) = &next_version {
                        versions.set_item(&chan, v)?;
                        if step.is_available(&ch)? {
                            updated.add(&chan)?;
                        }
                    }
                }
            }
        }

        if bump_step {
            for (chan, ch) in channels.iter() {
                if step.is_available(&ch)? && !updated.contains(&chan)? && step.update_empty(&ch)? {
                    if let Some(v) = &next_version {
                        versions.set_item(&chan, v)?;
                        if step.is_available(&ch)? {
                            updated.add(&chan)?;
                        }
                    }
                }
            }
            let disjoint = updated
                .call_method1(intern!(py, "isdisjoint"), (trigger_to_nodes,))?
                .is_truthy()?;
            if disjoint {
                for (chan, ch) in channels.iter() {
                    if step.finish(&ch)? {
                        if let Some(v) = &next_version {
                            versions.set_item(&chan, v)?;
                            if step.is_available(&ch)? {
                                updated.add(&chan)?;
                            }
                        }
                    }
                }
            }
        }
        Ok(updated)
    }
}

/// `chan, val = write`, with Python's errors for the wrong number of items.
fn unpack_pair<'py>(write: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    if let Ok(t) = write.cast_exact::<PyTuple>() {
        if t.len() == 2 {
            return Ok((t.get_item(0)?, t.get_item(1)?));
        }
    }
    let mut items = write.try_iter()?;
    let first = items.next().transpose()?;
    let second = items.next().transpose()?;
    match (first, second) {
        (Some(a), Some(b)) => {
            if items.next().transpose()?.is_some() {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "too many values to unpack (expected 2)",
                ));
            }
            Ok((a, b))
        }
        (Some(_), None) => Err(pyo3::exceptions::PyValueError::new_err(
            "not enough values to unpack (expected 2, got 1)",
        )),
        _ => Err(pyo3::exceptions::PyValueError::new_err(
            "not enough values to unpack (expected 2, got 0)",
        )),
    }
}

fn missing_channel(chan: &Bound<'_, PyAny>) -> PyErr {
    pyo3::exceptions::PyKeyError::new_err(chan.clone().unbind())
}

#[pymethods]
impl WritesApplier {
    #[new]
    #[pyo3(signature = (original, sort_key, skip, reserved, empty_seq, missing, warn_unknown, classes, native_sort=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        original: Py<PyAny>,
        sort_key: Py<PyAny>,
        skip: Py<PyTuple>,
        reserved: Py<PyAny>,
        empty_seq: Py<PyAny>,
        missing: Py<PyAny>,
        warn_unknown: Py<PyAny>,
        classes: Vec<Bound<'_, PyType>>,
        native_sort: Option<NativeSortArgs>,
    ) -> PyResult<Self> {
        let mut known = Vec::new();
        for class in classes {
            let name = class.name()?.to_string();
            let kind = Kind::from_name(&name).ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "no native bookkeeping for channel class {name}"
                ))
            })?;
            let methods = METHODS
                .iter()
                .map(|m| class.getattr(*m).map(Bound::unbind))
                .collect::<PyResult<Vec<_>>>()?;
            known.push(KnownClass {
                class: class.unbind(),
                kind,
                methods,
            });
        }
        let method_names = METHODS
            .iter()
            .map(|m| pyo3::types::PyString::intern(py, m).unbind())
            .collect();
        let native_sort = native_sort.map(|(globals, task_path_str, writes_sort_key)| NativeSort {
            globals,
            task_path_str,
            writes_sort_key,
        });
        Ok(WritesApplier {
            native_sort,
            method_names,
            original,
            sort_key,
            skip,
            reserved,
            empty_seq,
            missing,
            warn_unknown,
            known,
        })
    }

    /// `apply_writes(checkpoint, channels, tasks, get_next_version, trigger_to_nodes)`.
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        checkpoint: &Bound<'py, PyAny>,
        channels: &Bound<'py, PyAny>,
        tasks: &Bound<'py, PyAny>,
        get_next_version: &Bound<'py, PyAny>,
        trigger_to_nodes: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let (Ok(cp), Ok(chans)) = (
            checkpoint.cast_exact::<PyDict>(),
            channels.cast_exact::<PyDict>(),
        ) {
            let versions = cp.get_item(intern!(py, "channel_versions"))?;
            let seen = cp.get_item(intern!(py, "versions_seen"))?;
            if let (Some(versions), Some(seen)) = (versions, seen) {
                if let (Ok(versions), Ok(seen)) =
                    (versions.cast_exact::<PyDict>(), seen.cast_exact::<PyDict>())
                {
                    return Ok(self
                        .apply(
                            py,
                            chans,
                            versions,
                            seen,
                            tasks,
                            get_next_version,
                            trigger_to_nodes,
                        )?
                        .into_any());
                }
            }
        }
        self.original.bind(py).call1((
            checkpoint,
            channels,
            tasks,
            get_next_version,
            trigger_to_nodes,
        ))
    }

    /// The function this one stands in for.
    #[getter]
    fn __wrapped__(&self, py: Python<'_>) -> Py<PyAny> {
        self.original.clone_ref(py)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<WritesApplier>()?;
    Ok(())
}

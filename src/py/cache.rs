//! Python face of the LRU/TTL cache: `fast_langgraph._core.LruCache`, `ManualClock`
//! and `make_key`, the stable key builder behind `@cached`.
//!
//! Thread-safety: the cache lives behind a mutex that is never held while Python
//! code can run (no callbacks, no decref under the lock), so one object can be
//! shared by any number of threads without "Already borrowed" errors or deadlocks.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString,
    PyTuple, PyType,
};

use crate::cache::{
    CacheStats, Clock, Lookup, LruTtlCache, ManualClock as ManualClockCore, MonotonicClock, Nanos,
};

const NANOS_PER_SECOND: f64 = 1e9;

fn seconds_to_nanos(seconds: f64) -> PyResult<Nanos> {
    if !(seconds.is_finite() && seconds >= 0.0) {
        return Err(PyValueError::new_err(format!(
            "ttl must be a finite number of seconds >= 0, got {seconds}"
        )));
    }
    Ok((seconds * NANOS_PER_SECOND) as Nanos)
}

/// A test clock for `LruCache(clock=...)`: time moves only when told to.
#[pyclass(frozen, module = "fast_langgraph._core")]
pub struct ManualClock {
    inner: Arc<ManualClockCore>,
}

#[pymethods]
impl ManualClock {
    #[new]
    fn new() -> Self {
        Self {
            inner: Arc::new(ManualClockCore::default()),
        }
    }

    /// Move the clock forward by `seconds`.
    fn advance(&self, seconds: f64) -> PyResult<()> {
        self.inner.advance(seconds_to_nanos(seconds)?);
        Ok(())
    }

    /// Seconds since the clock was created (plus every advance).
    fn now(&self) -> f64 {
        self.inner.now() as f64 / NANOS_PER_SECOND
    }
}

/// A cached value and the objects its key refers to by identity (kept alive so
/// their ids cannot be reused while the entry exists, as `functools.lru_cache` does).
struct Slot {
    value: Py<PyAny>,
    _pins: Option<Py<PyAny>>,
}

/// LRU cache with an optional TTL, keyed by `bytes` or `str`.
///
/// `max_size=0` means unbounded; `ttl` (seconds) is the default lifetime of an
/// entry, `None` for no expiry. Statistics are exact under concurrency.
#[pyclass(frozen, module = "fast_langgraph._core")]
pub struct LruCache {
    inner: Mutex<LruTtlCache<Slot>>,
    clock: Arc<dyn Clock>,
}

fn key_bytes<'a>(key: &'a Bound<'_, PyAny>) -> PyResult<std::borrow::Cow<'a, [u8]>> {
    if let Ok(b) = key.cast::<PyBytes>() {
        return Ok(std::borrow::Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(s) = key.cast::<PyString>() {
        let mut out = vec![b's'];
        out.extend_from_slice(&encode_str(s)?);
        return Ok(std::borrow::Cow::Owned(out));
    }
    Err(PyTypeError::new_err(format!(
        "cache keys are bytes or str, not {}; build one with fast_langgraph.make_key(...)",
        key.get_type().name()?
    )))
}

impl LruCache {
    fn now(&self) -> Nanos {
        self.clock.now()
    }

    /// The cached value for `key`, counting a hit or a miss.
    fn lookup_bytes(&self, py: Python<'_>, key: &[u8]) -> Option<Py<PyAny>> {
        let now = self.now();
        let expired;
        {
            let mut cache = self.inner.lock();
            match cache.get(key, now) {
                Lookup::Hit(slot) => return Some(slot.value.clone_ref(py)),
                Lookup::Miss(gone) => expired = gone,
            }
        }
        drop(expired); // decref outside the lock
        None
    }
}

#[pymethods]
impl LruCache {
    #[new]
    #[pyo3(signature = (max_size=1024, ttl=None, *, clock=None))]
    fn new(
        max_size: usize,
        ttl: Option<f64>,
        clock: Option<&Bound<'_, ManualClock>>,
    ) -> PyResult<Self> {
        let ttl = ttl.map(seconds_to_nanos).transpose()?;
        let clock: Arc<dyn Clock> = match clock {
            Some(c) => c.get().inner.clone(),
            None => Arc::new(MonotonicClock::default()),
        };
        Ok(Self {
            inner: Mutex::new(LruTtlCache::new(max_size, ttl)),
            clock,
        })
    }

    /// `(True, value)` on a hit, `(False, None)` on a miss: a cached `None` is a hit.
    fn lookup<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<(bool, Py<PyAny>)> {
        let key = key_bytes(key)?;
        Ok(match self.lookup_bytes(py, &key) {
            Some(value) => (true, value),
            None => (false, py.None()),
        })
    }

    /// The value for `key`, or `default` when absent or expired.
    #[pyo3(signature = (key, default=None))]
    fn get(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let (found, value) = self.lookup(py, key)?;
        Ok(if found {
            value
        } else {
            default.unwrap_or_else(|| py.None())
        })
    }

    /// Store `value`. `ttl` (seconds) overrides the default lifetime; `forever=True`
    /// stores an entry that never expires. `pins` are kept alive with the entry.
    #[pyo3(signature = (key, value, ttl=None, *, forever=false, pins=None))]
    fn put(
        &self,
        key: &Bound<'_, PyAny>,
        value: Py<PyAny>,
        ttl: Option<f64>,
        forever: bool,
        pins: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let key = key_bytes(key)?;
        let ttl = if forever {
            Some(None)
        } else {
            ttl.map(|t| seconds_to_nanos(t).map(Some)).transpose()?
        };
        let now = self.now();
        let gone = self
            .inner
            .lock()
            .insert(&key, Slot { value, _pins: pins }, ttl, now);
        drop(gone);
        Ok(())
    }

    /// Remove `key`; True if it was there.
    fn delete(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let key = key_bytes(key)?;
        let gone = self.inner.lock().remove(&key);
        Ok(gone.is_some())
    }

    /// Remove every key that starts with `prefix` (bytes); returns how many.
    fn delete_prefix(&self, prefix: &[u8]) -> usize {
        let gone = self.inner.lock().remove_prefix(prefix);
        gone.len()
    }

    /// Drop every entry (statistics are kept unless `reset_stats`).
    #[pyo3(signature = (*, reset_stats=false))]
    fn clear(&self, reset_stats: bool) {
        let gone = {
            let mut cache = self.inner.lock();
            if reset_stats {
                cache.reset_stats();
            }
            cache.clear()
        };
        drop(gone);
    }

    /// Drop expired entries now (they are otherwise dropped when read or evicted).
    fn purge_expired(&self) -> usize {
        let now = self.now();
        let gone = self.inner.lock().purge_expired(now);
        gone.len()
    }

    fn __len__(&self) -> usize {
        self.inner.lock().len()
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let key = key_bytes(key)?;
        let now = self.now();
        Ok(self.inner.lock().contains(&key, now))
    }

    #[getter]
    fn max_size(&self) -> usize {
        self.inner.lock().max_size()
    }

    #[getter]
    fn ttl(&self) -> Option<f64> {
        self.inner
            .lock()
            .default_ttl()
            .map(|t| t as f64 / NANOS_PER_SECOND)
    }

    /// `{"hits", "misses", "inserts", "evictions", "expirations", "size", "max_size", "hit_rate"}`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (s, size, max_size): (CacheStats, usize, usize) = {
            let cache = self.inner.lock();
            (cache.stats(), cache.len(), cache.max_size())
        };
        let d = PyDict::new(py);
        d.set_item("hits", s.hits)?;
        d.set_item("misses", s.misses)?;
        d.set_item("inserts", s.inserts)?;
        d.set_item("evictions", s.evictions)?;
        d.set_item("expirations", s.expirations)?;
        d.set_item("size", size)?;
        d.set_item("max_size", max_size)?;
        let lookups = s.hits + s.misses;
        d.set_item(
            "hit_rate",
            if lookups == 0 {
                0.0
            } else {
                s.hits as f64 / lookups as f64
            },
        )?;
        Ok(d)
    }
}

// ---------------------------------------------------------------------------
// Stable keys

const MAX_KEY_DEPTH: usize = 64;

fn encode_str(s: &Bound<'_, PyString>) -> PyResult<Vec<u8>> {
    // Lone surrogates are legal in Python str; keep them distinct instead of failing.
    let bytes = match s.to_cow() {
        Ok(text) => text.as_bytes().to_vec(),
        Err(_) => s
            .call_method1("encode", ("utf-8", "surrogatepass"))?
            .cast::<PyBytes>()?
            .as_bytes()
            .to_vec(),
    };
    let mut out = Vec::with_capacity(bytes.len() + 4);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(&bytes);
    Ok(out)
}

struct KeyWriter<'py> {
    py: Python<'py>,
    out: Vec<u8>,
    pins: Vec<Bound<'py, PyAny>>,
}

fn qualified_name(ty: &Bound<'_, PyType>) -> PyResult<String> {
    Ok(format!("{}.{}", ty.module()?, ty.qualname()?))
}

impl<'py> KeyWriter<'py> {
    fn new(py: Python<'py>) -> Self {
        Self {
            py,
            out: Vec::with_capacity(64),
            pins: Vec::new(),
        }
    }

    fn len(&mut self, n: usize) {
        self.out.extend_from_slice(&(n as u32).to_le_bytes());
    }

    fn text(&mut self, s: &str) {
        self.len(s.len());
        self.out.extend_from_slice(s.as_bytes());
    }

    /// Encode each item separately, then sort the encodings: equal sets/dicts
    /// give equal keys whatever their iteration order.
    fn sorted_items<I>(&mut self, tag: u8, items: I) -> PyResult<()>
    where
        I: Iterator<Item = PyResult<Vec<Bound<'py, PyAny>>>>,
    {
        let mut encoded = Vec::new();
        for group in items {
            let mut sub = KeyWriter::new(self.py);
            for item in group? {
                sub.write(&item, 1)?;
            }
            self.pins.extend(sub.pins);
            encoded.push(sub.out);
        }
        encoded.sort();
        self.out.push(tag);
        self.len(encoded.len());
        for e in encoded {
            self.out.extend_from_slice(&e);
        }
        Ok(())
    }

    fn write(&mut self, obj: &Bound<'py, PyAny>, depth: usize) -> PyResult<()> {
        if depth > MAX_KEY_DEPTH {
            return Err(PyValueError::new_err(
                "cache key argument nested too deeply (more than 64 levels)",
            ));
        }
        // Exact builtin types first: the common case, and no isinstance walk.
        if obj.is_none() {
            self.out.push(b'N');
            return Ok(());
        }
        if let Ok(s) = obj.cast_exact::<PyString>() {
            return self.write_str(s);
        }
        if let Ok(i) = obj.cast_exact::<PyInt>() {
            return self.write_int(i);
        }
        if let Ok(b) = obj.cast_exact::<PyBool>() {
            self.out.push(if b.is_true() { b'T' } else { b'F' });
            return Ok(());
        }
        if let Ok(f) = obj.cast_exact::<PyFloat>() {
            self.write_float(f);
            return Ok(());
        }
        if let Ok(t) = obj.cast_exact::<PyTuple>() {
            return self.write_tuple(t, depth);
        }
        // Enum before int/str: IntEnum and StrEnum members are instances of both.
        if obj.is_instance(ENUM.import(self.py, "enum", "Enum")?)? {
            self.out.push(b'E');
            self.text(&qualified_name(&obj.get_type())?);
            return self.write(&obj.getattr("value")?, depth + 1);
        }
        if let Ok(s) = obj.cast::<PyString>() {
            self.write_str(s)
        } else if let Ok(i) = obj.cast::<PyInt>() {
            self.write_int(i)
        } else if let Ok(f) = obj.cast::<PyFloat>() {
            self.write_float(f);
            Ok(())
        } else if let Ok(b) = obj.cast::<PyBytes>() {
            self.out.push(b'b');
            self.len(b.as_bytes().len());
            self.out.extend_from_slice(b.as_bytes());
            Ok(())
        } else if let Ok(b) = obj.cast::<PyByteArray>() {
            let data = b.to_vec();
            self.out.push(b'b');
            self.len(data.len());
            self.out.extend_from_slice(&data);
            Ok(())
        } else if let Ok(t) = obj.cast::<PyTuple>() {
            self.write_tuple(t, depth)
        } else if let Ok(l) = obj.cast::<PyList>() {
            // A snapshot: code run by a nested key cannot change the list under us.
            let items: Vec<Bound<'py, PyAny>> = l.iter().collect();
            self.out.push(b'l');
            self.len(items.len());
            for item in items {
                self.write(&item, depth + 1)?;
            }
            Ok(())
        } else if let Ok(d) = obj.cast::<PyDict>() {
            let items: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)> = d.iter().collect();
            self.sorted_items(b'd', items.into_iter().map(|(k, v)| Ok(vec![k, v])))
        } else if let Ok(s) = obj.cast::<PySet>() {
            let items: Vec<Bound<'py, PyAny>> = s.iter().collect();
            self.sorted_items(b'S', items.into_iter().map(|v| Ok(vec![v])))
        } else if let Ok(s) = obj.cast::<PyFrozenSet>() {
            let items: Vec<Bound<'py, PyAny>> = s.iter().collect();
            self.sorted_items(b'S', items.into_iter().map(|v| Ok(vec![v])))
        } else {
            self.write_object(obj, depth)
        }
    }

    fn write_str(&mut self, s: &Bound<'py, PyString>) -> PyResult<()> {
        self.out.push(b's');
        let encoded = encode_str(s)?;
        self.out.extend_from_slice(&encoded);
        Ok(())
    }

    fn write_int(&mut self, i: &Bound<'py, PyInt>) -> PyResult<()> {
        match i.extract::<i64>() {
            Ok(v) => {
                self.out.push(b'i');
                self.out.extend_from_slice(&v.to_le_bytes());
            }
            Err(_) => {
                self.out.push(b'I');
                let text = i.str()?;
                self.text(&text.to_cow()?);
            }
        }
        Ok(())
    }

    fn write_float(&mut self, f: &Bound<'py, PyFloat>) {
        let mut v = f.value();
        if v == 0.0 {
            v = 0.0; // -0.0 == 0.0 in Python
        }
        if v.is_nan() {
            v = f64::NAN;
        }
        self.out.push(b'f');
        self.out.extend_from_slice(&v.to_bits().to_le_bytes());
    }

    fn write_tuple(&mut self, t: &Bound<'py, PyTuple>, depth: usize) -> PyResult<()> {
        self.out.push(b't');
        self.len(t.len());
        for item in t.iter() {
            self.write(&item, depth + 1)?;
        }
        Ok(())
    }

    fn write_object(&mut self, obj: &Bound<'py, PyAny>, depth: usize) -> PyResult<()> {
        let py = self.py;
        let ty = obj.get_type();
        let name = qualified_name(&ty)?;
        // Pydantic models by their fields: v2 (`model_fields` on the class in every 2.x,
        // including every LangChain message and Document), then v1 (`__fields__` + `.dict()`).
        if !obj.is_instance_of::<PyType>() {
            for (marker, dump) in [("model_fields", "model_dump"), ("__fields__", "dict")] {
                if ty.hasattr(marker)? {
                    if let Ok(dump) = obj.getattr(dump) {
                        if dump.is_callable() {
                            self.out.push(b'P');
                            self.text(&name);
                            return self.write(&dump.call0()?, depth + 1);
                        }
                    }
                }
            }
        }
        if !obj.is_instance_of::<PyType>() && obj.hasattr("__dataclass_fields__")? {
            let fields = py.import("dataclasses")?.getattr("fields")?.call1((obj,))?;
            self.out.push(b'D');
            self.text(&name);
            let fields: Vec<Bound<'py, PyAny>> = fields.try_iter()?.collect::<PyResult<_>>()?;
            self.len(fields.len());
            for field in fields {
                let fname = field.getattr("name")?;
                self.write(&fname, depth + 1)?;
                self.write(&obj.getattr(fname.cast::<PyString>()?)?, depth + 1)?;
            }
            return Ok(());
        }
        if is_value_type(py, obj)? {
            // datetime, date, time, timedelta, timezone, UUID, Decimal, Path, ...: repr is canonical.
            self.out.push(b'O');
            self.text(&name);
            let text = obj.repr()?;
            self.text(&text.to_cow()?);
            return Ok(());
        }
        if has_identity_equality(py, &ty)? {
            // Equal only to itself: key by identity, and keep the object alive with the entry.
            self.out.push(b'@');
            self.text(&name);
            self.out
                .extend_from_slice(&(obj.as_ptr() as usize as u64).to_le_bytes());
            self.pins.push(obj.clone());
            return Ok(());
        }
        Err(PyTypeError::new_err(format!(
            "cannot build a stable cache key from a {name} (it defines its own equality); \
             pass key=... to @cached (a function of the same arguments returning str or bytes), \
             or exclude the argument with ignore=(...)"
        )))
    }
}

static ENUM: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static VALUE_TYPES: PyOnceLock<Py<PyTuple>> = PyOnceLock::new();

/// Types whose repr is a canonical, complete description of the value.
fn is_value_type(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let types = VALUE_TYPES.get_or_try_init(py, || -> PyResult<Py<PyTuple>> {
        let mut types = Vec::new();
        for (module, names) in [
            ("datetime", &["date", "time", "timedelta", "tzinfo"][..]),
            ("uuid", &["UUID"][..]),
            ("decimal", &["Decimal"][..]),
            ("pathlib", &["PurePath"][..]),
        ] {
            let module = py.import(module)?;
            for name in names {
                types.push(module.getattr(*name)?);
            }
        }
        Ok(PyTuple::new(py, types)?.unbind())
    })?;
    obj.is_instance(types.bind(py).as_any())
}

fn has_identity_equality(py: Python<'_>, ty: &Bound<'_, PyType>) -> PyResult<bool> {
    let object = py.get_type::<pyo3::types::PyAny>();
    Ok(ty.getattr("__eq__")?.is(&object.getattr("__eq__")?)
        && ty.getattr("__hash__")?.is(&object.getattr("__hash__")?))
}

/// The stable key of `obj` as bytes, and the objects the key refers to by identity
/// (a tuple, or None) that must stay alive as long as the cached entry.
///
/// Equal arguments give equal keys whatever dict or set order; types are kept apart
/// (`1`, `1.0` and `True` are different keys). See the `fast_langgraph.cache` docs.
#[pyfunction]
pub fn make_key<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyBytes>, Py<PyAny>)> {
    let mut writer = KeyWriter::new(py);
    writer.write(obj, 0)?;
    let pins = if writer.pins.is_empty() {
        py.None()
    } else {
        PyTuple::new(py, writer.pins)?.into_any().unbind()
    };
    Ok((PyBytes::new(py, &writer.out), pins))
}

impl CachedFunction {
    /// The key `make_key(bound arguments, defaults applied)` for a call that binds
    /// simply (positional and keyword arguments naming parameters), else None.
    fn fast_key<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> Option<KeyWriter<'py>> {
        let n = self.n_params?;
        if args.len() > n {
            return None;
        }
        let mut writer = KeyWriter::new(py);
        writer.out.push(b't');
        writer.len(n);
        if kwargs.is_none_or(|k| k.is_empty()) {
            // Positional call: no binding table needed.
            let rest = &self.defaults[args.len()..];
            if rest.iter().any(|d| d.is(&self.missing)) {
                return None;
            }
            for item in args.iter() {
                writer.write(&item, 1).ok()?;
            }
            for default in rest {
                writer.write(default.bind(py), 1).ok()?;
            }
            return Some(writer);
        }
        let mut bound: Vec<Option<Bound<'py, PyAny>>> = args.iter().map(Some).collect();
        bound.resize(n, None);
        if let Some(kwargs) = kwargs {
            for (name, value) in kwargs.iter() {
                let index = self.names.iter().position(|p| {
                    p.bind(py).is(&name) || p.bind(py).as_any().eq(&name).unwrap_or(false)
                })?;
                if bound[index].is_some() {
                    return None; // given twice: let Python raise its TypeError
                }
                bound[index] = Some(value);
            }
        }
        for (slot, default) in bound.iter().zip(&self.defaults) {
            let value = match slot {
                Some(v) => v.clone(),
                None if default.is(&self.missing) => return None,
                None => default.bind(py).clone(),
            };
            writer.write(&value, 1).ok()?;
        }
        Some(writer)
    }
}

/// The hit path of `@cached` for sync functions, in Rust.
///
/// A call that binds simply (arguments naming positional-or-keyword parameters,
/// missing ones taking their defaults) builds the same key as the Python path and
/// returns a cached value without entering Python; on a miss it passes the key to
/// `miss(key, pins, args, kwargs)`. Other calls go to `slow(*args, **kwargs)`, the
/// Python wrapper that binds them itself. Both call the function once per key.
#[pyclass(frozen, dict, module = "fast_langgraph._core")]
pub struct CachedFunction {
    cache: Py<LruCache>,
    /// Positional-or-keyword parameters, or None when the fast path never applies.
    n_params: Option<usize>,
    /// Name and default of each parameter; `missing` marks a required one.
    names: Vec<Py<PyString>>,
    defaults: Vec<Py<PyAny>>,
    missing: Py<PyAny>,
    slow: Py<PyAny>,
    miss: Py<PyAny>,
}

#[pymethods]
impl CachedFunction {
    #[new]
    fn new(
        cache: Py<LruCache>,
        n_params: Option<usize>,
        names: Vec<Py<PyString>>,
        defaults: Vec<Py<PyAny>>,
        missing: Py<PyAny>,
        slow: Py<PyAny>,
        miss: Py<PyAny>,
    ) -> Self {
        Self {
            cache,
            n_params,
            names,
            defaults,
            missing,
            slow,
            miss,
        }
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let Some(writer) = self.fast_key(py, args, kwargs) else {
            return Ok(self.slow.bind(py).call(args, kwargs)?.unbind());
        };
        let cache = self.cache.get();
        let now = cache.now();
        if let Some(slot) = cache.inner.lock().get_if_hit(&writer.out, now) {
            return Ok(slot.value.clone_ref(py));
        }
        // A miss: hand the key we built to Python, which calls the function once per key.
        let key = PyBytes::new(py, &writer.out);
        let pins = if writer.pins.is_empty() {
            py.None()
        } else {
            PyTuple::new(py, writer.pins)?.into_any().unbind()
        };
        let kwargs = match kwargs {
            Some(k) => k.clone(),
            None => PyDict::new(py),
        };
        Ok(self
            .miss
            .bind(py)
            .call1((key, pins, args, kwargs))?
            .unbind())
    }

    /// Bind like a function when used as a method.
    fn __get__(
        slf: &Bound<'_, Self>,
        obj: Option<&Bound<'_, PyAny>>,
        _owner: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        match obj {
            None => Ok(slf.clone().into_any().unbind()),
            Some(o) if o.is_none() => Ok(slf.clone().into_any().unbind()),
            Some(o) => Ok(py
                .import("types")?
                .getattr("MethodType")?
                .call1((slf, o))?
                .unbind()),
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<LruCache>()?;
    m.add_class::<CachedFunction>()?;
    m.add_class::<ManualClock>()?;
    m.add_function(wrap_pyfunction!(make_key, m)?)?;
    Ok(())
}

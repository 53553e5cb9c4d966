//! Python face of the SQLite checkpoint store: `fast_langgraph._core.SqliteCheckpointStore`,
//! the storage half of `fast_langgraph.sqlite_saver.RustSqliteSaver` (which does the
//! serialization with the saver's `serde`, in Python).
//!
//! Locking rules (no deadlock, no "Already borrowed"):
//! * SQLite work runs with the GIL released, and the GIL is released *before* the
//!   connection lock is taken; the lock is never held while Python code can run.
//!   The write queue's lock is also taken with the GIL held (`put_queued`, so saves
//!   queue in their callers' order): its holders never wait for the GIL.
//! * Values cross the boundary as owned Rust data, so nothing borrowed from Python
//!   is touched without the GIL except immutable `bytes` buffers kept alive by the
//!   caller's frame (see `RawBytes`).
//! * No connection is open across `fork()` (see `checkpoint::fork`): the before-fork
//!   hook waits for the SQLite work in flight (every piece of it holds a gate `Pass`)
//!   and closes the idle file-backed connections; both processes reopen on first use.
//!   A connection still busy when the wait times out is never used by the child: it
//!   gets a fresh one, and the inherited one is leaked rather than closed (closing it
//!   could release locks or remove the WAL the parent still relies on).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::checkpoint::fork::{self, GATE};
use crate::checkpoint::{
    copy_error, parse_journal_mode, CheckpointRow, FilterValue, Key, ListQuery, NewWrite, Options,
    Store, StoreError, Synchronous, WriteJob,
};

/// A `bytes` buffer read without the GIL. Sound because `bytes` are immutable and
/// the object is owned by the calling frame for the whole `detach`.
#[derive(Clone, Copy)]
struct RawBytes {
    ptr: *const u8,
    len: usize,
}

unsafe impl Send for RawBytes {}

impl RawBytes {
    fn new(b: &Bound<'_, PyBytes>) -> Self {
        let s = b.as_bytes();
        Self {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// # Safety
    /// The `bytes` object must still be alive.
    unsafe fn get<'a>(self) -> &'a [u8] {
        // SAFETY: ptr/len come from a live `bytes` object's buffer (the caller's contract),
        // which CPython never moves or mutates.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

enum Conn {
    /// Not opened yet in this process (after `fork()`).
    Unopened,
    Open(Store),
    Closed,
}

struct Slot {
    pid: u32,
    conn: Mutex<Conn>,
    /// Writes waiting for the connection; whoever gets it next commits them all at once.
    queue: Mutex<Vec<Arc<Request>>>,
    /// Signalled when a write joins `queue`.
    arrived: Condvar,
    /// The group-commit window's state and the write counters: written by the writer
    /// holding `conn`, read by `write_stats`.
    pace: Mutex<Pace>,
}

impl Slot {
    fn new(pid: u32, conn: Conn) -> Self {
        Self {
            pid,
            conn: Mutex::new(conn),
            queue: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            pace: Mutex::new(Pace::default()),
        }
    }
}

/// The group-commit window. A write that gets the connection alone while writes are
/// streaming in (the previous transaction ended less than a commit's time ago) waits up
/// to half a commit's time for a second one, so both share one transaction and one fsync.
/// A LangGraph loop writes in pairs (a task's writes, then the step's checkpoint) that
/// reach the saver a few tens of µs apart, so with `synchronous=FULL` this halves the
/// fsyncs, whose latency is what a durable agent waits for. Never waited: an idle
/// store, commits too cheap to be worth it; and after a window nobody joined, the next
/// 2, 4, ... 64 transactions (a single thread writing one checkpoint after another
/// pays for a window once in 65 writes at most).
#[derive(Default)]
struct Pace {
    /// Moving average of a write transaction's duration, its commit included.
    commit: Duration,
    last_end: Option<Instant>,
    /// Windows in a row that nobody joined, and transactions left to run without one.
    misses: u32,
    skip: u32,
    stats: WriteStats,
}

#[derive(Default, Clone, Copy, Debug, PartialEq)]
struct WriteStats {
    writes: u64,
    transactions: u64,
    windows: u64,
    joined: u64,
}

impl Pace {
    /// Commits faster than this are not worth waiting for.
    const WORTH_WAITING: Duration = Duration::from_micros(50);
    const MAX_WAIT: Duration = Duration::from_millis(1);
    const MAX_BACKOFF: u32 = 6;

    /// How long a write alone at the connection waits for company (zero: not at all).
    fn window(&mut self, now: Instant) -> Duration {
        let streaming = matches!(self.last_end, Some(end) if now.duration_since(end) < self.commit);
        if !streaming || self.commit < Self::WORTH_WAITING {
            return Duration::ZERO;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return Duration::ZERO;
        }
        (self.commit / 2).min(Self::MAX_WAIT)
    }

    fn waited(&mut self, joined: bool) {
        self.stats.windows += 1;
        if joined {
            self.stats.joined += 1;
            self.misses = 0;
        } else {
            self.misses = (self.misses + 1).min(Self::MAX_BACKOFF);
            self.skip = 1 << self.misses;
        }
    }

    fn committed(&mut self, writes: usize, start: Instant, end: Instant) {
        let took = end.duration_since(start);
        self.commit = match self.last_end {
            None => took,
            Some(_) => (self.commit * 7 + took) / 8,
        };
        self.last_end = Some(end);
        self.stats.writes += writes as u64;
        self.stats.transactions += 1;
    }
}

/// One caller's write in the group-commit queue.
struct Request {
    job: Mutex<Option<WriteJob>>,
    result: Mutex<Option<Result<(), StoreError>>>,
    /// A write that must have been written for this one to be attempted (a checkpoint
    /// save queued behind the one before it). Taken when the write runs, so a run of
    /// saves never holds a chain of its predecessors.
    after: Mutex<Option<Arc<Request>>>,
    /// Whether it has been written: set when it ran without error, cleared again if its
    /// group's commit failed (final once its transaction has ended).
    written: AtomicBool,
}

impl Request {
    fn new(job: WriteJob, after: Option<Arc<Request>>) -> Arc<Self> {
        Arc::new(Self {
            job: Mutex::new(Some(job)),
            result: Mutex::new(None),
            after: Mutex::new(after),
            written: AtomicBool::new(false),
        })
    }

    /// The job, wrapped to record how it went (and skipped when its `after` was not written).
    fn take_job(self: &Arc<Self>) -> Option<WriteJob> {
        let job = self.job.lock().take()?;
        let after = self.after.lock().take();
        let me = self.clone();
        Some(Box::new(move |s: &mut Store| {
            // `after` was queued first, so it has run: in this group or an earlier one.
            let result = match after {
                Some(a) if !a.written.load(Ordering::Acquire) => Err(StoreError::NotAttempted),
                _ => job(s),
            };
            me.finished(&result);
            result
        }))
    }

    fn finished(&self, result: &Result<(), StoreError>) {
        self.written.store(result.is_ok(), Ordering::Release);
    }
}

fn open_conn<'a>(
    conn: &'a mut Conn,
    path: &str,
    options: &Options,
) -> Result<&'a mut Store, StoreError> {
    if let Conn::Unopened = *conn {
        *conn = Conn::Open(Store::open(path, options)?);
    }
    match conn {
        Conn::Open(store) => Ok(store),
        _ => Err(StoreError::Closed),
    }
}

fn to_py_err(err: StoreError) -> PyErr {
    match err {
        StoreError::Sqlite(e) => sqlite_error(&e),
        StoreError::Closed => sqlite3_exception("ProgrammingError", err.to_string()),
        StoreError::Create { .. } => sqlite3_exception("OperationalError", err.to_string()),
        StoreError::SqliteUnavailable(_) => sqlite3_exception("NotSupportedError", err.to_string()),
        StoreError::Corrupt { .. }
        | StoreError::InvalidFilterKey(_)
        | StoreError::InvalidOption(_) => PyValueError::new_err(err.to_string()),
        StoreError::NotAttempted => PyRuntimeError::new_err(err.to_string()),
    }
}

/// Raise what code written for `SqliteSaver` already catches: `sqlite3` exceptions.
fn sqlite_error(e: &rusqlite::Error) -> PyErr {
    use rusqlite::ErrorCode as C;
    let class = match e.sqlite_error_code() {
        Some(C::ConstraintViolation) => "IntegrityError",
        Some(C::DatabaseCorrupt | C::NotADatabase) => "DatabaseError",
        Some(C::ApiMisuse) => "ProgrammingError",
        Some(_) => "OperationalError",
        None => "DatabaseError",
    };
    sqlite3_exception(class, e.to_string())
}

fn sqlite3_exception(class: &str, message: String) -> PyErr {
    Python::attach(|py| {
        match py
            .import("sqlite3")
            .and_then(|m| m.getattr(class))
            .and_then(|cls| cls.call1((message.clone(),)))
        {
            Ok(exc) => PyErr::from_value(exc),
            Err(e) => e,
        }
    })
}

/// Resolve (once per process) the SQLite library Python's `sqlite3` module loaded; its
/// version. Raises `ImportError` when Python has no `sqlite3`, `sqlite3.NotSupportedError`
/// when its SQLite functions cannot be found.
fn ensure_sqlite(py: Python<'_>) -> PyResult<&'static str> {
    if let Ok(version) = crate::checkpoint::sqlite_api::status() {
        return Ok(version);
    }
    let imported = py.import("sqlite3").and_then(|sqlite3| {
        let version: String = sqlite3.getattr("sqlite_version")?.extract()?;
        let module = py.import("_sqlite3")?;
        let file: Option<String> = match module.getattr("__file__") {
            Ok(f) => f.extract().ok(),
            Err(_) => None, // built into the interpreter
        };
        Ok((version, file))
    });
    let (version, file) = imported.map_err(|e| {
        pyo3::exceptions::PyImportError::new_err(format!(
            "RustSqliteSaver uses the SQLite library of Python's sqlite3 module, which cannot be \
             imported in this interpreter: {e}"
        ))
    })?;
    let outcome =
        py.detach(|| crate::checkpoint::sqlite_api::init_from_process(file.as_deref(), &version));
    outcome
        .as_ref()
        .map(|v| *v)
        .map_err(|why| to_py_err(StoreError::SqliteUnavailable(why.clone())))
}

/// SQLite storage for LangGraph checkpoints, same schema as `langgraph-checkpoint-sqlite`.
///
/// Thread-safe; every method releases the GIL while it talks to SQLite. Writes are
/// single `BEGIN IMMEDIATE` transactions (all or nothing).
#[pyclass(frozen, module = "fast_langgraph._core")]
pub struct SqliteCheckpointStore {
    path: String,
    options: Options,
    slot: Arc<Mutex<Arc<Slot>>>,
}

/// Every store of this process, for the before-fork hook. Locked only with the GIL
/// held, like the stores' `slot` (so never by another thread at a fork).
static STORES: Mutex<Vec<Weak<Mutex<Arc<Slot>>>>> = Mutex::new(Vec::new());

type RowTuple<'py> = Bound<'py, PyTuple>;

fn row_to_py<'py>(py: Python<'py>, row: CheckpointRow) -> PyResult<RowTuple<'py>> {
    let writes = PyList::empty(py);
    for w in row.writes {
        writes.append((
            w.task_id,
            w.channel,
            w.type_,
            w.value.map(|v| PyBytes::new(py, &v)),
        ))?;
    }
    (
        row.key.thread_id,
        row.key.checkpoint_ns,
        row.key.checkpoint_id,
        row.parent_checkpoint_id,
        row.type_,
        PyBytes::new(py, &row.checkpoint),
        row.metadata.map(|m| PyBytes::new(py, &m)),
        writes,
    )
        .into_pyobject(py)
}

fn filter_value(value: &Bound<'_, PyAny>) -> PyResult<FilterValue> {
    if value.is_none() {
        Ok(FilterValue::Null)
    } else if value.cast::<PyBool>().is_ok() {
        Ok(FilterValue::Int(i64::from(value.extract::<bool>()?)))
    } else if value.cast::<PyInt>().is_ok() {
        Ok(FilterValue::Int(value.extract::<i64>()?))
    } else if value.cast::<PyFloat>().is_ok() {
        Ok(FilterValue::Real(value.extract::<f64>()?))
    } else if let Ok(s) = value.cast::<PyString>() {
        Ok(FilterValue::Text(s.to_cow()?.into_owned()))
    } else {
        Err(PyTypeError::new_err(format!(
            "filter values are None, int, float or str (convert others first), not {}",
            value.get_type().name()?
        )))
    }
}

impl SqliteCheckpointStore {
    /// This process's connection slot (a fresh one after `fork()`). Called with the
    /// GIL held: `os.fork()` also holds it, so no thread is inside this lock at a fork.
    fn slot(&self, _py: Python<'_>) -> Arc<Slot> {
        let mut slot = self.slot.lock();
        let pid = std::process::id();
        if slot.pid != pid {
            let closed = matches!(slot.conn.try_lock().as_deref(), Some(Conn::Closed));
            let inherited = std::mem::replace(
                &mut *slot,
                Arc::new(Slot::new(
                    pid,
                    if closed { Conn::Closed } else { Conn::Unopened },
                )),
            );
            std::mem::forget(inherited);
        }
        slot.clone()
    }

    /// Run `f` on the connection with the GIL released.
    fn with_store<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send,
    ) -> PyResult<T> {
        let slot = self.slot(py);
        let path = &self.path;
        let options = &self.options;
        py.detach(move || {
            let _pass = GATE.enter();
            let mut conn = slot.conn.lock();
            f(open_conn(&mut conn, path, options)?)
        })
        .map_err(to_py_err)
    }

    /// Run a write with the GIL released, group-committed with the writes of other
    /// threads waiting for the connection at the same time (one fsync for all; each
    /// write still all or nothing, and reported only once committed).
    fn write(&self, py: Python<'_>, job: WriteJob) -> PyResult<()> {
        let slot = self.slot(py);
        py.detach(move || {
            let _pass = GATE.enter();
            let request = enqueue(&slot, job, None);
            self.finish(&slot, &request)
        })
        .map_err(to_py_err)
    }

    /// Wait (GIL released) until `request` is committed or has failed: commit it, with
    /// every write queued by then, as soon as the connection is free, unless the holder
    /// before us committed it with its own.
    fn finish(&self, slot: &Slot, request: &Request) -> Result<(), StoreError> {
        let mut conn = slot.conn.lock();
        if let Some(done) = request.result.lock().take() {
            return done;
        }
        // `pace` is only written by the holder of `conn`; it is locked briefly so that
        // `write_stats` never waits for a window or a commit.
        let batch = {
            let mut queue = slot.queue.lock();
            if queue.len() < 2 {
                let window = slot.pace.lock().window(Instant::now());
                if !window.is_zero() {
                    let deadline = Instant::now() + window;
                    while queue.len() < 2
                        && !slot.arrived.wait_until(&mut queue, deadline).timed_out()
                    {
                    }
                    slot.pace.lock().waited(queue.len() >= 2);
                }
            }
            std::mem::take(&mut *queue)
        };
        let jobs: Vec<WriteJob> = batch.iter().filter_map(|r| r.take_job()).collect();
        let start = Instant::now();
        let results = match open_conn(&mut conn, &self.path, &self.options) {
            Ok(store) => {
                let results = store.write_group(jobs);
                slot.pace
                    .lock()
                    .committed(batch.len(), start, Instant::now());
                results
            }
            Err(e) => batch.iter().map(|_| Err(copy_error(&e))).collect(),
        };
        for (r, result) in batch.iter().zip(results) {
            r.finished(&result); // a failed commit fails the whole group
            *r.result.lock() = Some(result);
        }
        drop(conn);
        let own = request.result.lock().take();
        own.unwrap_or(Err(StoreError::Closed))
    }
}

/// The write of one checkpoint row (`put`, `put_queued`). It holds references to the two
/// `bytes`, so their buffers outlive it whenever it runs.
fn put_job(
    key: Key,
    parent_checkpoint_id: Option<String>,
    type_: String,
    checkpoint: &Bound<'_, PyBytes>,
    metadata: &Bound<'_, PyBytes>,
) -> WriteJob {
    let (blob, meta) = (RawBytes::new(checkpoint), RawBytes::new(metadata));
    let owned = (checkpoint.clone().unbind(), metadata.clone().unbind());
    Box::new(move |s: &mut Store| {
        let _owned = owned;
        // SAFETY: `_owned` keeps both `bytes` objects alive while the job runs.
        let (blob, meta) = unsafe { (blob.get(), meta.get()) };
        s.put(&key, parent_checkpoint_id.as_deref(), &type_, blob, meta)
    })
}

/// Put a write in the group-commit queue (no SQLite work: no gate pass needed).
fn enqueue(slot: &Slot, job: WriteJob, after: Option<Arc<Request>>) -> Arc<Request> {
    let request = Request::new(job, after);
    slot.queue.lock().push(request.clone());
    slot.arrived.notify_all();
    request
}

/// A checkpoint save queued by `SqliteCheckpointStore.put_queued`; `wait()` for it.
#[pyclass(frozen, module = "fast_langgraph._core")]
pub struct QueuedWrite {
    store: Py<SqliteCheckpointStore>,
    slot: Arc<Slot>,
    request: Arc<Request>,
    waited: AtomicBool,
}

#[pymethods]
impl QueuedWrite {
    /// Wait (GIL released) for the save's commit: True once committed, False when it was
    /// not attempted because the save it was queued after failed; raises its own error
    /// (as `put` would) otherwise. Once only.
    fn wait(&self, py: Python<'_>) -> PyResult<bool> {
        if self.waited.swap(true, Ordering::AcqRel) {
            return Err(PyRuntimeError::new_err(
                "this queued write was already waited for",
            ));
        }
        if self.slot.pid != std::process::id() {
            return Err(PyRuntimeError::new_err(
                "a write queued before fork() cannot be waited for in the child",
            ));
        }
        let store = self.store.get();
        let (slot, request) = (&self.slot, &self.request);
        match py.detach(move || {
            let _pass = GATE.enter();
            store.finish(slot, request)
        }) {
            Ok(()) => Ok(true),
            Err(StoreError::NotAttempted) => Ok(false),
            Err(e) => Err(to_py_err(e)),
        }
    }
}

#[pymethods]
impl SqliteCheckpointStore {
    /// Open (or create, mode 0600) the database at `path` and set up the schema.
    #[new]
    #[pyo3(signature = (path, *, journal_mode="WAL", synchronous="FULL", busy_timeout=5.0))]
    fn new(
        py: Python<'_>,
        path: String,
        journal_mode: &str,
        synchronous: &str,
        busy_timeout: f64,
    ) -> PyResult<Self> {
        if !(busy_timeout.is_finite() && busy_timeout >= 0.0) {
            return Err(PyValueError::new_err(format!(
                "busy_timeout must be a finite number of seconds >= 0, got {busy_timeout}"
            )));
        }
        let options = Options {
            journal_mode: parse_journal_mode(journal_mode).map_err(to_py_err)?,
            synchronous: Synchronous::parse(synchronous).map_err(to_py_err)?,
            busy_timeout: Duration::from_secs_f64(busy_timeout),
            ..Options::default()
        };
        ensure_sqlite(py)?;
        let store = {
            let (p, o) = (&path, &options);
            py.detach(move || {
                let _pass = GATE.enter();
                Store::open(p, o)
            })
            .map_err(to_py_err)?
        };
        let slot = Arc::new(Mutex::new(Arc::new(Slot::new(
            std::process::id(),
            Conn::Open(store),
        ))));
        let mut stores = STORES.lock();
        stores.retain(|s| s.strong_count() > 0);
        stores.push(Arc::downgrade(&slot));
        Ok(Self {
            path,
            options,
            slot,
        })
    }

    /// The database path as given.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// Version of the SQLite library the store uses: the one Python's `sqlite3` loaded.
    #[staticmethod]
    fn sqlite_version(py: Python<'_>) -> PyResult<&'static str> {
        ensure_sqlite(py)
    }

    /// The pragmas in force on this connection (journal_mode, synchronous, ...).
    fn pragmas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let values = self.with_store(py, |s| s.pragmas())?;
        let out = PyDict::new(py);
        for (name, value) in values {
            out.set_item(name, value)?;
        }
        Ok(out)
    }

    /// This process's write counters: writes, the transactions they were committed in
    /// (fewer when group commit joined some), windows waited for a second write, and
    /// how many of those one joined.
    fn write_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let slot = self.slot(py);
        let stats = py.detach(move || slot.pace.lock().stats);
        let out = PyDict::new(py);
        out.set_item("writes", stats.writes)?;
        out.set_item("transactions", stats.transactions)?;
        out.set_item("windows", stats.windows)?;
        out.set_item("joined", stats.joined)?;
        Ok(out)
    }

    /// Close the connection; later calls raise `sqlite3.ProgrammingError`. Idempotent.
    fn close(&self, py: Python<'_>) {
        let slot = self.slot(py);
        let old = py.detach(move || {
            let _pass = GATE.enter();
            std::mem::replace(&mut *slot.conn.lock(), Conn::Closed)
        });
        drop(old);
    }

    /// Insert or replace one checkpoint row.
    #[allow(clippy::too_many_arguments)]
    fn put(
        &self,
        py: Python<'_>,
        thread_id: String,
        checkpoint_ns: String,
        checkpoint_id: String,
        parent_checkpoint_id: Option<String>,
        type_: String,
        checkpoint: &Bound<'_, PyBytes>,
        metadata: &Bound<'_, PyBytes>,
    ) -> PyResult<()> {
        let job = put_job(
            Key {
                thread_id,
                checkpoint_ns,
                checkpoint_id,
            },
            parent_checkpoint_id,
            type_,
            checkpoint,
            metadata,
        );
        self.write(py, job)
    }

    /// `put`, queued for the next group commit and returned at once: `QueuedWrite.wait()`
    /// reports it. With `after` (a save queued earlier on this store), it is attempted
    /// only if that one was written; queued in call order, saves commit in that order
    /// (several of them in one transaction when they queue up while another commits).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type_, checkpoint, metadata, after=None))]
    fn put_queued(
        slf: &Bound<'_, Self>,
        thread_id: String,
        checkpoint_ns: String,
        checkpoint_id: String,
        parent_checkpoint_id: Option<String>,
        type_: String,
        checkpoint: &Bound<'_, PyBytes>,
        metadata: &Bound<'_, PyBytes>,
        after: Option<&Bound<'_, QueuedWrite>>,
    ) -> PyResult<QueuedWrite> {
        let py = slf.py();
        let slot = slf.get().slot(py);
        let after = match after {
            Some(a) if !Arc::ptr_eq(&a.get().slot, &slot) => {
                return Err(PyValueError::new_err(
                    "after= is a write queued on another store (or before fork())",
                ))
            }
            Some(a) => Some(a.get().request.clone()),
            None => None,
        };
        let job = put_job(
            Key {
                thread_id,
                checkpoint_ns,
                checkpoint_id,
            },
            parent_checkpoint_id,
            type_,
            checkpoint,
            metadata,
        );
        // With the GIL held, so saves queue in the order their callers made them.
        let request = enqueue(&slot, job, after);
        Ok(QueuedWrite {
            store: slf.clone().unbind(),
            slot,
            request,
            waited: AtomicBool::new(false),
        })
    }

    /// Store one task's writes: `writes` is a list of `(idx, channel, type, value)`.
    #[allow(clippy::too_many_arguments)]
    fn put_writes(
        &self,
        py: Python<'_>,
        thread_id: String,
        checkpoint_ns: String,
        checkpoint_id: String,
        task_id: String,
        task_path: String,
        writes: Vec<(i64, String, String, Bound<'_, PyBytes>)>,
        replace: bool,
    ) -> PyResult<()> {
        let key = Key {
            thread_id,
            checkpoint_ns,
            checkpoint_id,
        };
        let owned: Vec<(i64, String, String, RawBytes)> = writes
            .iter()
            .map(|(i, c, t, v)| (*i, c.clone(), t.clone(), RawBytes::new(v)))
            .collect();
        self.write(
            py,
            Box::new(move |s: &mut Store| {
                // SAFETY: every value is kept alive by `writes` for this whole call.
                let batch: Vec<NewWrite<'_>> = owned
                    .iter()
                    .map(|(idx, channel, type_, value)| NewWrite {
                        idx: *idx,
                        channel,
                        type_,
                        value: unsafe { value.get() },
                    })
                    .collect();
                s.put_writes(&key, &task_id, &task_path, &batch, replace)
            }),
        )
    }

    /// `(thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint,
    /// metadata, writes)` for that id (the latest when `None`), or None. `writes` are
    /// `(task_id, channel, type, value)` in LangGraph's `writes_sort_key` order.
    #[pyo3(signature = (thread_id, checkpoint_ns, checkpoint_id=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        thread_id: String,
        checkpoint_ns: String,
        checkpoint_id: Option<String>,
    ) -> PyResult<Option<RowTuple<'py>>> {
        let row = self.with_store(py, move |s| {
            s.get(&thread_id, &checkpoint_ns, checkpoint_id.as_deref())
        })?;
        row.map(|r| row_to_py(py, r)).transpose()
    }

    /// Keys `(thread_id, checkpoint_ns, checkpoint_id)` matching the query, newest
    /// first. `filter` is a list of `(metadata key, None | int | float | str)`.
    #[pyo3(signature = (thread_id=None, checkpoint_ns=None, checkpoint_id=None, filter=None, before=None, limit=None))]
    #[allow(clippy::too_many_arguments)]
    fn list_keys(
        &self,
        py: Python<'_>,
        thread_id: Option<String>,
        checkpoint_ns: Option<String>,
        checkpoint_id: Option<String>,
        filter: Option<Vec<(String, Bound<'_, PyAny>)>>,
        before: Option<String>,
        limit: Option<i64>,
    ) -> PyResult<Vec<(String, String, String)>> {
        let filter = filter
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| Ok((k.clone(), filter_value(v)?)))
            .collect::<PyResult<Vec<_>>>()?;
        let query = ListQuery {
            thread_id,
            checkpoint_ns,
            checkpoint_id,
            filter,
            before,
            limit,
        };
        let keys = self.with_store(py, move |s| s.list_keys(&query))?;
        Ok(keys
            .into_iter()
            .map(|k| (k.thread_id, k.checkpoint_ns, k.checkpoint_id))
            .collect())
    }

    /// The rows (as `get` returns them) for these keys, in order; deleted ones are skipped.
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        keys: Vec<(String, String, String)>,
    ) -> PyResult<Bound<'py, PyList>> {
        let keys: Vec<Key> = keys
            .into_iter()
            .map(|(thread_id, checkpoint_ns, checkpoint_id)| Key {
                thread_id,
                checkpoint_ns,
                checkpoint_id,
            })
            .collect();
        let rows = self.with_store(py, move |s| s.get_many(&keys))?;
        let out = PyList::empty(py);
        for row in rows {
            out.append(row_to_py(py, row)?)?;
        }
        Ok(out)
    }

    /// Copy every checkpoint and write of `source_thread_id` to `target_thread_id`, atomically.
    fn copy_thread(
        &self,
        py: Python<'_>,
        source_thread_id: String,
        target_thread_id: String,
    ) -> PyResult<()> {
        self.with_store(py, move |s| {
            s.copy_thread(&source_thread_id, &target_thread_id)
        })
    }

    /// Keep only the latest checkpoint per namespace (`keep_latest=True`) or delete
    /// everything of these threads, atomically.
    fn prune(&self, py: Python<'_>, thread_ids: Vec<String>, keep_latest: bool) -> PyResult<()> {
        self.write(
            py,
            Box::new(move |s: &mut Store| s.prune(&thread_ids, keep_latest)),
        )
    }

    /// Delete the checkpoints (and their writes) whose metadata `run_id` is listed, atomically.
    fn delete_for_runs(&self, py: Python<'_>, run_ids: Vec<String>) -> PyResult<()> {
        self.write(
            py,
            Box::new(move |s: &mut Store| s.delete_for_runs(&run_ids)),
        )
    }

    /// Delete every checkpoint and write of a thread (all namespaces), atomically.
    fn delete_thread(&self, py: Python<'_>, thread_id: String) -> PyResult<()> {
        self.write(
            py,
            Box::new(move |s: &mut Store| s.delete_thread(&thread_id)),
        )
    }
}

/// Before `fork()` (`os.register_at_fork`): stop new SQLite work of every store, wait
/// up to `timeout` seconds for the work in flight, and close the idle file-backed
/// connections (both processes reopen on first use). Returns `(in_flight, left_open)`:
/// the work still running and the connections it keeps open (the child never uses
/// those). Must be followed by `sqlite_after_fork` in the parent and in the child.
/// Runs with the GIL held, as `os.fork()` does: no Python code runs meanwhile.
#[pyfunction]
fn sqlite_before_fork(timeout: f64) -> (usize, usize) {
    let timeout = if timeout.is_nan() || timeout <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(timeout).unwrap_or(Duration::MAX)
    };
    let in_flight = fork::before_fork(timeout);
    let pid = std::process::id();
    let mut left_open = 0;
    for store in STORES.lock().iter().filter_map(Weak::upgrade) {
        let slot = store.lock().clone();
        if slot.pid != pid {
            continue; // inherited from our own parent: never touched
        }
        let Some(mut conn) = slot.conn.try_lock() else {
            left_open += 1; // busy past the timeout
            continue;
        };
        if matches!(&*conn, Conn::Open(s) if s.is_file_backed()) {
            let old = std::mem::replace(&mut *conn, Conn::Unopened);
            drop(conn);
            drop(old);
        }
    }
    (in_flight, left_open)
}

/// After `fork()`, in the parent (`in_child=False`) or the child: open the gate again.
#[pyfunction]
fn sqlite_after_fork(in_child: bool) {
    fork::after_fork(in_child)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SqliteCheckpointStore>()?;
    m.add_class::<QueuedWrite>()?;
    m.add_function(wrap_pyfunction!(sqlite_before_fork, m)?)?;
    m.add_function(wrap_pyfunction!(sqlite_after_fork, m)?)?;
    Ok(())
}

#[cfg(test)]
mod pace_tests {
    use super::{Pace, WriteStats};
    use std::time::{Duration, Instant};

    const COMMIT: Duration = Duration::from_micros(200);

    /// A store whose one transaction took `took` and has just ended.
    fn after_commit(took: Duration) -> (Pace, Instant) {
        let mut pace = Pace::default();
        let t = Instant::now();
        pace.committed(1, t, t + took);
        (pace, t + took)
    }

    fn streaming() -> (Pace, Instant) {
        after_commit(COMMIT)
    }

    #[test]
    fn an_idle_or_new_store_never_waits() {
        let now = Instant::now();
        assert_eq!(Pace::default().window(now), Duration::ZERO);
        let (mut pace, end) = streaming();
        assert_eq!(pace.window(end + 2 * COMMIT), Duration::ZERO);
    }

    #[test]
    fn a_write_right_after_a_commit_waits_half_a_commit() {
        let (mut pace, end) = streaming();
        assert_eq!(pace.window(end + COMMIT / 4), COMMIT / 2);
    }

    #[test]
    fn cheap_commits_are_not_worth_a_window() {
        let (mut pace, end) = after_commit(Duration::from_micros(20));
        assert_eq!(pace.window(end + Duration::from_micros(5)), Duration::ZERO);
    }

    #[test]
    fn the_window_is_capped() {
        let (mut pace, end) = after_commit(Duration::from_millis(30));
        assert_eq!(pace.window(end + Duration::from_millis(1)), Pace::MAX_WAIT);
    }

    #[test]
    fn misses_back_off_exponentially_to_one_window_in_65() {
        let (mut pace, end) = streaming();
        let mut windows = 0;
        for _ in 0..1000 {
            if !pace.window(end).is_zero() {
                windows += 1;
                pace.waited(false);
            }
        }
        // six windows while backing off (skipping 2, 4, ... 64), then one in every 65
        assert!(windows <= 6 + 1000 / 65 + 1, "{windows}");
        assert!(pace.skip <= 64);
    }

    #[test]
    fn a_joined_window_resets_the_backoff() {
        let (mut pace, end) = streaming();
        assert!(!pace.window(end).is_zero());
        pace.waited(false);
        assert_eq!(pace.window(end), Duration::ZERO);
        assert_eq!(pace.window(end), Duration::ZERO);
        assert!(!pace.window(end).is_zero());
        pace.waited(true);
        assert!(!pace.window(end).is_zero());
        assert_eq!(
            pace.stats,
            WriteStats {
                writes: 1,
                transactions: 1,
                windows: 2,
                joined: 1
            }
        );
    }
}

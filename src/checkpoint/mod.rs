//! SQLite checkpoint store, file-compatible with `langgraph-checkpoint-sqlite`.
//!
//! Same tables, columns and key order as `SqliteSaver` (so either saver opens a
//! database the other wrote); rows hold bytes produced by the Python saver's serde.
//! Every write is one `BEGIN IMMEDIATE` transaction: all or nothing. Reads run in
//! a deferred transaction so a checkpoint and its pending writes come from one
//! snapshot. Statements are prepared once per connection (statement cache).
//!
//! A `Store` is one connection and is not `Sync`: callers serialize access.

use std::time::{Duration, Instant};

pub mod fork;

use rusqlite::types::ValueRef;
use rusqlite::{params, params_from_iter, Connection, OpenFlags};

pub mod sqlite_api;

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create database file {path:?}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "corrupt checkpoint (thread_id={thread_id:?}, checkpoint_ns={checkpoint_ns:?}, \
         checkpoint_id={checkpoint_id:?}): {what}"
    )]
    Corrupt {
        thread_id: String,
        checkpoint_ns: String,
        checkpoint_id: String,
        what: String,
    },
    #[error(
        "Invalid filter key: '{0}'. Filter keys must contain only alphanumeric characters, \
         underscores, dots, and hyphens."
    )]
    InvalidFilterKey(String),
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error("Cannot operate on a closed database.")]
    Closed,
    /// A write queued after another (`after`) that was not written: not attempted.
    #[error("not written: the write it was queued after failed")]
    NotAttempted,
    /// No usable SQLite library in this process (see `sqlite_api`).
    #[error("{0}")]
    SqliteUnavailable(String),
}

/// `PRAGMA synchronous` level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    Off,
    Normal,
    Full,
    Extra,
}

impl Synchronous {
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text.to_ascii_uppercase().as_str() {
            "OFF" | "0" => Self::Off,
            "NORMAL" | "1" => Self::Normal,
            "FULL" | "2" => Self::Full,
            "EXTRA" | "3" => Self::Extra,
            _ => {
                return Err(StoreError::InvalidOption(format!(
                    "synchronous must be OFF, NORMAL, FULL or EXTRA, not {text:?}"
                )))
            }
        })
    }

    pub fn as_sql(self) -> &'static str {
        match self {
            Self::Off => "OFF",
            Self::Normal => "NORMAL",
            Self::Full => "FULL",
            Self::Extra => "EXTRA",
        }
    }
}

/// `PRAGMA journal_mode` values accepted for a saver.
pub fn parse_journal_mode(text: &str) -> Result<&'static str> {
    Ok(match text.to_ascii_uppercase().as_str() {
        "WAL" => "WAL",
        "DELETE" => "DELETE",
        "TRUNCATE" => "TRUNCATE",
        "PERSIST" => "PERSIST",
        "MEMORY" => "MEMORY",
        "OFF" => "OFF",
        _ => {
            return Err(StoreError::InvalidOption(format!(
                "journal_mode must be WAL, DELETE, TRUNCATE, PERSIST, MEMORY or OFF, not {text:?}"
            )))
        }
    })
}

#[derive(Debug, Clone)]
pub struct Options {
    pub journal_mode: &'static str,
    pub synchronous: Synchronous,
    pub busy_timeout: Duration,
    /// Permission bits of a database file this store creates (before the umask).
    pub create_mode: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            journal_mode: "WAL",
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            create_mode: 0o600,
        }
    }
}

/// Primary key of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub thread_id: String,
    pub checkpoint_ns: String,
    pub checkpoint_id: String,
}

/// A pending write as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRow {
    pub task_id: String,
    pub channel: String,
    pub type_: Option<String>,
    pub value: Option<Vec<u8>>,
}

/// A checkpoint row and its pending writes (in `writes_sort_key` order).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointRow {
    pub key: Key,
    pub parent_checkpoint_id: Option<String>,
    pub type_: Option<String>,
    pub checkpoint: Vec<u8>,
    pub metadata: Option<Vec<u8>>,
    pub writes: Vec<WriteRow>,
}

/// One write of `put_writes`; `idx` is already mapped (special channels are negative).
#[derive(Debug, Clone, Copy)]
pub struct NewWrite<'a> {
    pub idx: i64,
    pub channel: &'a str,
    pub type_: &'a str,
    pub value: &'a [u8],
}

/// The value of a metadata filter, compared with `json_extract` like upstream.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub thread_id: Option<String>,
    /// `None`: every namespace (upstream adds the clause only when the key is set).
    pub checkpoint_ns: Option<String>,
    pub checkpoint_id: Option<String>,
    pub filter: Vec<(String, FilterValue)>,
    pub before: Option<String>,
    pub limit: Option<i64>,
}

/// LangGraph's rule for metadata filter keys (`^[a-zA-Z0-9_.-]+$`): the key is
/// spliced into a JSON path, so anything else is refused.
pub fn validate_filter_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidFilterKey(key.to_owned()))
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS checkpoints (
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL,
    parent_checkpoint_id TEXT,
    type TEXT,
    checkpoint BLOB,
    metadata BLOB,
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
);
CREATE TABLE IF NOT EXISTS writes (
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    task_path TEXT NOT NULL DEFAULT '',
    idx INTEGER NOT NULL,
    channel TEXT NOT NULL,
    type TEXT,
    value BLOB,
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
);
";

const PUT_CHECKPOINT: &str = "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, \
    checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)";
const PUT_WRITE_REPLACE: &str = "INSERT OR REPLACE INTO writes (thread_id, checkpoint_ns, \
    checkpoint_id, task_id, task_path, idx, channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
const PUT_WRITE_IGNORE: &str = "INSERT OR IGNORE INTO writes (thread_id, checkpoint_ns, \
    checkpoint_id, task_id, task_path, idx, channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
const GET_BY_ID: &str = "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, \
    type, checkpoint, metadata FROM checkpoints \
    WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?";
const GET_LATEST: &str = "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, \
    type, checkpoint, metadata FROM checkpoints \
    WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1";
// ORDER BY = LangGraph's writes_sort_key (task_path, task_id, idx); BINARY collation
// orders like Python's str comparison (code points).
const GET_WRITES: &str = "SELECT task_id, channel, type, value FROM writes \
    WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? \
    ORDER BY task_path, task_id, idx";
const GET_WRITES_NO_TASK_PATH: &str = "SELECT task_id, channel, type, value FROM writes \
    WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? ORDER BY task_id, idx";

/// A transaction on cached `BEGIN`/`COMMIT`/`ROLLBACK` statements (rusqlite's own
/// `Transaction` re-parses them on every call). Dropped without `commit`: rolled back.
/// Inside a group commit it is a savepoint of the group's transaction instead.
struct Tx<'a> {
    conn: &'a Connection,
    open: bool,
    savepoint: bool,
}

impl<'a> Tx<'a> {
    fn begin(conn: &'a Connection, sql: &str) -> Result<Self> {
        conn.prepare_cached(sql)?.execute([])?;
        Ok(Self {
            conn,
            open: true,
            savepoint: false,
        })
    }

    fn savepoint(conn: &'a Connection) -> Result<Self> {
        conn.prepare_cached("SAVEPOINT one_call")?.execute([])?;
        Ok(Self {
            conn,
            open: true,
            savepoint: true,
        })
    }

    fn commit(mut self) -> Result<()> {
        let sql = if self.savepoint {
            "RELEASE one_call"
        } else {
            "COMMIT"
        };
        self.conn.prepare_cached(sql)?.execute([])?;
        self.open = false;
        Ok(())
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing to report from here; the error that got us here is returned.
            let run = |sql: &str| {
                let _ = self
                    .conn
                    .prepare_cached(sql)
                    .and_then(|mut s| s.execute([]));
            };
            if self.savepoint {
                run("ROLLBACK TO one_call");
                run("RELEASE one_call");
            } else {
                run("ROLLBACK");
            }
        }
    }
}

/// One caller's write, run by `Store::write_group`.
pub type WriteJob = Box<dyn FnOnce(&mut Store) -> Result<()> + Send>;

/// The same error for every caller of a group (rusqlite errors are not `Clone`).
pub fn copy_error(err: &StoreError) -> StoreError {
    let failure = match err {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    };
    StoreError::Sqlite(failure)
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

pub struct Store {
    conn: Connection,
    /// False only for a read-only database created before the `task_path` column.
    has_task_path: bool,
    /// Inside `write_group`: writes are savepoints of the group's transaction.
    in_group: bool,
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Retry `f` while SQLite reports the database busy, up to `timeout` (some
/// statements, e.g. switching to WAL, fail fast instead of waiting on the handler).
fn retry_busy<T>(timeout: Duration, mut f: impl FnMut() -> rusqlite::Result<T>) -> Result<T> {
    let start = Instant::now();
    loop {
        match f() {
            Err(e) if is_busy(&e) && start.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(2))
            }
            other => return Ok(other?),
        }
    }
}

fn is_special_path(path: &str) -> bool {
    path.is_empty() || path == ":memory:" || path.starts_with("file:")
}

/// Create the database file with `mode` if it does not exist (SQLite would use
/// 0644; its -wal and -shm files copy the mode of the database file).
#[cfg(unix)]
fn create_private(path: &str, mode: u32) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Create {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(not(unix))]
fn create_private(_path: &str, _mode: u32) -> Result<()> {
    Ok(())
}

fn text(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Null => None,
    }
}

fn bytes(value: ValueRef<'_>) -> std::result::Result<Option<Vec<u8>>, &'static str> {
    match value {
        ValueRef::Blob(b) | ValueRef::Text(b) => Ok(Some(b.to_vec())),
        ValueRef::Null => Ok(None),
        ValueRef::Integer(_) | ValueRef::Real(_) => Err("a number where bytes were expected"),
    }
}

impl Store {
    /// Open (creating with `options.create_mode` if needed) and set up the schema.
    pub fn open(path: &str, options: &Options) -> Result<Self> {
        Self::sqlite_version()?;
        if !is_special_path(path) {
            create_private(path, options.create_mode)?;
        }
        // NO_MUTEX: the caller serializes access to the connection.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(options.busy_timeout)?;
        conn.set_prepared_statement_cache_capacity(64);
        let timeout = options.busy_timeout;
        match retry_busy(timeout, || {
            conn.query_row(
                &format!("PRAGMA journal_mode={}", options.journal_mode),
                [],
                |r| r.get::<_, String>(0),
            )
        }) {
            Ok(_) => {}
            // A read-only database keeps its journal mode and can still be read (SqliteSaver
            // raises here on a read-only file not in WAL mode).
            Err(StoreError::Sqlite(e))
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) => {}
            Err(e) => return Err(e),
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous={}",
            options.synchronous.as_sql()
        ))?;
        let mut store = Self {
            conn,
            has_task_path: true,
            in_group: false,
        };
        store.setup(timeout)?;
        Ok(store)
    }

    fn setup(&mut self, timeout: Duration) -> Result<()> {
        let conn = &self.conn;
        let exists = |table: &str| -> rusqlite::Result<bool> {
            conn.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                [table],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
        };
        if !(retry_busy(timeout, || exists("checkpoints"))?
            && retry_busy(timeout, || exists("writes"))?)
        {
            retry_busy(timeout, || conn.execute_batch(SCHEMA))?;
        }
        // Databases from before `task_path` existed get the column, as upstream does.
        let has_column = retry_busy(timeout, || {
            conn.query_row(
                "SELECT count(*) FROM pragma_table_info('writes') WHERE name = 'task_path'",
                [],
                |r| r.get::<_, i64>(0),
            )
        })? > 0;
        if !has_column {
            match retry_busy(timeout, || {
                conn.execute(
                    "ALTER TABLE writes ADD COLUMN task_path TEXT NOT NULL DEFAULT ''",
                    [],
                )
            }) {
                Ok(_) => {}
                Err(StoreError::Sqlite(e))
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) =>
                {
                    self.has_task_path = false
                }
                Err(StoreError::Sqlite(e)) if e.to_string().contains("duplicate column") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// True when the database lives in a file (not `:memory:` or a temporary
    /// database), so closing and reopening the connection loses nothing.
    pub fn is_file_backed(&self) -> bool {
        matches!(self.conn.path(), Some(p) if !p.is_empty())
    }

    /// Version of the SQLite library in use (see `sqlite_api`).
    pub fn sqlite_version() -> Result<&'static str> {
        sqlite_api::status().map_err(|why| StoreError::SqliteUnavailable(why.to_owned()))
    }

    /// `(name, value)` of the pragmas that decide durability and concurrency.
    pub fn pragmas(&self) -> Result<Vec<(&'static str, String)>> {
        let mut out = Vec::new();
        for name in [
            "journal_mode",
            "synchronous",
            "busy_timeout",
            "locking_mode",
            "page_size",
            "wal_autocheckpoint",
        ] {
            let value = self.conn.query_row(&format!("PRAGMA {name}"), [], |r| {
                Ok(text(r.get_ref(0)?).unwrap_or_default())
            })?;
            out.push((name, value));
        }
        Ok(out)
    }

    /// A write transaction: `BEGIN IMMEDIATE` takes the write lock up front (waiting
    /// up to the busy timeout), so a write never fails midway on a lock upgrade.
    fn write_tx(&mut self) -> Result<Tx<'_>> {
        if self.in_group {
            Tx::savepoint(&self.conn)
        } else {
            Tx::begin(&self.conn, "BEGIN IMMEDIATE")
        }
    }

    /// Group commit: run the writes of several callers in one transaction, so they
    /// share one fsync. Each job stays all-or-nothing (a savepoint of its own: a failed
    /// job is rolled back alone), and every result is final only once the group has
    /// committed, so a caller told "ok" is as durable as with its own transaction.
    pub fn write_group(&mut self, mut jobs: Vec<WriteJob>) -> Vec<Result<()>> {
        if jobs.len() == 1 {
            if let Some(job) = jobs.pop() {
                return vec![job(self)];
            }
        }
        if let Err(e) = self
            .conn
            .prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut s| s.execute([]))
        {
            let e = StoreError::from(e);
            return jobs.iter().map(|_| Err(copy_error(&e))).collect();
        }
        self.in_group = true;
        let mut results: Vec<Result<()>> = jobs.into_iter().map(|job| job(self)).collect();
        self.in_group = false;
        if let Err(e) = self
            .conn
            .prepare_cached("COMMIT")
            .and_then(|mut s| s.execute([]))
        {
            let _ = self.conn.execute_batch("ROLLBACK");
            let e = StoreError::from(e);
            for r in results.iter_mut() {
                if r.is_ok() {
                    *r = Err(copy_error(&e));
                }
            }
        }
        results
    }

    /// A read transaction: one snapshot for a checkpoint and its writes.
    fn read_tx(&mut self) -> Result<Tx<'_>> {
        Tx::begin(&self.conn, "BEGIN")
    }

    /// Insert or replace one checkpoint (one transaction).
    pub fn put(
        &mut self,
        key: &Key,
        parent_checkpoint_id: Option<&str>,
        type_: &str,
        checkpoint: &[u8],
        metadata: &[u8],
    ) -> Result<()> {
        let tx = self.write_tx()?;
        tx.prepare_cached(PUT_CHECKPOINT)?.execute(params![
            key.thread_id,
            key.checkpoint_ns,
            key.checkpoint_id,
            parent_checkpoint_id,
            type_,
            checkpoint,
            metadata
        ])?;
        tx.commit()?;
        Ok(())
    }

    /// Store the writes of one task (one transaction). `replace`: INSERT OR REPLACE
    /// (upstream does so when every channel is special), else INSERT OR IGNORE.
    pub fn put_writes(
        &mut self,
        key: &Key,
        task_id: &str,
        task_path: &str,
        writes: &[NewWrite<'_>],
        replace: bool,
    ) -> Result<()> {
        let has_task_path = self.has_task_path;
        let tx = self.write_tx()?;
        {
            let sql = match (replace, has_task_path) {
                (true, true) => PUT_WRITE_REPLACE,
                (false, true) => PUT_WRITE_IGNORE,
                // A legacy read-only database: the write fails on its own.
                (true, false) => "INSERT OR REPLACE INTO writes (thread_id, checkpoint_ns, \
                    checkpoint_id, task_id, idx, channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (false, false) => "INSERT OR IGNORE INTO writes (thread_id, checkpoint_ns, \
                    checkpoint_id, task_id, idx, channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            };
            let mut stmt = tx.prepare_cached(sql)?;
            for w in writes {
                if has_task_path {
                    stmt.execute(params![
                        key.thread_id,
                        key.checkpoint_ns,
                        key.checkpoint_id,
                        task_id,
                        task_path,
                        w.idx,
                        w.channel,
                        w.type_,
                        w.value
                    ])?;
                } else {
                    stmt.execute(params![
                        key.thread_id,
                        key.checkpoint_ns,
                        key.checkpoint_id,
                        task_id,
                        w.idx,
                        w.channel,
                        w.type_,
                        w.value
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Delete every checkpoint and write of a thread, in all namespaces (one transaction).
    pub fn delete_thread(&mut self, thread_id: &str) -> Result<()> {
        let tx = self.write_tx()?;
        tx.prepare_cached("DELETE FROM checkpoints WHERE thread_id = ?")?
            .execute([thread_id])?;
        tx.prepare_cached("DELETE FROM writes WHERE thread_id = ?")?
            .execute([thread_id])?;
        tx.commit()?;
        Ok(())
    }

    /// Copy every checkpoint and write of `source` to `target` (all namespaces, same
    /// ids, so the whole parent chain comes along), atomically.
    pub fn copy_thread(&mut self, source: &str, target: &str) -> Result<()> {
        let has_task_path = self.has_task_path;
        let tx = self.write_tx()?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, \
             parent_checkpoint_id, type, checkpoint, metadata) SELECT ?2, checkpoint_ns, \
             checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints \
             WHERE thread_id = ?1",
        )?
        .execute([source, target])?;
        let sql = if has_task_path {
            "INSERT OR REPLACE INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, \
             task_path, idx, channel, type, value) SELECT ?2, checkpoint_ns, checkpoint_id, \
             task_id, task_path, idx, channel, type, value FROM writes WHERE thread_id = ?1"
                .to_owned()
        } else {
            "INSERT OR REPLACE INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, \
             idx, channel, type, value) SELECT ?2, checkpoint_ns, checkpoint_id, task_id, idx, \
             channel, type, value FROM writes WHERE thread_id = ?1"
                .to_owned()
        };
        tx.prepare_cached(&sql)?.execute([source, target])?;
        tx.commit()?;
        Ok(())
    }

    /// Prune threads, atomically: `keep_latest` keeps the newest checkpoint of each
    /// namespace (and its writes); otherwise everything of the threads is deleted.
    pub fn prune(&mut self, thread_ids: &[String], keep_latest: bool) -> Result<()> {
        let tx = self.write_tx()?;
        for thread_id in thread_ids {
            if keep_latest {
                for table in ["checkpoints", "writes"] {
                    tx.prepare_cached(&format!(
                        "DELETE FROM {table} WHERE thread_id = ?1 AND checkpoint_id < \
                         (SELECT max(c.checkpoint_id) FROM checkpoints c WHERE c.thread_id = ?1 \
                         AND c.checkpoint_ns = {table}.checkpoint_ns)"
                    ))?
                    .execute([thread_id])?;
                }
            } else {
                tx.prepare_cached("DELETE FROM checkpoints WHERE thread_id = ?")?
                    .execute([thread_id])?;
                tx.prepare_cached("DELETE FROM writes WHERE thread_id = ?")?
                    .execute([thread_id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Delete the checkpoints whose metadata `run_id` is one of `run_ids`, and their
    /// writes, atomically.
    pub fn delete_for_runs(&mut self, run_ids: &[String]) -> Result<()> {
        let tx = self.write_tx()?;
        for run_id in run_ids {
            tx.prepare_cached(
                "DELETE FROM writes WHERE EXISTS (SELECT 1 FROM checkpoints c \
                 WHERE c.thread_id = writes.thread_id AND c.checkpoint_ns = writes.checkpoint_ns \
                 AND c.checkpoint_id = writes.checkpoint_id \
                 AND json_extract(CAST(c.metadata AS TEXT), '$.run_id') = ?1)",
            )?
            .execute([run_id])?;
            tx.prepare_cached(
                "DELETE FROM checkpoints WHERE json_extract(CAST(metadata AS TEXT), '$.run_id') = ?1",
            )?
            .execute([run_id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The checkpoint with that id, or the latest of the thread/namespace when `None`.
    pub fn get(
        &mut self,
        thread_id: &str,
        checkpoint_ns: &str,
        checkpoint_id: Option<&str>,
    ) -> Result<Option<CheckpointRow>> {
        let has_task_path = self.has_task_path;
        let tx = self.read_tx()?;
        let row = match checkpoint_id {
            Some(id) => read_checkpoint(&tx, GET_BY_ID, params![thread_id, checkpoint_ns, id])?,
            None => read_checkpoint(&tx, GET_LATEST, params![thread_id, checkpoint_ns])?,
        };
        let row = match row {
            Some(mut row) => {
                row.writes = read_writes(&tx, &row.key, has_task_path)?;
                Some(row)
            }
            None => None,
        };
        tx.commit()?;
        Ok(row)
    }

    /// Keys of the checkpoints matching `query`, newest first (upstream `list` order).
    pub fn list_keys(&mut self, query: &ListQuery) -> Result<Vec<Key>> {
        let mut wheres: Vec<String> = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        use rusqlite::types::Value;
        if let Some(t) = &query.thread_id {
            wheres.push("thread_id = ?".into());
            values.push(Value::Text(t.clone()));
        }
        if let Some(ns) = &query.checkpoint_ns {
            wheres.push("checkpoint_ns = ?".into());
            values.push(Value::Text(ns.clone()));
        }
        if let Some(id) = &query.checkpoint_id {
            wheres.push("checkpoint_id = ?".into());
            values.push(Value::Text(id.clone()));
        }
        for (key, value) in &query.filter {
            validate_filter_key(key)?;
            let (op, v) = match value {
                FilterValue::Null => ("IS ?", Value::Null),
                FilterValue::Int(i) => ("= ?", Value::Integer(*i)),
                FilterValue::Real(f) => ("= ?", Value::Real(*f)),
                FilterValue::Text(s) => ("= ?", Value::Text(s.clone())),
            };
            wheres.push(format!(
                "json_extract(CAST(metadata AS TEXT), '$.{key}') {op}"
            ));
            values.push(v);
        }
        if let Some(before) = &query.before {
            wheres.push("checkpoint_id < ?".into());
            values.push(Value::Text(before.clone()));
        }
        let mut sql =
            String::from("SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints");
        if !wheres.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&wheres.join(" AND "));
        }
        sql.push_str(" ORDER BY checkpoint_id DESC");
        if let Some(limit) = query.limit {
            sql.push_str(" LIMIT ?");
            values.push(Value::Integer(limit));
        }
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(values), |r| {
            Ok(Key {
                thread_id: text(r.get_ref(0)?).unwrap_or_default(),
                checkpoint_ns: text(r.get_ref(1)?).unwrap_or_default(),
                checkpoint_id: text(r.get_ref(2)?).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The rows for `keys`, in that order; keys deleted since are skipped.
    pub fn get_many(&mut self, keys: &[Key]) -> Result<Vec<CheckpointRow>> {
        let has_task_path = self.has_task_path;
        let tx = self.read_tx()?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(mut row) = read_checkpoint(
                &tx,
                GET_BY_ID,
                params![key.thread_id, key.checkpoint_ns, key.checkpoint_id],
            )? {
                row.writes = read_writes(&tx, &row.key, has_task_path)?;
                out.push(row);
            }
        }
        tx.commit()?;
        Ok(out)
    }
}

fn read_checkpoint(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<CheckpointRow>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    let key = Key {
        thread_id: text(r.get_ref(0)?).unwrap_or_default(),
        checkpoint_ns: text(r.get_ref(1)?).unwrap_or_default(),
        checkpoint_id: text(r.get_ref(2)?).unwrap_or_default(),
    };
    let corrupt = |what: &str| StoreError::Corrupt {
        thread_id: key.thread_id.clone(),
        checkpoint_ns: key.checkpoint_ns.clone(),
        checkpoint_id: key.checkpoint_id.clone(),
        what: what.to_owned(),
    };
    let checkpoint = match bytes(r.get_ref(5)?) {
        Ok(Some(b)) => b,
        Ok(None) => return Err(corrupt("the checkpoint column is NULL")),
        Err(what) => return Err(corrupt(&format!("checkpoint column: {what}"))),
    };
    let metadata =
        bytes(r.get_ref(6)?).map_err(|what| corrupt(&format!("metadata column: {what}")))?;
    Ok(Some(CheckpointRow {
        parent_checkpoint_id: text(r.get_ref(3)?),
        type_: text(r.get_ref(4)?),
        checkpoint,
        metadata,
        writes: Vec::new(),
        key,
    }))
}

fn read_writes(conn: &Connection, key: &Key, has_task_path: bool) -> Result<Vec<WriteRow>> {
    let sql = if has_task_path {
        GET_WRITES
    } else {
        GET_WRITES_NO_TASK_PATH
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![key.thread_id, key.checkpoint_ns, key.checkpoint_id])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let task_id = text(r.get_ref(0)?).unwrap_or_default();
        let channel = text(r.get_ref(1)?).unwrap_or_default();
        let value = bytes(r.get_ref(3)?).map_err(|what| StoreError::Corrupt {
            thread_id: key.thread_id.clone(),
            checkpoint_ns: key.checkpoint_ns.clone(),
            checkpoint_id: key.checkpoint_id.clone(),
            what: format!("pending write {task_id:?}/{channel:?}: {what}"),
        })?;
        out.push(WriteRow {
            task_id,
            channel,
            type_: text(r.get_ref(2)?),
            value,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

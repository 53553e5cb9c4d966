"""pytest plugin: run upstream tests with RustSqliteSaver in place of SqliteSaver / AsyncSqliteSaver.

Loaded with ``-p rust_sqlite_saver_plugin`` (this folder on PYTHONPATH) before the tests
import ``langgraph.checkpoint.sqlite``; two suites use it:

* LangGraph's own tests: ``tests/conftest_checkpointer.py``'s "sqlite", "sqlite_aes" and
  "sqlite_aio" checkpointer fixtures (``from_conn_string(":memory:")``, then ``serde``
  swapped for the AES and strict-msgpack variants) build ours. ``RUST_SQLITE_SAVER_ONLY=1``
  keeps only the tests run on those fixtures.
* langgraph-checkpoint-sqlite's own tests (``compat_matrix/checkpoint_sqlite_suite.py``).

``RUST_SQLITE_SAVER_SWAP=0`` keeps LangGraph's savers: the vanilla baseline, same selection.

Test-only adapter (not part of fast_langgraph, see the README: the savers take a path and
have no ``.conn``). langgraph-checkpoint-sqlite's tests build a saver on a connection they
opened (``SqliteSaver(sqlite3.connect(f"file:{db}?mode=ro", uri=True))``) and read the file
back through ``saver.conn``. So the swapped-in classes:

* accept a ``sqlite3`` / ``aiosqlite`` connection: the saver opens *the same database the
  same way* (path or URI, so ``mode=ro`` stays read-only; the connection's ``timeout`` as
  ``busy_timeout``), as recorded by a wrapper of ``sqlite3.connect``;
* give ``.conn``: a second ``sqlite3`` connection to the saver's file, for the test's own SQL.
  A ``":memory:"`` database belongs to the saver's connection alone: ``.conn`` raises
  ``AttributeError`` there.
"""

import os
import sqlite3

import langgraph.checkpoint.sqlite
import langgraph.checkpoint.sqlite.aio

from fast_langgraph.sqlite_saver import AsyncRustSqliteSaver, RustSqliteSaver

SWAP = os.environ.get("RUST_SQLITE_SAVER_SWAP", "1") != "0"

_sqlite3_connect = sqlite3.connect


class _RecordedConnection(sqlite3.Connection):
    """A plain ``sqlite3.Connection`` that remembers how it was opened."""

    opened_as = None  # (database, timeout, uri)


def _recording_connect(database, *args, **kwargs):
    if args or "factory" in kwargs:  # positional options or a factory of the caller's: leave alone
        return _sqlite3_connect(database, *args, **kwargs)
    conn = _sqlite3_connect(database, factory=_RecordedConnection, **kwargs)
    conn.opened_as = (database, kwargs.get("timeout", 5.0), bool(kwargs.get("uri", False)))
    return conn


def _same_database(conn):
    """(path or URI, busy_timeout) that open what CONN (sqlite3 or aiosqlite) opened."""
    raw = getattr(conn, "_connection", conn)  # aiosqlite.Connection wraps a sqlite3 one
    opened_as = getattr(raw, "opened_as", None)
    if opened_as is None:
        raise TypeError("rust_sqlite_saver_plugin: cannot tell how %r was opened" % (conn,))
    database, timeout, uri = opened_as
    database = os.fsdecode(database)
    if database in ("", ":memory:") or (database.startswith("file:") and not uri):
        raise TypeError("rust_sqlite_saver_plugin: cannot open %r a second time" % (database,))
    return database, float(timeout)


class _OnConnection:
    def __init__(self, conn=":memory:", **options):
        if isinstance(conn, sqlite3.Connection) or type(conn).__module__.startswith("aiosqlite"):
            conn, options["busy_timeout"] = _same_database(conn)
        super().__init__(conn, **options)
        self._test_conn = None

    @property
    def conn(self):
        if self._test_conn is None:
            path = self.path
            if path in ("", ":memory:") or "mode=memory" in path:
                raise AttributeError(
                    "rust_sqlite_saver_plugin: a RustSqliteSaver on %r has no second connection "
                    "(the database is private to the saver's own)" % (path,)
                )
            self._test_conn = _sqlite3_connect(path, uri=path.startswith("file:"), check_same_thread=False)
        return self._test_conn

    def close(self):
        if self._test_conn is not None:
            self._test_conn.close()
            self._test_conn = None
        super().close()


class SwappedSqliteSaver(_OnConnection, RustSqliteSaver):
    pass


class SwappedAsyncSqliteSaver(_OnConnection, AsyncRustSqliteSaver):
    pass


if SWAP:
    sqlite3.connect = _recording_connect
    langgraph.checkpoint.sqlite.SqliteSaver = SwappedSqliteSaver  # type: ignore[misc]
    langgraph.checkpoint.sqlite.aio.AsyncSqliteSaver = SwappedAsyncSqliteSaver  # type: ignore[misc]


def pytest_report_header(config):
    if not SWAP:
        return "RUST_SQLITE_SAVER_SWAP=0: LangGraph's own SqliteSaver / AsyncSqliteSaver"
    return "SqliteSaver -> fast_langgraph RustSqliteSaver, AsyncSqliteSaver -> AsyncRustSqliteSaver"


def pytest_collection_modifyitems(config, items):
    """With RUST_SQLITE_SAVER_ONLY=1, keep only the tests run on a SQLite checkpointer."""
    if os.environ.get("RUST_SQLITE_SAVER_ONLY") != "1":
        return
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        uses_sqlite = any(str(v).startswith("sqlite") for k, v in params.items() if "checkpointer" in k)
        (keep if uses_sqlite else drop).append(item)
    items[:] = keep
    config.hook.pytest_deselected(items=drop)

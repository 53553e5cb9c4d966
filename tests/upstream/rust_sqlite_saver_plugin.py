"""pytest plugin: run LangGraph's own tests with RustSqliteSaver in place of its SQLite checkpointers.

Loaded with ``-p rust_sqlite_saver_plugin`` (this folder on PYTHONPATH) before
LangGraph's ``tests/conftest_checkpointer.py`` imports ``SqliteSaver`` and
``AsyncSqliteSaver``: its "sqlite", "sqlite_aes" and "sqlite_aio" checkpointer
fixtures (``from_conn_string(":memory:")``, then ``serde`` swapped for the AES and
strict-msgpack variants) then build ours.
"""

import os

import langgraph.checkpoint.sqlite
import langgraph.checkpoint.sqlite.aio

from fast_langgraph.sqlite_saver import AsyncRustSqliteSaver, RustSqliteSaver

# RUST_SQLITE_SAVER_SWAP=0 keeps LangGraph's savers: the vanilla baseline, same selection.
SWAP = os.environ.get("RUST_SQLITE_SAVER_SWAP", "1") != "0"
if SWAP:
    langgraph.checkpoint.sqlite.SqliteSaver = RustSqliteSaver  # type: ignore[misc]
    langgraph.checkpoint.sqlite.aio.AsyncSqliteSaver = AsyncRustSqliteSaver  # type: ignore[misc]


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

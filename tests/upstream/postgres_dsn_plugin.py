"""pytest plugin: point upstream test suites' PostgreSQL fixtures at ``$FAST_LANGGRAPH_POSTGRES_DSN``.

Loaded with ``-p postgres_dsn_plugin`` (this folder on PYTHONPATH); the server is the one
``.ci/with-postgres`` starts (any server whose DSN names a superuser works: the tests
create and drop databases). The test files are not modified: their hard-coded URIs
(``postgres://postgres:postgres@localhost:5441/`` in langgraph-checkpoint-postgres's
``tests/conftest.py``, ``...:5442/`` in LangGraph's ``tests/conftest_checkpointer.py`` and
``tests/conftest_store.py``) are module globals, replaced here as soon as each of those
modules is imported, before any test module does ``from tests.conftest import DEFAULT_URI``.

* ``DEFAULT_POSTGRES_URI``: the server's URI up to and including the ``/`` before the
  database name (the tests append a database name);
* ``DEFAULT_URI``: the DSN itself (the ``postgres`` database, ``sslmode=disable``).

``POSTGRES_DSN_ONLY=1`` (for LangGraph's own suite): sets ``NO_DOCKER=false`` before its
conftest reads it, so its checkpointer/store fixtures get their Postgres parameters, and keeps
only the tests that run on a Postgres checkpointer or store and on no Redis cache (this
plugin points nothing at Redis).
"""

import os
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest

ENV = "FAST_LANGGRAPH_POSTGRES_DSN"
DSN = os.environ.get(ENV)
ONLY = os.environ.get("POSTGRES_DSN_ONLY") == "1"
#: modules whose globals hold the URIs (langgraph-checkpoint-postgres, LangGraph)
TARGETS = ("tests.conftest", "tests.conftest_checkpointer", "tests.conftest_store")

if ONLY:
    os.environ["NO_DOCKER"] = "false"


def _uris(dsn):
    parts = urlsplit(dsn)
    base = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    return base, dsn


def _rewrite(module):
    if DSN is None or module is None:
        return
    base, full = _uris(DSN)
    if isinstance(getattr(module, "DEFAULT_POSTGRES_URI", None), str):
        module.DEFAULT_POSTGRES_URI = base
    if isinstance(getattr(module, "DEFAULT_URI", None), str):
        module.DEFAULT_URI = full


def pytest_configure(config):
    if DSN is None:
        raise pytest.UsageError(
            "postgres_dsn_plugin: %s is not set; run under .ci/with-postgres (it starts a server)" % ENV
        )


def pytest_plugin_registered(plugin, manager):
    # conftest modules are registered right after their import; the modules they import
    # (conftest_checkpointer, conftest_store) are in sys.modules by then.
    if getattr(plugin, "__name__", None) in TARGETS:
        for name in TARGETS:
            _rewrite(sys.modules.get(name))


def pytest_report_header(config):
    return "postgres_dsn_plugin: upstream Postgres fixtures -> %s%s" % (
        DSN,
        " (Postgres-backed tests only)" if ONLY else "",
    )


def _on_postgres(item):
    params = getattr(getattr(item, "callspec", None), "params", {})
    values = [str(v) for v in params.values()]
    return any(v.startswith("postgres") for v in values) and not any(v == "redis" for v in values)


def pytest_collection_modifyitems(config, items):
    for name in TARGETS:  # a module imported some other way than as a conftest
        _rewrite(sys.modules.get(name))
    if not ONLY:
        return
    keep, drop = [], []
    for item in items:
        (keep if _on_postgres(item) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep

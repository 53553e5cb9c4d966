"""pytest plugin: run LangGraph's own tests with RustNodeCache wherever they use InMemoryCache.

Loaded with ``-p rust_node_cache_plugin`` (this folder on PYTHONPATH) before
LangGraph's conftest imports ``InMemoryCache``, so its ``cache`` fixture's
"memory" parameter, and every test that builds an ``InMemoryCache``, get ours.
"""

import langgraph.cache.memory

from fast_langgraph.node_cache import RustNodeCache

langgraph.cache.memory.InMemoryCache = RustNodeCache  # type: ignore[misc]


def pytest_report_header(config):
    return "InMemoryCache -> fast_langgraph RustNodeCache"


def pytest_collection_modifyitems(config, items):
    """With RUST_NODE_CACHE_ONLY=1, keep only the tests that use a node cache."""
    import os

    if os.environ.get("RUST_NODE_CACHE_ONLY") != "1":
        return
    keep, drop = [], []
    for item in items:
        uses_cache = "cache" in getattr(item, "fixturenames", ()) or "node_cache" in item.nodeid
        (keep if uses_cache else drop).append(item)
    items[:] = keep
    config.hook.pytest_deselected(items=drop)

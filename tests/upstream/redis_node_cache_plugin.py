"""pytest plugin: run LangGraph's own node-cache tests with RedisNodeCache in place of InMemoryCache.

Loaded with ``-p redis_node_cache_plugin`` (this folder on PYTHONPATH) and
``FAST_LANGGRAPH_REDIS_URL`` pointing at a Redis the run may write to. Every cache
LangGraph's tests build gets its own key prefix, so tests running side by side
(``-n``) never see each other's entries. Only the tests that use a node cache run.
"""

import os
import uuid

import langgraph.cache.memory

from fast_langgraph.redis_cache import RedisNodeCache

URL = os.environ["FAST_LANGGRAPH_REDIS_URL"]


class PerTestRedisNodeCache(RedisNodeCache):
    def __init__(self, *, serde=None):
        super().__init__(URL, serde=serde, prefix="langgraph-tests:%s:" % uuid.uuid4().hex)


langgraph.cache.memory.InMemoryCache = PerTestRedisNodeCache  # type: ignore[misc]


def pytest_report_header(config):
    return "InMemoryCache -> fast_langgraph RedisNodeCache at %s" % URL


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        uses_cache = "cache" in getattr(item, "fixturenames", ()) or "node_cache" in item.nodeid
        (keep if uses_cache else drop).append(item)
    items[:] = keep
    config.hook.pytest_deselected(items=drop)

"""fast_langgraph: a drop-in accelerator for LangGraph.

Installed with pip, it patches LangGraph automatically (through a ``.pth``
autoload) when LangGraph is imported. ``FAST_LANGGRAPH=0`` turns that off,
``FAST_LANGGRAPH_DISABLE=a,b`` / ``FAST_LANGGRAPH_ENABLE=a,b`` turn single patches
off / on, and :func:`patch` overrides them all from code (the precedence is in
:mod:`fast_langgraph._switches`). This module stays import-light: the Rust core and
the patch machinery load only when first used.
"""

from fast_langgraph._version import __version__

__all__ = [
    "__version__",
    "patch",
    "unpatch",
    "patch_status",
    "cached",
    "LruCache",
    "ManualClock",
    "make_key",
    "RustLLMCache",
    "RustNodeCache",
    "RedisStore",
    "RedisLLMCache",
    "RedisNodeCache",
    "RustSqliteSaver",
    "AsyncRustSqliteSaver",
    "langgraph_state_update",
    "deep_merge",
    "GraphProfiler",
]

# Loaded on first use: importing fast_langgraph must not load the Rust core
# (the autoload imports this package in every process that imports LangGraph).
_LAZY = {
    "cached": "fast_langgraph.cache",
    "LruCache": "fast_langgraph.cache",
    "ManualClock": "fast_langgraph.cache",
    "make_key": "fast_langgraph.cache",
    "RustLLMCache": "fast_langgraph.llm_cache",
    "RustNodeCache": "fast_langgraph.node_cache",
    "RedisStore": "fast_langgraph.redis_cache",  # needs redis-py (pip install redis)
    "RedisLLMCache": "fast_langgraph.redis_cache",
    "RedisNodeCache": "fast_langgraph.redis_cache",
    "RustSqliteSaver": "fast_langgraph.sqlite_saver",
    "AsyncRustSqliteSaver": "fast_langgraph.sqlite_saver",
    "langgraph_state_update": "fast_langgraph.merge",
    "deep_merge": "fast_langgraph.merge",
    "GraphProfiler": "fast_langgraph.profiler",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError("module 'fast_langgraph' has no attribute %r" % (name,))
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def patch(**switches):
    """Apply the patches (for interpreters that skip ``.pth`` files, e.g. ``python -S``).

    Without arguments, patches follow the environment (``FAST_LANGGRAPH``,
    ``FAST_LANGGRAPH_DISABLE``, ``FAST_LANGGRAPH_ENABLE``). ``patch(executor=False)`` or
    ``patch(executor=True)`` overrides the environment for that patch, and
    ``patch(executor=None)`` hands it back to the environment; any other value, or an
    unknown patch name, raises :class:`TypeError`. Safe to call more than once; patches
    whose LangGraph modules are not imported yet apply when they are.
    """
    from fast_langgraph import _bootstrap

    _bootstrap.patch(**switches)


def unpatch(*names):
    """Revert the named patches (all when no name is given) and keep them off."""
    from fast_langgraph import _bootstrap

    _bootstrap.unpatch(*names)


def patch_status():
    """A list of dicts, one per registered patch: name, status, reason, targets."""
    from fast_langgraph import _bootstrap

    return _bootstrap.status()

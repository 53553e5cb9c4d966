"""Patch ``get_executor_for_config`` where LangGraph looks it up.

LangGraph's sync runner opens (and joins) a fresh ``ContextThreadPoolExecutor`` per
invoke/stream; the replacement hands out executors backed by one process-wide
elastic pool (:mod:`fast_langgraph.executor_pool`).
"""

from fast_langgraph.executor_pool import get_executor_for_config
from fast_langgraph.patches._spec import PatchSkipped, Target


def replacement(target: Target, original: object) -> object:
    # Only replace langchain-core's own factory: anything else was installed
    # on purpose by someone, and is left alone.
    if (
        getattr(original, "__module__", None) != "langchain_core.runnables.config"
        or getattr(original, "__qualname__", None) != "get_executor_for_config"
    ):
        raise PatchSkipped(
            "%s is %r, not langchain_core's get_executor_for_config; left alone" % (target.qualname, original)
        )
    return get_executor_for_config

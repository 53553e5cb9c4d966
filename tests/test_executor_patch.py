"""The executor patch as installed by the autoload in this very test process."""

import threading


import fast_langgraph
from fast_langgraph import executor_pool

import langgraph.graph  # noqa: F401  (wakes the autoload)

from graphs import fanout_graph, nested_graph


def executor_module():
    try:
        import langgraph.pregel._executor as module
    except ImportError:
        import langgraph.pregel.executor as module
    return module


def test_loop_uses_the_pooled_factory():
    assert executor_module().get_executor_for_config is executor_pool.get_executor_for_config
    status = {p["name"]: p for p in fast_langgraph.patch_status()}["executor"]
    assert status["status"] == "applied", status


def test_worker_threads_are_reused_across_invokes():
    from langgraph.checkpoint.memory import MemorySaver

    def pool_threads():
        return {t.ident for t in threading.enumerate() if t.name.startswith("fast_langgraph")}

    # Idle workers left by earlier tests in this process are reused too: count the new ones.
    before, seen = pool_threads(), set()
    graph = fanout_graph(MemorySaver())
    original = graph.nodes  # noqa: F841

    for i in range(20):
        graph.invoke({"log": [], "total": 0}, {"configurable": {"thread_id": str(i)}})
        seen.update(pool_threads())
    assert 0 < len(seen) and len(seen - before) <= 8


def test_nested_subgraphs_with_max_concurrency_one_finish():
    graph = nested_graph()
    out = graph.invoke({"log": [], "total": 0}, {"max_concurrency": 1})
    assert out["total"] == 3 * (0 + 1 + 2 + 100)


def test_unpatch_restores_langchain_core_factory():
    from langchain_core.runnables import config as lc_config

    try:
        fast_langgraph.unpatch("executor")
        assert executor_module().get_executor_for_config is lc_config.get_executor_for_config
        assert fanout_graph().invoke({"log": [], "total": 0})["total"] == 106
    finally:
        fast_langgraph.patch(executor=True)
    assert executor_module().get_executor_for_config is executor_pool.get_executor_for_config


def test_a_replacement_by_someone_else_is_left_alone():
    module = executor_module()
    fast_langgraph.unpatch("executor")

    def theirs(config):
        raise AssertionError("not called")

    saved = module.get_executor_for_config
    module.get_executor_for_config = theirs
    try:
        fast_langgraph.patch(executor=True)
        assert module.get_executor_for_config is theirs
        status = {p["name"]: p for p in fast_langgraph.patch_status()}["executor"]
        assert status["status"] == "skipped" and "left alone" in status["reason"]
    finally:
        module.get_executor_for_config = saved
        fast_langgraph.patch(executor=True)
    assert module.get_executor_for_config is executor_pool.get_executor_for_config

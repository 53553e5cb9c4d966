"""RustNodeCache inside real LangGraph graphs, and RustLLMCache through LangChain."""

import asyncio


from fast_langgraph.cache import ManualClock
from graphs import cached_node_graph

from conftest import needs_node_cache

try:
    from fast_langgraph.node_cache import RustNodeCache
except ImportError:  # no langgraph.cache before langgraph-checkpoint 2.0.26
    RustNodeCache = None


@needs_node_cache
def test_graph_nodes_hit_the_cache():
    calls = []
    cache = RustNodeCache(max_size=100)
    graph = cached_node_graph(cache, calls)
    first = graph.invoke({"x": 1, "log": []})
    second = graph.invoke({"x": 1, "log": []})
    third = graph.invoke({"x": 2, "log": []})
    assert first == second == {"x": 1, "log": ["computed 1"]}
    assert third["log"] == ["computed 2"]
    assert calls == [1, 2]
    assert cache.stats()["hits"] >= 1
    graph.clear_cache()
    graph.invoke({"x": 1, "log": []})
    assert calls == [1, 2, 1]


@needs_node_cache
def test_ttl_expiry_in_a_graph():
    calls = []
    clock = ManualClock()
    graph = cached_node_graph(RustNodeCache(clock=clock), calls, ttl=10)
    graph.invoke({"x": 1, "log": []})
    clock.advance(9)
    graph.invoke({"x": 1, "log": []})
    clock.advance(1)
    graph.invoke({"x": 1, "log": []})
    assert calls == [1, 1]


@needs_node_cache
def test_async_graph_uses_the_cache():
    calls = []
    graph = cached_node_graph(RustNodeCache(), calls)

    async def main():
        await graph.ainvoke({"x": 3, "log": []})
        return await graph.ainvoke({"x": 3, "log": []})

    assert asyncio.run(main())["log"] == ["computed 3"]
    assert calls == [3]


@needs_node_cache
def test_base_cache_contract():
    cache = RustNodeCache(max_size=3)
    ns_a, ns_b, ns_ab = ("a", "b"), ("a:b",), ("a",)
    cache.set({(ns_a, "k"): ({"v": [1]}, None), (ns_b, "k"): ("b", None), (ns_ab, "k"): ("ab", 5)})
    got = cache.get([(ns_a, "k"), (ns_b, "k"), (ns_ab, "k"), (("zz",), "k")])
    assert got == {(ns_a, "k"): {"v": [1]}, (ns_b, "k"): "b", (ns_ab, "k"): "ab"}
    # Reads are copies: mutating one does not change the cache.
    got[(ns_a, "k")]["v"].append(2)
    assert cache.get([(ns_a, "k")])[(ns_a, "k")] == {"v": [1]}
    cache.clear([ns_ab])
    assert set(cache.get([(ns_a, "k"), (ns_b, "k"), (ns_ab, "k")])) == {(ns_a, "k"), (ns_b, "k")}
    cache.set({(("new",), str(i)): (i, None) for i in range(3)})  # max_size=3 evicts the oldest
    assert len(cache.get([(ns_a, "k"), (ns_b, "k")])) == 0
    asyncio.run(cache.aclear())
    assert cache.get([(("new",), "2")]) == {}


# --- LLM cache --------------------------------------------------------------


def test_llm_cache_direct_use():
    from langchain_core.messages import HumanMessage

    from fast_langgraph.llm_cache import RustLLMCache

    cache = RustLLMCache(max_size=10)
    messages = [HumanMessage("hello")]
    assert cache.get(messages, model="m", temperature=0) is None
    cache.put(messages, "hi!", model="m", temperature=0)
    assert cache.get([HumanMessage("hello")], temperature=0, model="m") == "hi!"
    assert cache.get(messages, model="m", temperature=1) is None
    stats = cache.stats()
    assert stats["hits"] == 1 and stats["misses"] == 2


def test_llm_cache_through_langchain():
    from langchain_core.globals import get_llm_cache, set_llm_cache
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from fast_langgraph.llm_cache import RustLLMCache

    cache = RustLLMCache()
    previous = get_llm_cache()
    set_llm_cache(cache)
    try:
        model = GenericFakeChatModel(messages=iter([AIMessage("first"), AIMessage("second")]))
        assert model.invoke("question").content == "first"
        assert model.invoke("question").content == "first"  # served from the cache
        assert model.invoke("another").content == "second"
        assert asyncio.run(model.ainvoke("question")).content == "first"
    finally:
        set_llm_cache(previous)
    stats = cache.stats()
    assert stats["hits"] == 2 and stats["inserts"] == 2

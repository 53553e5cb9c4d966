"""The Redis backends (fast_langgraph.redis_cache) against a real redis-server on 127.0.0.1.

Each test that stops, kills or restarts Redis gets its own server; the others share
one per module and keep to their own key prefix.
"""

import asyncio
import logging
import os
import threading
import time
import uuid

import pytest

from redis_server import RedisServer, redis_server_binary

_missing = []
try:
    import redis
except ImportError:
    _missing.append("the redis Python package (pip install redis)")
if redis_server_binary() is None:
    _missing.append("the redis-server binary (apt-get install redis-server)")
if _missing:
    _reason = "Redis cache tests need " + " and ".join(_missing)
    if os.environ.get("FAST_LANGGRAPH_REQUIRE_REDIS") == "1":
        raise RuntimeError(_reason + " (FAST_LANGGRAPH_REQUIRE_REDIS=1)")
    pytest.skip(_reason, allow_module_level=True)

from fast_langgraph.redis_cache import RedisLLMCache, RedisNodeCache, RedisStore, escape_glob  # noqa: E402
from conftest import needs_node_cache, run_in_threads  # noqa: E402
from graphs import cached_node_graph  # noqa: E402

TIMEOUT = 0.25  # the deadline given to every store in the failure tests
SLACK = 0.2  # scheduling noise on a loaded CI machine (pytest -n auto)
BACKOFF = 0.3


@pytest.fixture(scope="module")
def server():
    srv = RedisServer().start()
    yield srv
    srv.close()


@pytest.fixture
def own_server():
    """A server this test may stop, kill and restart."""
    srv = RedisServer().start()
    yield srv
    srv.close()


@pytest.fixture
def raw(server):
    client = redis.Redis.from_url(server.url)
    yield client
    client.close()


@pytest.fixture
def prefix():
    return "t%s:" % uuid.uuid4().hex[:12]


def timed(fn, *args, **kwargs):
    t0 = time.monotonic()
    result = fn(*args, **kwargs)
    return time.monotonic() - t0, result


def warnings_from(caplog):
    return [r for r in caplog.records if r.name == "fast_langgraph" and r.levelno == logging.WARNING]


# --- RedisStore -------------------------------------------------------------


def test_store_round_trip_ttl_and_delete(server, raw, prefix):
    store = RedisStore(server.url, prefix=prefix)
    assert store.get_many([b"a"]) == {}
    assert store.set_many({b"a": (b"1", None), b"b": (b"\x00\xff", 1), b"gone": (b"x", 0)})
    assert store.get_many([b"a", b"b", b"gone", b"zz"]) == {b"a": b"1", b"b": b"\x00\xff"}
    assert raw.pttl(prefix + "a") == -1  # no expiry
    assert 0 < raw.pttl(prefix + "b") <= 1000
    store.set_many({b"short": (b"s", 0.05)})
    time.sleep(0.1)
    assert store.get_many([b"short"]) == {}
    assert store.delete([b"a", b"zz"]) == 1
    assert store.get_many([b"a", b"b"]) == {b"b": b"\x00\xff"}
    assert store.ping() and store.available
    assert store.waits == 2  # connect + one request: 0.125 s each


def test_clear_removes_only_this_prefix(server, raw, prefix):
    # Unescaped, "p[1]*:*" would match "p1x:k" and "p1:k" too.
    glob_prefix = prefix + "p[1]*?\\:"
    mine = RedisStore(server.url, prefix=glob_prefix)
    other = RedisStore(server.url, prefix=prefix + "p1x:")
    mine.set_many({b"k%d" % i: (b"v", None) for i in range(2500)})  # several SCAN pages
    other.set_many({b"k": (b"v", None)})
    raw.set(prefix + "p1:unrelated", b"keep")
    raw.set(prefix + "p[1]*?\\", b"keep")  # the prefix minus its last byte
    assert mine.clear() == 2500
    assert mine.get_many([b"k0", b"k2499"]) == {}
    assert other.get_many([b"k"]) == {b"k": b"v"}
    assert raw.get(prefix + "p1:unrelated") == b"keep"
    assert raw.get(prefix + "p[1]*?\\") == b"keep"
    assert escape_glob(b"a*b?c[d]e\\f") == b"a\\*b\\?c\\[d\\]e\\\\f"


def test_store_settings_are_checked():
    with pytest.raises(TypeError, match="timeout="):
        RedisStore("redis://127.0.0.1:1/0", socket_timeout=5)
    with pytest.raises(ValueError):
        RedisStore("redis://127.0.0.1:1/0", timeout=0)
    store = RedisStore("redis://127.0.0.1:1/0", timeout=0.3)
    with pytest.raises(TypeError, match="either"):
        RedisNodeCache(store, prefix="x:")
    # A wrong argument is the caller's error, raised before Redis is involved: not an outage.
    with pytest.raises(TypeError, match="bytes"):
        store.set_many({b"k": ("text", None)})
    with pytest.raises(TypeError):
        store.get_many(["text key"])
    assert store.available and store.failures == 0
    # A password and a db add AUTH and SELECT to a fresh connection: the deadline is split 4 ways.
    assert RedisStore("redis://:secret@127.0.0.1:1/3").waits == 4


# --- RedisNodeCache ---------------------------------------------------------


def test_node_cache_contract(server, prefix):
    cache = RedisNodeCache(server.url, prefix=prefix)
    ns_a, ns_b, ns_ab, empty = ("a", "b"), ("a:b",), ("a",), ()
    cache.set(
        {
            (ns_a, "k"): ({"v": [1]}, None),
            (ns_b, "k"): ("b", None),
            (ns_ab, "k"): ("ab", 5),
            (ns_ab, "b:k"): ("ab-colon", None),  # "a" + "b:k" vs "a:b" + "k"
            (empty, "k"): ("empty", None),
            (("",), "k"): ("one empty part", None),
        }
    )
    keys = [(ns_a, "k"), (ns_b, "k"), (ns_ab, "k"), (ns_ab, "b:k"), (empty, "k"), (("",), "k"), (("zz",), "k")]
    got = cache.get(keys)
    assert got == {
        (ns_a, "k"): {"v": [1]},
        (ns_b, "k"): "b",
        (ns_ab, "k"): "ab",
        (ns_ab, "b:k"): "ab-colon",
        (empty, "k"): "empty",
        (("",), "k"): "one empty part",
    }
    got[(ns_a, "k")]["v"].append(2)  # reads are copies
    assert cache.get([(ns_a, "k")])[(ns_a, "k")] == {"v": [1]}
    cache.clear([ns_ab])  # exactly that namespace: not ("a", "b"), not ("a:b",)
    assert set(cache.get(keys)) == {(ns_a, "k"), (ns_b, "k"), (empty, "k"), (("",), "k")}
    cache.clear([empty])
    assert set(cache.get(keys)) == {(ns_a, "k"), (ns_b, "k"), (("",), "k")}
    asyncio.run(cache.aset({(("x",), "1"): (1, None)}))
    assert asyncio.run(cache.aget([(("x",), "1")])) == {(("x",), "1"): 1}
    asyncio.run(cache.aclear())
    assert cache.get(keys + [(("x",), "1")]) == {}
    stats = cache.stats()
    assert stats["hits"] >= 10 and stats["inserts"] == 7 and stats["redis_failures"] == 0


def test_node_cache_ttl(server, raw, prefix):
    cache = RedisNodeCache(server.url, prefix=prefix)
    cache.set({(("n",), "k"): ("v", 1), (("n",), "forever"): ("v", None)})
    assert 0 < raw.pttl(prefix + "node:/n:k") <= 1000
    assert raw.pttl(prefix + "node:/n:forever") == -1
    raw.pexpire(prefix + "node:/n:k", 30)
    time.sleep(0.06)
    assert cache.get([(("n",), "k"), (("n",), "forever")]) == {(("n",), "forever"): "v"}


def test_node_cache_clear_leaves_other_caches(server, raw, prefix):
    store = RedisStore(server.url, prefix=prefix)
    nodes, llm = RedisNodeCache(store), RedisLLMCache(store)
    nodes.set({(("n",), "k"): ("v", None)})
    llm.put("prompt", "answer")
    raw.set(prefix + "mine", b"keep")
    nodes.clear()
    assert nodes.get([(("n",), "k")]) == {}
    assert llm.get("prompt") == "answer"
    llm.clear()
    assert llm.get("prompt") is None
    assert raw.get(prefix + "mine") == b"keep"


def test_corrupted_node_values_are_misses(server, raw, prefix):
    cache = RedisNodeCache(server.url, prefix=prefix)
    cache.set({(("n",), str(i)): ("fine", None) for i in range(5)})
    good = raw.get(prefix + "node:/n:0")
    raw.set(prefix + "node:/n:0", b"garbage")
    raw.set(prefix + "node:/n:1", good[:4])  # truncated inside the type tag
    raw.set(prefix + "node:/n:2", good[:3] + b"json" + b"{not json")  # a known tag, bad data
    raw.set(prefix + "node:/n:3", b"")
    raw.set(prefix + "node:/n:4", b"\x01\xff\xff" + b"x" * 10)  # a tag length past the end
    keys = [(("n",), str(i)) for i in range(5)]
    assert cache.get(keys) == {}
    assert cache.stats()["undecodable"] == 5
    cache.set({keys[0]: ("again", None)})  # the next write replaces a corrupted value
    assert cache.get(keys[:1]) == {keys[0]: "again"}


@needs_node_cache
def test_graph_nodes_share_the_cache_across_workers(server, raw, prefix):
    calls = []
    worker1 = cached_node_graph(RedisNodeCache(server.url, prefix=prefix), calls)
    worker2 = cached_node_graph(RedisNodeCache(server.url, prefix=prefix), calls)  # another pool, as another process
    first = worker1.invoke({"x": 1, "log": []})
    second = worker2.invoke({"x": 1, "log": []})
    third = worker2.invoke({"x": 2, "log": []})
    assert first == second == {"x": 1, "log": ["computed 1"]}
    assert third["log"] == ["computed 2"]
    assert calls == [1, 2]
    assert all(k.startswith(prefix.encode() + b"node:/") for k in raw.scan_iter(prefix + "*"))
    assert asyncio.run(worker1.ainvoke({"x": 2, "log": []}))["log"] == ["computed 2"]
    assert calls == [1, 2]
    worker1.clear_cache()
    worker2.invoke({"x": 1, "log": []})
    assert calls == [1, 2, 1]


@needs_node_cache
def test_graph_cache_policy_ttl(server, raw, prefix):
    calls = []
    graph = cached_node_graph(RedisNodeCache(server.url, prefix=prefix), calls, ttl=1)
    graph.invoke({"x": 1, "log": []})
    graph.invoke({"x": 1, "log": []})
    assert calls == [1]
    (key,) = list(raw.scan_iter(prefix + "*"))
    assert 0 < raw.pttl(key) <= 1000  # CachePolicy(ttl=1) became a 1 s Redis expiry
    raw.pexpire(key, 1)
    time.sleep(0.02)
    graph.invoke({"x": 1, "log": []})
    assert calls == [1, 1]


# --- RedisLLMCache ----------------------------------------------------------


def test_llm_cache_direct_use(server, raw, prefix):
    from langchain_core.messages import AIMessage, HumanMessage

    cache = RedisLLMCache(server.url, prefix=prefix, ttl=60)
    messages = [HumanMessage("hello")]
    assert cache.get(messages, model="m", temperature=0) is None
    cache.put(messages, AIMessage("hi!"), model="m", temperature=0)
    other = RedisLLMCache(server.url, prefix=prefix)  # another worker
    assert other.get([HumanMessage("hello")], temperature=0, model="m") == AIMessage("hi!")
    assert other.get(messages, model="m", temperature=1) is None
    cache.put("short", {"text": "x"}, ttl=0.05)
    assert cache.get("short") == {"text": "x"}
    (key,) = [k for k in raw.scan_iter(prefix + "*") if 0 < raw.pttl(k) <= 50]
    time.sleep(0.1)
    assert cache.get("short") is None
    assert all(0 < raw.pttl(k) for k in raw.scan_iter(prefix + "*"))  # ttl=60 applied by default
    stats = other.stats()
    assert stats["hits"] == 1 and stats["misses"] == 1
    with pytest.raises(TypeError, match="identity"):
        cache.get(object())
    with pytest.raises(TypeError, match="serialize"):
        cache.put("p", threading.Lock())


def test_llm_cache_through_langchain(server, prefix):
    from langchain_core.globals import get_llm_cache, set_llm_cache
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    previous = get_llm_cache()
    set_llm_cache(RedisLLMCache(server.url, prefix=prefix))
    try:
        model = GenericFakeChatModel(messages=iter([AIMessage("first"), AIMessage("second")]))
        assert model.invoke("question").content == "first"
        assert model.invoke("question").content == "first"  # served from Redis
        assert model.invoke("another").content == "second"
        assert asyncio.run(model.ainvoke("question")).content == "first"
        # Another worker: its own cache object and model, the same Redis.
        set_llm_cache(RedisLLMCache(server.url, prefix=prefix))
        fresh = GenericFakeChatModel(messages=iter([AIMessage("never used")]))
        reply = fresh.invoke("question")
        assert reply.content == "first" and isinstance(reply, AIMessage)
        stats = get_llm_cache().stats()
    finally:
        set_llm_cache(previous)
    assert stats["hits"] == 1 and stats["misses"] == 0


def test_llm_values_round_trip_generations(server, prefix):
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, Generation

    cache = RedisLLMCache(server.url, prefix=prefix)
    message = AIMessage(
        "hi",
        tool_calls=[{"name": "f", "args": {"a": 1}, "id": "call_1"}],
        usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
    )
    generations = [ChatGeneration(message=message, generation_info={"finish_reason": "stop"})]
    cache.update("prompt", "llm", generations)
    assert cache.lookup("prompt", "llm") == generations
    assert cache.lookup("prompt", "other llm") is None
    assert cache.lookup("prompt" + "llm", "") is None  # prompt/llm_string boundary is part of the key
    cache.update("text", "llm", [Generation(text="plain")])
    assert asyncio.run(cache.alookup("text", "llm")) == [Generation(text="plain")]
    asyncio.run(cache.aclear())
    assert cache.lookup("prompt", "llm") is None


def test_corrupted_or_disallowed_llm_values_are_misses(server, raw, prefix):
    from langchain_core.load import dumps
    from langchain_core.outputs import Generation
    from langchain_core.prompts import PromptTemplate

    cache = RedisLLMCache(server.url, prefix=prefix)
    cache.update("p", "llm", [Generation(text="ok")])
    (key,) = list(raw.scan_iter(prefix + "*"))
    for bad in (b"garbage", b"\x01{not json", b"\x01" + dumps({"not": "a list"}).encode(), b""):
        raw.set(key, bad)
        assert cache.lookup("p", "llm") is None
    # A class outside allowed_objects (here a prompt template) is not revived.
    raw.set(key, b"\x01" + dumps([PromptTemplate.from_template("{x}")]).encode())
    assert cache.lookup("p", "llm") is None
    assert cache.stats()["undecodable"] == 5
    # Not serializable by LangChain: not cached, and the model call is not disturbed.
    cache.update("q", "llm", [Generation(text="x", generation_info={"lock": threading.Lock()})])
    assert cache.lookup("q", "llm") is None


# --- Failures: deadline, degradation, recovery ------------------------------


def caches_on(url, **settings):
    store = RedisStore(url, prefix="f:", timeout=TIMEOUT, backoff=BACKOFF, **settings)
    return store, RedisNodeCache(store), RedisLLMCache(store)


def every_call(store, nodes, llm):
    """One of each operation; each must be a miss or a no-op."""
    from langchain_core.outputs import Generation

    return [
        (store.get_many, ([b"k"],), {}),
        (store.set_many, ({b"k": (b"v", None)},), False),
        (store.clear, (), 0),
        (nodes.get, ([(("n",), "k")],), {}),
        (nodes.set, ({(("n",), "k"): ("v", None)},), None),
        (nodes.clear, ([("n",)],), None),
        (llm.lookup, ("p", "llm"), None),
        (llm.update, ("p", "llm", [Generation(text="x")]), None),
        (llm.get, ("p",), None),
    ]


def test_hung_redis_every_call_meets_the_deadline(own_server, caplog):
    caplog.set_level(logging.INFO, logger="fast_langgraph")
    store, nodes, llm = caches_on(own_server.url)
    nodes.set({(("n",), "k"): ("v", None)})
    assert nodes.get([(("n",), "k")])  # a pooled, open connection
    own_server.pause()
    try:
        for fn, args, miss in every_call(store, nodes, llm):
            time.sleep(BACKOFF + 0.02)  # past the backoff: each call really tries the hung server
            elapsed, result = timed(fn, *args)
            assert result == miss, fn
            assert elapsed < TIMEOUT + SLACK, (fn, elapsed)
        elapsed, result = timed(nodes.get, [(("n",), "k")])  # within the backoff: not even tried
        assert result == {} and elapsed < 0.01
        # A fresh store (a new connection: the kernel accepts it, the server never answers).
        fresh_store, fresh_nodes, fresh_llm = caches_on(own_server.url)
        elapsed, result = timed(fresh_nodes.get, [(("n",), "k")])
        assert result == {} and elapsed < TIMEOUT + SLACK
        # Threads: each returns within the deadline, and only one at a time probes.
        time.sleep(BACKOFF + 0.02)
        times = []

        def worker():
            times.append(timed(fresh_llm.lookup, "p", "llm"))

        run_in_threads(worker, [()] * 8)
        assert all(result is None and elapsed < TIMEOUT + SLACK for elapsed, result in times), times
        assert fresh_store.failures == 2 and fresh_store.skipped >= 7
    finally:
        own_server.resume()
    assert len(warnings_from(caplog)) == 2  # one per store, not one per call
    assert store.failures == len(every_call(store, nodes, llm))
    time.sleep(BACKOFF + 0.02)
    assert nodes.get([(("n",), "k")]) == {(("n",), "k"): "v"}  # back, with its data
    assert store.available
    assert any("answering again" in r.getMessage() for r in caplog.records)


def test_dead_redis_misses_then_recovers_after_restart(own_server, caplog):
    caplog.set_level(logging.INFO, logger="fast_langgraph")
    store, nodes, llm = caches_on(own_server.url)
    nodes.set({(("n",), "k"): ("v", None)})
    own_server.kill()
    for _ in range(3):
        for fn, args, miss in every_call(store, nodes, llm):
            elapsed, result = timed(fn, *args)
            assert result == miss and elapsed < TIMEOUT + SLACK, fn
        time.sleep(BACKOFF / 2)
    assert len(warnings_from(caplog)) == 1
    assert nodes.stats()["redis_available"] is False
    own_server.start()  # same port; no persistence, so it comes back empty
    time.sleep(BACKOFF + 0.02)
    nodes.set({(("n",), "k"): ("again", None)})
    assert nodes.get([(("n",), "k")]) == {(("n",), "k"): "again"}
    llm.put("p", "answer")
    assert llm.get("p") == "answer"
    assert len(warnings_from(caplog)) == 1
    assert store.available


def test_no_redis_at_all():
    # Nothing listens on the port: construction does not connect, calls are misses.
    port = __import__("redis_server").free_port()
    store, nodes, llm = caches_on("redis://127.0.0.1:%d/0" % port)
    for fn, args, miss in every_call(store, nodes, llm):
        elapsed, result = timed(fn, *args)
        assert result == miss and elapsed < TIMEOUT + SLACK
    assert not store.ping()

"""Rust LRU/TTL cache, stable keys, and the @cached decorator."""

import asyncio
import dataclasses
import datetime
import enum
import threading
import time
import uuid

import pytest

from conftest import run_in_threads

from fast_langgraph.cache import CacheInfo, LruCache, ManualClock, cached, make_key


# --- LruCache ---------------------------------------------------------------


def test_get_put_and_cached_none():
    cache = LruCache(10)
    assert cache.lookup("k") == (False, None)
    cache.put("k", None)
    assert cache.lookup("k") == (True, None)
    assert cache.get("absent", "default") == "default"
    assert "k" in cache and len(cache) == 1
    assert cache.delete("k") and not cache.delete("k")


def test_lru_eviction_order():
    cache = LruCache(2)
    cache.put(b"a", 1)
    cache.put(b"b", 2)
    assert cache.get(b"a") == 1
    cache.put(b"c", 3)
    assert b"b" not in cache and b"a" in cache and b"c" in cache
    assert cache.stats()["evictions"] == 1


def test_ttl_with_manual_clock():
    clock = ManualClock()
    cache = LruCache(0, ttl=10, clock=clock)
    cache.put("a", 1)
    cache.put("b", 2, ttl=1)
    cache.put("c", 3, forever=True)
    clock.advance(1)
    assert cache.lookup("b") == (False, None)
    assert cache.get("a") == 1
    clock.advance(9)
    assert cache.get("a") is None
    clock.advance(10_000)
    assert cache.get("c") == 3
    stats = cache.stats()
    assert stats["expirations"] == 2 and stats["size"] == 1


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="ttl"):
        LruCache(1, ttl=-1)
    with pytest.raises(TypeError, match="bytes or str"):
        LruCache(1).put(123, "x")


def test_str_and_bytes_keys_do_not_collide():
    cache = LruCache(10)
    cache.put("s", "str")
    cache.put(b"s", "bytes")
    assert cache.get("s") == "str" and cache.get(b"s") == "bytes"


def test_sixteen_threads_hammering_one_cache():
    cache = LruCache(64)
    lookups_per_thread = 5000
    errors = []

    def worker(seed):
        try:
            for i in range(lookups_per_thread):
                key = "k%d" % ((seed * 7 + i) % 100)
                found, value = cache.lookup(key)
                if found:
                    assert value == key.upper()
                else:
                    cache.put(key, key.upper())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    run_in_threads(worker, [(n,) for n in range(16)])
    assert errors == []
    stats = cache.stats()
    assert stats["hits"] + stats["misses"] == 16 * lookups_per_thread
    assert stats["size"] <= 64


def test_values_released_on_eviction():
    import weakref

    class Value:
        pass

    cache = LruCache(1)
    value = Value()
    ref = weakref.ref(value)
    cache.put("a", value)
    del value
    cache.put("b", 1)
    assert ref() is None


# --- make_key ---------------------------------------------------------------


class Color(enum.Enum):
    RED = 1


@dataclasses.dataclass
class Point:
    x: int
    y: list


def test_equal_values_give_equal_keys():
    assert make_key({"a": 1, "b": [1, 2]}) == make_key({"b": [1, 2], "a": 1})
    assert make_key({3, 1, 2}) == make_key({1, 2, 3})
    assert make_key(frozenset({1})) == make_key({1})
    assert make_key(-0.0) == make_key(0.0)
    assert make_key(Point(1, [2])) == make_key(Point(1, [2]))
    assert make_key(uuid.UUID(int=5)) == make_key(uuid.UUID(int=5))
    assert make_key(datetime.date(2024, 1, 2)) == make_key(datetime.date(2024, 1, 2))


def test_different_values_give_different_keys():
    values = [1, 1.0, True, "1", b"1", [1], (1,), {1}, {"1": 1}, None, Color.RED, 2**80, Point(1, [2]), Point(1, [3])]
    keys = [make_key(v)[0] for v in values]
    assert len(set(keys)) == len(values)


def test_langchain_messages_key_by_content():
    from langchain_core.messages import AIMessage, HumanMessage

    assert make_key([HumanMessage("hi", id="1")]) == make_key([HumanMessage("hi", id="1")])
    assert make_key(HumanMessage("hi")) != make_key(AIMessage("hi"))
    assert make_key(HumanMessage("hi")) != make_key(HumanMessage("ho"))


def test_identity_objects_are_pinned():
    class Plain:
        pass

    obj = Plain()
    key, pins = make_key((obj, 1))
    assert pins == (obj,)
    assert make_key((obj, 1))[0] == key and make_key((Plain(), 1))[0] != key


def test_objects_with_own_equality_need_a_key_function():
    class Money:
        def __eq__(self, other):
            return True

        __hash__ = object.__hash__

    with pytest.raises(TypeError, match="pass key=.*ignore="):
        make_key(Money())


def test_lone_surrogates_and_deep_nesting():
    assert make_key("\ud800") != make_key("?")
    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ValueError, match="nested too deeply"):
        make_key(deep)


# --- @cached ----------------------------------------------------------------


def test_binding_equivalents_share_an_entry():
    calls = []

    @cached
    def f(a, b=2, *, c=3):
        calls.append((a, b, c))
        return a + b + c

    assert f(1) == f(1, 2) == f(1, b=2) == f(b=2, a=1) == f(1, c=3) == 6
    assert calls == [(1, 2, 3)]
    assert f(1, c=4) == 7 and len(calls) == 2


def test_none_is_cached_and_exceptions_are_not():
    calls = []

    @cached(max_size=8)
    def maybe(x):
        calls.append(x)
        if x < 0:
            raise ValueError(x)
        return None

    assert maybe(1) is None and maybe(1) is None
    for _ in range(2):
        with pytest.raises(ValueError):
            maybe(-1)
    assert calls == [1, -1, -1]


def test_unhashable_arguments():
    calls = []

    @cached
    def total(items, options):
        calls.append(1)
        return sum(items) + options["bonus"]

    assert total([1, 2], {"bonus": 1, "x": None}) == 4
    assert total([1, 2], {"x": None, "bonus": 1}) == 4
    assert len(calls) == 1


def test_metadata_info_and_clear():
    @cached(max_size=5)
    def documented(x):
        """Doc."""
        return x

    assert documented.__name__ == "documented" and documented.__doc__ == "Doc."
    assert documented.__wrapped__ is not None
    documented(1)
    documented(1)
    assert documented.cache_info() == CacheInfo(hits=1, misses=1, maxsize=5, currsize=1)
    documented.cache_clear()
    assert documented.cache_info() == CacheInfo(0, 0, 5, 0)


def test_methods_key_on_self_or_ignore_it():
    class Model:
        calls = 0

        @cached
        def answer(self, q):
            type(self).calls += 1
            return q * 2

        @cached(ignore=("self",))
        def shared(self, q):
            type(self).calls += 1
            return q * 3

    a, b = Model(), Model()
    assert a.answer(2) == b.answer(2) == 4 and Model.calls == 2
    assert a.answer(2) == 4 and Model.calls == 2
    assert a.shared(1) == b.shared(1) == 3 and Model.calls == 3


def test_custom_key_function_and_bad_ignore():
    @cached(key=lambda prompt, **_: prompt.lower())
    def shout(prompt, volume=1):
        return prompt.upper()

    assert shout("Hi") == shout("hi", volume=5) == "HI"
    assert shout.cache_info().misses == 1
    with pytest.raises(TypeError, match="ignore= names no parameter"):
        cached(ignore=("nope",))(lambda x: x)


def test_ttl_on_decorator_with_manual_clock():
    clock = ManualClock()
    calls = []

    @cached(ttl=5, clock=clock)
    def now(x):
        calls.append(x)
        return len(calls)

    assert now(1) == now(1) == 1
    clock.advance(5)
    assert now(1) == 2


def test_single_flight_threads():
    calls = []
    gate = threading.Event()

    @cached
    def slow(x):
        calls.append(x)
        gate.wait(5)
        return x * 10

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow(7))) for _ in range(10)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    gate.set()
    for t in threads:
        t.join(10)
    assert results == [70] * 10
    assert calls == [7]


def test_single_flight_leader_failure_lets_followers_retry():
    attempts = []
    gate = threading.Event()

    @cached
    def flaky(x):
        attempts.append(x)
        if len(attempts) == 1:
            gate.wait(5)
            raise RuntimeError("first call fails")
        return "ok"

    outcomes = []

    def call():
        try:
            outcomes.append(flaky(1))
        except RuntimeError:
            outcomes.append("raised")

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    gate.set()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["ok", "ok", "ok", "raised"]
    assert len(attempts) == 2


def test_recursion_on_the_same_key_does_not_deadlock():
    @cached
    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)

    assert fact(20) == 2432902008176640000


def test_async_single_flight_and_caching():
    calls = []

    @cached(max_size=10)
    async def fetch(x):
        calls.append(x)
        await asyncio.sleep(0.05)
        return {"x": x}

    async def main():
        first = await asyncio.gather(*[fetch(1) for _ in range(10)])
        again = await fetch(1)
        return first, again

    first, again = asyncio.run(main())
    assert first == [{"x": 1}] * 10 and again == {"x": 1}
    assert calls == [1]
    assert asyncio.iscoroutinefunction(fetch)


def test_async_exceptions_are_not_cached():
    calls = []

    @cached
    async def boom(x):
        calls.append(x)
        raise KeyError(x)

    async def main():
        for _ in range(2):
            with pytest.raises(KeyError):
                await boom(1)

    asyncio.run(main())
    assert calls == [1, 1]


def test_rust_fast_path_binds_like_python():
    calls = []

    @cached
    def f(x, y=2):
        calls.append((x, y))
        return x * y

    assert type(f).__name__ == "CachedFunction"  # the Rust hit path is in use
    assert f(3) == f(3, 2) == f(x=3) == f(y=2, x=3) == f(3, y=2) == 6
    assert calls == [(3, 2)]
    with pytest.raises(TypeError):
        f(3, x=3)
    with pytest.raises(TypeError):
        f()
    assert f.__name__ == "f" and f.__wrapped__.__name__ == "f"
    assert f.cache_info().hits == 4


def test_pydantic_v1_style_models_key_by_value():
    pydantic_v1 = pytest.importorskip("pydantic.v1")

    class Old(pydantic_v1.BaseModel):
        a: int

    assert make_key(Old(a=1)) == make_key(Old(a=1)) != make_key(Old(a=2))

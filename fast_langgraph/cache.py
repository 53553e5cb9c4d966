"""Caches backed by the Rust core: ``LruCache`` and the ``@cached`` decorator.

``@cached`` works on sync and async functions and methods::

    from fast_langgraph import cached

    @cached(max_size=10_000, ttl=600)
    def call_llm(prompt: str, *, temperature: float = 0.0) -> str: ...

    call_llm.cache_stats()   # hits, misses, inserts, evictions, expirations, size, hit_rate
    call_llm.cache_info()    # functools-compatible CacheInfo(hits, misses, maxsize, currsize)
    call_llm.cache_clear()

What you can rely on:

* **Keys** are built from the arguments as the function binds them, defaults
  applied: ``f(1, b=2)``, ``f(b=2, a=1)`` and (if ``b`` defaults to 2) ``f(1)`` share
  one entry. Arguments may be unhashable: dicts and sets (order does not matter),
  lists, tuples, str, bytes, int, float, bool, None, Enum, datetime/date/time,
  UUID, Decimal, paths, dataclasses and pydantic models (every LangChain message)
  are encoded by value; ``1``, ``1.0`` and ``True`` are different keys. Objects
  that compare by identity (plain class instances, ``self``) are keyed by
  identity and kept alive as long as their entries, as ``functools.lru_cache``
  does. Anything else (a class with its own ``__eq__``) raises ``TypeError``
  saying how to fix it: ``key=`` (your own key function returning str or bytes)
  or ``ignore=("name", ...)`` to leave arguments out of the key.
* ``None`` results are cached; exceptions never are.
* **Single flight**: concurrent callers of the same key (threads for a sync
  function, tasks for an async one) wait for one call and share its result. If
  that call raises, each waiter calls the function itself.
* **TTL** uses a monotonic clock; pass ``clock=ManualClock()`` in tests.
* A cache is safe to share across threads without any lock of yours.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, NamedTuple, Optional, Tuple, TypeVar

# The core through its checked loader: an ImportError saying why when it is missing or stale.
from fast_langgraph._rust import CachedFunction, LruCache, ManualClock, make_key

__all__ = ["CacheInfo", "LruCache", "ManualClock", "cached", "make_key"]

F = TypeVar("F", bound=Callable[..., Any])


class InlineAsyncLLMCacheMethods:
    """LangChain ``BaseCache``'s async methods answered by the sync ones, inline.

    Shared by ``RustLLMCache`` and ``RedisLLMCache``: no executor hop (LangChain's
    default), so ``alookup`` costs what ``lookup`` costs.
    """

    if TYPE_CHECKING:  # provided by the cache class

        def lookup(self, prompt: str, llm_string: str) -> Any: ...

        def update(self, prompt: str, llm_string: str, return_val: Any) -> None: ...

        def clear(self, **kwargs: Any) -> None: ...

    async def alookup(self, prompt: str, llm_string: str) -> Any:
        return self.lookup(prompt, llm_string)

    async def aupdate(self, prompt: str, llm_string: str, return_val: Any) -> None:
        self.update(prompt, llm_string, return_val)

    async def aclear(self, **kwargs: Any) -> None:
        self.clear()


class CacheInfo(NamedTuple):
    """Same fields as ``functools.lru_cache``'s ``cache_info()``."""

    hits: int
    misses: int
    maxsize: Optional[int]
    currsize: int


class _Flight:
    """One call in progress for a key. The event that followers wait on is made
    only when a follower shows up (an Event costs more than the rest of a miss)."""

    __slots__ = ("event", "ok", "value", "owner")

    def __init__(self) -> None:
        self.event: Optional[threading.Event] = None
        self.ok = False
        self.value: Any = None
        self.owner = threading.get_ident()


class _KeyBuilder:
    """Turns a call's arguments into (key bytes, pins), binding them like the function does."""

    def __init__(self, fn: Callable[..., Any], key: Optional[Callable[..., Any]], ignore: Iterable[str]) -> None:
        self.custom = key
        self.ignore = frozenset(ignore)
        try:
            self.signature: Optional[inspect.Signature] = inspect.signature(fn)
        except (TypeError, ValueError):  # some builtins have no signature
            self.signature = None
        params = list(self.signature.parameters.values()) if self.signature else []
        unknown = self.ignore - {p.name for p in params}
        if unknown:
            raise TypeError("ignore= names no parameter of %s: %s" % (fn.__qualname__, ", ".join(sorted(unknown))))
        simple = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params) and not self.ignore
        # Fast path: only positional-or-keyword parameters, called positionally.
        self.positional_names = [p.name for p in params] if simple else None
        self.defaults = tuple(p.default for p in params) if simple else ()

    def __call__(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Tuple[bytes, Any]:
        if self.custom is not None:
            custom = self.custom(*args, **kwargs)
            if isinstance(custom, bytes):
                return b"k" + custom, None
            if isinstance(custom, str):
                return b"k" + custom.encode("utf-8", "surrogatepass"), None
            return make_key(custom)
        names = self.positional_names
        if names is not None and not kwargs and len(args) <= len(names):
            missing = self.defaults[len(args) :]
            if inspect.Parameter.empty not in missing:
                return make_key(args + missing)
        if self.signature is None:
            return make_key((args, kwargs))
        bound = self.signature.bind(*args, **kwargs)  # raises the call's own TypeError
        bound.apply_defaults()
        values = [(name, value) for name, value in bound.arguments.items() if name not in self.ignore]
        return make_key(tuple(v for _, v in values) if names is not None else tuple(values))


def cached(
    fn: Optional[F] = None,
    *,
    max_size: int = 1024,
    ttl: Optional[float] = None,
    key: Optional[Callable[..., Any]] = None,
    ignore: Iterable[str] = (),
    clock: Optional[ManualClock] = None,
) -> Any:
    """Memoize ``fn`` in a Rust LRU cache (``max_size=0``: unbounded; ``ttl`` in seconds)."""

    def decorate(func: F) -> F:
        cache = LruCache(max_size, ttl, clock=clock)
        build_key = _KeyBuilder(func, key, ignore)
        flights: Dict[Any, Any] = {}  # key (or (key, loop id)) -> _Flight / asyncio.Future
        flights_lock = threading.Lock()

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                k, pins = build_key(args, kwargs)
                while True:
                    found, value = cache.lookup(k)
                    if found:
                        return value
                    loop = asyncio.get_running_loop()
                    flight_key = (k, id(loop))
                    with flights_lock:
                        leader = flight_key not in flights
                        if leader:
                            flights[flight_key] = waiter = loop.create_future()
                        else:
                            waiter = flights[flight_key]
                    if not leader:
                        try:
                            return await asyncio.shield(waiter)
                        except Exception:
                            continue  # the leader failed or was cancelled: try ourselves
                    try:
                        result = await func(*args, **kwargs)
                    except BaseException as exc:
                        if not waiter.done():
                            waiter.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
                            waiter.exception()  # mark retrieved: followers retry, nothing to log
                        raise
                    else:
                        cache.put(k, result, pins=pins)
                        if not waiter.done():
                            waiter.set_result(result)
                        return result
                    finally:
                        with flights_lock:
                            flights.pop(flight_key, None)

            wrapper: Any = async_wrapper
        else:

            def call_once(k: bytes, pins: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
                while True:
                    found, value = cache.lookup(k)
                    if found:
                        return value
                    with flights_lock:
                        flight = flights.get(k)
                        leader = flight is None
                        if flight is None:
                            flights[k] = flight = _Flight()
                        elif flight.owner != threading.get_ident() and flight.event is None:
                            flight.event = threading.Event()
                        event = flight.event
                    if not leader:
                        if event is None:
                            return func(*args, **kwargs)  # recursion on the same key
                        event.wait()
                        if flight.ok:
                            return flight.value
                        continue  # the leader raised: try ourselves
                    try:
                        result = func(*args, **kwargs)
                        cache.put(k, result, pins=pins)
                        flight.ok, flight.value = True, result
                        return result
                    finally:
                        with flights_lock:
                            flights.pop(k, None)
                            event = flight.event
                        if event is not None:
                            event.set()

            @functools.wraps(func)
            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                k, pins = build_key(args, kwargs)
                return call_once(k, pins, args, kwargs)

            wrapper = sync_wrapper
            if build_key.custom is None and build_key.positional_names is not None:
                # Hits on simply-bound calls never enter Python (see CachedFunction).
                wrapper = CachedFunction(
                    cache,
                    len(build_key.positional_names),
                    list(build_key.positional_names),
                    list(build_key.defaults),
                    inspect.Parameter.empty,
                    sync_wrapper,
                    call_once,
                )
                functools.update_wrapper(wrapper, func)

        def cache_info() -> CacheInfo:
            s = cache.stats()
            return CacheInfo(s["hits"], s["misses"], max_size or None, s["size"])

        wrapper.cache = cache
        wrapper.cache_stats = cache.stats
        wrapper.cache_info = cache_info
        wrapper.cache_clear = lambda: cache.clear(reset_stats=True)
        return wrapper  # type: ignore[no-any-return]

    return decorate(fn) if fn is not None else decorate

"""Redis backends for the caches, shared by every worker and machine that points at one Redis.

    from fast_langgraph.redis_cache import RedisLLMCache, RedisNodeCache, RedisStore

    graph = builder.compile(cache=RedisNodeCache("redis://10.0.0.5:6379/0"))   # LangGraph node cache
    set_llm_cache(RedisLLMCache("redis://10.0.0.5:6379/0", ttl=3600))         # LangChain LLM cache

    store = RedisStore("redis://10.0.0.5:6379/0", prefix="myapp:")             # one pool for both
    RedisNodeCache(store), RedisLLMCache(store)

Needs ``pip install redis`` (the ``redis`` extra). A single Redis server (or a
proxy in front of one); Redis Cluster is not supported.

What you can rely on:

* **A deadline.** Every call returns within ``timeout`` seconds (default 0.25), also
  when Redis hangs (a stopped process, a black-holed network) or is down. The time is
  split between the waits a call can make (connect, one request/reply, and the
  handshake commands a fresh connection needs for a password or a ``db``), each a
  socket timeout; redis-py's retries are off. What is bounded is each wait, so a
  multi-megabyte value trickling through a slow but live network can take longer.
  ``clear`` makes a SCAN and an UNLINK per thousand keys scanned: each is bounded,
  and the first that fails stops it. Host names are resolved by the system resolver,
  outside the deadline: use an address, or a name it answers at once.
* **Degradation, not exceptions.** If Redis fails, a read is a miss and a write or
  clear does nothing; one warning goes to the ``fast_langgraph`` logger per outage
  (not per call), and an info line when Redis is back. For ``backoff`` seconds
  (default 1) after a failure, calls do not even try; then one call at a time probes
  until Redis answers again (a restart is picked up with no action of yours).
* **Keys** live under ``prefix`` (default ``"fast_langgraph:"``); ``RedisStore.clear()``
  removes exactly the keys under it, with ``SCAN MATCH`` (the prefix's glob
  characters escaped) and ``UNLINK``, never ``FLUSHDB``. Node-cache keys are
  ``<prefix>node:/<ns part>/<ns part>:<key>`` with each namespace part
  percent-encoded, so ``("a:b",)`` and ``("a", "b")`` cannot collide; LLM-cache keys
  are ``<prefix>llm:`` and a SHA-256 of the prompt and model parameters.
* **Values** that do not decode (corrupted, written by something else, or by an
  incompatible version) are misses, never exceptions; the next write replaces them.
  A node value the ``serde`` cannot serialize raises, as with ``InMemoryCache``; an
  LLM response LangChain's ``dumps`` cannot serialize is not cached.
* Thread-safe: redis-py's connection pool, and a lock around this module's state.
  The async methods run the same bounded call inline (as LangGraph's own
  ``RedisCache`` does), so at most ``timeout`` is spent on the event loop.

Trust: whoever can write to this Redis can choose what your graphs and models read
back. Node-cache values are decoded by the cache's ``serde`` (LangGraph's
``JsonPlusSerializer`` without pickle by default); LLM-cache values by LangChain's
``loads``, restricted to generation and message classes (``allowed_objects``),
secrets from the environment off.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import math
import struct
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union
from urllib.parse import quote

# The core through its checked loader: an ImportError saying why when it is missing or stale.
from fast_langgraph._rust import make_key
from fast_langgraph.cache import InlineAsyncLLMCacheMethods

__all__ = ["RedisLLMCache", "RedisNodeCache", "RedisStore", "DEFAULT_URL", "DEFAULT_PREFIX"]

log = logging.getLogger("fast_langgraph")

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "fast_langgraph:"

T = TypeVar("T")
Namespace = Tuple[str, ...]
FullKey = Tuple[Namespace, str]

# Settings that would break the deadline: RedisStore sets them from ``timeout``.
_OWN_SETTINGS = ("socket_timeout", "socket_connect_timeout", "retry", "retry_on_timeout", "retry_on_error")
_GLOB_SPECIAL = frozenset(b"\\*?[]")
_SCAN_COUNT = 1000


def escape_glob(raw: bytes) -> bytes:
    """``raw`` as a Redis glob pattern that matches only itself (``\\``, ``*``, ``?``, ``[``, ``]`` escaped)."""
    out = bytearray()
    for byte in raw:
        if byte in _GLOB_SPECIAL:
            out += b"\\"
        out.append(byte)
    return bytes(out)


def _as_bytes(value: Union[str, bytes]) -> bytes:
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)


class RedisStore:
    """Bytes keys to bytes values under ``prefix`` in one Redis, every call bounded by ``timeout``.

    ``url`` is any redis-py URL (``redis://[user:password@]host:port/db``,
    ``rediss://`` for TLS, ``unix:///path.sock``); ``connection_kwargs`` go to
    redis-py's connection pool (``ssl_ca_certs=...``, ``max_connections=...``), except
    the timeouts and retries, which this class owns.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        prefix: Union[str, bytes] = DEFAULT_PREFIX,
        timeout: float = 0.25,
        backoff: float = 1.0,
        **connection_kwargs: Any,
    ) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:
            raise ImportError("the Redis caches need redis-py: pip install redis") from exc

        owned = sorted(set(connection_kwargs) & set(_OWN_SETTINGS))
        if owned:
            raise TypeError("RedisStore sets %s itself: pass timeout= (seconds per call)" % ", ".join(owned))
        if not timeout > 0:
            raise ValueError("timeout must be > 0 seconds")
        if not backoff >= 0:
            raise ValueError("backoff must be >= 0 seconds")
        self.prefix = _as_bytes(prefix)
        self.timeout = float(timeout)
        self.backoff = float(backoff)

        kwargs = dict(connection_kwargs)
        accepted = _connection_parameters(redis)
        if "protocol" in accepted:
            kwargs.setdefault("protocol", 2)  # RESP3 adds a HELLO round trip to every new connection
        if "driver_info" in accepted:
            kwargs.setdefault("driver_info", None)  # no CLIENT SETINFO round trips either
        elif "lib_name" in accepted:
            kwargs.setdefault("lib_name", None)
            kwargs.setdefault("lib_version", None)
        settings = dict(redis.connection.parse_url(url))
        settings.update(kwargs)
        self.waits = 2 + _handshake_round_trips(settings, accepted)
        per_wait = self.timeout / self.waits
        kwargs.update(socket_timeout=per_wait, socket_connect_timeout=per_wait, retry=Retry(NoBackoff(), 0))
        self._client: Any = redis.Redis.from_url(url, **kwargs)
        self._where = _describe(settings)

        self._lock = threading.Lock()  # guards the failure state below
        self._probe = threading.Lock()  # one call at a time tries a Redis that failed
        self._failing = False
        self._retry_at = 0.0
        self.failures = 0  # calls that failed (this process)
        self.skipped = 0  # calls not tried during a backoff

    def __repr__(self) -> str:
        return "RedisStore(%s, prefix=%r, timeout=%g)" % (self._where, self.prefix, self.timeout)

    # The guarded call --------------------------------------------------------

    def _call(self, op: Callable[[], T], default: T, what: str) -> T:
        if self._failing:
            if time.monotonic() < self._retry_at or not self._probe.acquire(blocking=False):
                return self._skip(default)
            try:
                if self._failing and time.monotonic() < self._retry_at:  # a probe just failed
                    return self._skip(default)
                return self._attempt(op, default, what)
            finally:
                self._probe.release()
        return self._attempt(op, default, what)

    def _skip(self, default: T) -> T:
        with self._lock:
            self.skipped += 1
        return default

    def _attempt(self, op: Callable[[], T], default: T, what: str) -> T:
        try:
            result = op()
        except Exception as exc:  # a cache must not fail the caller: every error is a miss / no-op
            self._failed(exc, what)
            return default
        if self._failing:
            self._recovered()
        return result

    def _failed(self, exc: BaseException, what: str) -> None:
        with self._lock:
            self.failures += 1
            self._retry_at = time.monotonic() + self.backoff
            first = not self._failing
            self._failing = True
        if first:
            log.warning(
                "fast_langgraph: Redis cache at %s failed during %s (%s: %s); cache reads are misses and "
                "writes are skipped until it answers again (retried every %gs)",
                self._where,
                what,
                type(exc).__name__,
                exc,
                self.backoff,
            )
        else:
            log.debug("fast_langgraph: Redis cache at %s still failing (%s: %s)", self._where, type(exc).__name__, exc)

    def _recovered(self) -> None:
        with self._lock:
            was_failing, self._failing = self._failing, False
        if was_failing:
            log.info("fast_langgraph: Redis cache at %s is answering again", self._where)

    @property
    def available(self) -> bool:
        """False from a failure until the next successful call."""
        return not self._failing

    # Operations --------------------------------------------------------------

    def get_many(self, keys: Iterable[bytes]) -> Dict[bytes, bytes]:
        """The values found for ``keys`` (absent keys are left out); ``{}`` if Redis fails."""
        keys = list(keys)
        if not keys:
            return {}
        full = [self.prefix + k for k in keys]  # a wrong argument raises here, not as a Redis failure

        def op() -> Dict[bytes, bytes]:
            values = self._client.mget(full)
            return {k: v for k, v in zip(keys, values) if v is not None}

        return self._call(op, {}, "MGET")

    def set_many(self, items: Mapping[bytes, Tuple[bytes, Optional[float]]]) -> bool:
        """Store ``{key: (value, ttl seconds or None)}`` in one pipeline; False if Redis failed.

        A ``ttl`` of 0 or less removes the key (the value would already be expired).
        """
        writes: List[Tuple[bytes, bytes, Optional[int]]] = []
        for key, (value, ttl) in items.items():
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise TypeError("RedisStore values are bytes, not %s" % type(value).__name__)
            millis = None if ttl is None else (math.ceil(ttl * 1000) if ttl > 0 else 0)
            writes.append((self.prefix + key, bytes(value), millis))
        if not writes:
            return True

        def op() -> bool:
            pipe = self._client.pipeline(transaction=False)
            for key, value, millis in writes:
                if millis is None:
                    pipe.set(key, value)
                elif millis > 0:
                    pipe.set(key, value, px=millis)
                else:
                    pipe.unlink(key)
            pipe.execute()
            return True

        return self._call(op, False, "SET")

    def delete(self, keys: Iterable[bytes]) -> int:
        """Remove ``keys`` (one round trip); how many existed (0 if Redis failed)."""
        full = [self.prefix + k for k in keys]
        if not full:
            return 0

        def op() -> int:
            pipe = self._client.pipeline(transaction=False)
            for i in range(0, len(full), _SCAN_COUNT):
                pipe.unlink(*full[i : i + _SCAN_COUNT])
            return sum(int(n) for n in pipe.execute())

        return self._call(op, 0, "UNLINK")

    def delete_prefix(self, sub_prefix: bytes) -> int:
        """Remove every key of this store that starts with ``sub_prefix``; how many (SCAN + UNLINK)."""
        pattern = escape_glob(self.prefix + sub_prefix) + b"*"

        def op() -> int:
            removed, cursor = 0, 0
            while True:
                cursor, found = self._client.scan(cursor, match=pattern, count=_SCAN_COUNT)
                if found:
                    removed += int(self._client.unlink(*found))
                if int(cursor) == 0:
                    return removed

        return self._call(op, 0, "SCAN/UNLINK")

    def clear(self) -> int:
        """Remove every key under this store's prefix, and nothing else; how many."""
        return self.delete_prefix(b"")

    def ping(self) -> bool:
        """Whether Redis answers now (bounded like every call; ignores the backoff)."""
        try:
            ok = bool(self._client.ping())
        except Exception as exc:
            self._failed(exc, "PING")
            return False
        self._recovered()
        return ok

    def close(self) -> None:
        """Close the pool's connections (the store reconnects if used again)."""
        with contextlib.suppress(Exception):
            self._client.connection_pool.disconnect()


def _connection_parameters(redis: Any) -> Sequence[str]:
    cls = getattr(redis.connection, "AbstractConnection", redis.connection.Connection)
    try:
        return list(inspect.signature(cls.__init__).parameters)
    except (TypeError, ValueError):
        return []


def _handshake_round_trips(settings: Mapping[str, Any], accepted: Sequence[str]) -> int:
    """Replies a fresh connection waits for before the command (redis-py's on_connect)."""
    auth = bool(settings.get("password") or settings.get("username") or settings.get("credential_provider"))
    resp3 = str(settings.get("protocol", 2)) == "3"
    trips = int(auth or resp3)  # AUTH, or HELLO (which carries AUTH under RESP3)
    trips += int(resp3)  # maintenance-notifications handshake (redis-py >= 7)
    trips += int(bool(settings.get("client_name")))
    if "driver_info" in accepted or "lib_name" in accepted:  # redis-py >= 5 can send CLIENT SETINFO
        if settings.get("driver_info", 0) is not None and settings.get("lib_name", 0) is not None:
            trips += 2  # LIB-NAME, LIB-VER
    trips += int(bool(settings.get("db")))
    trips += int(bool(settings.get("health_check_interval")))  # PING before a command on an idle connection
    return trips


def _describe(settings: Mapping[str, Any]) -> str:
    if settings.get("path"):
        return "unix:%s" % settings["path"]
    return "%s:%s/%s" % (settings.get("host", "localhost"), settings.get("port", 6379), settings.get("db", 0) or 0)


def _store(store: Union[RedisStore, str], store_kwargs: Dict[str, Any]) -> RedisStore:
    if isinstance(store, RedisStore):
        if store_kwargs:
            raise TypeError("pass either a RedisStore or a URL with settings, not both: %s" % ", ".join(store_kwargs))
        return store
    return RedisStore(store, **store_kwargs)


class _Counters:
    """Per-process statistics of one cache object."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits = self.misses = self.inserts = self.undecodable = 0

    def add(self, hits: int = 0, misses: int = 0, inserts: int = 0, undecodable: int = 0) -> None:
        with self._lock:
            self.hits += hits
            self.misses += misses
            self.inserts += inserts
            self.undecodable += undecodable

    def snapshot(self, store: RedisStore) -> Dict[str, Any]:
        with self._lock:
            looked = self.hits + self.misses
            return {
                "hits": self.hits,
                "misses": self.misses,
                "inserts": self.inserts,
                "undecodable": self.undecodable,
                "hit_rate": self.hits / looked if looked else 0.0,
                "redis_failures": store.failures,
                "redis_skipped": store.skipped,
                "redis_available": store.available,
            }


# LangGraph node cache --------------------------------------------------------

try:
    from langgraph.cache.base import BaseCache as _LangGraphBaseCache
except ImportError:  # LangGraph < 0.4 (no node caching) or not installed
    _LangGraphBaseCache = object  # type: ignore[misc,assignment]

_NODE = b"node:"
_FORMAT = 1  # first byte of a node-cache value


def _namespace_key(ns: Sequence[str]) -> bytes:
    # "/" before each part, each part percent-encoded ("/", ":" and glob characters too):
    # ("a:b",) -> /a%3Ab, ("a", "b") -> /a/b, () -> "", ("",) -> "/"; ":" ends the namespace.
    return _NODE + b"".join(b"/" + quote(_as_bytes(part), safe="").encode("ascii") for part in ns) + b":"


def _frame(tag: str, data: bytes) -> bytes:
    tag_bytes = tag.encode("utf-8")
    return struct.pack(">BH", _FORMAT, len(tag_bytes)) + tag_bytes + bytes(data)


def _unframe(raw: bytes) -> Tuple[str, bytes]:
    version, size = struct.unpack_from(">BH", raw)
    if version != _FORMAT or len(raw) < 3 + size:
        raise ValueError("not a fast_langgraph node-cache value")
    return raw[3 : 3 + size].decode("utf-8"), raw[3 + size :]


class RedisNodeCache(_LangGraphBaseCache):  # type: ignore[misc,valid-type]
    """LangGraph node cache (``compile(cache=...)``) in Redis, shared by every worker using it.

    Same contract as LangGraph's ``InMemoryCache`` and ``RustNodeCache``: values stored
    with the cache's ``serde`` (reads are copies), per-entry TTL in seconds (``None``:
    kept until cleared or evicted by Redis's own ``maxmemory`` policy),
    ``clear(namespaces)`` for exactly those namespaces, ``clear()`` for every node-cache
    key under the store's prefix.
    """

    def __init__(self, store: Union[RedisStore, str] = DEFAULT_URL, *, serde: Any = None, **store_kwargs: Any) -> None:
        if _LangGraphBaseCache is object:
            raise ImportError("RedisNodeCache needs LangGraph >= 0.4 (langgraph.cache.base)")
        super().__init__(serde=serde)
        self.store = _store(store, store_kwargs)
        self._counts = _Counters()

    @staticmethod
    def _key(ns: Sequence[str], key: str) -> bytes:
        return _namespace_key(ns) + _as_bytes(key)

    def get(self, keys: Sequence[FullKey]) -> Dict[FullKey, Any]:
        wanted = [((tuple(ns), key), self._key(ns, key)) for ns, key in keys]
        if not wanted:
            return {}
        found = self.store.get_many([redis_key for _, redis_key in wanted])
        values: Dict[FullKey, Any] = {}
        bad = 0
        for full_key, redis_key in wanted:
            raw = found.get(redis_key)
            if raw is None:
                continue
            try:
                values[full_key] = self.serde.loads_typed(_unframe(raw))
            except Exception as exc:  # corrupted or foreign: a miss, overwritten by the next set
                bad += 1
                log.debug("fast_langgraph: undecodable node-cache value at %r: %s", redis_key, exc)
        self._counts.add(hits=len(values), misses=len(wanted) - len(values), undecodable=bad)
        return values

    async def aget(self, keys: Sequence[FullKey]) -> Dict[FullKey, Any]:
        return self.get(keys)

    def set(self, pairs: Mapping[FullKey, Tuple[Any, Optional[int]]]) -> None:
        items: Dict[bytes, Tuple[bytes, Optional[float]]] = {}
        for (ns, key), (value, ttl) in pairs.items():
            tag, data = self.serde.dumps_typed(value)
            items[self._key(ns, key)] = (_frame(tag, data), None if ttl is None else float(ttl))
        if items and self.store.set_many(items):
            self._counts.add(inserts=len(items))

    async def aset(self, pairs: Mapping[FullKey, Tuple[Any, Optional[int]]]) -> None:
        self.set(pairs)

    def clear(self, namespaces: Optional[Sequence[Namespace]] = None) -> None:
        if namespaces is None:
            self.store.delete_prefix(_NODE)
            return
        for ns in namespaces:
            self.store.delete_prefix(_namespace_key(ns))

    async def aclear(self, namespaces: Optional[Sequence[Namespace]] = None) -> None:
        self.clear(namespaces)

    def stats(self) -> Dict[str, Any]:
        """This process's hits, misses, inserts, undecodable values, hit_rate, and Redis failures."""
        return self._counts.snapshot(self.store)


# LangChain LLM cache ---------------------------------------------------------

try:
    from langchain_core.caches import BaseCache as _LangChainBaseCache
except ImportError:  # langchain-core not installed
    _LangChainBaseCache = object  # type: ignore[misc,assignment]

_LLM = b"llm:"
_LANGCHAIN = _LLM + b"lc:"  # LangChain's (prompt, llm_string) keys never meet direct-use keys
_DIRECT = _LLM + b"dx:"
_JSON = b"\x01"  # first byte of an LLM-cache value, then LangChain's dumps() as UTF-8
_NOT_SERIALIZABLE = '"type": "not_implemented"'

_MESSAGE_CLASSES = (
    "AIMessage", "AIMessageChunk", "HumanMessage", "HumanMessageChunk", "SystemMessage", "SystemMessageChunk",
    "ToolMessage", "ToolMessageChunk", "ChatMessage", "ChatMessageChunk", "FunctionMessage",
    "FunctionMessageChunk", "RemoveMessage",
)  # fmt: skip


def _default_allowed_objects() -> List[Any]:
    """What an LLM response is made of: the generation classes and the message classes."""
    import langchain_core.messages as messages
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, Generation, GenerationChunk

    return [Generation, GenerationChunk, ChatGeneration, ChatGenerationChunk] + [
        getattr(messages, name) for name in _MESSAGE_CLASSES if hasattr(messages, name)
    ]


def _quiet_beta() -> Any:
    try:  # loads() is @beta in langchain-core; its warning says nothing about our use
        from langchain_core._api.beta_decorator import suppress_langchain_beta_warning

        return suppress_langchain_beta_warning()
    except ImportError:
        return contextlib.nullcontext()


class RedisLLMCache(InlineAsyncLLMCacheMethods, _LangChainBaseCache):  # type: ignore[misc,valid-type]
    """LLM response cache in Redis: as a LangChain ``BaseCache`` (``set_llm_cache``) or directly.

    ``ttl`` (seconds, ``None``: no expiry) applies to every entry unless ``put`` gives
    its own. Values are serialized with LangChain's ``dumps`` and revived with its
    ``loads``, limited to ``allowed_objects`` (default: generation and message classes).
    Statistics are this process's.
    """

    def __init__(
        self,
        store: Union[RedisStore, str] = DEFAULT_URL,
        *,
        ttl: Optional[float] = None,
        allowed_objects: Optional[Sequence[Any]] = None,
        **store_kwargs: Any,
    ) -> None:
        if _LangChainBaseCache is object:
            raise ImportError("RedisLLMCache needs langchain-core")
        from langchain_core.load import dumps, loads

        self.store = _store(store, store_kwargs)
        self.ttl = ttl
        self._dumps = dumps
        self._loads_kwargs: Dict[str, Any] = {}
        allowed = _default_allowed_objects() if allowed_objects is None else list(allowed_objects)
        # Checked after loading too: langchain-core before allowed_objects (< 0.3.80 or so)
        # revives any LangChain class, and what it revives must still be a miss.
        self._allowed_types = tuple(t for t in allowed if isinstance(t, type))
        if "allowed_objects" in inspect.signature(loads).parameters:
            self._loads_kwargs["allowed_objects"] = allowed
        self._loads = loads
        self._counts = _Counters()

    # Encoding ----------------------------------------------------------------

    def _encode(self, value: Any) -> Optional[bytes]:
        text = self._dumps(value)
        if _NOT_SERIALIZABLE in text:
            return None
        return _JSON + text.encode("utf-8")

    def _decode(self, raw: Optional[bytes]) -> Tuple[bool, Any]:
        if raw is None:
            return False, None
        try:
            if raw[:1] != _JSON:
                raise ValueError("not a fast_langgraph LLM-cache value")
            with _quiet_beta():
                value = self._loads(raw[1:].decode("utf-8"), **self._loads_kwargs)
            self._check_allowed(value)
            return True, value
        except Exception as exc:  # corrupted, foreign, or a class outside allowed_objects: a miss
            self._counts.add(undecodable=1)
            log.debug("fast_langgraph: undecodable LLM-cache value: %s", exc)
            return False, None

    def _check_allowed(self, value: Any) -> None:
        from langchain_core.load.serializable import Serializable

        if isinstance(value, (list, tuple)):
            for item in value:
                self._check_allowed(item)
        elif isinstance(value, dict):
            for item in value.values():
                self._check_allowed(item)
        elif isinstance(value, Serializable) and not isinstance(value, self._allowed_types):
            raise ValueError("%s is not an allowed LLM-cache object" % type(value).__name__)

    def _lookup(self, key: bytes) -> Tuple[bool, Any]:
        found, value = self._decode(self.store.get_many([key]).get(key))
        self._counts.add(hits=int(found), misses=int(not found))
        return found, value

    def _store_value(self, key: bytes, value: Any, ttl: Optional[float]) -> bool:
        try:
            raw = self._encode(value)
        except Exception as exc:
            log.debug("fast_langgraph: LLM-cache value not serializable: %s", exc)
            raw = None
        if raw is None:
            return False
        if self.store.set_many({key: (raw, ttl)}):
            self._counts.add(inserts=1)
        return True

    # Direct use -------------------------------------------------------------

    @staticmethod
    def _direct_key(prompt: Any, params: Dict[str, Any]) -> bytes:
        key, pins = make_key((prompt, params))
        if pins is not None:
            raise TypeError(
                "RedisLLMCache keys must be values another process can rebuild; this prompt or a parameter "
                "is keyed by identity (a plain object): pass strings, messages, dicts or other values"
            )
        return _DIRECT + hashlib.sha256(key).hexdigest().encode("ascii")

    def get(self, prompt: Any, **params: Any) -> Any:
        """The cached response for ``prompt`` under these model parameters, or None."""
        return self._lookup(self._direct_key(prompt, params))[1]

    def put(self, prompt: Any, response: Any, *, ttl: Optional[float] = None, **params: Any) -> None:
        """Cache ``response`` (anything LangChain's ``dumps`` serializes); ``ttl`` overrides the default."""
        key = self._direct_key(prompt, params)
        if not self._store_value(key, response, self.ttl if ttl is None else ttl):
            raise TypeError("RedisLLMCache cannot serialize %s with LangChain's dumps()" % type(response).__name__)

    def stats(self) -> Dict[str, Any]:
        """This process's hits, misses, inserts, undecodable values, hit_rate, and Redis failures."""
        return self._counts.snapshot(self.store)

    # langchain_core.caches.BaseCache -----------------------------------------

    @staticmethod
    def _langchain_key(prompt: str, llm_string: str) -> bytes:
        prompt_bytes = _as_bytes(prompt)
        digest = hashlib.sha256(b"%d:" % len(prompt_bytes) + prompt_bytes + _as_bytes(llm_string))
        return _LANGCHAIN + digest.hexdigest().encode("ascii")

    def lookup(self, prompt: str, llm_string: str) -> Optional[Sequence[Any]]:
        found, value = self._lookup(self._langchain_key(prompt, llm_string))
        if not found:
            return None
        if not isinstance(value, list):
            self._counts.add(hits=-1, misses=1, undecodable=1)
            return None
        return value

    def update(self, prompt: str, llm_string: str, return_val: Sequence[Any]) -> None:
        # A response that does not serialize is not cached; the model call goes on.
        self._store_value(self._langchain_key(prompt, llm_string), list(return_val), self.ttl)

    def clear(self, **kwargs: Any) -> None:
        """Remove every LLM-cache entry under the store's prefix (node-cache keys stay)."""
        self.store.delete_prefix(_LLM)

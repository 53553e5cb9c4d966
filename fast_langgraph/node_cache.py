"""``RustNodeCache``: a LangGraph node cache (``langgraph.cache.base.BaseCache``) on the Rust LRU.

    from fast_langgraph.node_cache import RustNodeCache
    from langgraph.types import CachePolicy

    builder.add_node("expensive", fn, cache_policy=CachePolicy(ttl=600))
    graph = builder.compile(cache=RustNodeCache(max_size=10_000))

Like LangGraph's ``InMemoryCache`` it stores values serialized with the cache's
``serde`` (so a reader gets a copy: cached writes are fed into reducers) and
honours per-entry TTLs (``None``: no expiry) and ``clear(namespaces)``. Unlike it,
it is bounded (least recently used entries are evicted past ``max_size``),
expires on a monotonic clock, and has statistics. Needs LangGraph >= 0.4.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from langgraph.cache.base import BaseCache

# The core through its checked loader: an ImportError saying why when it is missing or stale.
from fast_langgraph._rust import LruCache, ManualClock, make_key

__all__ = ["RustNodeCache"]

Namespace = Tuple[str, ...]
FullKey = Tuple[Namespace, str]


def _namespace_prefix(ns: Sequence[str]) -> bytes:
    # Length-prefixed encoding: ("a:b",) and ("a", "b") cannot collide, and one
    # namespace's prefix is never the prefix of another's keys.
    return make_key(tuple(ns))[0]


class RustNodeCache(BaseCache):
    """LangGraph node cache backed by the Rust LRU/TTL cache; thread-safe."""

    def __init__(self, max_size: int = 10_000, *, serde: Any = None, clock: Optional[ManualClock] = None) -> None:
        super().__init__(serde=serde)
        self._store = LruCache(max_size, None, clock=clock)

    @staticmethod
    def _key(ns: Sequence[str], key: str) -> bytes:
        return _namespace_prefix(ns) + make_key(key)[0]

    def get(self, keys: Sequence[FullKey]) -> Dict[FullKey, Any]:
        values: Dict[FullKey, Any] = {}
        for ns, key in keys:
            found, stored = self._store.lookup(self._key(ns, key))
            if found:
                values[(tuple(ns), key)] = self.serde.loads_typed(stored)
        return values

    async def aget(self, keys: Sequence[FullKey]) -> Dict[FullKey, Any]:
        return self.get(keys)

    def set(self, pairs: Mapping[FullKey, Tuple[Any, Optional[int]]]) -> None:
        for (ns, key), (value, ttl) in pairs.items():
            stored = self.serde.dumps_typed(value)
            if ttl is None:
                self._store.put(self._key(ns, key), stored, forever=True)
            else:
                self._store.put(self._key(ns, key), stored, float(ttl))

    async def aset(self, pairs: Mapping[FullKey, Tuple[Any, Optional[int]]]) -> None:
        self.set(pairs)

    def clear(self, namespaces: Optional[Sequence[Namespace]] = None) -> None:
        if namespaces is None:
            self._store.clear()
            return
        for ns in namespaces:
            self._store.delete_prefix(_namespace_prefix(ns))

    async def aclear(self, namespaces: Optional[Sequence[Namespace]] = None) -> None:
        self.clear(namespaces)

    def stats(self) -> Dict[str, Any]:
        """Hits, misses, inserts, evictions, expirations, size, max_size, hit_rate."""
        return dict(self._store.stats())

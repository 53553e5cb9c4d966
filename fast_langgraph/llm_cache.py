"""``RustLLMCache``: an LLM response cache on the Rust LRU, usable directly or by LangChain.

    from langchain_core.globals import set_llm_cache
    from fast_langgraph.llm_cache import RustLLMCache

    set_llm_cache(RustLLMCache(max_size=10_000, ttl=3600))   # every LangChain chat model caches

    cache = RustLLMCache()
    cache.put(messages, response, model="gpt-x", temperature=0)   # direct use
    cache.get(messages, model="gpt-x", temperature=0)             # -> response, or None
    cache.stats()

Keys are built from the prompt (a string, or a list of LangChain messages or
dicts, compared by content) and the model parameters (order-independent); see
``fast_langgraph.cache`` for the key rules. Values are stored as given (as
LangChain's own ``InMemoryCache`` does). Thread-safe; the async methods do not
go through an executor.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from langchain_core.caches import BaseCache

# The core through its checked loader: an ImportError saying why when it is missing or stale.
from fast_langgraph._rust import LruCache, ManualClock, make_key
from fast_langgraph.cache import InlineAsyncLLMCacheMethods

__all__ = ["RustLLMCache"]

_LANGCHAIN = b"lc"  # LangChain's (prompt, llm_string) keys never meet direct-use keys
_DIRECT = b"dx"


class RustLLMCache(InlineAsyncLLMCacheMethods, BaseCache):
    """LRU/TTL cache of LLM responses (``max_size=0``: unbounded; ``ttl`` in seconds)."""

    def __init__(
        self, max_size: int = 10_000, ttl: Optional[float] = None, *, clock: Optional[ManualClock] = None
    ) -> None:
        self._store = LruCache(max_size, ttl, clock=clock)

    # Direct use -------------------------------------------------------------

    def get(self, prompt: Any, **params: Any) -> Any:
        """The cached response for ``prompt`` under these model parameters, or None."""
        return self._store.get(_DIRECT + make_key((prompt, params))[0])

    def put(self, prompt: Any, response: Any, *, ttl: Optional[float] = None, **params: Any) -> None:
        """Cache ``response``; ``ttl`` (seconds) overrides the cache's default."""
        self._store.put(_DIRECT + make_key((prompt, params))[0], response, ttl)

    def stats(self) -> Dict[str, Any]:
        """Hits, misses, inserts, evictions, expirations, size, max_size, hit_rate."""
        return dict(self._store.stats())

    # langchain_core.caches.BaseCache -----------------------------------------

    def lookup(self, prompt: str, llm_string: str) -> Optional[Sequence[Any]]:
        return self._store.get(_LANGCHAIN + make_key((prompt, llm_string))[0])

    def update(self, prompt: str, llm_string: str, return_val: Sequence[Any]) -> None:
        self._store.put(_LANGCHAIN + make_key((prompt, llm_string))[0], return_val)

    def clear(self, **kwargs: Any) -> None:
        self._store.clear()

"""Type stubs for the Rust core, ``fast_langgraph._core``."""

from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, TypedDict, final

class _BuildInfo(TypedDict):
    version: str
    profile: str  # "release" or "debug"
    pyo3_abi: str

class _CacheStats(TypedDict):
    hits: int
    misses: int
    inserts: int
    evictions: int
    expirations: int
    size: int
    max_size: int
    hit_rate: float

__version__: str

def build_info() -> _BuildInfo:
    """Version and build profile of the loaded Rust core."""

def msgpack_encode(obj: Any, default: Optional[Callable[[Any], Any]] = None, langgraph_default: bool = False) -> bytes:
    """The bytes of ``ormsgpack.packb(obj, default=default, option=<LangGraph's options>)``.

    Raises ``ormsgpack.MsgpackEncodeError`` where ormsgpack does. ``langgraph_default=True``
    promises ``default`` is langgraph-checkpoint's ``_msgpack_default`` (4.1-4.3).
    """

def msgpack_unpackb(
    obj: Any, /, *, ext_hook: Optional[Callable[[int, bytes], Any]] = None, option: Optional[int] = None
) -> Any:
    """``ormsgpack.unpackb``, the same objects, hook calls (same values, same order) and
    ``MsgpackDecodeError`` (``ValueError``) for bad input. LangGraph's call (bytes,
    ``ext_hook``, ``option=OPT_NON_STR_KEYS``) on a large blob of mostly plain data runs
    ormsgpack with the cyclic GC paused except while the hook runs; every other call goes
    to ormsgpack unchanged.
    """

def msgpack_gc_pause_min_input(nbytes: int) -> int:
    """Inputs of at least this many bytes (and not mostly ext values) get the GC-paused
    path; smaller ones go to ormsgpack as they are. ``0`` sends every bytes input, ext-heavy
    ones included, that way (for tests). Returns the previous value."""

def msgpack_decode_gc_pause(enabled: bool) -> bool:
    """Whether ``msgpack_unpackb`` pauses the cyclic GC while builtin objects are created
    (never while Python code runs); returns the previous setting. For benchmarks."""

# Not declared: ``msgpack_decode_native(enabled: bool) -> bool``, present only in a core
# built with the Cargo feature ``native-decoder`` (benchmarks; see docs/serde.md). It sends
# the large inputs of the GC-paused path to the Rust msgpack reader instead; reach it with
# ``getattr``. tests/test_stubs.py checks such a build against this stub plus
# tests/stubtest_allowlist_native_decoder.txt.

def message_codec_configure(
    classes: Optional[List[Any]],
    typed_keys: Optional[Dict[str, List[str]]] = None,
    safe_module: Any = None,
    jsonplus: Any = None,
) -> bool:
    """Configure the message codec (``None`` turns it off); see ``fast_langgraph.patches.message_codec``."""

def message_cache_info() -> Tuple[int, int]:
    """For tests: ``(entries, hits)``: encoded messages the encoder keeps, and how many
    encodes it answered from them since the process started (see ``docs/serde.md``)."""

def message_cache_clear() -> None:
    """Forget every encoded message the encoder keeps (their memory is released now)."""

def message_codec_decode_payload(data: bytes) -> Optional[Tuple[Any]]:
    """For tests: ``(value,)`` as the codec's payload builder decodes ``data``, or
    ``None`` where it declines (ormsgpack then decodes the payload)."""

@final
class MessageExtHook:
    """LangGraph's own msgpack ext hook, with verified message payloads built natively;
    every other ext value goes to ``inner`` with the same arguments."""

    def __new__(cls, inner: Callable[[int, bytes], Any]) -> "MessageExtHook": ...
    @property
    def inner(self) -> Callable[[int, bytes], Any]: ...
    def __call__(self, code: int, data: bytes) -> Any: ...

@final
class ManualClock:
    """A test clock: time moves only when told to."""

    def __new__(cls) -> ManualClock: ...
    def advance(self, seconds: float) -> None: ...
    def now(self) -> float: ...

@final
class LruCache:
    """LRU cache with an optional TTL, keyed by bytes or str; safe to share across threads."""

    def __new__(
        cls, max_size: int = 1024, ttl: Optional[float] = None, *, clock: Optional[ManualClock] = None
    ) -> LruCache: ...
    def lookup(self, key: bytes | str) -> Tuple[bool, Any]: ...
    def get(self, key: bytes | str, default: Any = None) -> Any: ...
    def put(
        self, key: bytes | str, value: Any, ttl: Optional[float] = None, *, forever: bool = False, pins: Any = None
    ) -> None: ...
    def delete(self, key: bytes | str) -> bool: ...
    def delete_prefix(self, prefix: bytes) -> int: ...
    def clear(self, *, reset_stats: bool = False) -> None: ...
    def purge_expired(self) -> int: ...
    def stats(self) -> _CacheStats: ...
    @property
    def max_size(self) -> int: ...
    @property
    def ttl(self) -> Optional[float]: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: bytes | str, /) -> bool: ...

@final
class CachedFunction:
    """The Rust hit path of ``@cached`` for sync functions."""

    def __new__(
        cls,
        cache: LruCache,
        n_params: Optional[int],
        names: Sequence[str],
        defaults: Sequence[Any],
        missing: Any,
        slow: Callable[..., Any],
        miss: Callable[[bytes, Any, Tuple[Any, ...], Dict[str, Any]], Any],
    ) -> CachedFunction: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    def __get__(self, instance: Any, owner: Any = None, /) -> Any: ...

def make_key(obj: Any) -> Tuple[bytes, Any]:
    """The stable cache key of ``obj`` and the objects it pins (a tuple, or None)."""

_Write = Tuple[str, str, Optional[str], Optional[bytes]]
_Row = Tuple[str, str, str, Optional[str], Optional[str], bytes, Optional[bytes], List[_Write]]

@final
class QueuedWrite:
    """A checkpoint save queued by ``SqliteCheckpointStore.put_queued``."""

    def wait(self) -> bool: ...

@final
class SqliteCheckpointStore:
    """SQLite storage for LangGraph checkpoints (langgraph-checkpoint-sqlite schema); thread-safe."""

    def __new__(
        cls, path: str, *, journal_mode: str = "WAL", synchronous: str = "FULL", busy_timeout: float = 5.0
    ) -> SqliteCheckpointStore: ...
    @property
    def path(self) -> str: ...
    @staticmethod
    def sqlite_version() -> str: ...
    def pragmas(self) -> Dict[str, str]: ...
    def write_stats(self) -> Dict[str, int]: ...
    def close(self) -> None: ...
    def put(
        self,
        thread_id: str,
        checkpoint_ns: str,
        checkpoint_id: str,
        parent_checkpoint_id: Optional[str],
        type_: str,
        checkpoint: bytes,
        metadata: bytes,
    ) -> None: ...
    def put_queued(
        self,
        thread_id: str,
        checkpoint_ns: str,
        checkpoint_id: str,
        parent_checkpoint_id: Optional[str],
        type_: str,
        checkpoint: bytes,
        metadata: bytes,
        after: Optional[QueuedWrite] = None,
    ) -> QueuedWrite: ...
    def put_writes(
        self,
        thread_id: str,
        checkpoint_ns: str,
        checkpoint_id: str,
        task_id: str,
        task_path: str,
        writes: Sequence[Tuple[int, str, str, bytes]],
        replace: bool,
    ) -> None: ...
    def get(self, thread_id: str, checkpoint_ns: str, checkpoint_id: Optional[str] = None) -> Optional[_Row]: ...
    def list_keys(
        self,
        thread_id: Optional[str] = None,
        checkpoint_ns: Optional[str] = None,
        checkpoint_id: Optional[str] = None,
        filter: Optional[Sequence[Tuple[str, Optional[int | float | str]]]] = None,
        before: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> List[Tuple[str, str, str]]: ...
    def get_many(self, keys: Sequence[Tuple[str, str, str]]) -> List[_Row]: ...
    def delete_thread(self, thread_id: str) -> None: ...
    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None: ...
    def prune(self, thread_ids: Sequence[str], keep_latest: bool) -> None: ...
    def delete_for_runs(self, run_ids: Sequence[str]) -> None: ...

def sqlite_before_fork(timeout: float) -> Tuple[int, int]:
    """Before ``fork()``: stop new SQLite work, wait up to ``timeout`` s for the work in flight,
    close the idle file-backed connections; ``(still in flight, connections left open)``."""

def sqlite_after_fork(in_child: bool) -> None:
    """After ``fork()``, in the parent and in the child: let SQLite work in again."""

@final
class MessageMerger:
    """LangGraph's ``add_messages`` reducer in one pass; other inputs go to ``original``."""

    def __new__(
        cls,
        original: Callable[..., Any],
        base_message: type,
        message_chunk: type,
        remove_message: type,
        module_globals: Dict[str, Any],
        remove_all: Optional[str] = None,
    ) -> MessageMerger: ...
    def __call__(self, left: Any, right: Any, **kwargs: Any) -> Any: ...
    @property
    def __wrapped__(self) -> Callable[..., Any]: ...

def langgraph_state_update(
    state: Dict[Any, Any], update: Dict[Any, Any], append_keys: Optional[Iterable[Any]] = None
) -> Dict[Any, Any]:
    """A new dict: ``state`` with ``update`` applied; ``append_keys`` extend lists instead of replacing."""

def deep_merge(base: Dict[Any, Any], update: Dict[Any, Any]) -> Dict[Any, Any]:
    """A new dict: ``update`` merged into ``base`` recursively where both hold dicts."""

@final
class WritesApplier:
    """LangGraph's ``apply_writes`` (0.6-1.2) with the built-in channels' bookkeeping native."""

    def __new__(
        cls,
        original: Callable[..., Any],
        sort_key: Callable[[Any], Any],
        skip: Tuple[Any, ...],
        reserved: Any,
        empty_seq: Any,
        missing: Any,
        warn_unknown: Callable[[Any, Any], None],
        classes: List[type],
        native_sort: Optional[Tuple[Dict[str, Any], Callable[[Any], str], Optional[Callable[[str], Any]]]] = None,
    ) -> WritesApplier: ...
    def __call__(
        self, checkpoint: Any, channels: Any, tasks: Any, get_next_version: Any, trigger_to_nodes: Any
    ) -> Any: ...
    @property
    def __wrapped__(self) -> Callable[..., Any]: ...

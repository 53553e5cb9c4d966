"""``RustSqliteSaver`` / ``AsyncRustSqliteSaver``: LangGraph checkpoint savers on SQLite, in Rust.

    from fast_langgraph import RustSqliteSaver

    with RustSqliteSaver.from_conn_string("state.db") as saver:
        graph = builder.compile(checkpointer=saver)

    async with AsyncRustSqliteSaver.from_conn_string("state.db") as saver:
        graph = builder.compile(checkpointer=saver)

What you can rely on:

* **File compatibility** with ``langgraph-checkpoint-sqlite``: same tables, columns
  and bytes (serialization goes through the saver's ``serde``, so ``with_allowlist``
  and ``EncryptedSerializer`` behave as with ``SqliteSaver``). A database written by
  either saver reads identically with the other, in both directions. A database from
  before the ``writes.task_path`` column is migrated on open, as ``SqliteSaver.setup()``
  migrates it; opened read-only (``file:...?mode=ro``) it is read as it is.
* **Same semantics** as ``SqliteSaver`` / ``AsyncSqliteSaver``: ``put``, ``put_writes``
  (special-channel indices, first write wins), ``get_tuple``, ``list`` (``filter``,
  ``before``, ``limit``, newest first), ``delete_thread``, ``get_next_version``.
* **Durability**: WAL and ``synchronous=FULL`` by default (a committed checkpoint
  survives a power loss). ``synchronous="NORMAL"`` is an opt-in: in WAL mode it is
  still crash-safe for the process and never corrupts the file, but the last commits
  before an OS crash or power loss may be lost.
* **Atomicity**: each ``put``, ``put_writes`` and ``delete_thread`` is one
  ``BEGIN IMMEDIATE`` transaction, all or nothing.
* **Concurrency**: one saver may be shared by any number of threads and tasks; the GIL
  is released during SQLite work; writes from threads that arrive together are committed
  together (group commit: one fsync for all, each write still all or nothing and reported
  only once committed). A write that finds the connection free while writes are streaming
  in waits up to half a commit's time for a second one (LangGraph's loop writes a task's
  writes and the step's checkpoint a few tens of µs apart: one fsync for the pair instead
  of two); a lone writer stops waiting after a window nobody joined (backing off to one
  window in 65 transactions). :meth:`write_stats` counts it all. ``list()`` holds no lock
  between items (calling the saver inside a ``list()`` loop works, unlike
  ``SqliteSaver``); several processes may
  write one file (they wait up to ``busy_timeout`` seconds for each other).
* **Fork safety**: ``os.fork()`` (multiprocessing's "fork" context, gunicorn
  ``--preload``, ...) first waits for the SQLite work of these savers in flight in other
  threads, holds back new work and closes the idle connections; after the fork the
  parent and the child each reopen on first use, so a child may open or use a saver on
  the same file and write at once. The wait is bounded by :data:`fork_timeout` (env
  ``FAST_LANGGRAPH_SQLITE_FORK_TIMEOUT``, default 5 s); past it the fork goes ahead with
  a logged warning, the child never uses the connections still busy, but may find the
  database locked by them (SQLite's inherited lock bookkeeping; see ``docs/robustness.md``).
  ``":memory:"`` databases are not closed at a fork: the child starts an empty one.
* New database files are created with mode 0600.

Unlike ``SqliteSaver`` it takes a path (or ``file:`` URI), not a ``sqlite3.Connection``.
Both classes have the sync and the async API; the async methods run the SQLite work in
the event loop's default executor.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import random
import threading
from contextlib import asynccontextmanager, contextmanager
from typing import (
    Any,
    AsyncIterator,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
)

from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
)
import langgraph.checkpoint.base as _checkpoint_base

from fast_langgraph import _switches

# The core through its checked loader: an ImportError saying why when it is missing or stale.
from fast_langgraph._rust import SqliteCheckpointStore, sqlite_after_fork, sqlite_before_fork

__all__ = ["RustSqliteSaver", "AsyncRustSqliteSaver", "CorruptCheckpointError"]

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Seconds ``os.fork()`` waits for the SQLite work of these savers in flight in other
#: threads before forking anyway (with a logged warning). Read at each fork; set from
#: ``FAST_LANGGRAPH_SQLITE_FORK_TIMEOUT`` (default 5).
fork_timeout: float = _switches.sqlite_fork_timeout()
_fork_report: Tuple[int, int] = (0, 0)

# Checkpoint saves queued by `RustSqliteSaver._put_after` and not yet reported, by
# (store, thread_id, checkpoint_ns, checkpoint_id): the next save of the same run finds
# the one before it here. Entries leave when their save is reported.
_queued_saves: Dict[Tuple[int, str, str, str], Any] = {}
_queued_saves_changed = threading.Condition()


def _wake_save_waiters(_future: Any) -> None:
    with _queued_saves_changed:
        _queued_saves_changed.notify_all()


def _queued_before(prev: Any, key: Tuple[int, str, str, str]) -> Any:
    """The save queued under ``key`` as soon as there is one, or None once ``prev`` (the
    future of that save's ``put``) is done without one."""
    with _queued_saves_changed:
        queued = _queued_saves.get(key)
        if queued is not None or prev.done():
            return queued
    prev.add_done_callback(_wake_save_waiters)
    with _queued_saves_changed:
        while True:
            queued = _queued_saves.get(key)
            if queued is not None or prev.done():
                return queued
            _queued_saves_changed.wait()


def _before_fork() -> None:
    # No connection of ours may be open across fork(): the child inherits SQLite's
    # per-process lock bookkeeping of every open file, but not the locks it describes.
    global _fork_report
    _fork_report = sqlite_before_fork(float(fork_timeout))


def _after_fork_in_parent() -> None:
    sqlite_after_fork(False)
    in_flight, left_open = _fork_report
    if in_flight:
        log.warning(
            "os.fork(): %d SQLite operation(s) of RustSqliteSaver still running after %s s "
            "(fast_langgraph.sqlite_saver.fork_timeout); forked anyway. The child will not use "
            "the %d connection(s) they hold, but may find the database locked by them.",
            in_flight,
            fork_timeout,
            left_open,
        )


def _after_fork_in_child() -> None:
    global _queued_saves_changed
    sqlite_after_fork(True)
    # The threads whose saves these were are not in the child; their lock may have been held.
    _queued_saves.clear()
    _queued_saves_changed = threading.Condition()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)

# The SQLite store's list() fetches rows in pages of this many checkpoints, so a
# half-consumed generator holds no lock and little memory.
_LIST_PAGE = 32


#: langgraph-checkpoint releases this saver is verified against: the task_path schema and
#: pending-write order of langgraph-checkpoint-sqlite >= 3.1 (older lines order writes
#: differently and have no task_path column, so files would not match theirs).
SUPPORTED_CHECKPOINT = ">=4.1,<5"


def check_supported_checkpoint_version() -> None:
    """Raise a clear error on a langgraph-checkpoint this saver was not verified with."""
    from importlib.metadata import version

    from fast_langgraph.patches._spec import version_in_range

    installed = version("langgraph-checkpoint")
    if not version_in_range(installed, SUPPORTED_CHECKPOINT):
        raise RuntimeError(
            "RustSqliteSaver supports langgraph-checkpoint %s (LangGraph >= 1.0); %s is installed. "
            "Use langgraph-checkpoint-sqlite's SqliteSaver with this version, or upgrade LangGraph."
            % (SUPPORTED_CHECKPOINT, installed)
        )


class CorruptCheckpointError(ValueError):
    """A stored checkpoint (or one of its pending writes) cannot be loaded."""


def _metadata_codec() -> Tuple[Callable[[Any], bytes], Callable[[bytes], Any]]:
    """The metadata encoding langgraph-checkpoint-sqlite uses with this langgraph-checkpoint.

    3.x and later store ``json.dumps(..., ensure_ascii=False)`` as UTF-8 bytes. 2.x stored
    JsonPlusSerializer's JSON (LangGraph <= 0.4 puts arbitrary objects in metadata["writes"]).
    """
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    legacy = JsonPlusSerializer()
    if hasattr(legacy, "dumps") and hasattr(legacy, "loads"):
        return legacy.dumps, legacy.loads

    def dumps(metadata: Any) -> bytes:
        return json.dumps(metadata, ensure_ascii=False).encode("utf-8", "ignore")

    return dumps, json.loads


_dump_metadata, _load_metadata = _metadata_codec()
# Merges config metadata into the checkpoint's, as SqliteSaver does (older
# langgraph-checkpoint releases lack the helper: metadata is stored as given).
_checkpoint_metadata: Callable[[Any, Any], Any] = getattr(
    _checkpoint_base, "get_checkpoint_metadata", lambda config, metadata: metadata
)


def _filter_value(value: Any) -> Any:
    """Upstream's ``_where_value``: what a metadata filter value is compared as."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (dict, list)):
        # json_extract returns compact JSON for objects and arrays.
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _as_bytes(data: Any) -> bytes:
    return data if type(data) is bytes else bytes(data)


class RustSqliteSaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpoint saver storing checkpoints in SQLite, implemented in Rust.

    Args:
        path: database file (created with mode 0600), ``":memory:"``, or a ``file:`` URI.
        serde: the serializer (default: LangGraph's ``JsonPlusSerializer``).
        journal_mode: ``"WAL"`` (default) or another SQLite journal mode.
        synchronous: ``"FULL"`` (default), ``"NORMAL"``, ``"EXTRA"`` or ``"OFF"``.
        busy_timeout: seconds to wait for another connection's write lock.
    """

    def __init__(
        self,
        path: Union[str, "os.PathLike[str]"] = ":memory:",
        *,
        serde: Any = None,
        journal_mode: str = "WAL",
        synchronous: str = "FULL",
        busy_timeout: float = 5.0,
    ) -> None:
        check_supported_checkpoint_version()
        super().__init__(serde=serde)
        self._store = SqliteCheckpointStore(
            os.fspath(path), journal_mode=journal_mode, synchronous=synchronous, busy_timeout=busy_timeout
        )
        self.is_setup = True

    @classmethod
    @contextmanager
    def from_conn_string(cls, conn_string: str, **options: Any) -> Iterator["RustSqliteSaver"]:
        """A saver on ``conn_string`` (a path, ``":memory:"`` or ``file:`` URI), closed on exit."""
        saver = cls(conn_string, **options)
        try:
            yield saver
        finally:
            saver.close()

    # -- housekeeping ------------------------------------------------------------

    def setup(self) -> None:
        """Kept for ``SqliteSaver`` compatibility: the schema is created on open, and a
        database written by an older ``SqliteSaver`` (no ``writes.task_path`` column) is
        migrated on open as ``SqliteSaver.setup()`` migrates it."""

    def close(self) -> None:
        """Close the connection (idempotent); later calls raise ``sqlite3.ProgrammingError``."""
        self._store.close()

    @property
    def path(self) -> str:
        return self._store.path

    def pragmas(self) -> Dict[str, str]:
        """The SQLite pragmas in force (journal_mode, synchronous, busy_timeout, ...)."""
        return self._store.pragmas()

    def write_stats(self) -> Dict[str, int]:
        """This process's write counters: ``writes``, the ``transactions`` they were committed
        in (fewer than writes when group commit joined some), group-commit ``windows`` waited
        and how many a second write ``joined``."""
        return self._store.write_stats()

    @staticmethod
    def sqlite_version() -> str:
        """Version of the SQLite library the saver uses: the one Python's ``sqlite3`` loaded."""
        return SqliteCheckpointStore.sqlite_version()

    # -- rows <-> LangGraph objects ------------------------------------------------

    def _tuple(self, row: Tuple[Any, ...]) -> CheckpointTuple:
        thread_id, checkpoint_ns, checkpoint_id, parent_id, type_, blob, metadata, writes = row
        checkpoint = self._loads(row, type_, blob)
        pending = [(task_id, channel, self._loads(row, t, v)) for task_id, channel, t, v in writes]
        try:
            meta = cast(CheckpointMetadata, _load_metadata(metadata) if metadata is not None else {})
        except ValueError as exc:
            raise CorruptCheckpointError(
                "cannot load the metadata of checkpoint (thread_id=%r, checkpoint_ns=%r, checkpoint_id=%r): %s"
                % (thread_id, checkpoint_ns, checkpoint_id, exc)
            ) from exc
        return CheckpointTuple(
            {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns, "checkpoint_id": checkpoint_id}},
            checkpoint,
            meta,
            (
                {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns, "checkpoint_id": parent_id}}
                if parent_id
                else None
            ),
            pending,
        )

    def _get_args(self, config: Any) -> Tuple[str, str, Optional[str]]:
        configurable = config["configurable"]
        # An empty checkpoint_id means "the latest", as upstream (`if checkpoint_id := ...`).
        return str(configurable["thread_id"]), configurable.get("checkpoint_ns", ""), get_checkpoint_id(config) or None

    def _put_args(
        self, config: Any, checkpoint: Checkpoint, metadata: CheckpointMetadata
    ) -> Tuple[str, str, str, Optional[str], str, bytes, bytes]:
        configurable = config["configurable"]
        type_, blob = self.serde.dumps_typed(checkpoint)
        meta = _dump_metadata(_checkpoint_metadata(config, metadata))
        return (
            str(configurable["thread_id"]),
            configurable["checkpoint_ns"],
            checkpoint["id"],
            configurable.get("checkpoint_id"),
            type_,
            _as_bytes(blob),
            _as_bytes(meta),
        )

    def _put_writes_args(
        self, config: Any, writes: Sequence[Tuple[str, Any]], task_id: str, task_path: str
    ) -> Tuple[Any, ...]:
        configurable = config["configurable"]
        dumps = self.serde.dumps_typed
        rows = []
        for idx, (channel, value) in enumerate(writes):
            type_, data = dumps(value)
            rows.append((WRITES_IDX_MAP.get(channel, idx), channel, type_, _as_bytes(data)))
        # As upstream: replace when every channel is special, else the first write wins.
        replace = all(w[0] in WRITES_IDX_MAP for w in writes)
        return (
            str(configurable["thread_id"]),
            str(configurable["checkpoint_ns"]),
            str(configurable["checkpoint_id"]),
            task_id,
            task_path,
            rows,
            replace,
        )

    @staticmethod
    def _saved_config(config: Any, put_args: Tuple[Any, ...]) -> Any:
        """What ``put``/``aput`` return: the config naming the checkpoint saved with ``put_args``."""
        return {
            "configurable": {
                "thread_id": config["configurable"]["thread_id"],
                "checkpoint_ns": put_args[1],
                "checkpoint_id": put_args[2],
            }
        }

    @staticmethod
    def _list_args(config: Any, filter: Optional[Dict[str, Any]], before: Any, limit: Optional[int]) -> Dict[str, Any]:
        args: Dict[str, Any] = {}
        if config is not None:
            configurable = config["configurable"]
            args["thread_id"] = str(configurable["thread_id"])
            checkpoint_ns = configurable.get("checkpoint_ns")
            if checkpoint_ns is not None:
                args["checkpoint_ns"] = checkpoint_ns
            args["checkpoint_id"] = get_checkpoint_id(config) or None
        if filter:
            args["filter"] = [(key, _filter_value(value)) for key, value in filter.items()]
        if before is not None:
            # Upstream binds `checkpoint_id < NULL` for a `before` without an id: no rows.
            args["before"] = get_checkpoint_id(before)
            if args["before"] is None:
                args["limit"] = 0
        if limit is not None and "limit" not in args:
            args["limit"] = limit
        return args

    # -- sync API ------------------------------------------------------------------

    def get_tuple(self, config: Any) -> Optional[CheckpointTuple]:
        row = self._store.get(*self._get_args(config))
        return None if row is None else self._tuple(row)

    def list(
        self,
        config: Any,
        *,
        filter: Optional[Dict[str, Any]] = None,
        before: Any = None,
        limit: Optional[int] = None,
    ) -> Iterator[CheckpointTuple]:
        keys = self._store.list_keys(**self._list_args(config, filter, before, limit))
        # No lock is held between items: the saver may be used inside the loop.
        for start in range(0, len(keys), _LIST_PAGE):
            for row in self._store.get_many(keys[start : start + _LIST_PAGE]):
                yield self._tuple(row)

    def put(
        self, config: Any, checkpoint: Checkpoint, metadata: CheckpointMetadata, new_versions: ChannelVersions
    ) -> Any:
        args = self._put_args(config, checkpoint, metadata)
        self._store.put(*args)
        return self._saved_config(config, args)

    def put_writes(self, config: Any, writes: Sequence[Tuple[str, Any]], task_id: str, task_path: str = "") -> None:
        self._store.put_writes(*self._put_writes_args(config, writes, task_id, task_path))

    def _put_after(self, prev: Any, config: Any, checkpoint: Checkpoint, metadata: CheckpointMetadata) -> None:
        """``put`` as LangGraph's sync loop makes it: after ``prev``, the future of the
        previous save of the run (None for the first). The loop waits for that save to be
        committed, so each save is a transaction of its own; here it waits only until that
        save is queued, then queues behind it, and saves that queue up while another
        commits share the next transaction. Same rows in the same order; serialized and
        written only once ``prev``'s save is queued, or done without error (otherwise its
        error is raised, as the loop does); returns only once committed. Used by the
        ``checkpoint_pipeline`` patch."""
        store = self._store
        configurable = config["configurable"]
        thread_id, checkpoint_ns = str(configurable["thread_id"]), configurable["checkpoint_ns"]
        after = None
        if prev is not None:
            after = _queued_before(prev, (id(store), thread_id, checkpoint_ns, configurable.get("checkpoint_id")))
            if after is None:
                prev.result()  # done, and not through here: its error stops this save
        args = self._put_args(config, checkpoint, metadata)
        key = (id(store), thread_id, checkpoint_ns, args[2])
        queued = store.put_queued(*args, after=after)
        with _queued_saves_changed:
            _queued_saves[key] = queued
            _queued_saves_changed.notify_all()
        try:
            if not queued.wait():
                prev.result()  # the save before this one failed: its error, as the loop raises
                raise RuntimeError("checkpoint %s not saved: the save before it failed" % (args[2],))
        finally:
            with _queued_saves_changed:
                if _queued_saves.get(key) is queued:
                    del _queued_saves[key]

    def delete_thread(self, thread_id: str) -> None:
        self._store.delete_thread(str(thread_id))

    def get_delta_channel_history(self, *, config: Any, channels: Sequence[str]) -> Mapping[str, Any]:
        """Per-channel writes and seed along the parent chain of ``config``'s checkpoint.

        Same result as ``SqliteSaver``'s override (and the base walk): ancestors nearest
        first, each visited once (a parent chain looping through ``INSERT OR REPLACE``
        stops at the repeat), only the checkpoints on the path deserialized, and only
        the writes of the requested channels.
        """
        if not channels:
            return {}
        channels = list(channels)
        thread_id, checkpoint_ns, checkpoint_id = self._get_args(config)
        target = self._store.get(thread_id, checkpoint_ns, checkpoint_id)
        if target is None:
            return {ch: {"writes": []} for ch in channels}
        active = set(channels)
        walked = {target[2]}
        chain: Dict[str, List[Any]] = {ch: [] for ch in channels}  # newest first
        seeds: Dict[str, Any] = {}
        parent_id = target[3]
        while parent_id and active and parent_id not in walked:
            row = self._store.get(thread_id, checkpoint_ns, parent_id)
            if row is None:
                break
            walked.add(parent_id)
            for ch in active:
                chain[ch].append((row, [w for w in row[7] if w[1] == ch]))
            channel_values = self._loads(row, row[4], row[5]).get("channel_values") or {}
            for ch in [ch for ch in active if ch in channel_values]:
                seeds[ch] = channel_values[ch]
                active.discard(ch)
            parent_id = row[3]
        result: Dict[str, Any] = {}
        for ch in channels:
            entry: Dict[str, Any] = {
                "writes": [
                    (task_id, channel, self._loads(row, t, v))
                    for row, writes in reversed(chain[ch])
                    for task_id, channel, t, v in writes
                ]
            }
            if ch in seeds:
                entry["seed"] = seeds[ch]
            result[ch] = entry
        return result

    def _loads(self, row: Tuple[Any, ...], type_: Any, data: Any) -> Any:
        """``serde.loads_typed`` of a value stored with checkpoint ``row``; bad bytes raise
        CorruptCheckpointError naming the checkpoint."""
        try:
            return self.serde.loads_typed((type_, data))
        except Exception as exc:
            if type(exc).__module__.startswith("langgraph."):
                raise
            raise CorruptCheckpointError(
                "cannot load checkpoint (thread_id=%r, checkpoint_ns=%r, checkpoint_id=%r): %s: %s"
                % (row[0], row[1], row[2], type(exc).__name__, exc)
            ) from exc

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of a thread (all namespaces, same ids), atomically."""
        self._store.copy_thread(str(source_thread_id), str(target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``"keep_latest"``: keep the newest checkpoint of each namespace (and its writes);
        ``"delete"``: delete the threads. Atomic."""
        if strategy not in ("keep_latest", "delete"):
            raise ValueError("unknown prune strategy %r: use 'keep_latest' or 'delete'" % (strategy,))
        self._store.prune([str(t) for t in thread_ids], strategy == "keep_latest")

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints whose metadata ``run_id`` is listed, and their writes, atomically."""
        self._store.delete_for_runs([str(r) for r in run_ids])

    def get_next_version(self, current: Optional[str], channel: None = None) -> str:
        """``SqliteSaver``'s version format: ``f"{n:032}.{random:016}"``, monotonically increasing."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"

    # -- async API (SQLite work in the loop's default executor) --------------------

    @staticmethod
    async def _offload(fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))

    async def aget_tuple(self, config: Any) -> Optional[CheckpointTuple]:
        row = await self._offload(self._store.get, *self._get_args(config))
        return None if row is None else self._tuple(row)

    async def alist(
        self,
        config: Any,
        *,
        filter: Optional[Dict[str, Any]] = None,
        before: Any = None,
        limit: Optional[int] = None,
    ) -> AsyncIterator[CheckpointTuple]:
        args = self._list_args(config, filter, before, limit)
        keys: List[Any] = await self._offload(functools.partial(self._store.list_keys, **args))
        for start in range(0, len(keys), _LIST_PAGE):
            for row in await self._offload(self._store.get_many, keys[start : start + _LIST_PAGE]):
                yield self._tuple(row)

    async def aput(
        self, config: Any, checkpoint: Checkpoint, metadata: CheckpointMetadata, new_versions: ChannelVersions
    ) -> Any:
        args = self._put_args(config, checkpoint, metadata)
        await self._offload(self._store.put, *args)
        return self._saved_config(config, args)

    async def aput_writes(
        self, config: Any, writes: Sequence[Tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        await self._offload(self._store.put_writes, *self._put_writes_args(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        await self._offload(self._store.delete_thread, str(thread_id))

    async def aget_delta_channel_history(self, *, config: Any, channels: Sequence[str]) -> Mapping[str, Any]:
        return await self._offload(functools.partial(self.get_delta_channel_history, config=config, channels=channels))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._offload(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._offload(functools.partial(self.prune, thread_ids, strategy=strategy))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._offload(self.delete_for_runs, run_ids)


class AsyncRustSqliteSaver(RustSqliteSaver):
    """``RustSqliteSaver`` with an async ``from_conn_string`` (``async with``) and an async
    ``setup()``, as ``AsyncSqliteSaver``."""

    async def setup(self) -> None:  # type: ignore[override]
        """Kept for ``AsyncSqliteSaver`` compatibility (``await saver.setup()``): the schema
        and the migration of an older database are done on open."""

    @classmethod
    @asynccontextmanager
    async def from_conn_string(  # type: ignore[override]
        cls, conn_string: str, **options: Any
    ) -> AsyncIterator["AsyncRustSqliteSaver"]:
        """A saver on ``conn_string``, closed on exit."""
        saver = cls(conn_string, **options)
        try:
            yield saver
        finally:
            saver.close()


_OWN_PUT = RustSqliteSaver.put
_QUEUES_SAVES = (RustSqliteSaver, AsyncRustSqliteSaver)


def takes_queued_saves(saver: Any) -> bool:
    """Whether LangGraph's sync loop may hand ``saver`` its checkpoint saves through
    ``_put_after``: one of these two classes exactly, with this module's ``put`` (not one
    set on the class or the instance, e.g. by instrumentation, which must see every save)."""
    return type(saver) in _QUEUES_SAVES and type(saver).put is _OWN_PUT and "put" not in saver.__dict__

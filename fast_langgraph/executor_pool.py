"""Pooled executors for LangGraph's sync runner.

``get_executor_for_config`` here is a drop-in for langchain-core's: it returns a
:class:`PooledExecutor` (a ``concurrent.futures.Executor`` and context manager)
instead of a new ``ContextThreadPoolExecutor``. What a caller can rely on, as
with the original:

* ``submit`` returns a real ``concurrent.futures.Future`` (``wait``,
  ``add_done_callback``, ``cancel`` before start all work) and runs the call in a
  copy of the caller's ``contextvars`` context;
* at most ``config["max_concurrency"]`` calls of one executor run at once
  (default ``min(32, cpu_count + 4)``, as ``ThreadPoolExecutor``); the rest queue;
* leaving the ``with`` block waits for every call submitted to it;
* nested graphs cannot deadlock: the shared pool grows whenever no worker is
  idle, exactly as enough per-invoke pools would have;
* workers are joined at interpreter exit, and a forked child starts a pool of
  its own instead of using its parent's threads.

The difference: worker threads are reused across invokes (idle ones retire after
``IDLE_TIMEOUT`` seconds), so thread-local state set by a node may be visible to
a later invoke running on the same worker.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextvars
import itertools
import os
import queue
import threading
from typing import Any, Callable, Optional, Tuple

__all__ = ["ElasticThreadPool", "PooledExecutor", "get_executor_for_config", "shared_pool"]

#: Seconds an idle worker waits for work before its thread exits.
IDLE_TIMEOUT = 30.0

_Job = Tuple[Callable[[Any], None], Any]


class ElasticThreadPool:
    """Worker threads that are reused, never refused: a job goes to an idle worker
    if there is one, else to a new thread. Bounding is the callers' job
    (:class:`PooledExecutor` enforces ``max_workers``)."""

    _counter = itertools.count()

    def __init__(self, idle_timeout: float = IDLE_TIMEOUT, name_prefix: str = "fast_langgraph") -> None:
        self._jobs: "queue.SimpleQueue[Optional[_Job]]" = queue.SimpleQueue()
        # Counts workers waiting for a job; a submitter takes one to claim it.
        self._idle = threading.Semaphore(0)
        self._threads: "set[threading.Thread]" = set()
        self._lock = threading.Lock()
        self._closed = False
        self._idle_timeout = idle_timeout
        self._name_prefix = name_prefix

    def run(self, fn: Callable[[Any], None], arg: Any) -> None:
        """Run ``fn(arg)`` on a worker thread. ``fn`` must not raise."""
        self._jobs.put((fn, arg))
        if self._idle.acquire(blocking=False):
            return  # an idle worker will take it
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after interpreter shutdown")
            thread = threading.Thread(
                target=self._work,
                name="%s-%d" % (self._name_prefix, next(self._counter)),
                daemon=_DAEMON_WORKERS,
            )
            self._threads.add(thread)
        thread.start()

    def _work(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=self._idle_timeout)
                except queue.Empty:
                    # Retire only if no submitter has claimed this idle slot.
                    if self._idle.acquire(blocking=False):
                        return
                    continue
                if job is None:
                    return
                job[0](job[1])
                del job
                self._idle.release()
        finally:
            with self._lock:
                self._threads.discard(me)

    @property
    def thread_count(self) -> int:
        with self._lock:
            return len(self._threads)

    def shutdown(self) -> None:
        """Stop accepting jobs, let running ones finish, and join every worker."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join()


class PooledExecutor(concurrent.futures.Executor):
    """A ``ContextThreadPoolExecutor`` look-alike whose threads come from a shared pool."""

    def __init__(self, max_workers: Optional[int] = None, pool: Optional[ElasticThreadPool] = None) -> None:
        if max_workers is None:
            max_workers = DEFAULT_MAX_WORKERS
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        self._max_workers = max_workers
        self._pool = pool if pool is not None else shared_pool()
        self._lock = threading.Lock()
        self._backlog: "collections.deque[tuple]" = collections.deque()
        self._running = 0
        self._unfinished = 0
        self._shutdown = False
        # Created only when shutdown() has to wait (one per invoke would cost more than the wait).
        self._drained: Optional[threading.Event] = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> "concurrent.futures.Future[Any]":
        context = contextvars.copy_context()
        future: "concurrent.futures.Future[Any]" = concurrent.futures.Future()
        item = (future, context, fn, args, kwargs)
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._unfinished += 1
            if self._running >= self._max_workers:
                self._backlog.append(item)
                return future
            self._running += 1
        try:
            self._pool.run(self._drain, item)
        except BaseException:
            with self._lock:
                self._running -= 1
                self._unfinished -= 1
            raise
        return future

    def _drain(self, item: Optional[tuple]) -> None:
        # One worker slot of this executor: run the item, then whatever queued behind it.
        while item is not None:
            future, context, fn, args, kwargs = item
            item = None
            if future.set_running_or_notify_cancel():
                try:
                    result = context.run(fn, *args, **kwargs)
                except BaseException as exc:
                    future.set_exception(exc)
                    del exc
                else:
                    future.set_result(result)
                    del result
            del future, context, fn, args, kwargs
            with self._lock:
                self._unfinished -= 1
                if self._backlog:
                    item = self._backlog.popleft()
                else:
                    self._running -= 1
                if self._unfinished == 0 and self._drained is not None:
                    self._drained.set()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                for future, *_ in self._backlog:
                    future.cancel()
            if not wait or self._unfinished == 0:
                return
            if self._drained is None:
                self._drained = threading.Event()
            drained = self._drained
        drained.wait()


def get_executor_for_config(config: Optional[dict] = None) -> PooledExecutor:
    """Drop-in for ``langchain_core.runnables.config.get_executor_for_config``."""
    config = config or {}
    return PooledExecutor(max_workers=config.get("max_concurrency"))


#: ThreadPoolExecutor's default, computed once.
DEFAULT_MAX_WORKERS = min(32, (getattr(os, "process_cpu_count", os.cpu_count)() or 1) + 4)

_pool: Optional[ElasticThreadPool] = None
_pool_lock = threading.Lock()


def shared_pool() -> ElasticThreadPool:
    """The process-wide pool, created on first use (and anew in a forked child)."""
    global _pool
    pool = _pool
    if pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ElasticThreadPool()
            pool = _pool
    return pool


def _shutdown_shared_pool() -> None:
    pool = _pool
    if pool is not None:
        pool.shutdown()


def _forget_pool_in_child() -> None:
    # The parent's worker threads do not exist in the child; never hand jobs to them.
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


# Like concurrent.futures.thread: non-daemon workers joined by threading's own
# exit hook, which runs before atexit (too late to join non-daemon threads).
_register_atexit = getattr(threading, "_register_atexit", None)
_DAEMON_WORKERS = _register_atexit is None
if _register_atexit is not None:
    _register_atexit(_shutdown_shared_pool)
else:  # pragma: no cover - very old or unusual interpreters
    import atexit

    atexit.register(_shutdown_shared_pool)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)

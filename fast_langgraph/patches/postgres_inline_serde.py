"""Patch ``langgraph.checkpoint.postgres.aio``: AsyncPostgresSaver's serializer calls run on the loop's thread.

``AsyncPostgresSaver`` hands every blob dump (``aput``), writes dump (``aput_writes``) and
pending-writes load (``aget_tuple``, ``alist``) to ``asyncio.to_thread``: a work item, a worker
thread woken to take the GIL the loop holds, ``call_soon_threadsafe`` through the loop's
self-pipe and the loop woken again, about ten times a turn of a chat agent, for work that is
LangGraph's serializer holding the GIL either way.

The module's ``asyncio`` global becomes :class:`AsyncioForPostgresSaver`: the real module
in every attribute but ``to_thread``. Its ``to_thread`` runs such a call at once, in a copy
of the context as ``to_thread`` would, and hands the result (or exception) back through a
future resolved by the loop, so the caller resumes after the same two loop iterations a
worker that finished at once would take: one schedule ``to_thread`` itself can give (the
tests compare it with ``to_thread`` on an executor that runs jobs as they are submitted).

Only for: ``AsyncPostgresSaver`` itself with ``_dump_blobs``/``_dump_writes``/``_load_writes``
the verified ones and LangGraph's ``JsonPlusSerializer`` (a custom serializer may block or
care which thread it runs on), with the standard library's ``asyncio.to_thread`` (a replaced
one sees every call), on asyncio's own loops with their default executor (not a custom one,
not after ``shutdown_default_executor``) and not in debug mode. A call that took
longer than :data:`INLINE_BUDGET` sends the next calls of that function to a thread again,
2, 4, ... 64 of them, so large checkpoints do not hold up the loop. Everything else is
``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import time
import types
from contextvars import copy_context
from typing import Any, Dict

from fast_langgraph.patches._source import require_source
from fast_langgraph.patches._spec import PatchSkipped, Target

JSONPLUS = "langgraph.checkpoint.serde.jsonplus"

#: Source digests of the functions run inline, as verified: langgraph-checkpoint-postgres
#: 2.0.24, 3.0.0, 3.0.5, 3.1.0 and 3.2.0 (``_load_writes`` sorts the writes since 3.2.0).
VERIFIED = {
    "_dump_blobs": ("e9ede4bdab3f81d5",),
    "_dump_writes": ("9c4a17640f85dbba",),
    "_load_writes": ("75e43a2b7798eb1a", "24ba219534a7839c"),
}

#: Seconds an inline call may take before that function's next calls go to a thread again.
INLINE_BUDGET = 0.002
#: The most calls sent back to a thread after one slow call (the back-off doubles up to it).
MAX_BACKOFF = 64


class Backoff:
    """Per inlined function: how many calls still go to a thread, the next back-off, and how
    many calls ran inline (for the tests and the curious).

    Shared by every saver and loop; a race between threads can only miscount a call or two.
    """

    __slots__ = ("skip", "next", "inlined")

    def __init__(self) -> None:
        self.skip = 0
        self.next = 2
        self.inlined = 0

    def took(self, seconds: float) -> None:
        self.inlined += 1
        if seconds > INLINE_BUDGET:
            self.skip = self.next
            self.next = min(self.next * 2, MAX_BACKOFF)
        else:
            self.next = 2


# The standard library's to_thread: a replaced one (instrumentation) sees every call.
STDLIB_TO_THREAD = asyncio.threads.to_thread

# What asyncio does to a worker's exception before the awaiting task sees it (the
# concurrent.futures flavours of CancelledError and InvalidStateError become asyncio's).
_convert_future_exc = getattr(asyncio.futures, "_convert_future_exc", lambda exc: exc)


def _copy_state(future: asyncio.Future, result: Any, exc: Any) -> None:
    # As asyncio's _copy_future_state: a waiter cancelled meanwhile keeps its cancellation.
    if future.cancelled():
        return
    if exc is None:
        future.set_result(result)
    else:
        future.set_exception(exc)


def _standard_loop(loop: Any) -> bool:
    """asyncio's own run_in_executor, its default executor, not shut down, not debugging."""
    return (
        type(loop).run_in_executor is asyncio.BaseEventLoop.run_in_executor
        and getattr(loop, "_executor_shutdown_called", True) is False
        and type(getattr(loop, "_default_executor", False)) in (type(None), concurrent.futures.ThreadPoolExecutor)
        and not loop.get_debug()
    )


class AsyncioForPostgresSaver(types.ModuleType):
    """``asyncio`` as ``langgraph.checkpoint.postgres.aio`` sees it: the real module, with a
    ``to_thread`` that runs the saver's own serializer calls on the loop's thread."""

    def __init__(self, real: types.ModuleType, saver_class: type, serializer_class: type) -> None:
        super().__init__(real.__name__, real.__doc__)
        # __spec__, __loader__ and __package__ are the real module's (through __getattr__).
        for name in ("__spec__", "__loader__", "__package__"):
            self.__dict__.pop(name, None)
        self.__wrapped__ = real
        backoffs: Dict[Any, Backoff] = {getattr(saver_class, name): Backoff() for name in VERIFIED}

        async def to_thread(func: Any, /, *args: Any, **kwargs: Any) -> Any:
            loop = asyncio.get_running_loop()
            backoff = backoffs.get(getattr(func, "__func__", None))
            saver: Any = getattr(func, "__self__", None)
            if (
                backoff is None
                or real.to_thread is not STDLIB_TO_THREAD
                or type(saver) is not saver_class
                or type(getattr(saver, "serde", None)) is not serializer_class
                or not _standard_loop(loop)
            ):
                return await real.to_thread(func, *args, **kwargs)
            if backoff.skip:
                backoff.skip -= 1
                return await real.to_thread(func, *args, **kwargs)
            result = exc = None
            started = time.perf_counter()
            try:
                result = copy_context().run(func, *args, **kwargs)
            except Exception as error:
                exc = _convert_future_exc(error)
            backoff.took(time.perf_counter() - started)
            waiter = loop.create_future()
            loop.call_soon(_copy_state, waiter, result, exc)
            del result, exc
            return await waiter

        to_thread.__wrapped__ = real.to_thread  # type: ignore[attr-defined]
        to_thread.__doc__ = real.to_thread.__doc__
        self.to_thread = to_thread
        #: function name -> its Backoff
        self.backoffs = {function.__name__: backoff for function, backoff in backoffs.items()}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__wrapped__, name)

    def __repr__(self) -> str:
        return "<module 'asyncio' (fast_langgraph: to_thread runs AsyncPostgresSaver's serializer inline)>"


def replacement(target: Target, original: Any) -> Any:
    if original is not asyncio:
        raise PatchSkipped("%s is %r, not the asyncio module; left alone" % (target.qualname, original))
    module = sys.modules[target.module]
    saver_class = getattr(module, "AsyncPostgresSaver", None)
    jsonplus = sys.modules.get(JSONPLUS)
    if saver_class is None or jsonplus is None:
        raise PatchSkipped("no AsyncPostgresSaver or JsonPlusSerializer to check; left alone")
    for name, digests in VERIFIED.items():
        require_source(getattr(saver_class, name, None), digests, "AsyncPostgresSaver.%s" % name)
    return AsyncioForPostgresSaver(original, saver_class, jsonplus.JsonPlusSerializer)

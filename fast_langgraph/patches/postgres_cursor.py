"""Patch ``AsyncPostgresSaver._cursor``: the same lock, connection, pipeline and cursor, without
two async generators per database call.

Every ``aget_tuple``/``aput``/``aput_writes``/``alist`` enters ``_cursor``: an
``asynccontextmanager`` (the saver's lock, then ``_ainternal.get_connection``, itself an
``asynccontextmanager`` around the pool's ``connection()``, then the pipeline or transaction
and the cursor). Building and driving the two generators and their context-manager objects
is a measurable part of a turn's client CPU when many conversations share one saver.

:class:`SaverCursor` enters and leaves the same managers, in the same order, with the same
arguments, and reads the saver's attributes (``lock``, ``conn``, ``pipe``,
``supports_pipeline``) at the same points. When nothing raises, each is
entered and left directly. When anything raises (the caller's block, an entry, an exit), the
managers still to leave are left by generators shaped as LangGraph's two
(:func:`_cursor_replay`, :func:`_connection_replay`), so which exit sees which exception,
suppression, chaining, what crosses a generator's frame and how ``contextlib`` hands it back
are Python's own doing, as in LangGraph's code.

Only for ``get_connection`` the verified one and still the one in ``_ainternal`` (a replaced
one is called through LangGraph's ``_cursor``), and connections that are psycopg's
``AsyncConnection`` or ``AsyncConnectionPool`` (anything else gets LangGraph's ``TypeError``
from LangGraph's code). ``get_connection`` is checked when ``_cursor()`` is called, where
LangGraph looks it up after taking the lock: a replacement made while that call waits for the
lock is seen from the next call on. The connection is read again after the lock, as LangGraph does.
"""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, List, Optional

from fast_langgraph.patches._source import require_source
from fast_langgraph.patches._spec import PatchSkipped, Target

#: Source digests of ``AsyncPostgresSaver._cursor`` and ``_ainternal.get_connection``, as
#: verified: identical in langgraph-checkpoint-postgres 2.0.24, 3.0.0, 3.0.5, 3.1.0, 3.2.0.
VERIFIED_CURSOR = ("217e0ac4b09b8778",)
VERIFIED_GET_CONNECTION = ("fe3a067ab7af58a6",)

AINTERNAL = "langgraph.checkpoint.postgres._ainternal"


class _Entered:
    """A manager already entered: in an ``async with``, only its exit runs (nothing if None)."""

    __slots__ = ("manager",)

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, typ: Any, val: Any, tb: Any) -> Any:
        manager = self.manager
        if manager is None:
            return False
        return await type(manager).__aexit__(manager, typ, val, tb)


# When something raises, the managers still to leave are left inside generators shaped as
# LangGraph's two (``get_connection``'s within ``_cursor``'s), so what crosses a generator's
# frame (StopIteration becoming RuntimeError, contextlib unwrapping it, a generator that
# did not yield) and the chaining are Python's own. ``before`` is raised where the entry
# failed, ``after`` where an exit failed.


def _raise_as_raised(error: BaseException) -> None:
    """Raise ``error`` again with the ``__context__`` it was raised with (``raise`` would set
    it to the exception being handled here)."""
    context = error.__context__
    try:
        raise error
    except BaseException:
        error.__context__ = context
        raise


@asynccontextmanager
async def _connection_replay(pooled: Any, before: Any, after: Any) -> AsyncIterator[None]:
    async with _Entered(pooled):
        if before is not None:
            _raise_as_raised(before)
        yield
        if after is not None:
            _raise_as_raised(after)


@asynccontextmanager
async def _cursor_replay(
    lock: Any, connection: Any, block: Any, cursor: Any, before: Any, after: Any
) -> AsyncIterator[None]:
    async with _Entered(lock), connection:
        async with _Entered(block), _Entered(cursor):
            if before is not None:
                _raise_as_raised(before)
            yield
            if after is not None:
                _raise_as_raised(after)


class _PipeSync:
    """``try: <cursor> finally: if pipeline: await self.pipe.sync()``: the saver's own pipeline."""

    __slots__ = ("saver", "pipeline")

    def __init__(self, saver: Any, pipeline: bool) -> None:
        self.saver, self.pipeline = saver, pipeline

    async def __aexit__(self, typ: Any, val: Any, tb: Any) -> bool:
        if self.pipeline:
            await self.saver.pipe.sync()
        return False


# Positions in SaverCursor.managers, outermost first.
LOCK, POOLED, BLOCK, CURSOR = 0, 1, 2, 3


class SaverCursor:
    """``async with saver._cursor(pipeline=...) as cur``, as LangGraph's generator does it."""

    __slots__ = ("saver", "pipeline", "ainternal", "namespace", "managers")

    def __init__(self, saver: Any, pipeline: bool, ainternal: Any, namespace: dict) -> None:
        self.saver, self.pipeline = saver, pipeline
        # the modules' globals are read when LangGraph's code reads them
        self.ainternal, self.namespace = ainternal, namespace
        # entered so far: the lock, the pool's connection(), pipeline/transaction/pipe sync, the cursor
        self.managers: List[Any] = [None, None, None, None]

    def _replay(self, depth: int, before: Any = None, after: Any = None) -> Any:
        """LangGraph's generators with the managers entered above ``depth``; the error at ``depth``."""
        lock, pooled, block, cursor = self.managers[:depth] + [None] * (4 - depth)
        in_connection = depth == POOLED
        connection = _connection_replay(pooled, before if in_connection else None, after if in_connection else None)
        if in_connection:
            before = after = None
        return _cursor_replay(lock, connection, block, cursor, before, after)

    async def __aenter__(self) -> Any:
        saver, managers = self.saver, self.managers
        depth = LOCK
        try:
            lock = saver.lock
            await type(lock).__aenter__(lock)
            managers[LOCK] = lock
            depth = POOLED
            conn = saver.conn
            ainternal = self.ainternal
            if isinstance(conn, ainternal.AsyncConnection):
                pass
            elif isinstance(conn, ainternal.AsyncConnectionPool):
                pooled = conn.connection()
                conn = await type(pooled).__aenter__(pooled)
                managers[POOLED] = pooled
            else:  # pragma: no cover - _cursor() sends these to LangGraph's code
                raise TypeError(f"Invalid connection type: {type(conn)}")
            depth = BLOCK
            if saver.pipe:
                managers[BLOCK] = _PipeSync(saver, self.pipeline)
            elif self.pipeline:
                block = conn.pipeline() if saver.supports_pipeline else conn.transaction()
                await type(block).__aenter__(block)
                managers[BLOCK] = block
            depth = CURSOR
            cursor = conn.cursor(binary=True, row_factory=self.namespace["dict_row"])
            cur = await type(cursor).__aenter__(cursor)
            managers[CURSOR] = cursor
            return cur
        except BaseException as error:
            failed = error
        # Outside the except clause: the replay must not run while ``failed`` is being handled.
        replay = self._replay(depth, before=failed)
        del failed
        await replay.__aenter__()  # raises what LangGraph's would have
        raise AssertionError("unreachable: the replay raises before it yields")  # pragma: no cover

    async def __aexit__(self, typ: Any, val: Optional[BaseException], tb: Any) -> bool:
        managers = self.managers
        if val is not None:
            replay = self._replay(4)
            await replay.__aenter__()
            return await replay.__aexit__(typ, val, tb)
        failed: Optional[BaseException] = None
        for depth in (CURSOR, BLOCK, POOLED, LOCK):
            manager = managers[depth]
            if manager is None:
                continue
            try:
                await type(manager).__aexit__(manager, None, None, None)
            except BaseException as error:
                failed = error
                break
        else:
            return False
        replay = self._replay(depth, after=failed)
        del failed
        await replay.__aenter__()
        return await replay.__aexit__(None, None, None)


def replacement(target: Target, original: Any) -> Any:
    module = sys.modules[target.module]
    ainternal = sys.modules.get(AINTERNAL)
    if ainternal is None:
        raise PatchSkipped("no %s to check; left alone" % AINTERNAL)
    require_source(original, VERIFIED_CURSOR, "AsyncPostgresSaver._cursor")
    get_connection = getattr(ainternal, "get_connection", None)
    require_source(get_connection, VERIFIED_GET_CONNECTION, "_ainternal.get_connection")
    namespace = vars(module)

    def _cursor(self: Any, *, pipeline: bool = False) -> Any:
        if ainternal.get_connection is not get_connection or not isinstance(
            self.conn, (ainternal.AsyncConnection, ainternal.AsyncConnectionPool)
        ):
            return original(self, pipeline=pipeline)
        return SaverCursor(self, pipeline, ainternal, namespace)

    _cursor.__wrapped__ = original  # type: ignore[attr-defined]
    _cursor.__doc__ = original.__doc__
    _cursor.__qualname__ = original.__qualname__
    _cursor.__name__ = original.__name__
    return _cursor

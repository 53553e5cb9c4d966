"""The ``postgres_cursor`` patch: ``AsyncPostgresSaver._cursor`` without two async generators.

The promise: ``async with saver._cursor(pipeline=...) as cur`` enters and leaves the same
managers in the same order with the same arguments as LangGraph's generator, takes the same
loop iterations, and ends the same way whatever raises where: the same exception object,
the same ``__context__`` chain, suppressions honoured, the caller's own exception with its
traceback as it was. The tests drive both with recording stand-ins for the lock, the pool,
the connection, its pipeline/transaction, the cursor and the saver's own pipe (each may
raise or suppress at entry or exit, each yields to the loop), next to a task that logs every
loop iteration, and compare everything. No server is needed; against a real PostgreSQL,
tests/test_postgres_saver.py compares whole agents patched vs vanilla with it applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

import pytest

from conftest import postgres_aio_for

aio = postgres_aio_for("postgres_cursor")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from langgraph.checkpoint.postgres import _ainternal  # noqa: E402

from fast_langgraph.patches import postgres_cursor as patch  # noqa: E402
from fast_langgraph.patches._spec import PatchSkipped  # noqa: E402

Saver = aio.AsyncPostgresSaver

TARGET = patch.Target(aio.__name__, "AsyncPostgresSaver._cursor")
ORIGINAL = Saver.__dict__["_cursor"]
while getattr(ORIGINAL, "__module__", "") == patch.__name__:  # installed by the autoloader
    ORIGINAL = ORIGINAL.__wrapped__
PATCHED = patch.replacement(TARGET, ORIGINAL)

# Where a stand-in can raise; exits can also suppress.
ENTRIES = ("lock.enter", "pool.enter", "pipeline.enter", "transaction.enter", "cursor.enter")
EXITS = ("cursor.exit", "pipeline.exit", "transaction.exit", "pipe.sync", "pool.exit", "lock.exit")
POINTS = ENTRIES + ("body",) + EXITS


class Fault(Exception):
    pass


class Interrupt(BaseException):
    pass


def _fault(kind: str, where: str) -> BaseException:
    exc = {
        "error": Fault,
        "cancel": asyncio.CancelledError,
        "interrupt": Interrupt,
        "stop": StopAsyncIteration,
    }[kind]()
    exc.where = where  # type: ignore[attr-defined]
    return exc


class Run:
    """One scenario's script (what raises where, what suppresses) and its log."""

    def __init__(self, faults: Dict[str, str], suppress: FrozenSet[str]) -> None:
        self.faults, self.suppress = faults, suppress
        self.log: List[Any] = []

    def point(self, where: str) -> None:
        kind = self.faults.get(where)
        if kind == "chained":  # raised while the stand-in handles an error of its own
            try:
                raise KeyError(where)
            except KeyError:
                raise _fault("error", where)  # noqa: B904
        if kind is not None:
            raise _fault(kind, where)


def _label(exc: Optional[BaseException]) -> Any:
    return None if exc is None else (type(exc).__name__, getattr(exc, "where", None))


class Manager:
    """A recording async context manager: yields to the loop on entry and exit."""

    def __init__(self, run: Run, name: str, value: Any = None) -> None:
        self.run, self.name, self.value = run, name, value

    async def __aenter__(self) -> Any:
        self.run.log.append(self.name + ".enter")
        await asyncio.sleep(0)
        self.run.point(self.name + ".enter")
        return self.value

    async def __aexit__(self, typ: Any, val: Any, tb: Any) -> bool:
        self.run.log.append((self.name + ".exit", _label(val), typ is type(val) if val else typ))
        await asyncio.sleep(0)
        self.run.point(self.name + ".exit")
        return self.name + ".exit" in self.run.suppress


class FakeConnection:
    def __init__(self, run: Run) -> None:
        self.run = run

    def pipeline(self) -> Manager:
        return Manager(self.run, "pipeline")

    def transaction(self) -> Manager:
        return Manager(self.run, "transaction")

    def cursor(self, **kwargs: Any) -> Manager:
        self.run.log.append(("cursor", kwargs.get("binary"), kwargs.get("row_factory") is aio.dict_row, len(kwargs)))
        return Manager(self.run, "cursor", value="CUR")


class FakePool:
    def __init__(self, run: Run) -> None:
        self.run = run

    def connection(self) -> Manager:
        return Manager(self.run, "pool", value=FakeConnection(self.run))


class FakePipe:
    def __init__(self, run: Run) -> None:
        self.run = run

    async def sync(self) -> None:
        self.run.log.append("pipe.sync")
        await asyncio.sleep(0)
        self.run.point("pipe.sync")


class Outer(Exception):
    pass


def _describe(exc: BaseException, body: Optional[BaseException]) -> Tuple[Any, ...]:
    chain, seen = [], exc.__context__
    while seen is not None and len(chain) < 6:
        chain.append(_label(seen))
        seen = seen.__context__
    frames = [f.name for f in traceback.extract_tb(exc.__traceback__)] if exc is body else None
    return (_label(exc), tuple(chain), _label(exc.__cause__), exc.__suppress_context__, frames)


def _scenario(
    cursor: Any,
    pooled: bool,
    pipe: bool,
    supports: bool,
    pipeline: bool,
    faults: Dict[str, str],
    suppress: FrozenSet[str],
    handling: bool,
) -> Tuple[Any, ...]:
    # ``_ainternal``'s isinstance checks see the stand-ins as psycopg's classes, in both runs.
    run = Run(faults, suppress)
    saver = Saver.__new__(Saver)
    saver.lock = Manager(run, "lock")
    saver.conn = FakePool(run) if pooled else FakeConnection(run)
    saver.pipe = FakePipe(run) if pipe else None
    saver.supports_pipeline = supports
    body: List[BaseException] = []

    async def use() -> None:
        async with cursor(saver, pipeline=pipeline) as cur:
            run.log.append(("body", cur))
            await asyncio.sleep(0)
            try:
                run.point("body")
            except BaseException as exc:
                body.append(exc)
                raise
        run.log.append("after")

    async def ticker() -> None:
        for i in range(100):
            run.log.append(("tick", i))
            await asyncio.sleep(0)

    async def main() -> Any:
        tick = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        try:
            if handling:
                try:
                    raise Outer()
                except Outer:
                    await use()
            else:
                await use()
            outcome: Any = "completed"
        except BaseException as exc:  # noqa: BLE001 - every ending is compared
            outcome = _describe(exc, body[0] if body else None)
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
        return outcome

    loop = asyncio.new_event_loop()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_ainternal, "AsyncConnection", FakeConnection)
            mp.setattr(_ainternal, "AsyncConnectionPool", FakePool)
            outcome = loop.run_until_complete(main())
    finally:
        loop.close()
    return outcome, run.log


faults_st = st.dictionaries(
    st.sampled_from(POINTS), st.sampled_from(("error", "chained", "cancel", "interrupt", "stop")), max_size=3
)


@settings(max_examples=400, deadline=None)
@given(
    pooled=st.booleans(),
    pipe=st.booleans(),
    supports=st.booleans(),
    pipeline=st.booleans(),
    faults=faults_st,
    suppress=st.frozensets(st.sampled_from(EXITS[:3] + EXITS[4:]), max_size=2),
    handling=st.booleans(),
)
def test_same_managers_order_iterations_and_ending_as_langgraphs(
    pooled, pipe, supports, pipeline, faults, suppress, handling
):
    args = (pooled, pipe, supports, pipeline, faults, suppress, handling)
    assert _scenario(PATCHED, *args) == _scenario(ORIGINAL, *args)


@pytest.mark.parametrize("where", POINTS)
@pytest.mark.parametrize("pooled", [True, False])
def test_each_single_fault(where, pooled):
    # Every point, alone, with the pipeline (the write path) and without.
    for pipeline in (True, False):
        args = (pooled, False, True, pipeline, {where: "error"}, frozenset(), False)
        assert _scenario(PATCHED, *args) == _scenario(ORIGINAL, *args)


def test_the_ordinary_path_logs_what_it_should():
    outcome, log = _scenario(PATCHED, True, False, True, True, {}, frozenset(), False)
    assert outcome == "completed"
    events = [e for e in log if not (isinstance(e, tuple) and e[0] == "tick")]
    assert events == [
        "lock.enter",
        "pool.enter",
        "pipeline.enter",
        ("cursor", True, True, 2),
        "cursor.enter",
        ("body", "CUR"),
        ("cursor.exit", None, None),
        ("pipeline.exit", None, None),
        ("pool.exit", None, None),
        ("lock.exit", None, None),
        "after",
    ]


def test_a_replaced_get_connection_gets_langgraphs_cursor(monkeypatch):
    saver = Saver.__new__(Saver)
    saver.conn = object.__new__(_ainternal.AsyncConnectionPool)
    assert type(PATCHED(saver)) is patch.SaverCursor

    @contextlib.asynccontextmanager
    async def get_connection(conn: Any) -> Any:
        yield conn

    monkeypatch.setattr(_ainternal, "get_connection", get_connection)
    assert type(PATCHED(saver)).__name__ == "_AsyncGeneratorContextManager"


def test_other_connections_get_langgraphs_type_error():
    saver = Saver.__new__(Saver)
    saver.lock, saver.conn = asyncio.Lock(), "not a connection"
    assert type(PATCHED(saver)).__name__ == "_AsyncGeneratorContextManager"

    async def use() -> None:
        async with PATCHED(saver):
            pass

    with pytest.raises(TypeError, match="Invalid connection type"):
        asyncio.run(use())
    assert not saver.lock.locked()


def test_refuses_other_sources():
    def _cursor(self: Any, *, pipeline: bool = False) -> None:
        return None

    with pytest.raises(PatchSkipped, match="not a verified version"):
        patch.replacement(TARGET, _cursor)


def test_looks_like_the_method_it_replaces():
    assert PATCHED.__name__ == "_cursor" and PATCHED.__qualname__ == ORIGINAL.__qualname__
    assert PATCHED.__wrapped__ is ORIGINAL and PATCHED.__doc__ == ORIGINAL.__doc__


def test_the_autoloader_installs_it():
    from conftest import run_python

    out = run_python(
        """
        import langgraph.checkpoint.postgres.aio as aio, fast_langgraph
        print(aio.AsyncPostgresSaver._cursor.__module__)
        fast_langgraph.unpatch("postgres_cursor")
        print(aio.AsyncPostgresSaver._cursor.__module__)
        """
    ).stdout.split()
    assert out == ["fast_langgraph.patches.postgres_cursor", "langgraph.checkpoint.postgres.aio"]

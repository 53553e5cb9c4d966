"""The ``postgres_inline_serde`` patch: AsyncPostgresSaver's serializer calls without a thread hop.

The promise: ``await asyncio.to_thread(saver._dump_blobs, ...)`` (and ``_dump_writes``,
``_load_writes``) as the saver's module sees it returns the same value or raises the same
error as asyncio's, and the caller and every other task run in an order ``to_thread`` itself
can give: the one of a worker that finishes the job as it is submitted. The tests run
generated interleavings of tasks under both and compare the order everything happened in
(asyncio's with an executor that runs each job in ``submit``); compare values and errors on
generated data; check each case that must keep ``to_thread`` (other savers, serializers,
loops, executors, debug mode, functions replaced) and the back-off after slow calls; and
cancel the caller while it waits. No server is needed: the saver is never connected.
Against a real PostgreSQL, tests/test_postgres_saver.py compares whole agents patched vs
vanilla (rows, histories) with this patch applied.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
from typing import Any, List

import pytest

from conftest import cancel_after, postgres_aio_for

aio = postgres_aio_for("postgres_inline_serde")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage  # noqa: E402
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer  # noqa: E402

from fast_langgraph.patches import postgres_inline_serde as patch  # noqa: E402
from fast_langgraph.patches._spec import PatchSkipped  # noqa: E402

Saver = aio.AsyncPostgresSaver

# Built here, whatever the autoloader did in this process: PATCHED is what the module sees
# with the patch, asyncio what it sees without.
PATCHED = patch.AsyncioForPostgresSaver(asyncio, Saver, JsonPlusSerializer)


class ImmediateExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each job in ``submit``: a worker that was free and finished at once."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def _loop(immediate: bool) -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    if immediate:
        loop.set_default_executor(ImmediateExecutor())
    return loop


def _run(main: Any, immediate: bool = False) -> Any:
    loop = _loop(immediate)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


WRITES = [("messages", [HumanMessage("hi", id="h1")]), ("turn", 3), ("__error__", "x")]
BLOBS = {"messages": [HumanMessage("hi", id="h1"), AIMessage("yo", id="a1")], "meta": {"k": (1, 2.5, None)}}


# The rows _load_writes reads: (task_id, channel, type, blob), and since 3.2.0 also task_path
# and idx, by which it sorts them.
ROW_HAS_PATH = "writes_sort_key" in inspect.getsource(Saver._load_writes)


def _rows(dumped: List[Any]) -> List[Any]:
    """_dump_writes' rows as the database gives them back to _load_writes."""
    rows = []
    for _, _, _, task_id, task_path, idx, channel, t, v in dumped:
        row = (task_id.encode(), channel.encode(), t.encode(), v)
        rows.append(row + (task_path.encode(), str(idx).encode()) if ROW_HAS_PATH else row)
    return rows


def _calls(saver: Any) -> List[Any]:
    """One call of each inlined function, with arguments as the saver's methods pass them."""
    rows = _rows(saver._dump_writes("t", "", "c1", "task", "", WRITES))
    return [
        (saver._dump_blobs, ("t", "", BLOBS, {"messages": "1.0", "meta": "2.0", "gone": "3.0"})),
        (saver._dump_writes, ("t", "", "c1", "task", "", WRITES)),
        (saver._load_writes, (rows,)),
    ]


# ---------------------------------------------------------------------------------------
# Values and errors
# ---------------------------------------------------------------------------------------

VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
MESSAGE = st.builds(
    lambda kind, text, n: (
        [HumanMessage, AIMessage][kind](text, id="m%d" % n)
        if kind < 2
        else ToolMessage(text, tool_call_id="c%d" % n, id="t%d" % n)
    ),
    st.integers(0, 2),
    st.text(max_size=30),
    st.integers(0, 99),
)
CHANNEL_VALUE = VALUE | st.lists(MESSAGE, max_size=5)


@settings(max_examples=60, deadline=None)
@given(values=st.dictionaries(st.sampled_from(["a", "b", "messages"]), CHANNEL_VALUE, max_size=3),
       writes=st.lists(st.tuples(st.sampled_from(["a", "messages", "__error__"]), CHANNEL_VALUE), max_size=4))  # fmt: skip
def test_same_values_as_to_thread(values, writes):
    async def main(module: Any) -> Any:
        saver = Saver(None)
        versions = {k: "%d.0" % i for i, k in enumerate(sorted(values) + ["missing"])}
        # Integers beyond 64 bits: the same error both ways.
        try:
            blobs = await module.to_thread(saver._dump_blobs, "t", "ns", values, versions)
            dumped = await module.to_thread(saver._dump_writes, "t", "ns", "c", "task", "path", writes)
        except Exception as exc:
            return type(exc), str(exc)
        loaded = await module.to_thread(saver._load_writes, _rows(dumped))
        return blobs, dumped, repr(loaded)

    assert _run(lambda: main(PATCHED)) == _run(lambda: main(asyncio))


def test_same_error_as_to_thread():
    class Unencodable:
        pass

    async def main(module: Any) -> Any:
        saver = Saver(None)
        try:
            await module.to_thread(saver._dump_writes, "t", "", "c", "task", "", [("x", Unencodable())])
        except Exception as exc:
            return type(exc), str(exc), exc.__cause__ is None
        raise AssertionError("no error")

    assert _run(lambda: main(PATCHED)) == _run(lambda: main(asyncio))


def test_inlined_calls_are_counted():
    before = {name: b.inlined for name, b in PATCHED.backoffs.items()}

    async def main() -> None:
        for func, args in _calls(Saver(None)):
            await PATCHED.to_thread(func, *args)

    _run(main)
    assert {name: b.inlined - before[name] for name, b in PATCHED.backoffs.items()} == {
        "_dump_blobs": 1,
        "_dump_writes": 1,
        "_load_writes": 1,
    }


# ---------------------------------------------------------------------------------------
# Schedule: the same order of everything as to_thread with a worker that finishes at once
# ---------------------------------------------------------------------------------------

# One step of a task: a serializer call through to_thread, a bare yield, or a callback
# scheduled with call_soon.
STEP = st.sampled_from(["blobs", "writes", "load", "yield", "soon"])
PROGRAM = st.lists(st.lists(STEP, min_size=1, max_size=6), min_size=1, max_size=5)


def _interleave(program: List[List[str]], module: Any, immediate: bool) -> List[Any]:
    log: List[Any] = []

    async def worker(i: int, steps: List[str], calls: Any) -> None:
        loop = asyncio.get_running_loop()
        for j, step in enumerate(steps):
            log.append(("begin", i, j, step))
            if step in calls:
                func, args = calls[step]
                log.append(("result", i, j, repr(await module.to_thread(func, *args))))
            elif step == "yield":
                await asyncio.sleep(0)
            else:
                loop.call_soon(log.append, ("soon", i, j))

    async def main() -> None:
        calls = dict(zip(["blobs", "writes", "load"], _calls(Saver(None))))
        await asyncio.gather(*(worker(i, s, calls) for i, s in enumerate(program)))

    _run(main, immediate)
    return log


@settings(max_examples=80, deadline=None)
@given(program=PROGRAM)
def test_same_schedule_as_to_thread_with_a_worker_that_finishes_at_once(program):
    assert _interleave(program, PATCHED, immediate=False) == _interleave(program, asyncio, immediate=True)


@pytest.mark.parametrize("after", range(4))
def test_cancelled_while_waiting(after):
    def run(module: Any, immediate: bool) -> List[Any]:
        log: List[Any] = []
        errors: List[Any] = []

        async def main() -> None:
            asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))
            func, args = _calls(Saver(None))[1]
            await cancel_after(lambda: module.to_thread(func, *args), after, log)
            for _ in range(3):
                await asyncio.sleep(0)

        _run(main, immediate)
        return [repr(entry) for entry in log] + errors

    assert run(PATCHED, immediate=False) == run(asyncio, immediate=True)


# ---------------------------------------------------------------------------------------
# Where to_thread stays
# ---------------------------------------------------------------------------------------


@pytest.fixture
def to_thread_calls(monkeypatch):
    """The functions a default executor (a plain ThreadPoolExecutor) was given to run."""
    calls: List[Any] = []
    submit = concurrent.futures.ThreadPoolExecutor.submit

    def spy(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        # to_thread submits functools.partial(context.run, func, *args)
        func = fn.args[0] if isinstance(fn, functools.partial) and fn.args else fn
        calls.append(getattr(func, "__name__", func))
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, "submit", spy)
    return calls


def _through(saver_factory: Any, loop_factory: Any = asyncio.new_event_loop, setup: Any = None) -> None:
    async def main() -> None:
        if setup is not None:
            setup(asyncio.get_running_loop())
        saver = saver_factory()
        for func, args in _calls(saver):
            assert repr(await PATCHED.to_thread(func, *args)) == repr(func(*args))

    loop = loop_factory()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_the_saver_itself_is_inlined(to_thread_calls):
    _through(lambda: Saver(None))
    assert to_thread_calls == []


class SubclassedSaver(Saver):
    pass


class OwnSerializer(JsonPlusSerializer):
    pass


class OwnExecutor(concurrent.futures.ThreadPoolExecutor):
    pass


def _instance_override() -> Any:
    saver = Saver(None)
    saver._dump_writes = lambda *args: Saver._dump_writes(saver, *args)
    return saver


@pytest.mark.parametrize(
    "saver_factory, setup",
    [
        pytest.param(lambda: SubclassedSaver(None), None, id="subclass"),
        pytest.param(lambda: Saver(None, serde=OwnSerializer()), None, id="own-serializer"),
        pytest.param(_instance_override, None, id="method-on-instance"),
        pytest.param(lambda: Saver(None), lambda loop: loop.set_debug(True), id="debug-mode"),
        pytest.param(
            lambda: Saver(None),
            lambda loop: loop.set_default_executor(OwnExecutor()),
            id="own-default-executor",
        ),
    ],
)
def test_to_thread_where_not_proven(to_thread_calls, saver_factory, setup):
    _through(saver_factory, setup=setup)
    if saver_factory is _instance_override:
        # The other two are still the saver's own: inlined.
        assert to_thread_calls == ["<lambda>"]
    else:
        assert to_thread_calls == ["_dump_blobs", "_dump_writes", "_load_writes"]


def test_to_thread_on_other_loops(to_thread_calls):
    uvloop = pytest.importorskip("uvloop")
    _through(lambda: Saver(None), loop_factory=uvloop.new_event_loop)
    assert to_thread_calls == ["_dump_blobs", "_dump_writes", "_load_writes"]


def test_to_thread_after_the_default_executor_was_shut_down():
    async def main(module: Any) -> Any:
        await asyncio.get_running_loop().shutdown_default_executor()
        func, args = _calls(Saver(None))[1]
        try:
            await module.to_thread(func, *args)
        except RuntimeError as exc:
            return str(exc)

    assert _run(lambda: main(PATCHED)) == _run(lambda: main(asyncio)) == "Executor shutdown has been called"


def test_a_replaced_asyncio_to_thread_sees_every_call(monkeypatch):
    seen: List[Any] = []
    real = asyncio.to_thread

    async def instrumented(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        seen.append(func.__name__)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", instrumented)
    _through(lambda: Saver(None))
    assert seen == ["_dump_blobs", "_dump_writes", "_load_writes"]


def test_other_functions_go_to_a_thread(to_thread_calls):
    async def main() -> Any:
        return await PATCHED.to_thread(sorted, [3, 1, 2])

    assert _run(main) == [1, 2, 3]
    assert to_thread_calls == ["sorted"]


def test_slow_calls_back_off(to_thread_calls, monkeypatch):
    monkeypatch.setattr(patch, "INLINE_BUDGET", -1.0)  # every call is "slow"
    module = patch.AsyncioForPostgresSaver(asyncio, Saver, JsonPlusSerializer)
    expected = ["inline"] + ["thread"] * 2 + ["inline"] + ["thread"] * 4 + ["inline"] + ["thread"] * 8 + ["inline"]

    async def main() -> List[str]:
        func, args = _calls(Saver(None))[1]
        ways = []
        for _ in expected:
            n = len(to_thread_calls)
            await module.to_thread(func, *args)
            ways.append("thread" if len(to_thread_calls) > n else "inline")
        return ways

    assert _run(main) == expected
    # Capped at MAX_BACKOFF; a call within budget resets the back-off.
    backoff = module.backoffs["_dump_writes"]
    for _ in range(10):
        backoff.took(0.0)
    assert backoff.next == patch.MAX_BACKOFF
    monkeypatch.setattr(patch, "INLINE_BUDGET", 10.0)
    backoff.took(0.0)
    assert backoff.next == 2


def test_everything_else_is_the_asyncio_module():
    assert PATCHED.Lock is asyncio.Lock
    assert PATCHED.run_coroutine_threadsafe is asyncio.run_coroutine_threadsafe
    assert PATCHED.__name__ == "asyncio" and PATCHED.__wrapped__ is asyncio
    assert PATCHED.__spec__ is asyncio.__spec__ and PATCHED.__package__ == asyncio.__package__
    assert "inline" in repr(PATCHED)


def test_refuses_anything_but_the_asyncio_module():
    target = patch.Target(aio.__name__, "asyncio")
    with pytest.raises(PatchSkipped):
        patch.replacement(target, object())


def test_the_autoloader_installs_it(tmp_path):
    from conftest import run_python

    out = run_python(
        """
        import langgraph.checkpoint.postgres.aio as aio, fast_langgraph
        print(type(aio.asyncio).__name__)
        fast_langgraph.unpatch("postgres_inline_serde")
        import asyncio
        print(aio.asyncio is asyncio)
        """
    ).stdout.split()
    assert out == ["AsyncioForPostgresSaver", "True"]

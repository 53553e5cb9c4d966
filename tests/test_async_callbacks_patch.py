"""The ``async_callbacks`` patch: the same schedule, cancellations, errors and handler calls as langchain-core's.

The promise is about scheduling: with no handler, the caller of a shielded event method
waits the same event-loop iterations, at the same places in the ready queue, as the
original's Task + shield. The tests run generated interleavings of tasks (events,
bare yields, call_soon callbacks) under the original and the patched methods, on
asyncio's loop and on uvloop's, and compare the order everything happened in; then
cancellations at each iteration, argument errors, handlers present, and whole async
graphs streamed with parallel nodes (patch on vs off).
"""

from __future__ import annotations

import asyncio
import operator
import uuid
from typing import Annotated, Any, List, TypedDict

import pytest

import fast_langgraph
from conftest import cancel_after

state = {p["name"]: p for p in fast_langgraph.patch_status()}.get("async_callbacks")
if state is None or not state["in_range"]:
    pytest.skip("async_callbacks patch not applicable here: %s" % (state,), allow_module_level=True)
# Opt-in (off by default): these tests turn it on, in this process, for this module only.
fast_langgraph.patch(async_callbacks=True)


@pytest.fixture(autouse=True, scope="module")
def _back_to_the_environment_after_this_module():
    yield
    fast_langgraph.patch(async_callbacks=None)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from langchain_core.callbacks import manager as cb_manager  # noqa: E402
from langchain_core.callbacks.base import AsyncCallbackHandler  # noqa: E402

from fast_langgraph.patches.async_callbacks import make_ahandle_event, make_shielded_event  # noqa: E402

ChainRun = cb_manager.AsyncCallbackManagerForChainRun


def _original(name: str) -> Any:
    f = ChainRun.__dict__[name]
    # The patched method's __wrapped__ is langchain-core's shielded method.
    return f.__wrapped__ if getattr(f, "__module__", "") == "fast_langgraph.patches.async_callbacks" else f


ORIGINAL_END = _original("on_chain_end")
ORIGINAL_ERROR = _original("on_chain_error")
PATCHED_END = make_shielded_event(ORIGINAL_END)
PATCHED_ERROR = make_shielded_event(ORIGINAL_ERROR)
ORIGINAL_AHANDLE = getattr(cb_manager.ahandle_event, "__wrapped__", cb_manager.ahandle_event)


def _manager(handlers: List[Any] = ()) -> Any:  # type: ignore[assignment]
    return ChainRun(run_id=uuid.uuid4(), handlers=list(handlers), inheritable_handlers=[])


def _loops() -> List[Any]:
    factories = [asyncio.new_event_loop]
    try:
        import uvloop

        factories.append(uvloop.new_event_loop)
    except ImportError:
        pass
    return factories


LOOPS = _loops()

# One step of a task: an event (on_chain_end / on_chain_error), a bare yield, or a
# callback scheduled with call_soon.
STEP = st.sampled_from(["end", "error", "yield", "soon"])
PROGRAM = st.lists(st.lists(STEP, min_size=1, max_size=6), min_size=1, max_size=5)


def _run(program: List[List[str]], end: Any, error: Any, loop_factory: Any) -> List[Any]:
    log: List[Any] = []
    rm = _manager()

    async def worker(i: int, steps: List[str]) -> None:
        loop = asyncio.get_running_loop()
        for j, step in enumerate(steps):
            log.append(("begin", i, j, step))
            if step == "end":
                log.append(("result", i, j, await end(rm, {"i": i})))
            elif step == "error":
                log.append(("result", i, j, await error(rm, ValueError(i))))
            elif step == "yield":
                await asyncio.sleep(0)
            else:
                loop.call_soon(log.append, ("soon", i, j))

    async def main() -> None:
        await asyncio.gather(*(worker(i, s) for i, s in enumerate(program)))

    loop = loop_factory()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    return log


@pytest.mark.parametrize("loop_factory", LOOPS)
@settings(max_examples=60, deadline=None)
@given(program=PROGRAM)
def test_same_schedule_as_shielded_original(loop_factory, program):
    assert _run(program, PATCHED_END, PATCHED_ERROR, loop_factory) == _run(
        program, ORIGINAL_END, ORIGINAL_ERROR, loop_factory
    )


def _cancel_at(method: Any, after: int, loop_factory: Any) -> List[Any]:
    log: List[Any] = []

    async def main() -> None:
        await cancel_after(lambda: method(_manager(), {}), after, log)
        log.append(("pending tasks", len(asyncio.all_tasks()) - 1 > 0))

    loop = loop_factory()
    try:
        loop.run_until_complete(main())
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    return log


@pytest.mark.parametrize("loop_factory", LOOPS)
@pytest.mark.parametrize("after", range(6))
def test_cancellation_lands_on_the_same_await(loop_factory, after):
    patched = _cancel_at(PATCHED_END, after, loop_factory)
    original = _cancel_at(ORIGINAL_END, after, loop_factory)
    # The original leaves its inner Task behind for an iteration; "pending tasks" may differ.
    assert patched[:-1] == original[:-1]


def test_argument_errors_like_original():
    async def call(method: Any) -> Any:
        try:
            await method(_manager())  # no outputs
        except TypeError as exc:
            return type(exc), str(exc).split("(")[-1]

    assert asyncio.run(call(PATCHED_END)) == asyncio.run(call(ORIGINAL_END))


class Recorder(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.seen: List[Any] = []

    async def on_chain_end(self, outputs: Any, **kwargs: Any) -> None:
        self.seen.append(("end", outputs, kwargs.get("run_id") is not None))

    async def on_chain_error(self, error: BaseException, **kwargs: Any) -> None:
        self.seen.append(("error", repr(error)))


def test_handlers_run_through_the_original():
    async def go(end: Any, error: Any) -> List[Any]:
        handler = Recorder()
        rm = _manager([handler])
        await end(rm, {"a": 1})
        await error(rm, ValueError("x"))
        return handler.seen

    assert asyncio.run(go(PATCHED_END, PATCHED_ERROR)) == asyncio.run(go(ORIGINAL_END, ORIGINAL_ERROR)) != []


def test_handler_added_before_the_original_looks_is_called():
    handler = Recorder()
    rm = _manager()

    async def main() -> None:
        call = asyncio.ensure_future(PATCHED_END(rm, {"late": True}))
        await asyncio.sleep(0)  # the event is now waiting its first iteration
        rm.handlers.append(handler)
        await call

    asyncio.run(main())
    assert handler.seen == [("end", {"late": True}, True)]


def test_ahandle_event_without_handlers_returns_at_once():
    fast = make_ahandle_event(ORIGINAL_AHANDLE)
    coro = fast([], "on_chain_end", "ignore_chain", {})
    with pytest.raises(StopIteration) as stop:
        coro.send(None)  # no suspension, like the original's gather() of nothing
    assert stop.value.value is None

    async def with_handler(f: Any) -> List[Any]:
        handler = Recorder()
        await f([handler], "on_chain_end", "ignore_chain", {"x": 1}, run_id=uuid.uuid4())
        return handler.seen

    assert asyncio.run(with_handler(fast)) == asyncio.run(with_handler(ORIGINAL_AHANDLE)) != []


def test_installed_where_callers_look():
    assert ChainRun.on_chain_end.__module__ == "fast_langgraph.patches.async_callbacks"
    assert ChainRun.on_chain_end.__wrapped__ is ORIGINAL_END
    assert cb_manager.ahandle_event.__wrapped__ is ORIGINAL_AHANDLE


class State(TypedDict):
    log: Annotated[list, operator.add]


def _graph() -> Any:
    from langgraph.graph import END, START, StateGraph

    def node(name: str, yields: int, sync: bool = False) -> Any:
        if sync:
            return lambda s: {"log": [name]}

        async def run(s: Any) -> Any:
            for _ in range(yields):
                await asyncio.sleep(0)
            return {"log": [name]}

        return run

    b = StateGraph(State)
    for name, yields in (("a", 0), ("b", 2), ("c", 1), ("d", 3)):
        b.add_node(name, node(name, yields))
    b.add_node("s", node("s", 0, sync=True))
    for name in ("a", "b", "c"):
        b.add_edge(START, name)
        b.add_edge(name, "d")
    b.add_edge("d", "s")
    b.add_edge("s", END)
    return b.compile()


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_graph_stream_identical_patch_on_and_off(loop_factory):
    graph = _graph()

    async def stream() -> List[Any]:
        out = []
        async for chunk in graph.astream({"log": []}, stream_mode=["updates", "tasks", "values"]):
            mode, data = chunk
            if mode == "tasks":
                data = {k: v for k, v in data.items() if k != "id"}
            out.append((mode, repr(data)))
        return out

    def run() -> List[Any]:
        loop = loop_factory()
        try:
            return loop.run_until_complete(stream())
        finally:
            loop.close()

    patched = run()
    fast_langgraph.unpatch("async_callbacks")
    try:
        assert ChainRun.on_chain_end is ORIGINAL_END
        original = run()
    finally:
        fast_langgraph.patch(async_callbacks=True)
    assert ChainRun.on_chain_end.__wrapped__ is ORIGINAL_END
    assert patched == original


def _with_task_factory(loop_factory: Any) -> Any:
    def make() -> Any:
        loop = loop_factory()
        if hasattr(asyncio, "eager_task_factory"):
            loop.set_task_factory(asyncio.eager_task_factory)
        else:  # Python < 3.12: any factory; the patch must step aside all the same
            loop.set_task_factory(lambda loop, coro, **kw: asyncio.Task(coro, loop=loop, **kw))
        return loop

    return make


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_a_task_factory_gets_the_original(loop_factory):
    program = [["end", "soon", "yield"], ["yield", "soon", "end"], ["soon", "end", "end"]]
    make = _with_task_factory(loop_factory)
    assert _run(program, PATCHED_END, PATCHED_ERROR, make) == _run(program, ORIGINAL_END, ORIGINAL_ERROR, make)

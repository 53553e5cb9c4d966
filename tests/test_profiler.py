"""GraphProfiler: what it records, that it restores LangGraph exactly, threads, async, callbacks, the CLI.

Durations are only checked for consistency (parts add up to the whole) and against
sleeps the graphs make, never against speed.
"""

import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from typing import Annotated, Any, Dict, List, TypedDict
import operator

import pytest

from conftest import clean_env, run_in_threads

pytest.importorskip("langgraph")

from fast_langgraph.profiler import AREAS, GraphProfiler  # noqa: E402

AREA_NAMES = ("runs", "nodes", "supersteps") + AREAS


class State(TypedDict):
    log: Annotated[List[str], operator.add]
    n: Annotated[int, operator.add]


def _step(name: str, sleep: float = 0.0):
    def node(state: Dict[str, Any]) -> Dict[str, Any]:
        if sleep:
            time.sleep(sleep)
        return {"log": [name], "n": 1}

    return node


def chain(*names: str, checkpointer: Any = None, sleep: Dict[str, float] = {}) -> Any:  # noqa: B006 (only read)
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(State)
    for name in names:
        builder.add_node(name, _step(name, sleep.get(name, 0.0)))
    builder.add_edge(START, names[0])
    for a, b in zip(names, names[1:]):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=checkpointer)


def memory_saver() -> Any:
    from langgraph.checkpoint.memory import MemorySaver

    return MemorySaver()


def config(thread: str = "t") -> Dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def consistent(run: Dict[str, Any]) -> None:
    """The parts of a run add up to its wall time."""
    wall = run["wall_s"]
    assert wall > 0
    assert run["node_time_s"] + run["overhead_s"] + run["consumer_s"] == pytest.approx(wall, rel=1e-6, abs=1e-8)
    assert sum(run["overhead"].values()) == pytest.approx(run["overhead_s"], rel=1e-6, abs=1e-8)
    assert all(v >= 0 for v in run["overhead"].values())
    assert run["node_time_s"] <= sum(n["total_s"] for n in run["nodes"].values()) + 1e-6  # ns rounding
    assert sum(s["duration_s"] for s in run["steps"]) <= wall + 1e-6
    assert [s["step"] for s in run["steps"]] == sorted({s["step"] for s in run["steps"]})
    for s in run["steps"]:
        assert s["node_time_s"] + s["overhead_s"] <= s["duration_s"] + 1e-6


def targets() -> Dict[str, Any]:
    """The raw objects GraphProfiler may replace, to check they come back exactly."""
    from langgraph.checkpoint.memory import MemorySaver
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.pregel import Pregel

    from fast_langgraph.profiler.instrument import TARGETS, _find

    found = {("Pregel", n): Pregel.__dict__[n] for n in ("stream", "astream", "invoke", "ainvoke")}
    for area in TARGETS:
        for owner, name in _find(area):
            found[(owner.__name__, name)] = vars(owner)[name]
    for name in ("put", "put_writes", "get_tuple", "list", "aput", "aput_writes", "aget_tuple", "alist"):
        owner = next(k for k in MemorySaver.__mro__ if name in vars(k))
        found[(owner.__name__, name)] = vars(owner)[name]
    found[("JsonPlusSerializer", "dumps_typed")] = JsonPlusSerializer.__dict__["dumps_typed"]
    return found


def test_records_nodes_supersteps_and_overhead_areas():
    graph = chain("a", "slow", "c", checkpointer=memory_saver(), sleep={"slow": 0.01})
    profiler = GraphProfiler()
    with profiler.profile_run():
        out = graph.invoke({"log": [], "n": 0}, config())
    assert out["log"] == ["a", "slow", "c"]
    data = profiler.to_dict()
    assert data["runs_recorded"] == 1
    assert {a: r["available"] for a, r in data["instrumentation"].items()} == {a: True for a in AREA_NAMES}
    (run,) = data["runs"]
    consistent(run)
    assert run["entry"] == "invoke" and run["mode"] == "sync" and run["error"] is None
    assert {"a", "slow", "c"} <= set(run["nodes"])
    assert all(run["nodes"][n]["calls"] == 1 for n in ("a", "slow", "c"))
    assert run["nodes"]["slow"]["total_s"] >= 0.009
    # one superstep per node (plus the input step on LangGraph versions that run it as a task)
    assert run["supersteps"] in (3, 4)
    step_of = {n["name"]: s["step"] for s in run["steps"] for n in s["nodes"]}
    assert step_of["a"] < step_of["slow"] < step_of["c"]
    # a checkpointer was used: every area saw some time
    assert all(run["overhead"][area] > 0 for area in AREAS), run["overhead"]
    totals = data["totals"]
    assert totals["nodes"]["slow"]["calls"] == 1 and totals["supersteps"] == run["supersteps"]
    json.dumps(data)  # JSON-serialisable as is


def test_report_and_html(tmp_path):
    graph = chain("first", "second", checkpointer=memory_saver())
    profiler = GraphProfiler()
    assert "no LangGraph run recorded" in profiler.report()
    with profiler.profile_run():
        for i in range(3):
            graph.invoke({"log": [], "n": 0}, config(str(i)))
    text = profiler.report()
    for label in ("3 runs", "first", "second", "framework overhead", "saver I/O", "channel updates", "supersteps"):
        assert label in text
    path = tmp_path / "timeline.html"
    profiler.to_html(str(path))
    page = path.read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "node: first" in page and "</html>" in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_restores_everything_on_exit_and_on_error():
    graph = chain("a", "b", checkpointer=memory_saver())
    before = targets()
    profiler = GraphProfiler()
    with profiler.profile_run():
        graph.invoke({"log": [], "n": 0}, config())
        during = targets()
    replaced = [k for k in before if during[k] is not before[k]]
    assert ("Pregel", "stream") in replaced and ("JsonPlusSerializer", "dumps_typed") in replaced
    from langgraph.checkpoint.memory import MemorySaver

    assert (MemorySaver.__name__, "put") in replaced  # the checkpointer class a run used
    assert targets() == before and all(targets()[k] is before[k] for k in before)

    with pytest.raises(RuntimeError, match="boom"):
        with profiler.profile_run():
            graph.invoke({"log": [], "n": 0}, config())
            raise RuntimeError("boom")
    assert all(targets()[k] is before[k] for k in before)

    from fast_langgraph.profiler.runs import Session

    assert Session.depth == 0 and Session.restores == [] and Session.global_profilers == ()


def test_failing_node_is_recorded_and_restored():
    from langgraph.graph import END, START, StateGraph

    def broken(state: Dict[str, Any]) -> Dict[str, Any]:
        raise ValueError("node failed")

    builder = StateGraph(State)
    builder.add_node("ok", _step("ok"))
    builder.add_node("broken", broken)
    builder.add_edge(START, "ok")
    builder.add_edge("ok", "broken")
    builder.add_edge("broken", END)
    graph = builder.compile(checkpointer=memory_saver())
    before = targets()
    profiler = GraphProfiler()
    with profiler.profile_run():
        with pytest.raises(ValueError, match="node failed"):
            graph.invoke({"log": [], "n": 0}, config())
    assert all(targets()[k] is before[k] for k in before)
    (run,) = profiler.runs
    assert run["error"].startswith("ValueError: node failed")
    assert run["nodes"]["broken"]["calls"] == 1
    assert profiler.to_dict()["totals"]["errors"] == 1


def test_nested_blocks_and_two_profilers():
    graph = chain("a", "b")
    outer, inner = GraphProfiler(), GraphProfiler()
    before = targets()
    with outer.profile_run():
        graph.invoke({"log": [], "n": 0})
        with inner.profile_run():
            with outer.profile_run():  # reentrant: the same profiler again
                graph.invoke({"log": [], "n": 0})
        assert targets()[("Pregel", "stream")] is not before[("Pregel", "stream")]  # still wrapped
        graph.invoke({"log": [], "n": 0})
    assert all(targets()[k] is before[k] for k in before)
    assert outer.to_dict()["runs_recorded"] == 3  # recorded once even when entered twice
    assert inner.to_dict()["runs_recorded"] == 1
    graph.invoke({"log": [], "n": 0})  # outside any block: not recorded
    assert outer.to_dict()["runs_recorded"] == 3


def test_leaves_a_replacement_made_meanwhile():
    """Whoever replaces a wrapped function inside the block keeps their replacement."""
    from fast_langgraph.profiler.instrument import TARGETS, _find

    ((module, _),) = _find(next(area for area in TARGETS if area.name == "channel_updates"))
    original = module.apply_writes
    with GraphProfiler().profile_run():
        wrapped = module.apply_writes

        def theirs(*args: Any, **kwargs: Any) -> Any:
            return wrapped(*args, **kwargs)

        module.apply_writes = theirs
    try:
        assert module.apply_writes is theirs
        chain("a", "b").invoke({"log": [], "n": 0})  # our wrapper, still under theirs, passes through
    finally:
        module.apply_writes = original


def test_threads():
    graph = chain("a", "b", checkpointer=memory_saver())
    shared = GraphProfiler()
    errors: List[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(3):
                graph.invoke({"log": [], "n": 0}, config("%d-%d" % (i, j)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with shared.profile_run():  # all_threads: runs started by any thread
        run_in_threads(work, [(i,) for i in range(4)])
    assert not errors
    assert shared.to_dict()["runs_recorded"] == 12
    for run in shared.runs:
        consistent(run)
        assert run["nodes"]["a"]["calls"] == 1

    # one profiler per thread, each seeing only its own runs, concurrently
    own = [GraphProfiler() for _ in range(4)]
    barrier = threading.Barrier(4)

    def scoped(i: int) -> None:
        try:
            with own[i].profile_run(all_threads=False):
                barrier.wait(timeout=30)
                for j in range(i + 1):
                    graph.invoke({"log": [], "n": 0}, config("s%d-%d" % (i, j)))
                barrier.wait(timeout=30)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    run_in_threads(scoped, [(i,) for i in range(4)])
    assert not errors
    assert [p.to_dict()["runs_recorded"] for p in own] == [1, 2, 3, 4]
    from fast_langgraph.profiler.runs import Session as _State

    assert _State.depth == 0 and _State.restores == []


def test_parallel_branches_in_worker_threads():
    """Fan-out: nodes run in worker threads; their writes still count as the run's saver I/O."""
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(State)
    for name in ("x", "y", "z"):
        # 50 ms: long enough to overlap even when a loaded machine delays a submission.
        builder.add_node(name, _step(name, 0.05))
        builder.add_edge(START, name)
    builder.add_node("join", _step("join"))
    builder.add_edge(["x", "y", "z"], "join")
    builder.add_edge("join", END)
    saver = memory_saver()
    graph = builder.compile(checkpointer=saver)
    profiler = GraphProfiler()
    with profiler.profile_run():
        graph.invoke({"log": [], "n": 0}, config())
    (run,) = profiler.runs
    consistent(run)
    parallel = next(s for s in run["steps"] if len(s["nodes"]) == 3)
    assert {n["name"] for n in parallel["nodes"]} == {"x", "y", "z"}
    # the three sleeps overlap: the step's node time is less than their sum
    assert parallel["node_time_s"] < sum(n["time_s"] for n in parallel["nodes"])
    assert run["overhead"]["saver_io"] > 0
    from fast_langgraph.profiler.runs import _orphan_tasks

    assert not _orphan_tasks


def test_async_graph():
    from langgraph.graph import END, START, StateGraph

    async def wait(state: Dict[str, Any]) -> Dict[str, Any]:
        await asyncio.sleep(0.005)
        return {"log": ["wait"], "n": 1}

    builder = StateGraph(State)
    builder.add_node("wait", wait)
    builder.add_node("sync_node", _step("sync_node"))
    builder.add_edge(START, "wait")
    builder.add_edge("wait", "sync_node")
    builder.add_edge("sync_node", END)
    graph = builder.compile(checkpointer=memory_saver())
    profiler = GraphProfiler()

    async def main() -> None:
        with profiler.profile_run(all_threads=False):
            await graph.ainvoke({"log": [], "n": 0}, config("a"))
            await asyncio.gather(*(graph.ainvoke({"log": [], "n": 0}, config("g%d" % i)) for i in range(3)))
            chunks = [c async for c in graph.astream({"log": [], "n": 0}, config("s"), stream_mode="updates")]
            assert len(chunks) == 2

    before = targets()
    asyncio.run(main())
    assert all(targets()[k] is before[k] for k in before)
    runs = profiler.runs
    assert [r["entry"] for r in runs].count("invoke") == 4 and runs[-1]["entry"] == "stream"
    for run in runs:
        consistent(run)
        assert run["mode"] == "async"
        assert run["nodes"]["wait"]["total_s"] >= 0.004
        assert run["nodes"]["sync_node"]["calls"] == 1
        assert run["overhead"]["saver_io"] > 0 and run["overhead"]["checkpoint_serialization"] > 0


def test_stream_consumer_time_is_not_the_graphs():
    graph = chain("a", "b", "c")
    profiler = GraphProfiler()
    with profiler.profile_run():
        for _ in graph.stream({"log": [], "n": 0}, stream_mode="updates"):
            time.sleep(0.005)
    (run,) = profiler.runs
    consistent(run)
    assert run["entry"] == "stream"
    assert run["consumer_s"] >= 0.012  # three chunks, 5 ms each, outside the graph
    assert run["overhead_s"] < run["wall_s"] - 0.012


def test_subgraph_counts_as_its_parent_node():
    from langgraph.graph import END, START, StateGraph

    inner = chain("inner_a", "inner_b")

    def call_inner(state: Dict[str, Any]) -> Dict[str, Any]:
        return {"log": inner.invoke({"log": [], "n": 0})["log"], "n": 1}

    builder = StateGraph(State)
    builder.add_node("outer", call_inner)
    builder.add_node("as_subgraph", chain("sub_a", "sub_b"))
    builder.add_edge(START, "outer")
    builder.add_edge("outer", "as_subgraph")
    builder.add_edge("as_subgraph", END)
    graph = builder.compile()
    profiler = GraphProfiler()
    with profiler.profile_run():
        out = graph.invoke({"log": [], "n": 0})
    assert out["log"][:2] == ["inner_a", "inner_b"] and out["log"][-2:] == ["sub_a", "sub_b"]
    (run,) = profiler.runs
    consistent(run)
    assert {"outer", "as_subgraph"} <= set(run["nodes"])
    assert not {"inner_a", "sub_a"} & set(run["nodes"])


def test_callback_handler():
    graph = chain("a", "slow", checkpointer=memory_saver(), sleep={"slow": 0.005})
    profiler = GraphProfiler()
    graph.invoke({"log": [], "n": 0}, {**config("cb"), "callbacks": [profiler]})
    (run,) = profiler.runs
    assert run["entry"] == "callback"
    assert run["nodes"]["slow"]["total_s"] >= 0.004 and run["nodes"]["a"]["calls"] == 1
    assert run["supersteps"] >= 2
    assert run["overhead"]["saver_io"] is None  # the split needs profile_run()
    assert run["node_time_s"] + run["overhead_s"] == pytest.approx(run["wall_s"], rel=1e-6)
    # given as a callback inside profile_run(): recorded once, by profile_run()
    with profiler.profile_run():
        graph.invoke({"log": [], "n": 0}, {**config("cb2"), "callbacks": [profiler]})
    assert [r["entry"] for r in profiler.runs] == ["callback", "invoke"]
    assert not profiler._callback_roots and not profiler._callback_nodes
    json.dumps(profiler.to_dict())


def test_unavailable_area_degrades(monkeypatch):
    from fast_langgraph.patches import Target
    from fast_langgraph.profiler import instrument

    broken = tuple(
        instrument.Area(area.name, area.distribution, (Target("langgraph.no_such_module", "apply_writes"),))
        if area.name == "channel_updates"
        else area
        for area in instrument.TARGETS
    )
    monkeypatch.setattr(instrument, "TARGETS", broken)
    profiler = GraphProfiler()
    with profiler.profile_run():
        chain("a", "b", checkpointer=memory_saver()).invoke({"log": [], "n": 0}, config())
    data = profiler.to_dict()
    assert data["instrumentation"]["channel_updates"]["available"] is False
    assert "no_such_module" in data["instrumentation"]["channel_updates"]["reason"]
    (run,) = data["runs"]
    assert run["overhead"]["channel_updates"] is None and run["overhead"]["saver_io"] > 0
    assert "n/a" in profiler.report() and "no_such_module" in profiler.report()


def test_max_runs_keeps_totals():
    graph = chain("a")
    profiler = GraphProfiler(max_runs=2, max_timelines=1)
    with profiler.profile_run():
        for _ in range(5):
            graph.invoke({"log": [], "n": 0})
    data = profiler.to_dict()
    assert data["runs_recorded"] == 5 and len(data["runs"]) == 2
    assert [r["index"] for r in data["runs"]] == [4, 5]
    assert data["totals"]["nodes"]["a"]["calls"] == 5
    profiler.reset()
    assert profiler.to_dict()["runs_recorded"] == 0


APP = """
import asyncio, sys, threading
from typing import TypedDict
from langgraph.graph import END, START, StateGraph

class S(TypedDict):
    x: int

builder = StateGraph(S)
builder.add_node("double", lambda s: {"x": s["x"] * 2})
builder.add_node("inc", lambda s: {"x": s["x"] + 1})
builder.add_edge(START, "double")
builder.add_edge("double", "inc")
builder.add_edge("inc", END)
graph = builder.compile()
print("argv", sys.argv[1:], __name__)
graph.invoke({"x": 1})
t = threading.Thread(target=graph.invoke, args=({"x": 2},))
t.start(); t.join()
asyncio.run(graph.ainvoke({"x": 3}))
list(graph.stream({"x": 4}))
sys.exit(int(sys.argv[1]))
"""


@pytest.mark.parametrize("switch", [None, "0"], ids=["accelerated", "FAST_LANGGRAPH=0"])
def test_cli(tmp_path, switch):
    script = tmp_path / "app.py"
    script.write_text(APP)
    out, html_path = tmp_path / "report.json", tmp_path / "t.html"
    check = (
        "import fast_langgraph, langgraph.graph; "
        "print('patches', [p['status'] for p in fast_langgraph.patch_status() if p['name'] == 'executor'])"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "fast_langgraph.profiler", "--json", "-o", str(out), "--html", str(html_path)]
        + [str(script), "3", "--flag"],
        env=clean_env(FAST_LANGGRAPH=switch),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr  # the script's own exit status
    assert "argv ['3', '--flag'] __main__" in proc.stdout
    data = json.loads(out.read_text())
    assert data["runs_recorded"] == 4
    assert sorted(r["mode"] for r in data["runs"]) == ["async", "sync", "sync", "sync"]
    assert all({"double", "inc"} <= set(r["nodes"]) for r in data["runs"])
    assert all(a["available"] for a in data["instrumentation"].values())
    assert html_path.read_text().count("<svg") == 4
    status = subprocess.run(
        [sys.executable, "-c", check], env=clean_env(FAST_LANGGRAPH=switch), capture_output=True, text=True, timeout=120
    )
    assert ("applied" in status.stdout) == (switch is None), status.stdout + status.stderr

    # The former name still works; the report goes to stderr, the script's stdout stays its own.
    table = subprocess.run(
        [sys.executable, "-m", "fast_langgraph.profile", str(script), "0"],
        env=clean_env(FAST_LANGGRAPH=switch),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert table.returncode == 0, table.stderr
    assert "GraphProfiler: 4 runs" in table.stderr and "double" in table.stderr
    assert "GraphProfiler" not in table.stdout and "argv ['0'] __main__" in table.stdout
    to_stdout = subprocess.run(
        [sys.executable, "-m", "fast_langgraph.profiler", "-o", "-", str(script), "0"],
        env=clean_env(FAST_LANGGRAPH=switch),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert "GraphProfiler: 4 runs" in to_stdout.stdout and "GraphProfiler" not in to_stdout.stderr


def test_cli_reports_a_crashing_script(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(APP.replace("sys.exit(int(sys.argv[1]))", "raise KeyError('crash')"))
    proc = subprocess.run(
        [sys.executable, "-m", "fast_langgraph.profile", str(script), "0"],
        env=clean_env(),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "KeyError: 'crash'" in proc.stderr and "GraphProfiler: 4 runs" in proc.stderr


def test_overhead_bench_checks_results():
    """``python -m fast_langgraph.bench profiler`` runs and checks results equal (no timing asserted)."""
    from fast_langgraph.bench.profiler_overhead import main

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fast_langgraph.bench",
            "profiler",
            "--workload",
            "linear10_sync",
            "--rounds",
            "2",
            "--invokes",
            "2",
            "--json",
        ],
        env=clean_env(),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    assert row["same_result"] and row["runs_recorded"] == row["runs_expected"] == 2 * (2 * 2 + 1)
    assert set(row) >= {"plain", "session", "per-invoke"}
    assert callable(main)


def test_lazy_export(py):
    import fast_langgraph

    assert fast_langgraph.GraphProfiler is GraphProfiler and "GraphProfiler" in fast_langgraph.__all__
    proc = py("import sys, fast_langgraph; print('fast_langgraph.profiler' in sys.modules)")
    assert proc.stdout.strip() == "False"


def test_wrappers_keep_any_signature():
    """One template per kind: exact parameters where they can be copied, ``*args, **kwargs``
    otherwise; both pass every argument through and record the same way."""
    from fast_langgraph.profiler import wrappers
    from fast_langgraph.profiler.runs import _current, _Frame, _Run, _SERDE

    def exact(a, b=2):
        return a + b

    def loose(a, *rest, scale=1, **extra):
        return (a + sum(rest)) * scale + len(extra)

    async def aloose(a, *, scale=1):
        return a * scale

    run = _Run("g", "sync", "invoke", (), set())
    token = _current.set(run)
    try:
        fast, generic = wrappers._span_wrapper(exact, _SERDE), wrappers._span_wrapper(loose, _SERDE)
        assert fast(1) == 3 and fast(1, b=5) == 6
        assert generic(1, 2, 3, scale=2, x=0) == 13
        assert asyncio.run(wrappers._span_wrapper(aloose, _SERDE)(3, scale=2)) == 6
        assert run.spans[0::3] == [_SERDE] * 4
        frame = _Frame()
        _current.set(frame)
        assert wrappers._saver_wrapper(loose)(1, 1) == 2 and frame.serde == 0.0
    finally:
        _current.reset(token)
    assert [f.__name__ for f in (fast, generic)] == ["exact", "loose"]
    import inspect

    assert fast.__code__.co_varnames[:2] == ("a", "b") and not fast.__code__.co_flags & inspect.CO_VARARGS
    assert generic.__code__.co_flags & inspect.CO_VARARGS and generic.__code__.co_flags & inspect.CO_VARKEYWORDS

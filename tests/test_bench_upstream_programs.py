"""``bench langgraph-programs`` drives pyperf programs the way upstream's bench/ is run (no timing asserted).

The programs tree here is a stand-in with upstream's shape (``bench/__main__.py`` building
graphs at import and registering them on a pyperf ``Runner``), so no download is needed.
"""

import textwrap

import pytest

pytest.importorskip("pyperf")

from fast_langgraph.bench import upstream_programs  # noqa: E402

PROGRAM = textwrap.dedent(
    """
    import operator, random
    from typing import Annotated, List, TypedDict
    from pyperf._runner import Runner
    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        total: Annotated[int, operator.add]
        path: Annotated[List[str], operator.add]

    def build():
        b = StateGraph(State)
        for name in ("a", "b", "c"):
            b.add_node(name, lambda s, name=name: {"total": 1, "path": [name]})
        b.add_edge(START, "a")
        b.add_edge(START, "b")
        b.add_edge("a", "c")
        b.add_edge("b", "c")
        b.add_edge("c", END)
        return b.compile()

    async def arun(graph, input):
        len([c async for c in graph.astream(input)])

    def run(graph, input):
        len(list(graph.stream(input)))

    seed = random.random()
    r = Runner()
    r.bench_async_func("fan", arun, build(), {"total": 0, "path": []})
    r.bench_func("fan_sync", run, build(), {"total": 0, "path": []})
    r.bench_func("compile", build)
    """
)


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "__init__.py").write_text("")
    (tmp_path / "bench" / "__main__.py").write_text(PROGRAM)
    return tmp_path


def test_lists_cases_in_pyperf_task_order(tree):
    cases = upstream_programs.list_cases(tree)
    assert [(c["name"], c["task"], c["async"], c["func"]) for c in cases] == [
        ("fan", 0, True, "arun"),
        ("fan_sync", 1, False, "run"),
        ("compile", 2, False, "build"),
    ]


def test_runs_each_mode_in_pyperf_workers_and_checks_results(tree):
    result = upstream_programs.run(
        tree, ["fan", "fan_sync"], rounds=1, values=1, min_time=0.001, check=True, log=lambda *_: None
    )
    rows = {r["case"]: r for r in result["rows"]}
    for name in ("fan", "fan_sync"):
        assert "error" not in rows[name], rows[name]
        assert rows[name]["same_result"] is True
        assert rows[name]["ratio"] > 0 and rows[name]["loops"] >= 1
    summary = result["summary"]
    assert summary["async_cases"] == 1 and summary["sync_cases"] == 1


def test_unknown_case_names_the_cases(tree):
    with pytest.raises(SystemExit, match="no such case: nope"):
        upstream_programs.run(tree, ["nope"], rounds=1, values=1, min_time=0.001, check=False)


def test_geomean_and_spread():
    assert upstream_programs.geomean([2.0, 0.5]) == pytest.approx(1.0)
    assert upstream_programs.geomean([]) is None
    assert upstream_programs.spread([1.0, 2.0, 3.0]) == pytest.approx(1.0)

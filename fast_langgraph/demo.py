"""``python -m fast_langgraph.demo``: a real LangGraph graph, run vanilla and accelerated, side by side.

Each mode runs in fresh interpreters (``FAST_LANGGRAPH=0`` for vanilla, the
installed autoload for accelerated), alternating, several rounds. The demo checks
that both modes produce identical results, prints the per-invoke time of each
and their ratio, then the doctor's verdict. Needs LangGraph installed.
"""

import argparse
import json
import operator
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Annotated, Any, Dict, List, Optional, TypedDict

WORKLOADS = ("fanout_checkpointed", "linear_checkpointed", "linear")


class State(TypedDict):
    steps: Annotated[List[str], operator.add]
    total: Annotated[int, operator.add]


def build_graph(workload: str) -> Any:
    """A small StateGraph that runs on every LangGraph line from 0.2 to 1.2."""
    from langgraph.checkpoint.memory import MemorySaver
    from langgraph.graph import END, START, StateGraph

    def node(name: str, weight: int):
        def run(state: State) -> Dict[str, Any]:
            return {"steps": [name], "total": weight}

        run.__name__ = name
        return run

    builder = StateGraph(State)
    if workload.startswith("fanout"):
        names = ["branch_%d" % i for i in range(4)]
        for i, name in enumerate(names):
            builder.add_node(name, node(name, i))
            builder.add_edge(START, name)
        builder.add_node("join", node("join", 10))
        builder.add_edge(names, "join")
        builder.add_edge("join", END)
    else:
        names = ["step_%d" % i for i in range(3)]
        for i, name in enumerate(names):
            builder.add_node(name, node(name, i))
        builder.add_edge(START, names[0])
        for a, b in zip(names, names[1:]):
            builder.add_edge(a, b)
        builder.add_edge(names[-1], END)
    checkpointer = MemorySaver() if workload.endswith("checkpointed") else None
    return builder.compile(checkpointer=checkpointer)


def run_workload(workload: str, invokes: int, warmup: int = 20) -> Dict[str, Any]:
    """Invoke the graph ``warmup + invokes`` times; return µs per timed invoke and every result."""
    graph = build_graph(workload)
    results = []
    elapsed = 0.0
    for i in range(warmup + invokes):
        config = {"configurable": {"thread_id": "demo-%d" % i}}
        start = time.perf_counter()
        out = graph.invoke({"steps": [], "total": 0}, config)
        if i >= warmup:
            elapsed += time.perf_counter() - start
        out["steps"] = sorted(out["steps"])  # parallel branches may finish in any order
        results.append(out)
    executor_module = sys.modules.get("langgraph.pregel._executor") or sys.modules.get("langgraph.pregel.executor")
    factory = getattr(executor_module, "get_executor_for_config", None)
    return {
        "us_per_invoke": elapsed / invokes * 1e6,
        "results": results,
        "patched": getattr(factory, "__module__", "") == "fast_langgraph.executor_pool",
    }


def _run_child(workload: str, invokes: int, accelerated: bool) -> Dict[str, Any]:
    env = dict(os.environ)
    env.pop("FAST_LANGGRAPH", None)
    if not accelerated:
        env["FAST_LANGGRAPH"] = "0"
    code = "import json, sys; from fast_langgraph.demo import run_workload; json.dump(run_workload(%r, %d), sys.stdout)" % (
        workload,
        invokes,
    )
    # Run outside the source tree, so the installed package (with its Rust core) is the one imported.
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit("demo child failed:\n" + proc.stderr)
    return json.loads(proc.stdout)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fast_langgraph.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--invokes", type=int, default=200)
    args = parser.parse_args(argv)
    try:
        import langgraph  # noqa: F401
    except ImportError:
        print("LangGraph is not installed here: pip install langgraph (or pip install 'fast-langgraph[langgraph]')")
        return 2

    print("Each row: %d rounds x %d invokes per mode, fresh interpreters, alternating; median µs per invoke." % (args.rounds, args.invokes))
    print("%-22s %12s %12s %8s  %s" % ("workload", "vanilla", "accelerated", "speedup", "same results"))
    all_equal = True
    for workload in WORKLOADS:
        times: Dict[bool, List[float]] = {False: [], True: []}
        outputs = {}
        for _ in range(args.rounds):
            for accelerated in (False, True):
                child = _run_child(workload, args.invokes, accelerated)
                if child["patched"] != accelerated:
                    print("  %s run was %spatched; is the autoload installed? see python -m fast_langgraph.doctor" % (
                        "accelerated" if accelerated else "vanilla", "" if child["patched"] else "not "))
                    all_equal = False
                times[accelerated].append(child["us_per_invoke"])
                outputs[accelerated] = child["results"]
        same = outputs[False] == outputs[True]
        all_equal &= same
        vanilla, fast = statistics.median(times[False]), statistics.median(times[True])
        print("%-22s %10.0fµs %10.0fµs %7.2fx  %s" % (workload, vanilla, fast, vanilla / fast, "yes" if same else "NO"))

    doctor = subprocess.run(
        [sys.executable, "-m", "fast_langgraph.doctor"], cwd=tempfile.gettempdir(), capture_output=True, text=True
    )
    print()
    print(doctor.stdout.rstrip())
    return 0 if all_equal and doctor.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

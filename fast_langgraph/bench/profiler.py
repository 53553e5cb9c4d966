"""Profiler overhead: ``python -m fast_langgraph.bench profiler``.

One LangGraph workload (default: the 50-turn agent with an in-memory saver,
``agent_memory_50_turns``) run side by side in one process, the same graph, in
blocks that alternate (the order rotates every round):

* ``plain``: no profiler;
* ``session``: inside one open ``GraphProfiler.profile_run()`` (the "leave it on in
  staging" case: LangGraph's functions stay wrapped, every invoke is recorded);
* ``per-invoke``: a ``profile_run()`` around each invoke (wrapping and restoring
  LangGraph's functions every time).

Median time per invoke over the rounds; results checked equal across the three,
and the profiler checked to have recorded every profiled invoke.
"""

import argparse
import json
import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

VARIANTS = ("plain", "session", "per-invoke")


def _block(variant: str, op: Callable[[], Any], n: int, profiler: Any) -> Tuple[Any, float, float]:
    """Run ``op`` ``n`` times; the result and the wall and CPU (all threads) seconds it took.

    ``session`` is timed inside the open ``profile_run()`` (the steady state of a profiler
    left on); ``per-invoke`` includes entering and leaving ``profile_run()`` every time.
    """
    result = None
    if variant == "session":
        with profiler.profile_run():
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(n):
                result = op()
            return result, time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        if variant == "plain":
            result = op()
        else:
            with profiler.profile_run():
                result = op()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run(workload: str, invokes: int, rounds: int) -> Dict[str, Any]:
    """Alternate the variants ``rounds`` times (order rotating); overhead = median of the
    per-round ratios to ``plain`` (paired, so slow drift of a shared machine cancels out)."""
    from fast_langgraph.bench.workloads import WORKLOADS
    from fast_langgraph.profiler import GraphProfiler

    op = WORKLOADS[workload][0]()
    profiler = GraphProfiler(max_runs=10, max_timelines=1)
    results: Dict[str, Any] = {}
    for variant in VARIANTS:  # warm-up, and the results to compare
        results[variant] = _block(variant, op, 1, profiler)[0]
    profiler.reset()
    wall: Dict[str, List[float]] = {v: [] for v in VARIANTS}
    cpu: Dict[str, List[float]] = {v: [] for v in VARIANTS}
    for r in range(rounds):
        for variant in VARIANTS[r % 3 :] + VARIANTS[: r % 3]:
            results[variant], w, c = _block(variant, op, invokes, profiler)
            wall[variant].append(w / invokes * 1e6)
            cpu[variant].append(c / invokes * 1e6)
    row: Dict[str, Any] = {
        "workload": workload,
        "invokes_per_block": invokes,
        "rounds": rounds,
        "same_result": all(json.dumps(results[v], default=repr) == json.dumps(results["plain"], default=repr) for v in VARIANTS),
        "runs_recorded": profiler.to_dict()["runs_recorded"],
        "runs_expected": 2 * rounds * invokes,
    }
    for variant in VARIANTS:
        row[variant] = {
            "us_per_invoke": statistics.median(wall[variant]),
            "spread": [min(wall[variant]), max(wall[variant])],
            "overhead_pct": 100.0 * (statistics.median(w / p for w, p in zip(wall[variant], wall["plain"])) - 1.0),
            "cpu_us_per_invoke": statistics.median(cpu[variant]),
            "cpu_overhead_pct": 100.0 * (statistics.median(c / p for c, p in zip(cpu[variant], cpu["plain"])) - 1.0),
        }
    row["profile"] = profiler.to_dict()["totals"]
    return row


def render(row: Dict[str, Any]) -> str:
    lines = [
        "GraphProfiler overhead on %s (%d rounds x %d invokes per variant; medians; overhead: median per-round ratio)"
        % (row["workload"], row["rounds"], row["invokes_per_block"]),
        "%-12s %14s %22s %10s %14s %10s" % ("variant", "wall", "spread (min-max)", "overhead", "CPU", "overhead"),
    ]
    for variant in VARIANTS:
        v = row[variant]
        lines.append(
            "%-12s %11.0f µs %10.0f-%-8.0f µs %+9.1f %% %11.0f µs %+9.1f %%"
            % (variant, v["us_per_invoke"], v["spread"][0], v["spread"][1], v["overhead_pct"],
               v["cpu_us_per_invoke"], v["cpu_overhead_pct"])
        )
    ok = "equal" if row["same_result"] else "DIFFERENT"
    lines.append(
        "results: %s; runs recorded: %d of %d" % (ok, row["runs_recorded"], row["runs_expected"])
    )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    from fast_langgraph.bench.workloads import WORKLOADS

    parser = argparse.ArgumentParser(prog="python -m fast_langgraph.bench profiler", description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="agent_memory_50_turns")
    parser.add_argument("--invokes", type=int, default=2, help="invokes per block")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    row = run(args.workload, args.invokes, args.rounds)
    print(json.dumps(row, indent=2) if args.json else render(row))
    return 0 if row["same_result"] and row["runs_recorded"] == row["runs_expected"] else 1

"""Profiler overhead: ``python -m fast_langgraph.bench profiler``.

One LangGraph workload (default: the 50-turn agent with an in-memory saver,
``agent_memory_50_turns``) run side by side in one process, the same graph, in
blocks that alternate (the order rotates every round):

* ``plain``: no profiler;
* ``session``: inside one open ``GraphProfiler.profile_run()`` (the "leave it on in
  staging" case: LangGraph's functions stay wrapped, every invoke is recorded);
* ``per-invoke``: a ``profile_run()`` around each invoke (wrapping and restoring
  LangGraph's functions every time);
* ``control``: no profiler again, to show how far two identical variants differ here.

Reported per invoke: the median wall and CPU time (all threads of the process)
with the overhead as the median of per-round ratios to ``plain`` (paired, so slow
drift cancels out), and the fastest CPU sample of each variant (the least disturbed
by other processes on a shared machine). Results are checked equal across the
three, and the profiler checked to have recorded every profiled invoke.
"""

import argparse
import contextlib
import json
import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

#: ``control`` is ``plain`` again: its "overhead" shows the noise of the measurement.
VARIANTS = ("plain", "session", "per-invoke", "control")


def _block(variant: str, op: Callable[[], Any], n: int, profiler: Any) -> Tuple[Any, List[float], List[float]]:
    """One untimed invoke, then ``n`` timed ones: the result, wall and CPU µs of each.

    ``session`` runs inside one open ``profile_run()`` (a profiler left on; the untimed
    invoke absorbs the first call of freshly wrapped functions); ``per-invoke`` enters
    and leaves ``profile_run()`` around every invoke, and that is timed too. CPU time is
    the whole process's (LangGraph writes checkpoints from worker threads).
    """
    wall: List[float] = []
    cpu: List[float] = []
    with profiler.profile_run() if variant == "session" else contextlib.nullcontext():
        result = op()
        for _ in range(n):
            w, c = time.perf_counter(), time.process_time()
            if variant == "per-invoke":
                with profiler.profile_run():
                    result = op()
            else:
                result = op()
            cpu.append((time.process_time() - c) * 1e6)
            wall.append((time.perf_counter() - w) * 1e6)
    return result, wall, cpu


def run(workload: str, invokes: int, rounds: int) -> Dict[str, Any]:
    """Alternate the variants ``rounds`` times (order rotating). A variant's overhead is
    the median over rounds of its per-round median divided by ``plain``'s (paired, so slow
    drift of a shared machine cancels out)."""
    from fast_langgraph.bench.workloads import WORKLOADS
    from fast_langgraph.profiler import GraphProfiler

    op = WORKLOADS[workload][0]()
    profiler = GraphProfiler(max_runs=10, max_timelines=1)
    results: Dict[str, Any] = {}
    wall: Dict[str, List[List[float]]] = {v: [] for v in VARIANTS}
    cpu: Dict[str, List[List[float]]] = {v: [] for v in VARIANTS}
    for r in range(rounds):
        k = r % len(VARIANTS)
        for variant in VARIANTS[k:] + VARIANTS[:k]:
            results[variant], w, c = _block(variant, op, invokes, profiler)
            wall[variant].append(w)
            cpu[variant].append(c)
    row: Dict[str, Any] = {
        "workload": workload,
        "invokes_per_block": invokes,
        "rounds": rounds,
        "same_result": len({json.dumps(results[v], default=repr) for v in VARIANTS}) == 1,
        "runs_recorded": profiler.to_dict()["runs_recorded"],
        "runs_expected": rounds * (2 * invokes + 1),  # the session's untimed invoke is recorded too
    }

    def overhead(samples: Dict[str, List[List[float]]], variant: str) -> float:
        ratios = [statistics.median(v) / statistics.median(p) for v, p in zip(samples[variant], samples["plain"])]
        return 100.0 * (statistics.median(ratios) - 1.0)

    for variant in VARIANTS:
        every_wall = [x for block in wall[variant] for x in block]
        every_cpu = [x for block in cpu[variant] for x in block]
        fastest_plain = min(x for block in cpu["plain"] for x in block)
        row[variant] = {
            "us_per_invoke": statistics.median(every_wall),
            "overhead_pct": overhead(wall, variant),
            "cpu_us_per_invoke": statistics.median(every_cpu),
            "cpu_overhead_pct": overhead(cpu, variant),
            # the fastest samples are the least disturbed by other processes on a shared machine
            "cpu_min_us_per_invoke": min(every_cpu),
            "cpu_min_overhead_pct": 100.0 * (min(every_cpu) / fastest_plain - 1.0),
        }
    row["profile"] = profiler.to_dict()["totals"]
    return row


def render(row: Dict[str, Any]) -> str:
    lines = [
        "GraphProfiler overhead on %s (%d rounds x %d invokes per variant; medians per invoke;"
        " overhead: median of per-round ratios)" % (row["workload"], row["rounds"], row["invokes_per_block"]),
        "%-12s %12s %10s %12s %10s %12s %10s"
        % ("variant", "wall", "overhead", "CPU", "overhead", "fastest CPU", "overhead"),
    ]
    for variant in VARIANTS:
        v = row[variant]
        lines.append(
            "%-12s %9.0f µs %+8.1f %% %9.0f µs %+8.1f %% %9.0f µs %+8.1f %%"
            % (
                variant,
                v["us_per_invoke"],
                v["overhead_pct"],
                v["cpu_us_per_invoke"],
                v["cpu_overhead_pct"],
                v["cpu_min_us_per_invoke"],
                v["cpu_min_overhead_pct"],
            )
        )
    ok = "equal" if row["same_result"] else "DIFFERENT"
    lines.append("results: %s; runs recorded: %d of %d" % (ok, row["runs_recorded"], row["runs_expected"]))
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    from fast_langgraph.bench.workloads import WORKLOADS

    parser = argparse.ArgumentParser(
        prog="python -m fast_langgraph.bench profiler", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="agent_memory_50_turns")
    parser.add_argument("--invokes", type=int, default=5, help="timed invokes per block")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    row = run(args.workload, args.invokes, args.rounds)
    print(json.dumps(row, indent=2) if args.json else render(row))
    return 0 if row["same_result"] and row["runs_recorded"] == row["runs_expected"] else 1

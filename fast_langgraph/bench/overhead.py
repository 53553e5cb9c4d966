"""Where LangGraph's per-step time goes: ``python -m fast_langgraph.bench overhead``.

Two measurements, each in fresh interpreters, vanilla (``FAST_LANGGRAPH=0``) and
accelerated:

* **Fixed vs per-superstep cost.** Linear graphs of trivial nodes (1, 5, 10 and 20
  nodes, no checkpointer) are invoked many times; a least-squares line through
  (nodes, µs per invoke) gives the per-invoke and the per-superstep framework
  overhead (node bodies are a dict literal, so nearly all of it is LangGraph's).
* ``--clock cpu`` times the child's CPU time and keeps the minimum sample: steadier
  than wall time when other jobs share the machine.
* **Per-patch contribution** (``--without a,b``): a third side, accelerated with those
  patches off (``FAST_LANGGRAPH_DISABLE``), interleaved with the other two in the same run.
* **Breakdown by area.** A 10-node graph runs under ``cProfile``; the own time of
  every function goes to its area (config and callback merging, task preparation,
  checkpoint create/copy, channel updates, executor, running the task, writes and
  streaming, serialization, saver I/O) or, if it has none, to its callers' areas in
  proportion to the time it spent under each; the remainder is the loop itself.
  cProfile slows Python code more than C code, so read the shares, not the µs.

This is the reproducible form of the breakdown the orchestration issue starts from.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Any, Dict, List, Optional, Tuple

from fast_langgraph.bench.suite import mode_env

#: Area -> substrings of "module:function" that open it (first match on the stack wins).
AREAS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("channel updates", ("_algo:apply_writes", "algo:apply_writes", "channels/", "graph/message")),
    ("task preparation", ("prepare_next_tasks", "prepare_single_task", "_triggers", "prepare_push")),
    (
        "config/callbacks",
        (
            "merge_configs",
            "patch_config",
            "ensure_config",
            "callbacks/manager",
            "get_callback_manager",
            "_merge_metadata",
            # our own replacements of some of those
            "patches/callbacks",
            "patches/merge_metadata",
        ),
    ),
    (
        "checkpoint create/copy",
        ("create_checkpoint", "copy_checkpoint", "empty_checkpoint", "channels_from_checkpoint"),
    ),
    ("serialization", ("serde/", "jsonplus")),
    ("saver I/O", ("checkpoint/memory", "checkpoint/sqlite", "sqlite_saver")),
    ("executor", ("_executor", "executor_pool", "concurrent/futures", "threading")),
    # what runs a task around the node's own body: retries, runtime copies, the node's
    # runnable sequence and its channel writes
    (
        "running the task",
        (
            "run_with_retry",
            "/_runnable",
            "utils/runnable",
            "pregel/_write",
            "pregel/write",
            "graph/state",
            "runtime.py",
        ),
    ),
    (
        "writes and streaming",
        ("put_writes", "output_writes", ":_emit", "pregel/_io", "pregel/io", "runner.py:commit", "pregel/_messages"),
    ),
)

CHILD = r"""
import json, sys, time
from fast_langgraph.bench.workloads import _linear
sizes = [int(s) for s in sys.argv[1].split(",")]
invokes = int(sys.argv[2])
clock = time.process_time if sys.argv[3] == "cpu" else time.perf_counter
out = {}
for n in sizes:
    graph = _linear(n)
    graph.invoke({"total": 0, "path": []})
    samples = []
    for _ in range(5):
        start = clock()
        for _ in range(invokes):
            graph.invoke({"total": 0, "path": []})
        samples.append((clock() - start) / invokes * 1e6)
    out[n] = min(samples) if clock is time.process_time else sorted(samples)[len(samples) // 2]
print(json.dumps(out))
"""

PROFILE_CHILD = r"""
import cProfile, json, pstats, sys
from fast_langgraph.bench.workloads import _linear
graph = _linear(10)
graph.invoke({"total": 0, "path": []})
prof = cProfile.Profile()
prof.enable()
for _ in range(int(sys.argv[1])):
    graph.invoke({"total": 0, "path": []})
prof.disable()
stats = pstats.Stats(prof).stats
rows = []
for (file, line, name), (cc, nc, tt, ct, callers) in stats.items():
    # Per caller: this function's own time when called from there (cProfile keeps it).
    rows.append([file, name, tt, [[f, n, c[2]] for (f, _l, n), c in callers.items()]])
print(json.dumps(rows))
"""


def fit(points: Dict[int, float]) -> Tuple[float, float]:
    """(per-invoke intercept, per-superstep slope) of a least-squares line."""
    xs, ys = list(points), list(points.values())
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - slope * mx, slope


#: The third side of ``--without``: accelerated, with the named patches off.
WITHOUT = "without"


def _env(mode: str, without: str) -> Dict[str, str]:
    env = mode_env(mode != "vanilla")
    if mode == WITHOUT:
        env["FAST_LANGGRAPH_DISABLE"] = without
    return env


def line_fit(sizes: List[int], invokes: int, rounds: int, without: str = "", clock: str = "wall") -> Dict[str, Any]:
    modes = ("vanilla", WITHOUT, "accelerated") if without else ("vanilla", "accelerated")
    results: Dict[str, List[Dict[int, float]]] = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode in modes:
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, ",".join(map(str, sizes)), str(invokes), clock],
                env=_env(mode, without),
                capture_output=True,
                text=True,
                check=True,
            )
            results[mode].append({int(k): v for k, v in json.loads(proc.stdout).items()})
    out: Dict[str, Any] = {}
    for mode, runs in results.items():
        pick = min if clock == "cpu" else statistics.median
        medians = {n: pick(r[n] for r in runs) for n in sizes}
        per_invoke, per_step = fit(medians)
        out[mode] = {"us_per_invoke_by_nodes": medians, "per_invoke_us": per_invoke, "per_superstep_us": per_step}
    return out


def _key(file: str, name: str) -> str:
    return "%s:%s" % (file.replace(os.sep, "/"), name)


def _area_of(key: str) -> Optional[str]:
    for area, needles in AREAS:
        if any(n in key for n in needles):
            return area
    return None


def breakdown(invokes: int, accelerated: bool) -> Dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", PROFILE_CHILD, str(invokes)],
        env=mode_env(accelerated),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(proc.stdout)
    return attribute(rows)


#: A function's own time, split over the areas its callers are in: area -> fraction.
Shares = Dict[str, float]


def attribute(rows: List[Any]) -> Dict[str, float]:
    """Share of profiled time by area, from cProfile rows ``[file, name, tt, callers]``.

    A function in no area inherits its callers' areas, weighted by the own time it
    spent under each caller (gprof's rule). Taking the first caller instead is
    wrong for anything reached along several paths: ``Context.run`` is entered
    from the node call and from a context manager's ``__exit__`` in the executor,
    and a first-match walk booked every node call to the executor.
    """
    callers: Dict[str, Dict[str, float]] = {}
    own: Dict[str, float] = {}
    for file, name, tt, called_by in rows:
        key = _key(file, name)
        own[key] = own.get(key, 0.0) + tt
        weights = callers.setdefault(key, {})
        for f, n, caller_tt in called_by:
            caller = _key(f, n)
            weights[caller] = weights.get(caller, 0.0) + caller_tt

    memo: Dict[str, Shares] = {}
    rest = "loop and the rest"

    def shares(key: str, depth: int = 0) -> Shares:
        if key in memo:
            return memo[key]
        found = _area_of(key)
        if found is not None:
            memo[key] = {found: 1.0}
            return memo[key]
        memo[key] = {rest: 1.0}  # a recursion cycle counts as the loop
        weights = callers.get(key, {})
        total = sum(weights.values())
        if total <= 0 or depth >= 40:
            return memo[key]
        out: Shares = {}
        for caller, weight in weights.items():
            for name, fraction in shares(caller, depth + 1).items():
                out[name] = out.get(name, 0.0) + fraction * weight / total
        memo[key] = out
        return out

    totals: Dict[str, float] = {}
    for key, tt in own.items():
        for name, fraction in shares(key).items():
            totals[name] = totals.get(name, 0.0) + tt * fraction
    whole = sum(totals.values()) or 1.0
    return {k: v / whole for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def render(fits: Dict[str, Any], shares: Dict[str, Dict[str, float]], without: str = "") -> str:
    lines = ["framework overhead, linear graphs of trivial nodes (least-squares fit over node counts):"]
    for mode in ("vanilla", WITHOUT, "accelerated"):
        if mode not in fits:
            continue
        f = fits[mode]
        label = "without %s" % without if mode == WITHOUT else mode
        lines.append(
            "  %-12s per invoke %7.1f µs   per superstep %6.1f µs" % (label, f["per_invoke_us"], f["per_superstep_us"])
        )
    v, a = fits["vanilla"], fits["accelerated"]
    lines.append(
        "  ratio        per invoke %6.2fx     per superstep %6.2fx"
        % (v["per_invoke_us"] / a["per_invoke_us"], v["per_superstep_us"] / a["per_superstep_us"])
    )
    if WITHOUT in fits:
        w = fits[WITHOUT]
        lines.append(
            "  %s: per invoke %6.2fx, per superstep %6.2fx (accelerated vs without them)"
            % (without, w["per_invoke_us"] / a["per_invoke_us"], w["per_superstep_us"] / a["per_superstep_us"])
        )
    lines.append("")
    lines.append("share of profiled time by area (10-node graph, cProfile):")
    areas = sorted({k for s in shares.values() for k in s}, key=lambda k: -shares["vanilla"].get(k, 0))
    lines.append("  %-26s %10s %12s" % ("area", "vanilla", "accelerated"))
    for name in areas:
        lines.append(
            "  %-26s %9.1f%% %11.1f%%"
            % (name, 100 * shares["vanilla"].get(name, 0), 100 * shares["accelerated"].get(name, 0))
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fast_langgraph.bench overhead", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", default="1,5,10,20", help="node counts of the linear graphs")
    parser.add_argument("--invokes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile-invokes", type=int, default=200)
    parser.add_argument("--without", default="", help="also measure the accelerated side with these patches off (a,b)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: median wall time; cpu: the process's CPU time, minimum over samples (steadier on a busy machine)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    fits = line_fit(sizes, args.invokes, args.rounds, args.without, args.clock)
    shares = {mode: breakdown(args.profile_invokes, mode == "accelerated") for mode in ("vanilla", "accelerated")}
    if args.json:
        print(json.dumps({"fit": fits, "shares": shares}, indent=2))
    else:
        print(render(fits, shares, args.without))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

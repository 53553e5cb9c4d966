"""Amdahl ceilings: ``python -m fast_langgraph.bench ceilings``.

How much could replacing one of LangGraph's per-step functions gain, at most? For
each function below, a fresh interpreter runs a workload with only that function
wrapped in a timer (inclusive time, found where its callers look it up), and
reports its calls per operation, µs per call and share of the operation. If the
function cost nothing, the operation would run ``1 / (1 - share)`` times faster:
that is the ceiling of any patch of it, Rust or Python. The timer's own cost
(~0.1 µs a call) is counted in the function, so ceilings are slightly generous.

The phases (``loop.tick``: task preparation and checkpoint streaming;
``run_with_retry`` + ``commit``: running the tasks and recording their writes;
``after_tick``: channel updates and the checkpoint) show how an operation splits;
what no phase covers is ``Pregel.stream``'s own loop, per-invoke setup and, with a
saver, the time the saver's thread holds the GIL (its rows).
Numbers are for the installed LangGraph, accelerated unless ``--vanilla``.
"""

import argparse
import json
from typing import Any, Dict, List, Optional, Tuple

from fast_langgraph.bench.suite import run_child

#: (label, module, attribute path): where the caller looks the function up. Modules
#: lost their leading underscore before LangGraph 0.6: the child tries both spellings.
CANDIDATES: Tuple[Tuple[str, str, str], ...] = (
    ("phase: loop.tick (prepare tasks, emit checkpoint)", "langgraph.pregel._loop", "PregelLoop.tick"),
    ("phase: run_with_retry (config, callbacks, node)", "langgraph.pregel._runner", "run_with_retry"),
    ("phase: runner commit (record writes, stream)", "langgraph.pregel._runner", "PregelRunner.commit"),
    ("phase: loop.after_tick (apply writes, checkpoint)", "langgraph.pregel._loop", "PregelLoop.after_tick"),
    ("prepare_next_tasks", "langgraph.pregel._loop", "prepare_next_tasks"),
    ("prepare_single_task", "langgraph.pregel._algo", "prepare_single_task"),
    ("merge_configs (task config)", "langgraph.pregel._algo", "merge_configs"),
    ("apply_writes", "langgraph.pregel._loop", "apply_writes"),
    ("create_checkpoint", "langgraph.pregel._loop", "create_checkpoint"),
    ("copy_checkpoint", "langgraph.pregel._loop", "copy_checkpoint"),
    ("_put_checkpoint", "langgraph.pregel._loop", "PregelLoop._put_checkpoint"),
    ("put_writes", "langgraph.pregel._loop", "SyncPregelLoop.put_writes"),
    # The saver runs in a background thread, but holds the GIL the loop needs.
    ("saver: InMemorySaver.put (its thread)", "langgraph.checkpoint.memory", "InMemorySaver.put"),
    ("saver: InMemorySaver.put_writes (its thread)", "langgraph.checkpoint.memory", "InMemorySaver.put_writes"),
)

CHILD = r"""
import importlib, json, sys, time
from fast_langgraph.bench.workloads import WORKLOADS
workload, module, path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
op = WORKLOADS[workload][0]()
try:
    owner = importlib.import_module(module)
except ImportError:
    owner = importlib.import_module(module.replace("._", "."))
*parents, name = path.split(".")
for p in parents:
    owner = getattr(owner, p)
original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
clock = time.perf_counter
spent = [0.0, 0]

def timed(*args, **kwargs):
    start = clock()
    try:
        return original(*args, **kwargs)
    finally:
        spent[0] += clock() - start
        spent[1] += 1

setattr(owner, name, timed)
for _ in range(max(2, n // 5)):
    op()
best = None
for _ in range(5):
    spent[0], spent[1] = 0.0, 0
    start = clock()
    for _ in range(n):
        op()
    whole = clock() - start
    sample = (spent[0] / whole, spent[1] / n, whole / n)
    best = sample if best is None or whole / n < best[2] else best
print(json.dumps({"share": best[0], "calls_per_op": best[1], "us_per_op": best[2] * 1e6}))
"""


def measure(workload: str, n: int, accelerated: bool) -> List[Dict[str, Any]]:
    rows = []
    for label, module, path in CANDIDATES:
        row: Dict[str, Any] = {"label": label, "target": "%s.%s" % (module, path)}
        row.update(run_child(CHILD, [workload, module, path, str(n)], accelerated))
        if "error" not in row:
            calls = row["calls_per_op"]
            row["us_per_call"] = row["share"] * row["us_per_op"] / calls if calls else 0.0
            row["ceiling"] = 1.0 / (1.0 - row["share"]) if row["share"] < 1 else float("inf")
        rows.append(row)
    return rows


def render(workload: str, accelerated: bool, rows: List[Dict[str, Any]]) -> str:
    side = "accelerated" if accelerated else "vanilla"
    lines = [
        "%s (%s): inclusive time of one function per run; ceiling = speed-up if it cost nothing" % (workload, side)
    ]
    lines.append("  %-52s %9s %9s %7s %8s" % ("function", "calls/op", "µs/call", "share", "ceiling"))
    for row in rows:
        if "error" in row:
            lines.append("  %-52s skipped: %s" % (row["label"], row["error"]))
            continue
        lines.append(
            "  %-52s %9.1f %9.2f %6.1f%% %7.2fx"
            % (row["label"], row["calls_per_op"], row["us_per_call"], 100 * row["share"], row["ceiling"])
        )
    phases = [r for r in rows if r["label"].startswith("phase:") and "error" not in r]
    if phases:
        covered = sum(r["share"] for r in phases)
        lines.append(
            "  phases together: %.1f%% of the operation; the rest is Pregel.stream's loop, per-invoke setup, the saver's thread"
            % (100 * covered)
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fast_langgraph.bench ceilings", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--workloads", default="linear10_sync,agent_memory_50_turns", help="bench suite workloads, comma-separated"
    )
    parser.add_argument(
        "--ops", type=int, default=0, help="operations per sample (default: the suite's quick count x5)"
    )
    parser.add_argument("--vanilla", action="store_true", help="measure with FAST_LANGGRAPH=0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from fast_langgraph.bench.workloads import WORKLOADS

    out = {}
    for workload in args.workloads.split(","):
        n = args.ops or WORKLOADS[workload][1] * 5
        out[workload] = measure(workload, n, not args.vanilla)
        if not args.json:
            print(render(workload, not args.vanilla, out[workload]), flush=True)
    if args.json:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

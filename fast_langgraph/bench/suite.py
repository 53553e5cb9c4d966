"""``python -m fast_langgraph.bench`` (or ``... bench suite``): real LangGraph workloads,
vanilla (``FAST_LANGGRAPH=0``) against accelerated, side by side.

Every sample runs in a fresh interpreter; the two modes alternate, several
rounds; the table reports median time per operation, the spread (min-max) and
the ratio, and every workload's results are checked equal between the modes.
``--quick`` finishes in about a minute; ``--json`` for tools; ``--plot out.png``
(needs matplotlib); ``--compare PYTHON`` runs the accelerated side under
another interpreter or venv (e.g. one with a different accelerator installed).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

CHILD = (
    "import json, sys, time\n"
    "from fast_langgraph.bench.workloads import WORKLOADS\n"
    "setup, quick, full = WORKLOADS[sys.argv[1]]\n"
    "n = int(sys.argv[2])\n"
    "op = setup()\n"
    "result = op()  # warm-up, and the result to compare\n"
    "start = time.perf_counter()\n"
    "for _ in range(n):\n"
    "    op()\n"
    "elapsed = time.perf_counter() - start\n"
    "mods = [sys.modules.get(m) for m in ('langgraph.pregel._executor', 'langgraph.pregel.executor')]\n"
    "patched = any(getattr(getattr(m, 'get_executor_for_config', None), '__module__', '') == 'fast_langgraph.executor_pool' for m in mods if m)\n"
    "json.dump({'us_per_op': elapsed / n * 1e6, 'result': result, 'patched': patched}, sys.stdout, default=repr)\n"
)


def _sample(python: str, workload: str, n: int, accelerated: bool) -> Dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAST_LANGGRAPH")}
    if not accelerated:
        env["FAST_LANGGRAPH"] = "0"
    proc = subprocess.run(
        [python, "-c", CHILD, workload, str(n)], env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "exit %d" % proc.returncode}
    return json.loads(proc.stdout)


def run(quick: bool, rounds: int, workloads: List[str], compare: Optional[str]) -> List[Dict[str, Any]]:
    from fast_langgraph.bench.workloads import WORKLOADS

    rows = []
    for name in workloads:
        _, quick_n, full_n = WORKLOADS[name]
        n = quick_n if quick else full_n
        samples: Dict[str, List[float]] = {"vanilla": [], "accelerated": []}
        results: Dict[str, Any] = {}
        patched: Dict[str, bool] = {}
        error = None
        for _ in range(rounds):
            for mode in ("vanilla", "accelerated"):
                python = compare if (compare and mode == "accelerated") else sys.executable
                out = _sample(python, name, n, mode == "accelerated")
                if "error" in out:
                    error = "%s: %s" % (mode, out["error"])
                    break
                samples[mode].append(out["us_per_op"])
                results[mode] = out["result"]
                patched[mode] = out["patched"]
            if error:
                break
        row: Dict[str, Any] = {"workload": name, "ops_per_sample": n, "rounds": rounds}
        if error:
            row["error"] = error
        else:
            v, a = samples["vanilla"], samples["accelerated"]
            row.update(
                vanilla_us=statistics.median(v),
                accelerated_us=statistics.median(a),
                vanilla_spread=[min(v), max(v)],
                accelerated_spread=[min(a), max(a)],
                ratio=statistics.median(v) / statistics.median(a),
                same_result=results["vanilla"] == results["accelerated"],
                accelerated_was_patched=patched["accelerated"],
                vanilla_was_unpatched=not patched["vanilla"],
            )
        rows.append(row)
    return rows


def render(rows: List[Dict[str, Any]]) -> str:
    lines = ["%-28s %14s %14s %8s  %s" % ("workload", "vanilla", "accelerated", "ratio", "results")]
    for r in rows:
        if "error" in r:
            lines.append("%-28s  skipped: %s" % (r["workload"], r["error"][:90]))
            continue
        ok = "equal" if r["same_result"] else "DIFFERENT"
        if not (r["accelerated_was_patched"] and r["vanilla_was_unpatched"]):
            ok += " (modes not as intended: is the autoload installed?)"
        lines.append(
            "%-28s %11.0f µs %11.0f µs %7.2fx  %s"
            % (r["workload"], r["vanilla_us"], r["accelerated_us"], r["ratio"], ok)
        )
    return "\n".join(lines)


def plot(rows: List[Dict[str, Any]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    good = [r for r in rows if "error" not in r]
    names = [r["workload"] for r in good]
    ratios = [r["ratio"] for r in good]
    # spread of the ratio: best/worst pairing of the two modes' samples
    lo = [r["ratio"] - r["vanilla_spread"][0] / r["accelerated_spread"][1] for r in good]
    hi = [r["vanilla_spread"][1] / r["accelerated_spread"][0] - r["ratio"] for r in good]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(good) + 1.5))
    ax.barh(names, ratios, xerr=[lo, hi], color="#4c72b0")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("speedup (vanilla time / accelerated time)")
    ax.set_title("fast_langgraph vs vanilla LangGraph")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: Optional[List[str]] = None) -> int:
    from fast_langgraph.bench.workloads import WORKLOADS

    parser = argparse.ArgumentParser(prog="python -m fast_langgraph.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few operations, 2 rounds: about a minute")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--plot", metavar="PNG")
    parser.add_argument("--compare", metavar="PYTHON", help="interpreter for the accelerated side")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 5)
    started = time.perf_counter()
    rows = run(args.quick, rounds, args.only or list(WORKLOADS), args.compare)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(render(rows))
        print("(%d rounds, fresh interpreters, alternating; %.0f s)" % (rounds, time.perf_counter() - started))
    if args.plot:
        plot(rows, args.plot)
    differing = [r["workload"] for r in rows if "error" not in r and not r["same_result"]]
    return 1 if differing else 0

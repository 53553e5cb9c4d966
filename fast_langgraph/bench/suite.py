"""``python -m fast_langgraph.bench`` (or ``... bench suite``): real LangGraph workloads,
vanilla (``FAST_LANGGRAPH=0``) against accelerated, side by side.

Every sample runs in a fresh interpreter, timed after one warm-up operation and a
full collection (start-up's first full collection is not an operation's cost); the two
modes alternate, several rounds; the table reports median time per operation, the
spread (min-max) and the ratio, and every workload's results are checked equal between
the modes.
``--quick`` finishes in about a minute; ``--json`` for tools; ``--plot out.png``
(needs matplotlib); ``--compare PYTHON`` runs the accelerated side under
another interpreter or venv (e.g. one with a different accelerator installed).
``--instructions`` counts CPU instructions per operation under valgrind instead
(deterministic on a noisy machine; see ``fast_langgraph.bench.instructions``).
``--markdown PATH`` writes the table as Markdown, with the machine, the versions,
the date and the command; ``--readme README.md`` puts that table in place of the
block between ``<!-- bench:start -->`` and ``<!-- bench:end -->``.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

#: The README block that ``--readme`` replaces (markers included, kept).
README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"

#: What a side's interpreter reports about itself (run there, not here: ``--compare``).
VERSIONS = (
    "import json, platform, importlib.metadata as m\n"
    "def v(name):\n"
    "    try:\n"
    "        return m.version(name)\n"
    "    except m.PackageNotFoundError:\n"
    "        return None\n"
    "info = {'python': platform.python_version(), 'implementation': platform.python_implementation()}\n"
    "for name in ('langgraph', 'langchain-core', 'langgraph-checkpoint', 'fast-langgraph'):\n"
    "    info[name] = v(name)\n"
    "try:\n"
    "    from fast_langgraph._rust import require_core\n"
    "    info['rust_core'] = require_core().build_info()['profile']\n"
    "except Exception:\n"
    "    info['rust_core'] = None\n"
    "print(json.dumps(info))\n"
)

CHILD = (
    "import gc, json, sys, time\n"
    "from fast_langgraph.bench.workloads import WORKLOADS\n"
    "setup, quick, full = WORKLOADS[sys.argv[1]]\n"
    "n = int(sys.argv[2])\n"
    "op = setup()\n"
    "result = op()  # warm-up, and the result to compare\n"
    "# The first full collection after the imports is start-up's cost, not an operation's\n"
    "# (a long-running process pays it once): taken here, on both sides.\n"
    "gc.collect()\n"
    "start = time.perf_counter()\n"
    "for _ in range(n):\n"
    "    op()\n"
    "elapsed = time.perf_counter() - start\n"
    "mods = [sys.modules.get(m) for m in ('langgraph.pregel._executor', 'langgraph.pregel.executor')]\n"
    "patched = any(getattr(getattr(m, 'get_executor_for_config', None), '__module__', '') == 'fast_langgraph.executor_pool' for m in mods if m)\n"
    "json.dump({'us_per_op': elapsed / n * 1e6, 'result': result, 'patched': patched}, sys.stdout, default=repr)\n"
)


def mode_env(accelerated: bool) -> Dict[str, str]:
    """This environment without our switches; ``FAST_LANGGRAPH=0`` on the vanilla side."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAST_LANGGRAPH")}
    if not accelerated:
        env["FAST_LANGGRAPH"] = "0"
    return env


def run_child(code: str, args: List[str], accelerated: bool, python: str = sys.executable) -> Dict[str, Any]:
    """Run ``code`` in a fresh interpreter outside the source tree; its JSON output, or ``{"error": last stderr line}``."""
    proc = subprocess.run(
        [python, "-c", code, *args],
        env=mode_env(accelerated),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "exit %d" % proc.returncode}
    return json.loads(proc.stdout)


def _sample(python: str, workload: str, n: int, accelerated: bool) -> Dict[str, Any]:
    return run_child(CHILD, [workload, str(n)], accelerated, python)


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


def text_table(rows: List[Dict[str, Any]], unit: str, cell: Callable[[Dict[str, Any]], Tuple[str, str, str]]) -> str:
    """The plain-text table of a side-by-side run: workload, the two sides' figures (``cell``
    gives them and the results column), ratio; skipped rows say why."""
    width = max([len("workload")] + [len(r["workload"]) for r in rows])
    column = 11 + len(unit)
    lines = ["%-*s %*s %*s %8s  %s" % (width, "workload", column, "vanilla", column, "accelerated", "ratio", "results")]
    for r in rows:
        if "error" in r:
            lines.append("%-*s  skipped: %s" % (width, r["workload"], r["error"][:100]))
            continue
        vanilla, accelerated, results = cell(r)
        lines.append(
            "%-*s %11s%s %11s%s %7.2fx  %s"
            % (width, r["workload"], vanilla, unit, accelerated, unit, r["ratio"], results)
        )
    return "\n".join(lines)


def render(rows: List[Dict[str, Any]]) -> str:
    def cell(r: Dict[str, Any]) -> Tuple[str, str, str]:
        ok = "equal" if r["same_result"] else "DIFFERENT"
        if not (r["accelerated_was_patched"] and r["vanilla_was_unpatched"]):
            ok += " (modes not as intended: is the autoload installed?)"
        return "%.0f" % r["vanilla_us"], "%.0f" % r["accelerated_us"], ok

    return text_table(rows, " µs", cell)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            return subprocess.check_output(["sysctl", "-n", "machdep.cpu.brand_string"], text=True).strip()
        except (OSError, subprocess.CalledProcessError):
            pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _versions(python: str) -> Dict[str, Any]:
    proc = subprocess.run([python, "-c", VERSIONS], cwd=tempfile.gettempdir(), capture_output=True, text=True)
    return json.loads(proc.stdout) if proc.returncode == 0 else {"error": proc.stderr.strip()[-200:]}


def describe_machine(compare: Optional[str] = None) -> Dict[str, Any]:
    """The machine and, per side, the interpreter and package versions the children ran."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info: Dict[str, Any] = {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "os": "%s %s %s" % (platform.system(), platform.release(), platform.machine()),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "vanilla": _versions(sys.executable),
    }
    info["accelerated"] = _versions(compare) if compare else info["vanilla"]
    return info


def _side(v: Dict[str, Any]) -> str:
    if "error" in v:
        return "versions unknown (%s)" % v["error"]
    parts = ["%s %s" % ("Python" if v["implementation"] == "CPython" else v["implementation"], v["python"])]
    for name, label in (
        ("langgraph", "LangGraph"),
        ("langchain-core", "langchain-core"),
        ("langgraph-checkpoint", "langgraph-checkpoint"),
    ):
        if v.get(name):
            parts.append("%s %s" % (label, v[name]))
    if v.get("fast-langgraph"):
        core = v.get("rust_core")
        parts.append(
            "fast_langgraph %s%s" % (v["fast-langgraph"], " (%s Rust core)" % core if core else " (no Rust core)")
        )
    return ", ".join(parts)


def render_markdown(rows: List[Dict[str, Any]], machine: Dict[str, Any], command: str, rounds: int) -> str:
    """The results as a Markdown fragment: how they were obtained, then one row per workload.

    Times are the median µs per operation with the min-max over rounds; the speedup
    range pairs the slowest vanilla with the fastest accelerated sample and vice versa.
    """
    cpus = "%d logical CPUs" % machine["logical_cpus"]
    if machine["usable_cpus"] != machine["logical_cpus"]:
        cpus += " (%d usable)" % machine["usable_cpus"]
    if machine["accelerated"] == machine["vanilla"]:
        software = _side(machine["vanilla"])
    else:
        software = "vanilla: %s; accelerated: %s" % (_side(machine["vanilla"]), _side(machine["accelerated"]))
    lines = [
        "From `%s` (%s), on %s, %s, %s; %s."
        % (command, machine["date"], machine["cpu"], cpus, machine["os"], software),
        "Median µs per operation over %d round%s (min–max), every sample in a fresh interpreter "
        "(timed after a warm-up operation and a full collection), vanilla (`FAST_LANGGRAPH=0`) and "
        "accelerated alternating; the last column compares their results." % (rounds, "" if rounds == 1 else "s"),
        "",
        "| workload | vanilla µs | accelerated µs | speedup (range) | results |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        name = "`%s`" % r["workload"]
        if "error" in r:
            lines.append("| %s | | | | skipped: %s |" % (name, r["error"][:90].replace("|", "\\|")))
            continue
        v, a = r["vanilla_spread"], r["accelerated_spread"]
        ok = "equal" if r["same_result"] else "**different**"
        if not (r["accelerated_was_patched"] and r["vanilla_was_unpatched"]):
            ok += " (modes not as intended)"
        lines.append(
            "| %s | %s (%s–%s) | %s (%s–%s) | %.2f× (%.2f–%.2f) | %s |"
            % (
                name,
                _us(r["vanilla_us"]),
                _us(v[0]),
                _us(v[1]),
                _us(r["accelerated_us"]),
                _us(a[0]),
                _us(a[1]),
                r["ratio"],
                v[0] / a[1],
                v[1] / a[0],
                ok,
            )
        )
    return "\n".join(lines) + "\n"


def _us(value: float) -> str:
    return "%.0f" % value if value >= 100 else "%.1f" % value


def replace_block(text: str, fragment: str) -> str:
    """``text`` with what lies between the bench markers replaced by ``fragment``."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start or text.count(README_START) != 1 or text.count(README_END) != 1:
        raise ValueError("expected one %s and, after it, one %s" % (README_START, README_END))
    head = text[: start + len(README_START)]
    # A blank line before the end marker, so the Markdown table ends before the comment.
    return head + "\n" + fragment.rstrip("\n") + "\n\n" + text[end:]


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
    parser.add_argument("--markdown", metavar="PATH", help="write the table as Markdown ('-': standard output)")
    parser.add_argument("--readme", metavar="PATH", help="replace the block between the bench markers in this file")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count CPU instructions per operation under valgrind instead of timing (deterministic; no I/O waits)",
    )
    parser.add_argument("--ops", type=int, default=None, help="with --instructions: operations counted per side")
    parser.add_argument("--valgrind", metavar="PATH", help="with --instructions: the valgrind to run")
    args = parser.parse_args(argv)
    if args.instructions:
        if args.markdown or args.readme or args.plot:
            parser.error("--instructions prints its own table; --markdown/--readme/--plot are for timings")
        from fast_langgraph.bench import instructions

        try:
            counted = instructions.run(args.only or list(WORKLOADS), args.ops, args.valgrind, args.compare)
        except instructions.InstructionCountError as e:
            parser.error(str(e))
        print(json.dumps(counted, indent=2) if args.json else instructions.render(counted))
        return 0 if all("error" not in r and r["same_result"] for r in counted) else 1
    if args.readme:
        # Fail before the run, not after it.
        try:
            with open(args.readme, encoding="utf-8") as f:
                replace_block(f.read(), "")
        except (OSError, ValueError) as e:
            parser.error("--readme %s: %s" % (args.readme, e))
    rounds = args.rounds or (2 if args.quick else 5)
    started = time.perf_counter()
    rows = run(args.quick, rounds, args.only or list(WORKLOADS), args.compare)
    if args.json:
        print(json.dumps(rows, indent=2))
    elif args.markdown != "-":
        print(render(rows))
        print("(%d rounds, fresh interpreters, alternating; %.0f s)" % (rounds, time.perf_counter() - started))
    if args.plot:
        plot(rows, args.plot)
    if args.markdown or args.readme:
        command = "python -m fast_langgraph.bench " + shlex.join(_reproduce(sys.argv[1:] if argv is None else argv))
        fragment = render_markdown(rows, describe_machine(args.compare), command.strip(), rounds)
        if args.markdown == "-":
            sys.stdout.write(fragment)
        elif args.markdown:
            with open(args.markdown, "w", encoding="utf-8") as f:
                f.write(fragment)
        if args.readme:
            with open(args.readme, encoding="utf-8") as f:
                text = f.read()
            with open(args.readme, "w", encoding="utf-8") as f:
                f.write(replace_block(text, fragment))
    differing = [r["workload"] for r in rows if "error" not in r and not r["same_result"]]
    return 1 if differing else 0


def _reproduce(argv: Sequence[str]) -> List[str]:
    """``argv`` without the output options: the command that reproduces the measurement."""
    out: List[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--markdown", "--readme", "--plot"):
            skip = True
        elif not arg.startswith(("--markdown=", "--readme=", "--plot=")) and arg not in ("--json", "suite"):
            out.append(arg)
    return out

"""LangGraph's own benchmark programs: ``python -m fast_langgraph.bench langgraph-programs``.

Gets the sdist of the installed langgraph (``pip download --no-deps --no-binary :all:``,
cached under ``<repo>/.cache/upstream`` by ``compat_matrix/upstream_suite.py``'s helpers)
and runs the programs in its ``bench/`` directory unmodified: each case is one of
``bench/__main__.py``'s pyperf tasks, run as pyperf itself runs it, in a worker
process (``python -m bench --worker --worker-task=K``) started fresh for every
sample, vanilla (``FAST_LANGGRAPH=0``) and accelerated alternating, several rounds.
A sample is the mean of the worker's values; a case's ratio is the median vanilla
sample over the median accelerated one, and its noise the sample range of each side
((max - min) / median). The summary gives the geometric mean of the ratios over the
async cases (upstream's default: ``astream`` on uvloop) and over the ``_sync`` ones.

The programs throw their output away (``len([...])``), so the results check is ours:
a fresh interpreter per mode loads ``bench/__main__.py`` with pyperf's ``Runner``
recording the cases instead of timing them (``random`` seeded, so the generated inputs
agree), streams each graph case once with the same arguments and compares the chunks
(UUIDs and object addresses masked) between the modes: in order for the async cases, as a
multiset for the ``_sync`` ones (their parallel tasks run on threads, so the order their
updates arrive in varies from run to run, vanilla or not).

Needs a source checkout (for ``compat_matrix/``), ``pyperf`` and ``uvloop`` (what the
programs import), and network access once. ``--quick``: three async cases and their
``_sync`` variants, 3 rounds, for CI.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from fast_langgraph.bench.suite import mode_env

REPO_ROOT = Path(__file__).resolve().parents[2]

QUICK_CASES = (
    "react_agent_10x",
    "react_agent_10x_sync",
    "fanout_to_subgraph_10x",
    "fanout_to_subgraph_10x_sync",
    "sequential_10",
    "sequential_10_sync",
)

#: Run in the programs' tree: the cases bench/__main__.py registers, in pyperf's task
#: order, and (with --check) a digest of each graph case's streamed output.
LIST_CHILD = r"""
import asyncio, hashlib, json, random, re, runpy, sys
random.seed(0)
import pyperf._runner

cases = []

class Recorder:
    def __init__(self, *a, **k):
        pass
    def bench_func(self, name, func, *args, **kwargs):
        cases.append((name, False, func, args))
    def bench_async_func(self, name, func, *args, **kwargs):
        cases.append((name, True, func, args))
    def bench_time_func(self, name, func, *args, **kwargs):
        cases.append((name, False, func, args))

pyperf._runner.Runner = Recorder
runpy.run_module("bench", run_name="__main__")
wanted = set(json.loads(sys.argv[1])) if len(sys.argv) > 1 else None
_MASK = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|0x[0-9a-f]{6,}")

def digest(chunks, ordered):
    # A sync graph runs parallel tasks on threads: the order their updates arrive in is
    # not deterministic, vanilla or not; compare those as a multiset.
    texts = [_MASK.sub("#", repr(c)) for c in chunks]
    if not ordered:
        texts.sort()
    return {"chunks": len(chunks), "sha256": hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]}

def stream_kwargs(graph):
    # durability= arrived in LangGraph 0.6; older lines write every step (the result is the same).
    import inspect
    return {"durability": "exit"} if "durability" in inspect.signature(graph.stream).parameters else {}

async def acollect(graph, inp, config):
    return [c async for c in graph.astream(inp, config, **stream_kwargs(graph))]

out = []
for task, (name, is_async, func, args) in enumerate(cases):
    row = {"name": name, "task": task, "async": is_async, "func": func.__name__}
    if wanted is not None and name in wanted and func.__name__ in ("arun", "run") and len(args) == 2:
        graph, inp = args
        config = {"configurable": {"thread_id": "check"}, "recursion_limit": 1000000000}
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if is_async:
                chunks = asyncio.run(acollect(graph, inp, config))
            else:
                chunks = list(graph.stream(inp, config, **stream_kwargs(graph)))
        row["result"] = digest(chunks, ordered=is_async)
    out.append(row)
print(json.dumps(out))
"""


def _upstream_suite() -> Any:
    """``compat_matrix/upstream_suite.py`` (stdlib only), loaded from the source checkout."""
    path = REPO_ROOT / "compat_matrix" / "upstream_suite.py"
    if not path.is_file():
        raise SystemExit("langgraph-programs needs a source checkout of fast_langgraph (%s is missing)" % path)
    spec = importlib.util.spec_from_file_location("_fast_langgraph_upstream_suite", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def programs_tree(workdir: Path, version: Optional[str] = None) -> Path:
    """The extracted sdist of langgraph ``version`` (default: installed), without its package source."""
    suite = _upstream_suite()
    version = version or suite.dist_version("langgraph")
    if version is None:
        raise SystemExit("langgraph is not installed")
    try:
        with contextlib.redirect_stdout(sys.stderr):  # its progress lines; stdout may be --json
            sdist = suite.obtain_sdist(workdir, "langgraph", version)
        tree = suite.extract_tests(sdist, workdir / ("programs-%s" % version), "langgraph")
    except suite.SetupError as exc:
        raise SystemExit(str(exc)) from None
    if not (tree / "bench" / "__main__.py").is_file():
        raise SystemExit("the sdist of langgraph %s has no bench/__main__.py" % version)
    return tree


def _python_json(code: str, args: Sequence[str], tree: Path, accelerated: bool, timeout: float) -> Any:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=str(tree),
        env=mode_env(accelerated),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "exit %d" % proc.returncode)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def list_cases(tree: Path, check: Sequence[str] = (), accelerated: bool = False) -> List[Dict[str, Any]]:
    return _python_json(LIST_CHILD, [json.dumps(list(check))], tree, accelerated, timeout=1800)


def sample(tree: Path, task: int, loops: int, values: int, accelerated: bool) -> float:
    """One fresh pyperf worker running task ``task``: the mean of its values (seconds per call)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        cmd = [
            sys.executable,
            "-m",
            "bench",
            "--worker",
            "--worker-task=%d" % task,
            "--loops=%d" % loops,
            "--warmups=1",
            "--values=%d" % values,
            "--quiet",
            "--output",
            str(out),
        ]
        proc = subprocess.run(
            cmd, cwd=str(tree), env=mode_env(accelerated), capture_output=True, text=True, timeout=900
        )
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr.strip() or "exit %d" % proc.returncode).splitlines()[-1]
            raise RuntimeError(tail)
        data = json.loads(out.read_text())
    found = [v for b in data["benchmarks"] for r in b["runs"] for v in r.get("values", ())]
    if not found:
        raise RuntimeError("worker wrote no values")
    return statistics.fmean(found) / loops


def geomean(ratios: Sequence[float]) -> Optional[float]:
    return math.exp(statistics.fmean(math.log(r) for r in ratios)) if ratios else None


def spread(samples: Sequence[float]) -> float:
    """The sample range relative to the median."""
    return (max(samples) - min(samples)) / statistics.median(samples)


def run(
    tree: Path, names: Sequence[str], rounds: int, values: int, min_time: float, check: bool, log: Any = print
) -> Dict[str, Any]:
    cases = {c["name"]: c for c in list_cases(tree)}
    unknown = [n for n in names if n not in cases]
    if unknown:
        raise SystemExit("no such case: %s (have: %s)" % (", ".join(unknown), ", ".join(cases)))
    checks: Dict[str, Any] = {}
    if check:
        graphs = [n for n in names if cases[n]["func"] in ("arun", "run")]
        per_mode = {m: {c["name"]: c.get("result") for c in list_cases(tree, graphs, m)} for m in (False, True)}
        checks = {n: per_mode[False][n] == per_mode[True][n] for n in graphs}
    rows = []
    for name in names:
        case = cases[name]
        row: Dict[str, Any] = {"case": name, "async": case["async"], "rounds": rounds}
        try:
            # pyperf's own calibration aims each value at >= 0.1 s; one untimed-loop probe does here.
            probe = sample(tree, case["task"], 1, 1, False)
            loops = max(1, math.ceil(min_time / probe))
            got: Dict[str, List[float]] = {"vanilla": [], "accelerated": []}
            for _ in range(rounds):
                for mode in ("vanilla", "accelerated"):
                    got[mode].append(sample(tree, case["task"], loops, values, mode == "accelerated"))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            row["error"] = str(exc)
            rows.append(row)
            log("%-40s error: %s" % (name, exc))
            continue
        v, a = got["vanilla"], got["accelerated"]
        row.update(
            loops=loops,
            vanilla_ms=statistics.median(v) * 1e3,
            accelerated_ms=statistics.median(a) * 1e3,
            vanilla_noise=spread(v),
            accelerated_noise=spread(a),
            ratio=statistics.median(v) / statistics.median(a),
            same_result=checks.get(name),
        )
        rows.append(row)
        log(_line(row))
    graph_rows = [r for r in rows if "ratio" in r and cases[r["case"]]["func"] in ("arun", "run")]
    summary = {
        "async_geomean": geomean([r["ratio"] for r in graph_rows if r["async"]]),
        "sync_geomean": geomean([r["ratio"] for r in graph_rows if not r["async"]]),
        "async_cases": sum(1 for r in graph_rows if r["async"]),
        "sync_cases": sum(1 for r in graph_rows if not r["async"]),
        "max_noise": max([max(r["vanilla_noise"], r["accelerated_noise"]) for r in rows if "ratio" in r] or [0.0]),
    }
    return {"rows": rows, "summary": summary}


HEADER = "%-40s %11s %11s %7s %13s  %s" % ("case", "vanilla ms", "accel ms", "ratio", "noise v/a", "results")


def _line(r: Dict[str, Any]) -> str:
    if "error" in r:
        return "%-40s error: %s" % (r["case"], r["error"])
    same = {None: "-", True: "equal", False: "DIFFER"}[r["same_result"]]
    return "%-40s %11.3f %11.3f %6.2fx %5.0f%%/%4.0f%%  %s" % (
        r["case"],
        r["vanilla_ms"],
        r["accelerated_ms"],
        r["ratio"],
        r["vanilla_noise"] * 100,
        r["accelerated_noise"] * 100,
        same,
    )


def render_summary(summary: Dict[str, Any]) -> str:
    def g(x: Optional[float]) -> str:
        return "-" if x is None else "%.2fx" % x

    return "geomean: async %s over %d cases, _sync %s over %d cases; largest sample range %.0f%% of a median" % (
        g(summary["async_geomean"]),
        summary["async_cases"],
        g(summary["sync_geomean"]),
        summary["sync_cases"],
        summary["max_noise"] * 100,
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fast_langgraph.bench langgraph-programs", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="%d cases, 3 rounds" % len(QUICK_CASES))
    parser.add_argument("--cases", help="comma-separated case names (default: every graph run case)")
    parser.add_argument("--all", action="store_true", help="also the compilation and serde-allowlist cases")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 5, --quick 3)")
    parser.add_argument("--values", type=int, default=3, help="timed values per worker (default 3)")
    parser.add_argument("--min-time", type=float, default=0.1, help="seconds per value (default 0.1, as pyperf)")
    parser.add_argument("--no-check", action="store_true", help="skip the results check")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / ".cache" / "upstream")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    tree = programs_tree(args.workdir)
    if args.list:
        for c in list_cases(tree):
            print("%-45s %s" % (c["name"], c["func"]))
        return 0
    if args.cases:
        names = [n.strip() for n in args.cases.split(",") if n.strip()]
    elif args.quick:
        names = list(QUICK_CASES)
    else:
        names = [c["name"] for c in list_cases(tree) if args.all or c["func"] in ("arun", "run")]
    rounds = args.rounds or (3 if args.quick else 5)
    started = time.perf_counter()
    quiet = args.json
    if not quiet:
        print(HEADER)
    result = run(
        tree, names, rounds, args.values, args.min_time, not args.no_check, log=(lambda *_: None) if quiet else print
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(render_summary(result["summary"]))
        print(
            "(%s; %d rounds, a fresh pyperf worker per sample, alternating; noise = sample range / median; %.0f s)"
            % (tree, rounds, time.perf_counter() - started)
        )
    differing = [r["case"] for r in result["rows"] if r.get("same_result") is False]
    errors = [r["case"] for r in result["rows"] if "error" in r]
    return 1 if differing or errors else 0

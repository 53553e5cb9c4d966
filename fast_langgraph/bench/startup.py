"""Start-up cost of the autoload: ``python -m fast_langgraph.bench startup``.

Builds two throw-away virtualenvs on this interpreter that differ only by
``fast_langgraph_autoload.pth`` (both see this environment's packages through
the same path line), then times, interleaved, medians of many runs:

* ``python -c pass`` without the ``.pth``, with it, and with it plus ``FAST_LANGGRAPH=0``
  (budgets: +1.5 ms and +0.5 ms);
* ``python -c "import langgraph.graph"`` with it and ``FAST_LANGGRAPH=0``, with it and
  patches active (budget: +3 % over ``FAST_LANGGRAPH=0``), and without it.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
from pathlib import Path
from typing import Any, Dict, List, Optional

BUDGET_PASS_MS = 1.5
BUDGET_OFF_MS = 0.5
BUDGET_IMPORT = 0.03


def _pth_line() -> str:
    import fast_langgraph

    installed = [
        Path(p) / "fast_langgraph_autoload.pth"
        for p in sys.path
        if p and (Path(p) / "fast_langgraph_autoload.pth").is_file()
    ]
    if installed:
        return installed[0].read_text()
    source = Path(fast_langgraph.__file__).resolve().parent.parent / "fast_langgraph.pth"
    return source.read_text()


def _make_env(root: Path, with_autoload: bool) -> str:
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / "bin" / "python"
    purelib = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    import fast_langgraph

    package_root = str(Path(fast_langgraph.__file__).resolve().parent.parent)
    paths = list(dict.fromkeys([sysconfig.get_paths()["purelib"], package_root]))
    (purelib / "zz_shared_env.pth").write_text("\n".join(paths) + "\n")
    if with_autoload:
        (purelib / "fast_langgraph_autoload.pth").write_text(_pth_line())
    return str(python)


def _time(python: str, code: str, env: Dict[str, str], cpu: Optional[List[float]] = None) -> float:
    """Wall time of one child; its CPU time (user + sys) is appended to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # cwd: the venv's own empty parent, not the shared temp dir (a stray types.py there
    # would shadow the stdlib: `python -c` puts the cwd first on sys.path).
    subprocess.run([python, "-c", code], env=env, cwd=str(Path(python).parent.parent.parent), check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def run(runs: int = 40, import_runs: int = 20) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        # Every module from bytecode, as after a pip install (which compiles): with
        # PYTHONDONTWRITEBYTECODE in the environment, an editable checkout would otherwise
        # compile fast_langgraph's sources in every run (~25 ms) and LangGraph's not. The
        # warm-up runs below fill this cache for both sides.
        base_env = {
            k: v for k, v in os.environ.items() if not k.startswith("FAST_LANGGRAPH") and k != "PYTHONDONTWRITEBYTECODE"
        }
        base_env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        off_env = dict(base_env, FAST_LANGGRAPH="0")
        vanilla = _make_env(Path(tmp) / "vanilla", False)
        autoload = _make_env(Path(tmp) / "autoload", True)
        probe = "import langgraph.graph, sys; print('fast_langgraph._patching' in sys.modules)"
        patched = subprocess.check_output([autoload, "-c", probe], env=base_env, cwd=tmp, text=True).strip() == "True"
        unpatched = subprocess.check_output([vanilla, "-c", probe], env=base_env, cwd=tmp, text=True).strip() == "False"

        cases = {"vanilla": (vanilla, base_env), "autoload": (autoload, base_env), "autoload_off": (autoload, off_env)}
        samples: Dict[str, List[float]] = {k: [] for k in cases}
        for _ in range(3):  # warm the page cache
            for python, env in cases.values():
                _time(python, "pass", env)
        for _ in range(runs):
            for name, (python, env) in cases.items():
                samples[name].append(_time(python, "pass", env))
        imports: Dict[str, List[float]] = {"autoload_off": [], "autoload": [], "vanilla": []}
        imports_cpu: Dict[str, List[float]] = {k: [] for k in imports}
        for _ in range(2):  # warm the page cache for LangGraph's files
            for name in imports:
                python, env = cases[name]
                _time(python, "import langgraph.graph", env)
        for _ in range(import_runs):
            for name in imports:
                python, env = cases[name]
                imports[name].append(_time(python, "import langgraph.graph", env, imports_cpu[name]))

    med = {k: statistics.median(v) * 1e3 for k, v in samples.items()}
    imp = {k: statistics.median(v) * 1e3 for k, v in imports.items()}
    pass_overhead = med["autoload"] - med["vanilla"]
    pass_overhead_off = med["autoload_off"] - med["vanilla"]
    cpu = {k: statistics.median(v) * 1e3 for k, v in imports_cpu.items()}
    # The budget is on CPU time: on a shared machine wall time mostly measures the neighbours.
    import_overhead = cpu["autoload"] / cpu["autoload_off"] - 1
    import_overhead_wall = imp["autoload"] / imp["autoload_off"] - 1
    spread = {k: (min(v) * 1e3, max(v) * 1e3) for k, v in imports.items()}
    result: Dict[str, Any] = {
        "runs": runs,
        "import_runs": import_runs,
        "python_c_pass_ms": med,
        "pass_overhead_ms": pass_overhead,
        "pass_overhead_off_ms": pass_overhead_off,
        "import_langgraph_graph_ms": imp,
        "import_langgraph_graph_min_max_ms": spread,
        "import_langgraph_graph_cpu_ms": cpu,
        # patches active vs FAST_LANGGRAPH=0, same venv: CPU time (the budget) and wall time
        "import_overhead_ratio": import_overhead,
        "import_overhead_ratio_wall": import_overhead_wall,
        "checked": {"autoload_run_patched": patched, "vanilla_run_unpatched": unpatched},
        "within_budget": bool(
            pass_overhead <= BUDGET_PASS_MS
            and pass_overhead_off <= BUDGET_OFF_MS
            and import_overhead <= BUDGET_IMPORT
            and patched
            and unpatched
        ),
    }
    return result


def render(r: Dict[str, Any]) -> str:
    m = r["python_c_pass_ms"]
    i = r["import_langgraph_graph_ms"]
    c = r["import_langgraph_graph_cpu_ms"]
    return "\n".join(
        [
            "python -c pass (median of %d, interleaved):" % r["runs"],
            "  vanilla venv               %7.2f ms" % m["vanilla"],
            "  with autoload              %7.2f ms   %+.2f ms (budget +%.1f)"
            % (m["autoload"], r["pass_overhead_ms"], BUDGET_PASS_MS),
            "  with autoload, FAST_LANGGRAPH=0 %5.2f ms   %+.2f ms (budget +%.1f)"
            % (m["autoload_off"], r["pass_overhead_off_ms"], BUDGET_OFF_MS),
            "python -c 'import langgraph.graph' (median of %d, interleaved): CPU time, wall time (min-max)"
            % r["import_runs"],
            "  without the autoload       %7.1f ms   %7.1f ms (%.0f-%.0f)"
            % ((c["vanilla"], i["vanilla"]) + r["import_langgraph_graph_min_max_ms"]["vanilla"]),
            "  FAST_LANGGRAPH=0           %7.1f ms   %7.1f ms (%.0f-%.0f)"
            % ((c["autoload_off"], i["autoload_off"]) + r["import_langgraph_graph_min_max_ms"]["autoload_off"]),
            "  patches active             %7.1f ms   %7.1f ms (%.0f-%.0f)"
            % ((c["autoload"], i["autoload"]) + r["import_langgraph_graph_min_max_ms"]["autoload"]),
            "  patches active vs FAST_LANGGRAPH=0: CPU %+.1f %% (budget +%d %%), wall %+.1f %%"
            % (r["import_overhead_ratio"] * 100, BUDGET_IMPORT * 100, r["import_overhead_ratio_wall"] * 100),
            "checks: %s" % r["checked"],
            "within budget: %s" % ("yes" if r["within_budget"] else "NO"),
        ]
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fast_langgraph.bench startup", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--import-runs", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.runs, args.import_runs)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0 if result["within_budget"] else 1

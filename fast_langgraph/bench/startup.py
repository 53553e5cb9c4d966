"""Start-up cost of the autoload: ``python -m fast_langgraph.bench startup``.

Builds two throw-away virtualenvs on this interpreter that differ only by
``fast_langgraph_autoload.pth`` (both see this environment's packages through
the same path line), then times, interleaved, medians of many runs:

* ``python -c pass`` without the ``.pth``, with it, and with it plus ``FAST_LANGGRAPH=0``
  (budgets: +1.5 ms and +0.5 ms);
* ``python -c "import langgraph.graph"`` without and with it, patches active
  (budget: +5 %).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Optional

BUDGET_PASS_MS = 1.5
BUDGET_OFF_MS = 0.5
BUDGET_IMPORT = 0.05


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
        subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
    )
    import fast_langgraph

    package_root = str(Path(fast_langgraph.__file__).resolve().parent.parent)
    paths = list(dict.fromkeys([sysconfig.get_paths()["purelib"], package_root]))
    (purelib / "zz_shared_env.pth").write_text("\n".join(paths) + "\n")
    if with_autoload:
        (purelib / "fast_langgraph_autoload.pth").write_text(_pth_line())
    return str(python)


def _time(python: str, code: str, env: Dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-c", code], env=env, cwd=tempfile.gettempdir(), check=True)
    return time.perf_counter() - start


def run(runs: int = 40, import_runs: int = 20) -> Dict[str, Any]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("FAST_LANGGRAPH")}
    off_env = dict(base_env, FAST_LANGGRAPH="0")
    with tempfile.TemporaryDirectory() as tmp:
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
        imports: Dict[str, List[float]] = {"vanilla": [], "autoload": []}
        for _ in range(import_runs):
            for name in imports:
                python, env = cases[name]
                imports[name].append(_time(python, "import langgraph.graph", env))

    med = {k: statistics.median(v) * 1e3 for k, v in samples.items()}
    imp = {k: statistics.median(v) * 1e3 for k, v in imports.items()}
    pass_overhead = med["autoload"] - med["vanilla"]
    pass_overhead_off = med["autoload_off"] - med["vanilla"]
    import_overhead = imp["autoload"] / imp["vanilla"] - 1
    result: Dict[str, Any] = {
        "runs": runs,
        "import_runs": import_runs,
        "python_c_pass_ms": med,
        "pass_overhead_ms": pass_overhead,
        "pass_overhead_off_ms": pass_overhead_off,
        "import_langgraph_graph_ms": imp,
        "import_overhead_ratio": import_overhead,
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
    return "\n".join(
        [
            "python -c pass (median of %d, interleaved):" % r["runs"],
            "  vanilla venv               %7.2f ms" % m["vanilla"],
            "  with autoload              %7.2f ms   %+.2f ms (budget +%.1f)" % (m["autoload"], r["pass_overhead_ms"], BUDGET_PASS_MS),
            "  with autoload, FAST_LANGGRAPH=0 %5.2f ms   %+.2f ms (budget +%.1f)" % (m["autoload_off"], r["pass_overhead_off_ms"], BUDGET_OFF_MS),
            "python -c 'import langgraph.graph' (median of %d):" % r["import_runs"],
            "  vanilla                    %7.1f ms" % i["vanilla"],
            "  patches active             %7.1f ms   %+.1f %% (budget +%d %%)" % (i["autoload"], r["import_overhead_ratio"] * 100, BUDGET_IMPORT * 100),
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

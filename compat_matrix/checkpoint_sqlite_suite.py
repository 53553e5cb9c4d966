#!/usr/bin/env python3
"""langgraph-checkpoint-sqlite's own tests with RustSqliteSaver in place of its savers.

Gets the sdist of the installed langgraph-checkpoint-sqlite (``upstream_suite.py``'s
download and extraction), then runs its checkpointer tests (every test module that uses
``SqliteSaver`` or ``AsyncSqliteSaver``; the ``SqliteStore`` ones are left out) twice in
this environment with ``tests/upstream/rust_sqlite_saver_plugin.py`` loaded:

* vanilla: ``RUST_SQLITE_SAVER_SWAP=0``, langgraph-checkpoint-sqlite's own savers;
* swapped: ``RustSqliteSaver`` / ``AsyncRustSqliteSaver`` in their place.

Everything else is the same in both runs. The outcome of every test is compared. A test
whose outcome differs must be listed in ``EXPECTED_DIFFERENCES`` below, with the outcomes
and the reason; any other difference fails the run, and so does a listed test that no
longer differs as listed (the list stays true). Tests failing in both runs are reported:
they say nothing about the saver.

Exit codes: 0 as expected, 1 unexpected differences, 2 setup error (message says what to do).

Usage::

    python compat_matrix/checkpoint_sqlite_suite.py                      # installed version
    python compat_matrix/checkpoint_sqlite_suite.py --install-test-deps  # pytest-asyncio, conformance suite
    python compat_matrix/checkpoint_sqlite_suite.py -- -k task_path      # extra pytest arguments

Stdlib only (besides what the tests import).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import upstream_suite as suite  # noqa: E402
from upstream_suite import SetupError, log, relpath  # noqa: E402

PACKAGE = "langgraph-checkpoint-sqlite"
PLUGIN = "rust_sqlite_saver_plugin"
PLUGIN_DIR = suite.REPO_ROOT / "tests" / "upstream"
#: What the plugin prints in pytest's header in each run (proof of which savers ran).
HEADERS = {
    "vanilla": "RUST_SQLITE_SAVER_SWAP=0: LangGraph's own SqliteSaver",
    "swapped": "SqliteSaver -> fast_langgraph RustSqliteSaver",
}
RUNS = ("vanilla", "swapped")

#: The only tests allowed to differ: node id -> (vanilla outcome, swapped outcome, why).
EXPECTED_DIFFERENCES: Dict[str, Tuple[str, str, str]] = {
    "tests/test_sqlite.py::TestSqliteSaver::test_informative_async_errors": (
        "passed",
        "failed",
        "expects SqliteSaver's async methods to raise NotImplementedError; RustSqliteSaver implements "
        "them (a documented difference: both classes have the sync and the async API)",
    ),
    "tests/test_delta_parent_walk.py::test_walk_step_looks_up_the_parent_by_primary_key": (
        "passed",
        "failed",
        "checks the query plan of SqliteSaver's own SQL (DELTA_STAGE1_SQL) through `saver.conn` on a "
        "':memory:' database: RustSqliteSaver runs no such statement (it looks each ancestor up by "
        "primary key in Rust) and has no connection to hand out",
    ),
}


def saver_test_modules(tree: Path) -> List[str]:
    """The sdist's test modules that use SqliteSaver / AsyncSqliteSaver."""
    return sorted(
        str(p.relative_to(tree))
        for p in (tree / "tests").rglob("test_*.py")
        if "SqliteSaver" in p.read_text(encoding="utf-8", errors="replace")
    )


def run_env(run: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["RUST_SQLITE_SAVER_SWAP"] = "1" if run == "swapped" else "0"
    env["PYTHONPATH"] = os.pathsep.join([str(PLUGIN_DIR)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def classify(
    van: Dict[str, Dict[str, Any]], swp: Dict[str, Dict[str, Any]], complete: bool = True
) -> Dict[str, List[str]]:
    """Sort node ids by how their two outcomes compare. COMPLETE: every test ran (no pytest
    selection), so a listed test that ran in neither run is stale too."""
    out: Dict[str, List[str]] = {"expected": [], "unexpected": [], "stale": [], "both_fail": []}
    listed = set(EXPECTED_DIFFERENCES) if complete else set(EXPECTED_DIFFERENCES) & (set(van) | set(swp))
    for nid in sorted(set(van) | set(swp) | listed):
        v = van.get(nid, {}).get("outcome")
        s = swp.get(nid, {}).get("outcome")
        listed = EXPECTED_DIFFERENCES.get(nid)
        if listed is not None:
            (out["expected"] if (v, s) == listed[:2] else out["stale"]).append(nid)
        elif v != s:
            out["unexpected"].append(nid)
        elif v in suite.BAD_OUTCOMES:
            out["both_fail"].append(nid)
    return out


def parse_args(argv: Optional[Sequence[str]]) -> Tuple[argparse.Namespace, List[str]]:
    argv, extra = suite.split_pytest_args(argv)
    p = argparse.ArgumentParser(
        prog="checkpoint_sqlite_suite.py",
        description="Run langgraph-checkpoint-sqlite's checkpointer tests with its savers and with "
        "RustSqliteSaver in their place; compare per test.",
        epilog="Arguments after `--` go to pytest. Exit: 0 as expected, 1 unexpected differences, 2 setup error.",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=suite.REPO_ROOT / ".cache" / "upstream",
        help="download/extract/run directory, shared with upstream_suite.py (default <repo>/.cache/upstream)",
    )
    suite.add_test_deps_options(p)
    p.add_argument("--results", type=Path, help="also write the results as JSON to this file")
    p.add_argument("--run-timeout", type=float, default=600.0, help="seconds per pytest run (default 600)")
    return p.parse_args(argv), extra


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, extra = parse_args(argv)
    return suite.run_guarded(_main, args, extra)


def _main(args: argparse.Namespace, extra: List[str]) -> int:
    t_start = time.monotonic()
    version = suite.dist_version(PACKAGE)
    if version is None:
        raise SetupError(f"{PACKAGE} is not installed in {sys.executable}: pip install {PACKAGE}")
    if suite.dist_version("fast-langgraph") is None:
        raise SetupError("fast_langgraph is not installed in this environment (maturin develop, or the wheel)")
    log(
        f"== {PACKAGE} {version}'s own tests, its savers vs RustSqliteSaver, with {sys.executable} "
        f"(Python {platform.python_version()})"
    )
    workdir: Path = args.workdir.resolve()
    tree = suite.extract_tests(
        suite.obtain_sdist(workdir, PACKAGE, version), workdir / "tree" / f"{PACKAGE}-{version}", PACKAGE
    )
    modules = saver_test_modules(tree) if suite.has_tests(tree) else []
    if not modules:
        raise SetupError(f"the {PACKAGE} {version} sdist has no test module using SqliteSaver")

    dep_line = suite.pick_line(suite.TEST_DEPS[PACKAGE], version)
    reqs = ["pytest"] + suite.TEST_DEPS[PACKAGE][dep_line or ""]
    if args.install_test_deps:
        suite.install_test_deps(reqs, workdir, args.constraint)
    missing = suite.missing_requirements(reqs)
    if missing:
        raise SetupError(
            f"test dependencies missing: {', '.join(missing)}.\nWhat to do: rerun with "
            f"--install-test-deps, or pip install {' '.join(shlex.quote(r) for r in missing)}"
        )
    versions = suite.fresh_dist_versions(suite.REPORT_DISTS)
    log("   " + "  ".join(f"{k} {v}" for k, v in versions.items() if v))
    log(f"   modules: {' '.join(m.split('/')[-1] for m in modules)}")

    plugin_dir = workdir / "_plugin"
    plugin_dir.mkdir(parents=True, exist_ok=True)
    (plugin_dir / f"{suite.PLUGIN_NAME}.py").write_text(suite.PLUGIN_SOURCE.lstrip(), encoding="utf-8")
    runs_dir = workdir / "runs" / f"{PACKAGE}-{version}"
    runs_dir.mkdir(parents=True, exist_ok=True)

    outcomes: Dict[str, Dict[str, Dict[str, Any]]] = {}
    infos: Dict[str, Dict[str, Any]] = {}
    for run in RUNS:
        cmd = suite.pytest_command(modules, tree, 1, None, ["-p", PLUGIN, *extra], 0)
        info = suite.run_pytest(
            run,
            cmd,
            tree,
            plugin_dir,
            runs_dir / f"{run}.jsonl",
            runs_dir / f"{run}.log",
            None,
            None,
            args.run_timeout,
            env=run_env(run),
        )
        data = suite.read_outcomes(runs_dir / f"{run}.jsonl")
        log(
            f"-- {run}: {info['pytest_summary'] or 'no pytest summary line'} (exit {info['returncode']}, "
            f"wall {info['wall_s']:.1f}s, log {relpath(Path(info['log']))})"
        )
        if info["timed_out"] or info["returncode"] not in (0, 1) or not data["tests"]:
            raise SetupError(
                f"the {run} run did not complete (exit {info['returncode']}):\n"
                f"{suite.indent(info['log_tail'])}\nWhat to do: read {info['log']}."
            )
        if HEADERS[run] not in Path(info["log"]).read_text(encoding="utf-8", errors="replace"):
            raise SetupError(
                f"the {run} run does not show the plugin's header {HEADERS[run]!r}: "
                f"{PLUGIN} was not loaded as expected (read {info['log']})."
            )
        outcomes[run], infos[run] = data["tests"], info

    van, swp = outcomes["vanilla"], outcomes["swapped"]
    result = classify(van, swp, complete=not extra)
    counts = {run: suite.count_outcomes(outcomes[run]) for run in RUNS}
    log("")
    log("outcome      " + "".join(f"{r:>10}" for r in RUNS))
    for k in suite.ALL_OUTCOMES + ("total",):
        if k == "total" or any(counts[r].get(k) for r in RUNS):
            log(f"{k:<12} " + "".join(f"{counts[r].get(k, 0):>10}" for r in RUNS))

    def pair(nid: str) -> str:
        return (
            f"vanilla {van.get(nid, {}).get('outcome', 'absent')}, swapped {swp.get(nid, {}).get('outcome', 'absent')}"
        )

    def first_line(run_outcomes: Dict[str, Dict[str, Any]], nid: str) -> str:
        msg = (run_outcomes.get(nid, {}).get("msg") or "").strip()
        return msg.splitlines()[0][:300] if msg else "(no message)"

    log(f"\nexpected differences (EXPECTED_DIFFERENCES): {len(result['expected'])}")
    for nid in result["expected"]:
        log(f"   {nid}: {pair(nid)}\n      why: {EXPECTED_DIFFERENCES[nid][2]}")
    if result["both_fail"]:
        log(f"\nfailing in both runs (upstream's own failures here, not the saver's): {len(result['both_fail'])}")
        for nid in result["both_fail"]:
            log(f"   {nid}: {first_line(van, nid)}")
    if result["stale"]:
        log(f"\nLISTED BUT NOT DIFFERING AS LISTED (update EXPECTED_DIFFERENCES): {len(result['stale'])}")
        for nid in result["stale"]:
            v, s, _ = EXPECTED_DIFFERENCES[nid]
            log(f"   {nid}: listed vanilla {v}, swapped {s}; got {pair(nid)}")
    if result["unexpected"]:
        log(f"\nUNEXPECTED DIFFERENCES: {len(result['unexpected'])}")
        for nid in result["unexpected"]:
            log(f"   {nid}: {pair(nid)}")
            log(
                suite.indent(
                    "\n".join(
                        (swp.get(nid, {}).get("msg") or van.get(nid, {}).get("msg") or "").strip().splitlines()[:8]
                    ),
                    "        ",
                )
            )

    failed = bool(result["unexpected"] or result["stale"])
    same = len(set(van) | set(swp)) - len(result["expected"]) - len(result["unexpected"])
    log("")
    log(
        f"RESULT: {'FAIL' if failed else 'OK'} -- {same} of {len(set(van) | set(swp))} tests with the same outcome, "
        f"{len(result['expected'])} expected difference(s), {len(result['unexpected'])} unexpected, "
        f"{len(result['stale'])} stale listing(s); swapped {counts['swapped']['passed']} passed, "
        f"vanilla {counts['vanilla']['passed']} passed"
    )
    results = {
        "package": PACKAGE,
        "version": version,
        "versions": versions,
        "modules": modules,
        "status": "fail" if failed else "ok",
        "counts": counts,
        **{
            k: [
                {"nodeid": n, "vanilla": van.get(n, {}).get("outcome"), "swapped": swp.get(n, {}).get("outcome")}
                for n in ids
            ]
            for k, ids in result.items()
        },
        "durations": {
            "vanilla_s": infos["vanilla"]["wall_s"],
            "swapped_s": infos["swapped"]["wall_s"],
            "total_s": round(time.monotonic() - t_start, 1),
        },
    }
    suite._write_json(runs_dir / "results.json", results)
    if args.results:
        suite._write_json(args.results, results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

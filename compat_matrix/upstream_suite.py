#!/usr/bin/env python3
"""Prove "patched == unpatched" with LangGraph's own test suite.

Downloads the sdist of the installed LangGraph (which ships ``tests/`` from the
0.4 line on), runs its test suite twice in *this* Python environment -- once
with ``FAST_LANGGRAPH=0`` (vanilla) and once with the accelerator active
(``FAST_LANGGRAPH`` unset) -- and compares the outcome of every test.

A test that passes (or skips / xfails) vanilla but fails or errors patched is a
*regression candidate*; every candidate is run once more in both modes (without
xdist) and only counts as a regression if it again passes vanilla and fails
patched.  The others are reported as flaky.

Exit codes: 0 no regression, 1 regression(s), 2 setup error (message says what to do).

Usage::

    python compat_matrix/upstream_suite.py                      # installed langgraph, both modes
    python compat_matrix/upstream_suite.py --install-test-deps  # first pip-install the suite's test deps
    python compat_matrix/upstream_suite.py -k interrupt -- -x tests/test_pregel.py

Stdlib only; Python 3.9+.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import textwrap
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

# --------------------------------------------------------------------------------------
# Data: what each release line of each package needs to run its shipped tests.
# Keys are "MAJOR.MINOR" release lines. A version whose line is missing uses the
# closest lower line listed (or the lowest one). Requirements are pip specifiers; they
# are installed with a constraints file that pins the distributions in PROTECTED_DISTS
# to their installed versions, so installing test deps never changes what is tested.
# --------------------------------------------------------------------------------------

#: Always needed to run the suite at all (pytest-xdist only when --jobs > 1).
RUNNER_DEPS = ["pytest", "pytest-xdist"]

_LG_TESTS_04 = [
    "pytest-mock",  # conftest: from pytest_mock import MockerFixture
    "syrupy",  # pyproject addopts: --snapshot-warn-unused (a syrupy option)
    "httpx",
    "langgraph-checkpoint-sqlite",  # langgraph.checkpoint.sqlite / langgraph.cache.sqlite
    "langgraph-checkpoint-postgres",  # imported at conftest import time (tests need a server)
    "psycopg[binary]",  # psycopg without a system libpq
    "pycryptodome",  # the "sqlite_aes" checkpointer parameter (EncryptedSerializer)
    "aiosqlite<0.22",  # checkpoint-sqlite 2.0.x calls Connection.is_alive(), gone in aiosqlite 0.22
]
_LG_TESTS_06 = _LG_TESTS_04[:-1] + [
    "redis",  # conftest: import redis (langgraph.cache.redis); server only without NO_DOCKER
]

#: langgraph-checkpoint ships tests/ from 2.1 on (no conftest; the imports of its test modules).
_CKPT_TESTS_21 = [
    "pytest-asyncio",  # pyproject: asyncio_mode = "auto" under --strict-config
    "pytest-mock",
    "dataclasses-json",  # test_jsonplus
    "numpy",  # test_jsonplus
    "pandas",  # test_jsonplus
    "redis",  # test_redis_cache (skips without a server)
]
_CKPT_TESTS_40 = _CKPT_TESTS_21 + [
    "pycryptodome",  # test_encrypted
]

TEST_DEPS: Dict[str, Dict[str, List[str]]] = {
    "langgraph": {
        "0.4": _LG_TESTS_04,
        "0.5": _LG_TESTS_04,
        "0.6": _LG_TESTS_06,
        "1.0": _LG_TESTS_06,
        "1.1": _LG_TESTS_06,
        "1.2": _LG_TESTS_06,
    },
    "langgraph-checkpoint": {
        "2.1": _CKPT_TESTS_21,
        "3.0": _CKPT_TESTS_21,
        "4.0": _CKPT_TESTS_40,
    },
    # Needs a server: run under .ci/with-postgres (PACKAGE_PLUGINS points the tests at it).
    "langgraph-checkpoint-postgres": {
        "3.0": [
            "pytest-asyncio",  # pyproject: asyncio_mode = "auto" under --strict-config
            "pytest-mock",
            "anyio",
            "psycopg[binary]",  # psycopg without a system libpq
            "psycopg-pool",
            "langgraph-checkpoint-conformance",  # test_conformance_delta
        ],
    },
    # Its checkpointer tests (checkpoint_sqlite_suite.py); aiosqlite and sqlite-vec are its own deps.
    "langgraph-checkpoint-sqlite": {
        "3.1": [
            "pytest-asyncio",  # pyproject: asyncio_mode = "auto" under --strict-config
            "langgraph-checkpoint-conformance",  # test_conformance_delta
        ],
    },
}

#: Release lines known to ship no tests in their sdist (detection is also dynamic:
#: any sdist without tests/test_*.py gets the "no upstream tests shipped" result).
NO_TESTS_LINES: Dict[str, Tuple[str, ...]] = {
    "langgraph": ("0.0", "0.1", "0.2", "0.3"),
    "langgraph-checkpoint": ("1.0", "2.0"),
}

#: Tests that need services this script does not start (Postgres, Redis, a
#: `langgraph dev` server). From 0.5 on the suite honours NO_DOCKER=true; older lines
#: do not, so the equivalent tests are deselected here (by regex on the node id,
#: or by a fixture the test uses).
DESELECT: Dict[str, Dict[str, Dict[str, Any]]] = {
    "langgraph": {
        "0.4": {
            "nodeid_regex": [r"\[[^\]]*postgres[^\]]*\]$"],
            "fixtures": ["remote_graph"],
            "why": "needs Postgres / a langgraph dev server; 0.4 has no NO_DOCKER switch",
        },
    },
    "langgraph-checkpoint": {
        "2.1": {
            # Each of these tests skips itself without a server, but only after redis-py's
            # connection retries (~4.5 s a test, over a minute a run).
            "nodeid_regex": [r"^tests/test_redis_cache\.py::"],
            "fixtures": [],
            "why": "needs a Redis server (the tests skip without one, slowly)",
            "later_lines_too": True,
        },
    },
}

#: Suites that need a server: (pytest plugin in tests/upstream/ that points them at it, the
#: environment variable with its DSN, how to get one). The plugin is loaded in both runs.
PACKAGE_PLUGINS: Dict[str, Tuple[str, str, str]] = {
    "langgraph-checkpoint-postgres": (
        "postgres_dsn_plugin",
        "FAST_LANGGRAPH_POSTGRES_DSN",
        "run this under .ci/with-postgres (it starts a throw-away PostgreSQL and sets it)",
    ),
}

#: Suites that cannot run under xdist: why (they run with one process whatever --jobs says).
SERIAL: Dict[str, str] = {
    "langgraph-checkpoint-postgres": "its tests share the server's default database and empty its tables before "
    "each test (conftest clear_test_db), so two workers wipe each other's rows",
}

#: Never changed by --install-test-deps (pinned to the installed versions).
PROTECTED_DISTS = (
    "langgraph",
    "langgraph-checkpoint",
    "langgraph-prebuilt",
    "langgraph-sdk",
    "langchain-core",
    "fast-langgraph",
)
#: Versions recorded in the results.
REPORT_DISTS = (
    "langgraph",
    "langchain-core",
    "langgraph-checkpoint",
    "langgraph-prebuilt",
    "langgraph-sdk",
    "langgraph-checkpoint-sqlite",
    "langgraph-checkpoint-postgres",
    "fast-langgraph",
    "pytest",
    "pytest-xdist",
)

OK_OUTCOMES = ("passed", "skipped", "xfailed", "xpassed")
BAD_OUTCOMES = ("failed", "error", "crashed")
ALL_OUTCOMES = OK_OUTCOMES + BAD_OUTCOMES
MODES = ("vanilla", "patched")
PLUGIN_NAME = "_upstream_suite_plugin"
REPO_ROOT = Path(__file__).resolve().parent.parent


class SetupError(Exception):
    """Something outside the code under test is wrong; exit 2 with this message."""


# --------------------------------------------------------------------------------------
# The pytest plugin, written next to the extracted tests and loaded with -p.
# It appends one JSON line per report to $UPSTREAM_SUITE_OUT (only in the controlling
# process: xdist forwards workers' reports to it), so even a crashed run leaves data.
# --------------------------------------------------------------------------------------

PLUGIN_SOURCE = r'''
"""Written by compat_matrix/upstream_suite.py: records per-test outcomes as JSON lines."""
import json
import os
import re
import sys

import pytest

_OUT = os.environ.get("UPSTREAM_SUITE_OUT")
_SELECT = os.environ.get("UPSTREAM_SUITE_SELECT")
_DESELECT = os.environ.get("UPSTREAM_SUITE_DESELECT")
_config = None
_fh = None


def _is_worker(config):
    return hasattr(config, "workerinput")


def _emit(rec):
    global _fh
    if not _OUT:
        return
    if _fh is None:
        _fh = open(_OUT, "a", encoding="utf-8", buffering=1)
    _fh.write(json.dumps(rec, default=str) + "\n")
    _fh.flush()


def _accel_status():
    """What fast_langgraph did in this process (never imports anything new)."""
    info = {
        "pid": os.getpid(),
        "FAST_LANGGRAPH": os.environ.get("FAST_LANGGRAPH"),
        "fast_langgraph_loaded": "fast_langgraph" in sys.modules,
        "autoload_finder": any(type(f).__name__ == "FastLangGraphAutoload" for f in sys.meta_path),
    }
    lg = sys.modules.get("langgraph.graph")
    info["langgraph_file"] = getattr(lg, "__file__", None)
    boot = sys.modules.get("fast_langgraph._bootstrap")
    if boot is not None:
        info["bootstrap_state"] = getattr(boot, "state", None)
        info["bootstrap_origin"] = getattr(boot, "origin", None)
    patching = sys.modules.get("fast_langgraph._patching")
    if patching is not None and hasattr(patching, "status"):
        try:
            counts = {}
            for entry in patching.status():
                counts[entry.get("status")] = counts.get(entry.get("status"), 0) + 1
            info["patch_status_counts"] = counts
        except Exception as exc:  # pragma: no cover - diagnostic only
            info["patch_status_error"] = repr(exc)
    return info


def _message(report):
    """Where it failed, the exception line, and pytest's "E " explanation lines."""
    lr = report.longrepr
    if lr is None:
        return None
    if isinstance(lr, tuple) and len(lr) == 3:  # skip: (path, lineno, reason)
        return "%s:%s: %s" % lr
    text = str(lr)
    crash = getattr(lr, "reprcrash", None)
    if not report.failed:
        return text[:2000]
    lines = []
    if crash is not None:
        lines.append("%s:%s: %s" % (crash.path, crash.lineno, crash.message))
    seen = crash.message if crash is not None else ""
    explain = [line for line in text.splitlines() if line.startswith("E ") and line[1:].strip() not in seen]
    lines.extend(explain[:30])
    if not lines:
        lines = text.strip().splitlines()[:30]
    return "\n".join(lines)[:6000]


def pytest_configure(config):
    global _config
    _config = config
    if not _is_worker(config):
        _emit({"kind": "session", "argv": sys.argv, "xdist_workers": getattr(config.option, "numprocesses", None)})


def pytest_collection_modifyitems(session, config, items):
    keep_ids = None
    if _SELECT:
        with open(_SELECT, encoding="utf-8") as fh:
            keep_ids = set(line.rstrip("\n") for line in fh if line.strip())
    rules = {}
    if _DESELECT:
        rules = json.loads(_DESELECT)
    regexes = [re.compile(r) for r in rules.get("nodeid_regex", [])]
    fixtures = set(rules.get("fixtures", []))
    kept, dropped = [], []
    for item in items:
        nid = item.nodeid
        drop = False
        if keep_ids is not None:
            module = nid.split("::", 1)[0]
            drop = nid not in keep_ids and module not in keep_ids
        if not drop and regexes and any(r.search(nid) for r in regexes):
            drop = True
        if not drop and fixtures and fixtures.intersection(getattr(item, "fixturenames", ())):
            drop = True
        (dropped if drop else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    if _is_worker(config):
        config.workeroutput["upstream_suite_deselected"] = len(dropped)
    else:
        _emit({"kind": "deselected", "count": len(dropped)})


def pytest_runtest_logstart(nodeid, location):
    if _config is not None and not _is_worker(_config):
        _emit({"kind": "start", "nodeid": nodeid})


def pytest_collectreport(report):
    if _config is None or _is_worker(_config):
        return
    if report.failed:
        _emit({"kind": "test", "nodeid": report.nodeid, "when": "collect", "outcome": "error",
               "msg": _message(report)})
    elif report.skipped:
        _emit({"kind": "test", "nodeid": report.nodeid, "when": "collect", "outcome": "skipped",
               "msg": _message(report)})


def pytest_runtest_logreport(report):
    if _config is None or _is_worker(_config):
        return
    wasxfail = hasattr(report, "wasxfail")
    when = report.when
    if when == "setup":
        if report.failed:
            outcome = "error"
        elif report.skipped:
            outcome = "xfailed" if wasxfail else "skipped"
        else:
            return
    elif when == "call":
        if report.passed:
            outcome = "xpassed" if wasxfail else "passed"
        elif report.failed:
            outcome = "failed"
        else:
            outcome = "xfailed" if wasxfail else "skipped"
    elif when == "teardown":
        if not report.failed:
            _emit({"kind": "end", "nodeid": report.nodeid})
            return
        outcome = "error"
    else:  # e.g. xdist's report for a test whose worker died ("???")
        outcome = "crashed" if report.failed else "skipped"
    _emit({"kind": "test", "nodeid": report.nodeid, "when": when, "outcome": outcome,
           "dur": round(getattr(report, "duration", 0.0), 4), "msg": _message(report)})


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if _is_worker(config):
        config.workeroutput["upstream_suite_status"] = json.dumps(_accel_status())
    elif getattr(config.option, "numprocesses", None) in (None, 0) or not config.pluginmanager.hasplugin("dsession"):
        _emit({"kind": "accel", "where": "main", "status": _accel_status()})
    _emit({"kind": "finish", "exitstatus": int(exitstatus)})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    out = getattr(node, "workeroutput", None) or {}
    if "upstream_suite_status" in out:
        _emit({"kind": "accel", "where": node.gateway.id, "status": json.loads(out["upstream_suite_status"])})
    if "upstream_suite_deselected" in out:
        _emit({"kind": "deselected", "count": out["upstream_suite_deselected"], "where": node.gateway.id})
    if error:
        _emit({"kind": "worker_error", "where": node.gateway.id, "error": str(error)[:2000]})
'''


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def log(msg: str = "") -> None:
    print(msg, flush=True)


def dist_version(name: str) -> Optional[str]:
    from importlib import metadata

    for candidate in (name, name.replace("-", "_"), name.replace("_", "-")):
        try:
            return metadata.version(candidate)
        except metadata.PackageNotFoundError:
            continue
    return None


def fresh_dist_versions(names: Sequence[str]) -> Dict[str, Optional[str]]:
    """Versions as seen by a fresh interpreter (after a pip install in this process's env)."""
    code = (
        "import json,sys\nfrom importlib import metadata\nout={}\n"
        "for n in sys.argv[1:]:\n"
        "    v=None\n"
        "    for c in (n, n.replace('-','_')):\n"
        "        try:\n            v=metadata.version(c); break\n"
        "        except metadata.PackageNotFoundError:\n            pass\n"
        "    out[n]=v\n"
        "print(json.dumps(out))\n"
    )
    res = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True)
    if res.returncode != 0:
        raise SetupError("could not query installed versions:\n" + res.stderr[-2000:])
    return json.loads(res.stdout)


def version_line(version: str) -> str:
    parts = re.findall(r"\d+", version)
    return ".".join((parts + ["0", "0"])[:2])


def _line_key(line: str) -> Tuple[int, int]:
    major, minor = line.split(".")
    return int(major), int(minor)


def pick_line(table: Dict[str, Any], version: str) -> Optional[str]:
    """The table key for VERSION's release line: exact, else the closest lower, else the lowest."""
    if not table:
        return None
    line = version_line(version)
    if line in table:
        return line
    keys = sorted(table, key=_line_key)
    lower = [k for k in keys if _line_key(k) <= _line_key(line)]
    return lower[-1] if lower else keys[0]


def req_name(req: str) -> str:
    m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req.strip())
    return m.group(0) if m else req


def tail(text: str, n: int = 25, width: int = 400) -> str:
    lines = text.rstrip().splitlines()
    return "\n".join(line if len(line) <= width else line[:width] + " ..." for line in lines[-n:])


def indent(text: str, prefix: str = "      ") -> str:
    return textwrap.indent(text, prefix)


def relpath(path: Path) -> str:
    """PATH relative to the current directory when it is below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


# --------------------------------------------------------------------------------------
# Setup: sdist, extraction, test dependencies
# --------------------------------------------------------------------------------------


def find_sdist(directory: Path, package: str, version: str) -> Optional[Path]:
    stems = {f"{package}-{version}", f"{package.replace('-', '_')}-{version}"}
    stems = {s.lower() for s in stems}
    if not directory.is_dir():
        return None
    for entry in sorted(directory.iterdir()):
        name = entry.name.lower()
        for ext in (".tar.gz", ".zip"):
            if name.endswith(ext) and name[: -len(ext)] in stems:
                return entry
    return None


def obtain_sdist(workdir: Path, package: str, version: str) -> Path:
    found = find_sdist(workdir, package, version)
    if found is not None:
        log(f"sdist: {relpath(found)} (cached)")
        return found
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-binary",
        ":all:",
        "--no-deps",
        f"{package}=={version}",
        "-d",
        str(workdir),
    ]
    log("sdist: " + " ".join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    found = find_sdist(workdir, package, version)
    if res.returncode != 0 or found is None:
        raise SetupError(
            f"could not download the sdist of {package}=={version} (pip exit {res.returncode}).\n"
            f"{indent(tail(res.stdout + res.stderr, 15))}\n"
            f"What to do: check that PyPI is reachable and that pip works in this environment, or put "
            f"the sdist ({package}-{version}.tar.gz) into {workdir} yourself."
        )
    log(f"sdist: downloaded {relpath(found)}")
    return found


def _safe_members(tar: tarfile.TarFile, skip_dirs: Sequence[str]) -> List[tarfile.TarInfo]:
    members = []
    for m in tar.getmembers():
        parts = Path(m.name).parts
        if m.name.startswith("/") or ".." in parts or len(parts) < 2:
            continue
        if not (m.isfile() or m.isdir()):
            continue  # no links, devices, ...
        if len(parts) >= 2 and parts[1] in skip_dirs and (len(parts) > 2 or m.isdir()):
            continue
        members.append(m)
    return members


def extract_tests(sdist: Path, dest: Path, package: str) -> Path:
    """Extract the sdist into DEST without its top-level directory and without the package
    source itself (so the *installed* distribution is what the tests import)."""
    marker = dest / ".upstream-suite-extracted"
    stamp = f"{sdist.name} {sdist.stat().st_size}"
    if marker.is_file() and marker.read_text().strip() == stamp:
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    import_root = package.split("-")[0].replace(".", "_")
    skip_dirs = (import_root, "src")
    if sdist.name.endswith(".zip"):
        raise SetupError(f"{sdist.name}: zip sdists are not supported; expected a .tar.gz")
    try:
        with tarfile.open(sdist) as tar:
            for m in _safe_members(tar, skip_dirs):
                rel = Path(*Path(m.name).parts[1:])
                target = dest / rel
                if m.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(m)
                if src is None:
                    continue
                with src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
    except (tarfile.TarError, OSError) as exc:
        raise SetupError(f"could not extract {sdist}: {exc}\nWhat to do: delete it and run again.") from exc
    marker.write_text(stamp + "\n")
    return dest


def has_tests(tree: Path) -> bool:
    tests = tree / "tests"
    return tests.is_dir() and any(tests.rglob("test_*.py"))


def missing_requirements(reqs: Sequence[str]) -> List[str]:
    return [r for r in reqs if dist_version(req_name(r)) is None]


def add_test_deps_options(p: argparse.ArgumentParser) -> None:
    """``--install-test-deps`` and ``--constraint`` (read by :func:`install_test_deps`)."""
    p.add_argument(
        "--install-test-deps",
        action="store_true",
        help="pip-install the suite's test dependencies first (installed versions of langgraph*, "
        "langchain-core and fast-langgraph are pinned by a constraints file)",
    )
    p.add_argument(
        "--constraint",
        "-c",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="with --install-test-deps: also install under this pip constraints file (repeatable), "
        "e.g. compat_matrix/constraints/langgraph-<line>.txt",
    )


def install_test_deps(reqs: Sequence[str], workdir: Path, extra_constraints: Sequence[Path] = ()) -> None:
    protected_before = fresh_dist_versions(PROTECTED_DISTS)
    pins = [f"{name}=={ver}" for name, ver in protected_before.items() if ver]
    workdir.mkdir(parents=True, exist_ok=True)
    constraints = workdir / "constraints.txt"
    constraints.write_text("# generated by upstream_suite.py: keep what is tested unchanged\n" + "\n".join(pins) + "\n")
    cmd = [sys.executable, "-m", "pip", "install", "-c", str(constraints)]
    for extra in extra_constraints:
        cmd += ["-c", str(extra)]
    cmd += list(reqs)
    log("installing test deps: " + " ".join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SetupError(
            f"pip install of the test dependencies failed (exit {res.returncode}):\n"
            f"{indent(tail(res.stdout + res.stderr, 20))}\n"
            f"What to do: install them by hand (keeping {', '.join(pins)}), then run without "
            f"--install-test-deps."
        )
    after = fresh_dist_versions(PROTECTED_DISTS)
    changed = {k: (protected_before[k], after[k]) for k in PROTECTED_DISTS if protected_before[k] != after[k]}
    if changed:
        raise SetupError(f"installing test deps changed protected distributions: {changed}")
    log("test deps installed; protected versions unchanged: " + ", ".join(pins))


# --------------------------------------------------------------------------------------
# fast_langgraph doctor
# --------------------------------------------------------------------------------------


def mode_env(mode: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["NO_DOCKER"] = "true"
    if mode == "vanilla":
        env["FAST_LANGGRAPH"] = "0"
    else:
        env.pop("FAST_LANGGRAPH", None)
    return env


def accelerator_importable(cwd: Path) -> bool:
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec('fast_langgraph') else 1)",
        ],
        cwd=str(cwd),
        env=mode_env("vanilla"),
        capture_output=True,
        text=True,
    )
    return res.returncode == 0


def run_doctor(mode: str, cwd: Path) -> Dict[str, Any]:
    cmd = [sys.executable, "-m", "fast_langgraph.doctor", "--json"]
    try:
        res = subprocess.run(cmd, cwd=str(cwd), env=mode_env(mode), capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return {"returncode": None, "error": "timed out after 300 s"}
    out: Dict[str, Any] = {"returncode": res.returncode}
    try:
        out["report"] = json.loads(res.stdout)
    except ValueError:
        out["stdout"] = res.stdout[-4000:]
    if res.stderr.strip():
        out["stderr"] = res.stderr[-4000:]
    return out


def doctor_summary(doc: Optional[Dict[str, Any]]) -> Tuple[Optional[bool], str]:
    """(is the accelerator active?, one-line description) from a doctor result."""
    if not doc:
        return None, "doctor not run"
    report = doc.get("report")
    if not isinstance(report, dict):
        return None, f"doctor exit {doc.get('returncode')}, output not JSON: " + (
            (doc.get("stderr") or doc.get("stdout") or doc.get("error") or "").strip().splitlines() or [""]
        )[-1]
    patches = report.get("patches") or []
    counts: Dict[str, int] = {}
    for entry in patches:
        if isinstance(entry, dict):
            counts[str(entry.get("status"))] = counts.get(str(entry.get("status")), 0) + 1
    auto = report.get("autoload") or {}
    core = report.get("rust_core") or {}
    applied = counts.get("applied", 0)
    active = bool(auto.get("active")) and not auto.get("disabled_by_env") and applied > 0
    desc = "ok=%s, autoload %s (bootstrap %s), rust core %s, patches %s" % (
        report.get("ok"),
        "active" if auto.get("active") else "not active",
        auto.get("bootstrap_state"),
        "loaded" if core.get("loaded") else "NOT loaded",
        ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none",
    )
    problems = report.get("problems") or []
    if problems:
        desc += "; problems: " + "; ".join(str(p) for p in problems[:3])
    return active, desc


# --------------------------------------------------------------------------------------
# Running pytest and reading its outcomes
# --------------------------------------------------------------------------------------


def split_extra_args(extra: Sequence[str], tree: Path) -> Tuple[List[str], List[str]]:
    """(test paths, other pytest args) from the args after `--`."""
    paths, other = [], []
    prev_takes_value = False
    for arg in extra:
        if not arg.startswith("-") and not prev_takes_value and (tree / arg.split("::")[0]).exists():
            paths.append(arg)
        else:
            other.append(arg)
        prev_takes_value = arg in (
            "-k",
            "-m",
            "-p",
            "-o",
            "-c",
            "-W",
            "--deselect",
            "--ignore",
            "--maxfail",
            "--timeout",
            "--durations",
            "--tb",
            "-n",
            "--dist",
        )
    return paths, other


def pytest_command(
    paths: Sequence[str],
    tree: Path,
    jobs: int,
    junit: Optional[Path],
    extra: Sequence[str],
    test_timeout: Optional[int],
) -> List[str]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *paths,
        f"--rootdir={tree}",
        "-p",
        PLUGIN_NAME,
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--continue-on-collection-errors",
        "-q",
    ]
    if jobs > 1:
        cmd += ["-n", str(jobs)]
    elif dist_version("pytest-xdist"):
        cmd += ["-p", "no:xdist"]
    if junit is not None:
        cmd.append(f"--junitxml={junit}")
    if test_timeout and dist_version("pytest-timeout"):
        cmd.append(f"--timeout={test_timeout}")
    cmd += list(extra)
    return cmd


def run_pytest(
    mode: str,
    cmd: List[str],
    tree: Path,
    plugin_dir: Path,
    out_jsonl: Path,
    log_path: Path,
    deselect: Optional[Dict[str, Any]],
    select_file: Optional[Path],
    run_timeout: float,
    env: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    """Run CMD in TREE, outcomes to OUT_JSONL; ENV replaces mode_env(MODE) (MODE is then a label)."""
    env = dict(mode_env(mode) if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join([str(plugin_dir)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["UPSTREAM_SUITE_OUT"] = str(out_jsonl)
    env.pop("UPSTREAM_SUITE_SELECT", None)
    env.pop("UPSTREAM_SUITE_DESELECT", None)
    if select_file is not None:
        env["UPSTREAM_SUITE_SELECT"] = str(select_file)
    if deselect:
        env["UPSTREAM_SUITE_DESELECT"] = json.dumps(
            {"nodeid_regex": deselect.get("nodeid_regex", []), "fixtures": deselect.get("fixtures", [])}
        )
    env.setdefault("PYTHONUNBUFFERED", "1")
    if out_jsonl.exists():
        out_jsonl.unlink()
    start = time.monotonic()
    timed_out = False
    with open(log_path, "w", encoding="utf-8") as logfh:
        logfh.write("# " + " ".join(cmd) + "\n# cwd: " + str(tree) + f"\n# mode: {mode}\n")
        logfh.flush()
        proc = subprocess.Popen(
            cmd, cwd=str(tree), env=env, stdout=logfh, stderr=subprocess.STDOUT, start_new_session=(os.name == "posix")
        )
        try:
            rc: Optional[int] = proc.wait(timeout=run_timeout if run_timeout > 0 else None)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_tree(proc)
            rc = None
        except KeyboardInterrupt:
            _kill_tree(proc)
            raise
    wall = time.monotonic() - start
    text = log_path.read_text(encoding="utf-8", errors="replace")
    summary_line = ""
    for line in reversed(text.splitlines()):
        if re.search(r"\b(passed|failed|error|errors|skipped|no tests ran)\b.* in [\d.]+s", line):
            summary_line = line.strip("= ").strip()
            break
    return {
        "returncode": rc,
        "timed_out": timed_out,
        "wall_s": round(wall, 2),
        "log": str(log_path),
        "pytest_summary": summary_line,
        "log_tail": tail(text, 30),
        "cmd": cmd,
    }


def _kill_tree(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(timeout=15)
    except Exception:
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.wait(timeout=15)
        except Exception:
            pass


def read_outcomes(path: Path) -> Dict[str, Any]:
    """Aggregate the plugin's JSON lines into {nodeid: {"outcome", "msg", "dur"}} plus extras."""
    tests: Dict[str, Dict[str, Any]] = {}
    started: List[str] = []
    ended = set()
    accel: List[Dict[str, Any]] = []
    deselected = 0
    worker_errors: List[str] = []
    finished = None
    if path.exists():
        with open(path, encoding="utf-8") as fh:
            for raw in fh:
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue  # truncated last line of a killed run
                kind = rec.get("kind")
                if kind == "start":
                    started.append(rec["nodeid"])
                elif kind == "end":
                    ended.add(rec["nodeid"])
                elif kind == "test":
                    _merge(tests, rec)
                    ended.add(rec["nodeid"])
                elif kind == "accel":
                    accel.append(rec)
                elif kind == "deselected":
                    deselected = max(deselected, int(rec.get("count") or 0))
                elif kind == "worker_error":
                    worker_errors.append(f"{rec.get('where')}: {rec.get('error')}")
                elif kind == "finish":
                    finished = rec.get("exitstatus")
    for nid in started:
        if nid not in tests and nid not in ended:
            tests[nid] = {"outcome": "crashed", "msg": "test started but never reported (process died or was killed)"}
    return {
        "tests": tests,
        "accel": accel,
        "deselected": deselected,
        "worker_errors": worker_errors,
        "finished": finished,
    }


def _merge(tests: Dict[str, Dict[str, Any]], rec: Dict[str, Any]) -> None:
    nid, when, outcome = rec["nodeid"], rec.get("when"), rec["outcome"]
    cur = tests.get(nid)
    entry = {"outcome": outcome, "msg": rec.get("msg"), "dur": rec.get("dur")}
    if cur is None:
        tests[nid] = entry
        return
    if when == "teardown":  # teardown error after a result: pytest counts an error
        if cur["outcome"] not in BAD_OUTCOMES:
            tests[nid] = {"outcome": "error", "msg": "teardown: " + (rec.get("msg") or ""), "dur": cur.get("dur")}
        return
    if cur["outcome"] in BAD_OUTCOMES and outcome not in BAD_OUTCOMES:
        return  # keep the first failure (e.g. a repeated id)
    tests[nid] = entry


def count_outcomes(tests: Dict[str, Dict[str, Any]]) -> Dict[str, int]:
    counts = {k: 0 for k in ALL_OUTCOMES}
    for t in tests.values():
        counts[t["outcome"]] = counts.get(t["outcome"], 0) + 1
    counts["total"] = len(tests)
    return counts


# --------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------


def _is_module_id(nid: str) -> bool:
    return "::" not in nid


def _ok(outcome: Optional[str], nid: str) -> bool:
    return outcome in OK_OUTCOMES or (outcome is None and _is_module_id(nid))


def _bad(outcome: Optional[str]) -> bool:
    return outcome in BAD_OUTCOMES or outcome is None


def compare(van: Dict[str, Dict[str, Any]], pat: Dict[str, Dict[str, Any]]) -> Dict[str, List[str]]:
    res: Dict[str, List[str]] = {
        "candidates": [],
        "both_fail": [],
        "vanilla_only_fail": [],
        "changed_ok": [],
        "only_patched_ok": [],
    }
    for nid in sorted(set(van) | set(pat)):
        v = van.get(nid, {}).get("outcome")
        p = pat.get(nid, {}).get("outcome")
        if v == p:
            if v in BAD_OUTCOMES:
                res["both_fail"].append(nid)
            continue
        if v in BAD_OUTCOMES and p in BAD_OUTCOMES:
            res["both_fail"].append(nid)
        elif _ok(v, nid) and _bad(p):
            res["candidates"].append(nid)
        elif v in BAD_OUTCOMES:
            res["vanilla_only_fail"].append(nid)
        elif v is None:
            res["only_patched_ok"].append(nid)
        else:
            res["changed_ok"].append(nid)
    return res


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def split_pytest_args(argv: Optional[Sequence[str]]) -> Tuple[List[str], List[str]]:
    """(our arguments, pytest's: those after ``--``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def parse_args(argv: Optional[Sequence[str]]) -> Tuple[argparse.Namespace, List[str]]:
    argv, extra = split_pytest_args(argv)
    p = argparse.ArgumentParser(
        prog="upstream_suite.py",
        description="Run LangGraph's own test suite vanilla (FAST_LANGGRAPH=0) and patched, compare per test.",
        epilog="Arguments after `--` go to pytest; paths among them (relative to the sdist root, e.g. "
        "tests/test_pregel.py) replace the default `tests`. Exit: 0 no regression, 1 regressions, "
        "2 setup error.",
    )
    p.add_argument("--package", default="langgraph", help="distribution whose sdist tests are run (default langgraph)")
    p.add_argument("--version", help="version of the sdist (default: the installed version)")
    p.add_argument(
        "--workdir",
        type=Path,
        default=REPO_ROOT / ".cache" / "upstream",
        help="download/extract/run directory (default <repo>/.cache/upstream)",
    )
    p.add_argument("--jobs", "-n", type=int, default=2, help="pytest-xdist workers (default 2; <=1 disables xdist)")
    p.add_argument(
        "--only",
        choices=("vanilla", "patched", "both"),
        default="both",
        help="run one mode only; it is compared with a cached earlier run of the other mode if one "
        "matches (same versions and arguments)",
    )
    p.add_argument("--results", type=Path, help="also write the results as JSON to this file")
    add_test_deps_options(p)
    p.add_argument(
        "--require-patched",
        action="store_true",
        help="setup error (exit 2) unless the doctor and the test processes confirm the accelerator "
        "was active in the patched run",
    )
    p.add_argument(
        "--allow-version-mismatch",
        action="store_true",
        help="run the tests of --version even though another version is installed",
    )
    p.add_argument("-k", dest="keyword", help="pytest -k expression")
    p.add_argument("--run-timeout", type=float, default=3600.0, help="seconds per pytest run (default 3600)")
    p.add_argument(
        "--test-timeout",
        type=int,
        default=600,
        help="per-test timeout in seconds if pytest-timeout is installed (default 600, 0 = off)",
    )
    p.add_argument("--no-rerun", action="store_true", help="do not rerun divergent tests (count them all)")
    p.add_argument(
        "--rerun-xdist-above",
        type=int,
        default=300,
        help="rerun with xdist instead of serially when more tests diverge than this (default 300)",
    )
    args = p.parse_args(argv)
    return args, extra


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, extra = parse_args(argv)
    return run_guarded(_main, args, extra)


def run_guarded(run: Any, args: argparse.Namespace, extra: List[str]) -> int:
    """``run(args, extra)``; a SetupError (recorded in ``--results``) or ^C exits with 2."""
    try:
        return run(args, extra)
    except SetupError as exc:
        log("")
        log(f"SETUP ERROR: {exc}")
        if args.results:
            _write_json(args.results, {"status": "setup-error", "error": str(exc)})
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 2


def _write_json(path: Path, data: Dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def _main(args: argparse.Namespace, extra: List[str]) -> int:
    t_start = time.monotonic()
    package = args.package
    installed = dist_version(package)
    version = args.version or installed
    if version is None:
        raise SetupError(f"{package} is not installed in {sys.executable}; install it or pass --version.")
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    line = version_line(version)
    log(
        f"== upstream suite: {package} {version} (line {line}) with {sys.executable} "
        f"(Python {platform.python_version()})"
    )
    if installed != version and not args.allow_version_mismatch:
        raise SetupError(
            f"{package} {installed or '(not installed)'} is installed but --version {version} was asked for: the "
            f"tests of one version would run against another.\nWhat to do: install {package}=={version} in this "
            f"environment, drop --version, or pass --allow-version-mismatch."
        )

    results: Dict[str, Any] = {
        "package": package,
        "version": version,
        "line": line,
        "python": {"version": platform.python_version(), "executable": sys.executable, "platform": platform.platform()},
        "versions": {},
        "status": None,
    }

    sdist = obtain_sdist(workdir, package, version)
    tree = extract_tests(sdist, workdir / "tree" / f"{package}-{version}", package)
    if not has_tests(tree):
        results["status"] = "no-tests"
        results["versions"] = fresh_dist_versions(REPORT_DISTS)
        log("")
        log(
            f"RESULT: no upstream tests shipped -- the {package} {version} sdist has no tests/ directory "
            f"(known for lines {', '.join(NO_TESTS_LINES.get(package, ())) or 'n/a'}); nothing to compare."
        )
        _finish_results(args, workdir, package, version, results)
        return 0

    # --- test deps -------------------------------------------------------------------
    dep_line = pick_line(TEST_DEPS.get(package, {}), version)
    reqs = list(RUNNER_DEPS if args.jobs > 1 else RUNNER_DEPS[:1])
    if dep_line is not None:
        reqs += TEST_DEPS[package][dep_line]
        if dep_line != line:
            log(f"note: no test-dep list for line {line}; using the one for {dep_line}")
    else:
        log(f"warning: no test-dep list for {package}; only {', '.join(reqs)} are checked/installed")
    results["test_deps"] = reqs
    if args.install_test_deps:
        install_test_deps(reqs, workdir, args.constraint)
    missing = missing_requirements(reqs)
    if missing:
        quoted = " ".join(shlex.quote(r) for r in missing)
        raise SetupError(
            f"test dependencies missing from this environment: {', '.join(missing)}.\n"
            f"What to do: rerun with --install-test-deps, or `{relpath(Path(sys.executable))} -m pip install "
            f"{quoted}` (without changing the installed langgraph / langchain-core versions)."
        )
    results["versions"] = fresh_dist_versions(REPORT_DISTS)
    v = results["versions"]
    log("   " + "  ".join(f"{k} {v[k]}" for k in REPORT_DISTS if v.get(k)))

    # --- accelerator status ------------------------------------------------------------
    accel_installed = accelerator_importable(tree)
    results["fast_langgraph_installed"] = accel_installed
    doctor: Dict[str, Any] = {}
    if accel_installed:
        for mode in MODES:
            if args.only in (mode, "both"):
                doctor[mode] = run_doctor(mode, tree)
        active, desc = doctor_summary(doctor.get("patched"))
        log(f"   doctor (patched env): {desc}" if "patched" in doctor else "   doctor: patched mode not run")
        if "vanilla" in doctor:
            log(f"   doctor (vanilla env): {doctor_summary(doctor['vanilla'])[1]}")
        if args.require_patched and "patched" in doctor and not active:
            raise SetupError(
                "--require-patched: the doctor does not report the accelerator as active in the "
                "patched environment (" + desc + ").\nWhat to do: run `python -m fast_langgraph.doctor`."
            )
    else:
        log("")
        log("   !!! WARNING: fast_langgraph is NOT importable in this environment: BOTH RUNS ARE VANILLA.")
        log("   !!! The comparison below proves nothing about the accelerator (install fast-langgraph first).")
        log("")
        if args.require_patched:
            raise SetupError(
                "--require-patched but fast_langgraph is not importable from "
                + sys.executable
                + ".\nWhat to do: pip install the fast-langgraph wheel into this environment."
            )
    results["doctor"] = doctor

    # --- runs --------------------------------------------------------------------------
    plugin_dir = workdir / "_plugin"
    plugin_dir.mkdir(parents=True, exist_ok=True)
    (plugin_dir / f"{PLUGIN_NAME}.py").write_text(PLUGIN_SOURCE.lstrip(), encoding="utf-8")
    runs_dir = workdir / "runs" / f"{package}-{version}"
    runs_dir.mkdir(parents=True, exist_ok=True)
    paths, other = split_extra_args(extra, tree)
    if args.keyword:
        other = ["-k", args.keyword] + other
    paths = paths or ["tests"]
    if package in PACKAGE_PLUGINS:
        plugin, env_var, how = PACKAGE_PLUGINS[package]
        if not os.environ.get(env_var):
            raise SetupError(f"the {package} tests need a server: {env_var} is not set.\nWhat to do: {how}.")
        upstream_plugins = str(REPO_ROOT / "tests" / "upstream")
        if upstream_plugins not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
            os.environ["PYTHONPATH"] = os.pathsep.join(
                [upstream_plugins] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
            )
        other = ["-p", plugin] + other
        log(f"   {env_var}={os.environ[env_var]} (pytest plugin {plugin})")
    deselect_line = pick_line(DESELECT.get(package, {}), version)
    deselect = None
    if deselect_line is not None:
        rule = DESELECT[package][deselect_line]
        if deselect_line == line or (rule.get("later_lines_too") and _line_key(line) >= _line_key(deselect_line)):
            deselect = rule
    if deselect:
        log(f"   deselecting for line {line}: {deselect['why']}")
    jobs = args.jobs
    if jobs > 1 and package in SERIAL:
        log(f"   one process (not {jobs}): {SERIAL[package]}")
        jobs = 1
    if jobs > 1 and not dist_version("pytest-xdist"):
        log("warning: pytest-xdist is not installed; running serially")
        jobs = 1
    run_key = {
        "package": package,
        "version": version,
        "versions": v,
        "paths": paths,
        "args": other,
        "deselect": deselect,
        "python": sys.executable,
    }
    results["pytest_args"] = {"paths": paths, "extra": other, "jobs": jobs, "deselect": deselect}

    outcomes: Dict[str, Dict[str, Any]] = {}
    runs: Dict[str, Dict[str, Any]] = {}
    for mode in MODES:
        if args.only not in (mode, "both"):
            cached = _load_cached(runs_dir, mode, run_key)
            if cached is not None:
                outcomes[mode], runs[mode] = cached
                runs[mode]["cached"] = True
                log(f"-- {mode}: using the cached run from {runs[mode].get('finished_at')} ({runs[mode]['log']})")
            continue
        out_jsonl = runs_dir / f"{mode}.jsonl"
        cmd = pytest_command(paths, tree, jobs, runs_dir / f"{mode}.junit.xml", other, args.test_timeout)
        log(
            f"-- {mode}: running {len(paths) == 1 and paths[0] or paths} with {jobs if jobs > 1 else 1} "
            f"process(es), log {relpath(runs_dir / f'{mode}.log')}"
        )
        info = run_pytest(
            mode, cmd, tree, plugin_dir, out_jsonl, runs_dir / f"{mode}.log", deselect, None, args.run_timeout
        )
        data = read_outcomes(out_jsonl)
        info.update(
            {
                "deselected": data["deselected"],
                "accel": data["accel"],
                "worker_errors": data["worker_errors"],
                "finished_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
        info["counts"] = count_outcomes(data["tests"])
        log(
            f"   {mode}: {info['pytest_summary'] or 'no pytest summary line'} "
            f"(exit {info['returncode']}{', TIMED OUT' if info['timed_out'] else ''}, wall {info['wall_s']:.1f}s)"
        )
        outcomes[mode], runs[mode] = data["tests"], info
        _save_cached(runs_dir, mode, run_key, data["tests"], info)
        if mode == "vanilla" and (info["timed_out"] or info["returncode"] not in (0, 1, 5)):
            raise SetupError(
                f"the vanilla run did not complete (exit {info['returncode']}"
                f"{', timed out' if info['timed_out'] else ''}); the suite cannot run in this environment.\n"
                f"{indent(info['log_tail'])}\nWhat to do: read {info['log']}; a missing test dependency or a "
                f"pytest option error shows there."
            )
        if not data["tests"] and info["returncode"] != 5:
            raise SetupError(
                f"the {mode} run recorded no test outcome (exit {info['returncode']}).\n"
                f"{indent(info['log_tail'])}\nWhat to do: read {info['log']}."
            )

    results["runs"] = {m: {k: r[k] for k in r if k not in ("log_tail",)} for m, r in runs.items()}
    # LangGraph's own suite imports what every patch targets; another package's suite (e.g.
    # langgraph-checkpoint's) may import none of it, leaving the patches pending, not applied.
    accel_check = _in_process_check(runs, accel_installed, need_applied=(package == "langgraph"))
    results["accelerator_check"] = accel_check
    if args.require_patched and "patched" in runs and not accel_check.get("patched_active"):
        raise SetupError(
            "--require-patched: the patched test processes did not report fast_langgraph as "
            f"activated ({accel_check.get('patched_desc')})."
        )

    # --- single mode without a counterpart -----------------------------------------------
    if len(outcomes) < 2:
        mode = next(iter(outcomes))
        counts = count_outcomes(outcomes[mode])
        bad = sorted(n for n, t in outcomes[mode].items() if t["outcome"] in BAD_OUTCOMES)
        results.update(
            {
                "status": "single-run",
                "mode": mode,
                "counts": {mode: counts},
                "failing": [_detail(n, outcomes[mode], None) for n in bad],
            }
        )
        _print_counts(outcomes, runs, accel_installed, accel_check)
        if bad:
            log(f"\n{len(bad)} test(s) fail in the {mode} run (no {_other(mode)} run to compare with):")
            for n in bad[:50]:
                log(f"   {n}: {_first_line(outcomes[mode][n].get('msg'))}")
        log(f"\nRESULT: {mode} run only ({len(bad)} failing); run `--only both` (or the other mode) to compare.")
        results["durations"] = {"total_s": round(time.monotonic() - t_start, 1)}
        _finish_results(args, workdir, package, version, results)
        return 1 if bad else 0

    van, pat = outcomes["vanilla"], outcomes["patched"]
    cmp = compare(van, pat)
    patched_aborted = runs["patched"]["timed_out"] or runs["patched"]["returncode"] not in (0, 1, 5)

    # --- rerun divergent tests ----------------------------------------------------------
    regressions: List[str] = []
    flaky: List[str] = []
    rerun: Dict[str, Dict[str, Any]] = {}
    candidates = cmp["candidates"]
    if candidates and args.no_rerun:
        regressions = list(candidates)
    elif candidates:
        log(f"-- {len(candidates)} test(s) diverge (vanilla ok, patched failing): rerunning them in both modes")
        rerun_jobs = jobs if len(candidates) > args.rerun_xdist_above else 1
        rerun_out: Dict[str, Dict[str, Any]] = {}
        for mode in MODES:
            rerun_out[mode], rerun[mode] = _rerun(
                mode, candidates, tree, plugin_dir, runs_dir, rerun_jobs, other, deselect, args
            )
            log(
                f"   rerun {mode}: {rerun[mode]['pytest_summary'] or 'no summary'} "
                f"(wall {rerun[mode]['wall_s']:.1f}s{', %d process(es)' % rerun[mode]['processes'] if rerun[mode]['processes'] > 1 else ''})"
            )
        for nid in candidates:
            rv = rerun_out["vanilla"].get(nid, {}).get("outcome")
            rp = rerun_out["patched"].get(nid, {}).get("outcome")
            if _ok(rv, nid) and _bad(rp):
                regressions.append(nid)
                if nid in rerun_out["patched"]:  # the serial rerun's message is usually clearer
                    pat[nid] = dict(pat.get(nid, {}), rerun_msg=rerun_out["patched"][nid].get("msg"))
            else:
                flaky.append(nid)
            rerun.setdefault("outcomes", {})[nid] = {"vanilla": rv, "patched": rp}

    # A module that fails to collect under the patch hides all its tests: report it once.
    hidden: Dict[str, List[str]] = {}
    broken_modules = {n for n in regressions if _is_module_id(n)}
    for nid in list(regressions):
        module = nid.split("::", 1)[0]
        if not _is_module_id(nid) and module in broken_modules and nid not in pat:
            regressions.remove(nid)
            hidden.setdefault(module, []).append(nid)

    # --- report ------------------------------------------------------------------------
    counts = {m: count_outcomes(outcomes[m]) for m in MODES}
    _print_counts(outcomes, runs, accel_installed, accel_check)
    both_fail = cmp["both_fail"]
    log(f"\nfails upstream too (failing in both runs, not a regression): {len(both_fail)}")
    for n in both_fail[:20]:
        log(f"   {n}: {_first_line(van.get(n, {}).get('msg'))}")
    if len(both_fail) > 20:
        log(f"   ... and {len(both_fail) - 20} more (see the JSON results)")
    if cmp["vanilla_only_fail"]:
        log(
            f"\nfailing vanilla only (patched ok; flaky upstream or fixed by the patch): {len(cmp['vanilla_only_fail'])}"
        )
        for n in cmp["vanilla_only_fail"][:20]:
            log(f"   {n}: vanilla {van[n]['outcome']}, patched {pat.get(n, {}).get('outcome', 'absent')}")
    changed = cmp["changed_ok"] + cmp["only_patched_ok"]
    if changed:
        log(f"\nother outcome differences (both non-failing): {len(changed)}")
        for n in changed[:20]:
            log(
                f"   {n}: vanilla {van.get(n, {}).get('outcome', 'absent')}, "
                f"patched {pat.get(n, {}).get('outcome', 'absent')}"
            )
    if flaky:
        log(f"\nflaky (diverged once, not confirmed by the rerun): {len(flaky)}")
        for n in flaky:
            o = rerun.get("outcomes", {}).get(n, {})
            log(
                f"   {n}: first vanilla {van.get(n, {}).get('outcome', 'absent')} / patched "
                f"{pat.get(n, {}).get('outcome', 'absent')}; rerun vanilla {o.get('vanilla')} / patched {o.get('patched')}"
            )
    if patched_aborted:
        log(
            f"\nPATCHED RUN ABORTED: exit {runs['patched']['returncode']}"
            f"{', timed out' if runs['patched']['timed_out'] else ''} (vanilla completed):"
        )
        log(indent(runs["patched"]["log_tail"]))
    log(f"\nregressions (vanilla ok, patched failing, confirmed by a rerun): {len(regressions)}")
    for n in regressions:
        t = pat.get(n, {})
        log(f"   {n}  [vanilla {van.get(n, {}).get('outcome', 'absent')} -> patched {t.get('outcome', 'absent')}]")
        if n in hidden:
            log(
                f"        (collection error: {len(hidden[n])} test(s) of this module passing vanilla did not run patched)"
            )
        msg = t.get("rerun_msg") or t.get("msg") or "(no message)"
        log(indent("\n".join(msg.strip().splitlines()[:8]), "        "))

    n_regr = len(regressions) + (1 if patched_aborted else 0)
    results.update(
        {
            "status": "regressions" if n_regr else "ok",
            "counts": counts,
            "regressions": [
                dict(_detail(n, pat, van), **({"tests_not_run": hidden[n]} if n in hidden else {})) for n in regressions
            ],
            "patched_run_aborted": patched_aborted,
            "flaky": [dict(_detail(n, pat, van), rerun=rerun.get("outcomes", {}).get(n)) for n in flaky],
            "fails_upstream_too": {"count": len(both_fail), "ids": both_fail},
            "vanilla_only_failures": cmp["vanilla_only_fail"],
            "other_differences": [
                {"nodeid": n, "vanilla": van.get(n, {}).get("outcome"), "patched": pat.get(n, {}).get("outcome")}
                for n in changed
            ],
            "rerun": {k: val for k, val in rerun.items() if k != "outcomes"},
            "durations": {
                "vanilla_s": runs["vanilla"]["wall_s"],
                "patched_s": runs["patched"]["wall_s"],
                "rerun_s": round(sum(r.get("wall_s", 0) for k, r in rerun.items() if k in MODES), 2),
                "total_s": round(time.monotonic() - t_start, 1),
            },
        }
    )
    compared = len(set(van) | set(pat))
    log("")
    if not accel_installed or not accel_check.get("patched_active"):
        caveat = " -- BUT BOTH RUNS WERE VANILLA (fast_langgraph not active), so this says nothing about it"
    else:
        caveat = ""
    if n_regr:
        log(
            f"RESULT: FAIL -- {len(regressions)} regression(s){' + patched run aborted' if patched_aborted else ''} "
            f"over {compared} tests{caveat}"
        )
    else:
        log(
            f"RESULT: OK -- patched == vanilla over {compared} tests ({len(flaky)} flaky, "
            f"{len(both_fail)} failing upstream too){caveat}"
        )
    _finish_results(args, workdir, package, version, results)
    return 1 if n_regr else 0


def _rerun(
    mode: str,
    candidates: List[str],
    tree: Path,
    plugin_dir: Path,
    runs_dir: Path,
    jobs: int,
    other: List[str],
    deselect: Optional[Dict[str, Any]],
    args: argparse.Namespace,
) -> Tuple[Dict[str, Dict[str, Any]], Dict[str, Any]]:
    """Run CANDIDATES once in MODE; if the process dies midway, go on in a fresh one with the rest."""
    got: Dict[str, Dict[str, Any]] = {}
    remaining = list(candidates)
    info_all: Dict[str, Any] = {"wall_s": 0.0, "processes": 0, "returncodes": [], "logs": [], "pytest_summary": ""}
    while remaining and info_all["processes"] < 10:
        i = info_all["processes"]
        select_file = runs_dir / f"rerun-select-{mode}-{i}.txt"
        select_file.write_text("\n".join(remaining) + "\n", encoding="utf-8")
        files = sorted({n.split("::", 1)[0] for n in remaining})
        cmd = pytest_command(files, tree, jobs, None, other, args.test_timeout)
        out = runs_dir / f"rerun-{mode}-{i}.jsonl"
        info = run_pytest(
            mode,
            cmd,
            tree,
            plugin_dir,
            out,
            runs_dir / f"rerun-{mode}-{i}.log",
            deselect,
            select_file,
            args.run_timeout,
        )
        data = read_outcomes(out)
        info_all["processes"] += 1
        info_all["wall_s"] = round(info_all["wall_s"] + info["wall_s"], 2)
        info_all["returncodes"].append(info["returncode"])
        info_all["logs"].append(info["log"])
        info_all["pytest_summary"] = info["pytest_summary"] or info_all["pytest_summary"]
        new = {n: t for n, t in data["tests"].items() if n not in got}
        got.update(new)
        if data["finished"] is not None or info["timed_out"] or not new:
            break  # completed (or no progress): what is still missing stays missing
        seen_modules = {n.split("::", 1)[0] for n in got}
        uncollectable = {n for n in got if _is_module_id(n) and got[n]["outcome"] in BAD_OUTCOMES}
        remaining = [
            n
            for n in remaining
            if n not in got
            and not (_is_module_id(n) and n in seen_modules)
            and n.split("::", 1)[0] not in uncollectable
        ]
    return got, info_all


def _other(mode: str) -> str:
    return "patched" if mode == "vanilla" else "vanilla"


def _first_line(msg: Optional[str]) -> str:
    if not msg:
        return "(no message)"
    first = msg.strip().splitlines()[0] if msg.strip() else ""
    return first[:200]


def _detail(nid: str, pat: Dict[str, Dict[str, Any]], van: Optional[Dict[str, Dict[str, Any]]]) -> Dict[str, Any]:
    t = pat.get(nid, {})
    d = {"nodeid": nid, "outcome": t.get("outcome"), "message": (t.get("rerun_msg") or t.get("msg") or "")[:4000]}
    if van is not None:
        d = {
            "nodeid": nid,
            "vanilla": van.get(nid, {}).get("outcome"),
            "patched": t.get("outcome"),
            "message": d["message"],
        }
    return d


def _in_process_check(
    runs: Dict[str, Dict[str, Any]], accel_installed: bool, need_applied: bool = True
) -> Dict[str, Any]:
    """What the test processes themselves said about fast_langgraph (xdist workers report at exit).

    The patched run counts as active when every process activated the autoload, no patch
    failed, and (NEED_APPLIED) every process applied at least one patch."""
    out: Dict[str, Any] = {}
    for mode, info in runs.items():
        states = [rec.get("status", {}) for rec in info.get("accel", [])]
        boot = sorted({str(s.get("bootstrap_state")) for s in states if s.get("fast_langgraph_loaded")})
        applied = [s.get("patch_status_counts", {}).get("applied", 0) for s in states]
        lg_files = sorted({os.path.dirname(str(s.get("langgraph_file"))) for s in states if s.get("langgraph_file")})
        if not states:
            desc = "no process status recorded"
        elif not any(s.get("fast_langgraph_loaded") for s in states):
            desc = "fast_langgraph not loaded in the test processes"
        else:
            desc = f"bootstrap {'/'.join(boot) or '?'}, patches applied per process: {applied}"
        out[f"{mode}_desc"] = desc
        out[f"{mode}_processes"] = states
        out[f"{mode}_langgraph_dirs"] = lg_files
        if mode == "patched":
            out["patched_active"] = bool(states) and all(
                s.get("bootstrap_state") == "activated"
                and not s.get("patch_status_counts", {}).get("failed")
                and (s.get("patch_status_counts", {}).get("applied", 0) > 0 or not need_applied)
                for s in states
            )
        else:
            out["vanilla_clean"] = all(s.get("bootstrap_state") in (None, "not run", "disabled") for s in states)
    return out


def _print_counts(
    outcomes: Dict[str, Dict[str, Any]],
    runs: Dict[str, Dict[str, Any]],
    accel_installed: bool,
    accel_check: Dict[str, Any],
) -> None:
    modes = [m for m in MODES if m in outcomes]
    counts = {m: count_outcomes(outcomes[m]) for m in modes}
    log("")
    log("outcome      " + "".join(f"{m:>10}" for m in modes))
    for k in ALL_OUTCOMES + ("total",):
        if k == "total" or any(counts[m].get(k) for m in modes):
            log(f"{k:<12} " + "".join(f"{counts[m].get(k, 0):>10}" for m in modes))
    if any(runs[m].get("deselected") for m in modes):
        log(
            f"{'deselected':<12} "
            + "".join(f"{runs[m].get('deselected', 0):>10}" for m in modes)
            + "   (tests needing services: see DESELECT)"
        )
    log(f"{'wall time':<12} " + "".join(f"{runs[m]['wall_s']:>9.1f}s" for m in modes))
    for m in modes:
        log(f"{m} processes: {accel_check.get(m + '_desc', '?')}")
        dirs = accel_check.get(f"{m}_langgraph_dirs") or []
        if dirs:
            log(f"   langgraph imported from: {', '.join(dirs)}")
        for err in runs[m].get("worker_errors", []):
            log(f"   worker error: {err}")
    if not accel_installed:
        log("NOTE: fast_langgraph is not installed: the 'patched' column is a second VANILLA run.")
    elif "patched" in modes and not accel_check.get("patched_active"):
        log("WARNING: the patched test processes did not confirm fast_langgraph as activated.")


def _cache_paths(runs_dir: Path, mode: str) -> Tuple[Path, Path]:
    return runs_dir / f"{mode}.outcomes.json", runs_dir / f"{mode}.meta.json"


def _save_cached(runs_dir: Path, mode: str, key: Dict[str, Any], tests: Dict[str, Any], info: Dict[str, Any]) -> None:
    out, meta = _cache_paths(runs_dir, mode)
    out.write_text(json.dumps(tests), encoding="utf-8")
    meta.write_text(
        json.dumps({"key": key, "info": {k: v for k, v in info.items() if k != "log_tail"}}, default=str),
        encoding="utf-8",
    )


def _load_cached(runs_dir: Path, mode: str, key: Dict[str, Any]) -> Optional[Tuple[Dict[str, Any], Dict[str, Any]]]:
    out, meta = _cache_paths(runs_dir, mode)
    try:
        m = json.loads(meta.read_text(encoding="utf-8"))
        if json.loads(json.dumps(key, default=str)) != m["key"]:
            return None
        info = m["info"]
        info.setdefault("log_tail", "")
        return json.loads(out.read_text(encoding="utf-8")), info
    except (OSError, ValueError, KeyError):
        return None


def _finish_results(
    args: argparse.Namespace, workdir: Path, package: str, version: str, results: Dict[str, Any]
) -> None:
    default = workdir / "runs" / f"{package}-{version}" / "results.json"
    _write_json(default, results)
    if args.results:
        _write_json(args.results, results)
        log(f"results: {args.results}")
    else:
        log(f"results: {relpath(default)}")


if __name__ == "__main__":
    sys.exit(main())

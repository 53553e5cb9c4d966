#!/usr/bin/env python3
"""The compatibility matrix's per-environment steps and its results table.

tox.ini calls it in every environment of the matrix:

    python compat_matrix/report.py ours --junit DIR/ours.xml -- -n 2 tests
        our own test suite against the installed wheel (FAST_LANGGRAPH_WHEEL defaults to
        the wheel tox installed, $TOX_PACKAGE, so tests/test_install.py does not rebuild it;
        pytest runs outside the checkout, so a Rust core built in place there is not used)
    python compat_matrix/report.py collect --env NAME --line 0.4 --work DIR
        runs `python -m fast_langgraph.doctor --json`, reads what the steps left in DIR
        (ours.xml, graph_checks.json, upstream-<package>.json), checks every patch against the
        version range it declares, writes compat_matrix/results/NAME.json and regenerates
        RESULTS.md. Exit 1 if anything failed: our tests, the graph checks, an upstream
        regression, a missing step, or a patch claimed for this LangGraph but not applied.
    python compat_matrix/report.py render
        RESULTS.md from compat_matrix/results/*.json only.

Stdlib only; Python 3.9+.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_DIR = HERE / "results"
RESULTS_MD = HERE / "RESULTS.md"
SWITCHES = ("FAST_LANGGRAPH", "FAST_LANGGRAPH_DISABLE", "FAST_LANGGRAPH_STRICT")
VERSION_DISTS = (
    "langgraph",
    "langchain-core",
    "langgraph-checkpoint",
    "langgraph-prebuilt",
    "langgraph-sdk",
    "langgraph-checkpoint-sqlite",
    "pydantic",
    "fast-langgraph",
    "pytest",
)
UPSTREAM_PACKAGES = ("langgraph", "langgraph-checkpoint")
OUTCOMES = ("passed", "skipped", "xfailed", "xpassed", "failed", "error", "crashed")


# --------------------------------------------------------------------------------------
# ours: our test suite against the installed package
# --------------------------------------------------------------------------------------


SKIP_OURS = "COMPAT_MATRIX_SKIP_OURS"


def _skip_ours() -> bool:
    """$COMPAT_MATRIX_SKIP_OURS names tox envs (or `all`) whose `ours` step ran elsewhere (CI)."""
    names = {n.strip() for n in os.environ.get(SKIP_OURS, "").split(",") if n.strip()}
    return bool(names & {"all", "*", os.environ.get("TOX_ENV_NAME", "")})


def cmd_ours(args: argparse.Namespace, pytest_args: List[str]) -> int:
    if _skip_ours():
        print(f"ours: skipped ({SKIP_OURS}={os.environ.get(SKIP_OURS)}: run outside the matrix)")
        if args.junit:
            Path(args.junit).parent.mkdir(parents=True, exist_ok=True)
            if Path(args.junit).exists():
                Path(args.junit).unlink()  # not an earlier run's results
            Path(args.junit).with_suffix(".skipped").write_text(os.environ.get(SKIP_OURS, "") + "\n")
        return 0
    env = dict(os.environ)
    if not env.get("FAST_LANGGRAPH_WHEEL") and env.get("TOX_PACKAGE"):
        wheels = [p for p in env["TOX_PACKAGE"].split(os.pathsep) if p.endswith(".whl")]
        if wheels:
            env["FAST_LANGGRAPH_WHEEL"] = wheels[0]
    # Paths relative to the checkout: pytest runs from a temporary directory, so neither the
    # checkout nor a Rust core someone built in place there lands on sys.path.
    resolved = [
        str(REPO / a) if not a.startswith("-") and (REPO / a.split("::")[0]).exists() else a
        for a in (pytest_args or ["tests"])
    ]
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--rootdir={REPO}", *resolved]
    if args.junit:
        Path(args.junit).parent.mkdir(parents=True, exist_ok=True)
        for stale in (Path(args.junit), Path(args.junit).with_suffix(".skipped")):
            if stale.exists():
                stale.unlink()
        cmd.append(f"--junitxml={args.junit}")
    print(
        "ours: "
        + " ".join(cmd)
        + (f"  (FAST_LANGGRAPH_WHEEL={env['FAST_LANGGRAPH_WHEEL']})" if env.get("FAST_LANGGRAPH_WHEEL") else ""),
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="ours-") as cwd:
        return subprocess.run(cmd, cwd=cwd, env=env).returncode


# --------------------------------------------------------------------------------------
# collect
# --------------------------------------------------------------------------------------


def _versions() -> Dict[str, Optional[str]]:
    from importlib import metadata

    out: Dict[str, Optional[str]] = {}
    for dist in VERSION_DISTS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _doctor() -> Dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES}
    res = subprocess.run(
        [sys.executable, "-m", "fast_langgraph.doctor", "--json"],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    out: Dict[str, Any] = {"returncode": res.returncode}
    try:
        out["report"] = json.loads(res.stdout)
    except ValueError:
        out["stdout"] = res.stdout[-3000:]
        out["stderr"] = res.stderr[-3000:]
    return out


def _parse_version(text: str) -> Tuple[int, ...]:
    parts = []
    for piece in re.split(r"[.+-]", text.lstrip("v")):
        m = re.match(r"\d+", piece)
        if not m:
            break
        parts.append(int(m.group(0)))
        if m.group(0) != piece:  # 0rc1, 1a2: stop after the numeric part
            break
    return tuple(parts)


def _cmp(a: Tuple[int, ...], b: Tuple[int, ...]) -> int:
    n = max(len(a), len(b))
    a, b = a + (0,) * (n - len(a)), b + (0,) * (n - len(b))
    return (a > b) - (a < b)


def _is_prerelease(text: str) -> bool:
    return bool(re.search(r"\d(a|b|rc|dev)\d*", text))


def version_in_range(version: str, spec: str) -> bool:
    """The registry's range check (fast_langgraph.patches._spec), with a local fallback."""
    try:
        from fast_langgraph.patches._spec import version_in_range as theirs

        return bool(theirs(version, spec))
    except ImportError:
        pass
    v = _parse_version(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        m = re.match(r"(>=|<=|==|!=|<|>)\s*(\S+)$", clause)
        if not m:
            raise ValueError(f"unsupported clause {clause!r}")
        op, bound = m.group(1), _parse_version(m.group(2))
        c = _cmp(v, bound)
        if op == "<" and c == 0 and _is_prerelease(version):
            c = -1
        ok = {">=": c >= 0, "<=": c <= 0, "==": c == 0, "!=": c != 0, "<": c < 0, ">": c > 0}[op]
        if not ok:
            return False
    return True


def _check_ranges(doctor_report: Dict[str, Any], versions: Dict[str, Optional[str]]) -> List[Dict[str, Any]]:
    """Every patch declared for the installed version must be applied; outside its range, skipped."""
    rows = []
    for p in doctor_report.get("patches") or []:
        dist = p.get("distribution") or "langgraph"
        installed = p.get("installed") or versions.get(dist)
        supported = p.get("supported") or ""
        status = p.get("status")
        if installed is not None and isinstance(p.get("in_range"), bool):
            in_range = p["in_range"]
            if in_range:
                ok = status == "applied"
                why = "" if ok else f"declared for {dist} {supported} but {status}: {p.get('reason')}"
            else:
                ok = status in ("skipped", "disabled")
                why = "" if ok else f"outside its declared range {supported} but {status}"
        elif installed is None:
            in_range, ok, why = None, status in ("skipped", "disabled"), f"{dist} not installed"
        else:
            in_range = version_in_range(installed, supported)
            if in_range:
                ok = status == "applied"
                why = "" if ok else f"declared for {dist} {supported} but {status}: {p.get('reason')}"
            else:
                ok = status in ("skipped", "disabled")
                why = "" if ok else f"outside its declared range {supported} but {status}"
        rows.append(
            {
                "name": p.get("name"),
                "status": status,
                "reason": p.get("reason") or "",
                "default": p.get("default", True),
                "distribution": dist,
                "supported": supported,
                "installed": installed,
                "in_range": in_range,
                "ok": ok,
                "problem": why,
            }
        )
    return rows


def _junit(path: Path) -> Dict[str, Any]:
    if not path.is_file() and path.with_suffix(".skipped").is_file():
        return {"status": "skipped", "skipped_by": f"{SKIP_OURS}={path.with_suffix('.skipped').read_text().strip()}"}
    if not path.is_file():
        return {"status": "missing", "problem": f"{path.name} not written (pytest did not run or crashed)"}
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        return {"status": "missing", "problem": f"{path.name}: {exc}"}
    counts = {"passed": 0, "skipped": 0, "failed": 0, "error": 0}
    failing: List[str] = []
    total_time = 0.0
    for suite in root.iter("testsuite"):
        try:
            total_time += float(suite.get("time") or 0)
        except ValueError:
            pass
    for case in root.iter("testcase"):
        nid = "::".join(x for x in (case.get("classname", ""), case.get("name", "")) if x)
        tags = {child.tag for child in case}
        if "failure" in tags:
            counts["failed"] += 1
            failing.append(nid)
        elif "error" in tags:
            counts["error"] += 1
            failing.append(nid)
        elif "skipped" in tags:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    bad = counts["failed"] + counts["error"]
    return {
        "status": "ok" if bad == 0 and sum(counts.values()) > 0 else "fail",
        "counts": counts,
        "failing": failing[:50],
        "time_s": round(total_time, 1),
        "problem": f"{bad} of our tests failed: " + ", ".join(failing[:12]) + (" ..." if bad > 12 else "")
        if bad
        else "",
    }


def _read_json(path: Path) -> Optional[Dict[str, Any]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _graph_checks(path: Path) -> Dict[str, Any]:
    data = _read_json(path)
    if data is None:
        return {"status": "missing", "problem": f"{path.name} not written (graph_checks.py did not run)"}
    scen = data.get("scenarios") or {}
    same = sum(1 for s in scen.values() if s.get("identical"))
    out = {
        "status": data.get("status"),
        "scenarios": len(scen),
        "identical": same,
        "differences": data.get("differences") or [],
        "raised": data.get("raised") or [],
        "accelerator_active": data.get("accelerator_active"),
        "time_s": data.get("duration_s"),
    }
    if data.get("status") != "ok":
        out["problem"] = "graph checks: %s (different: %s; raised: %s; accelerator active: %s)" % (
            data.get("status"),
            out["differences"] or "none",
            out["raised"] or "none",
            out["accelerator_active"],
        )
    return out


def _upstream(path: Path, package: str) -> Dict[str, Any]:
    data = _read_json(path)
    if data is None:
        return {"status": "missing", "problem": f"{path.name} not written (upstream_suite.py did not run)"}
    status = data.get("status")
    out: Dict[str, Any] = {"status": status, "version": data.get("version")}
    if status == "no-tests":
        return out
    if status == "setup-error":
        out["problem"] = f"upstream {package}: setup error: " + str(data.get("error", ""))[:500]
        return out
    runs = data.get("runs") or {}
    out["counts"] = {
        m: {k: v for k, v in (data.get("counts") or {}).get(m, {}).items() if v or k == "total"}
        for m in ("vanilla", "patched")
    }
    out["deselected"] = max([int(r.get("deselected") or 0) for r in runs.values()] or [0])
    out["deselect_why"] = ((data.get("pytest_args") or {}).get("deselect") or {}).get("why")
    out["regressions"] = [r.get("nodeid") for r in data.get("regressions") or []]
    out["flaky"] = [r.get("nodeid") for r in data.get("flaky") or []]
    out["patched_run_aborted"] = bool(data.get("patched_run_aborted"))
    both = (data.get("fails_upstream_too") or {}).get("ids") or []
    msgs = {r.get("nodeid"): r.get("message") for r in data.get("failing") or []}
    out["fails_upstream_too"] = [{"nodeid": n, "message": _first_line(msgs.get(n))} for n in both]
    # messages of the tests failing in both runs come from the vanilla run's outcomes
    van = _vanilla_messages(data)
    for entry in out["fails_upstream_too"]:
        entry["message"] = entry["message"] or _first_line(van.get(entry["nodeid"]))
    out["vanilla_only_failures"] = data.get("vanilla_only_failures") or []
    out["durations"] = data.get("durations")
    out["accelerator"] = (data.get("accelerator_check") or {}).get("patched_desc")
    if status != "ok" or out["regressions"] or out["patched_run_aborted"]:
        out["problem"] = "upstream %s: %s, %d regression(s)%s" % (
            package,
            status,
            len(out["regressions"]),
            ", patched run aborted" if out["patched_run_aborted"] else "",
        )
    return out


def _vanilla_messages(data: Dict[str, Any]) -> Dict[str, str]:
    run = ((data.get("runs") or {}).get("vanilla") or {}).get("log")
    if not run:
        return {}
    cached = Path(run).with_name("vanilla.outcomes.json")
    outcomes = _read_json(cached) or {}
    return {k: v.get("msg") or "" for k, v in outcomes.items() if isinstance(v, dict)}


def _first_line(msg: Optional[str]) -> str:
    if not msg:
        return ""
    for line in msg.strip().splitlines():
        line = line.strip()
        if line.startswith("E ") or not line:
            continue
        # "path/to/file.py:123: AssertionError: ..." -> "AssertionError: ..."
        m = re.match(r"^\S+?\.py:\d+: (.*)$", line)
        return (m.group(1) if m else line)[:160]
    return msg.strip().splitlines()[0][:160]


def _wheel() -> Optional[Dict[str, str]]:
    """The wheel tox installed in this environment ($TOX_PACKAGE), with its sha256."""
    import hashlib

    for path in os.environ.get("TOX_PACKAGE", "").split(os.pathsep):
        if path.endswith(".whl") and os.path.isfile(path):
            with open(path, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            return {"name": os.path.basename(path), "sha256": digest}
    return None


def cmd_collect(args: argparse.Namespace) -> int:
    work = Path(args.work)
    versions = _versions()
    doctor = _doctor()
    report = doctor.get("report") or {}
    ranges = _check_ranges(report, versions) if report else []
    result: Dict[str, Any] = {
        "env": args.env,
        "line": args.line,
        "generated_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
        "wheel": _wheel(),
        "git_head": _git_commit(),
        "constraints": f"compat_matrix/constraints/langgraph-{args.line}.txt",
        "switches": {
            k: os.environ.get(k)
            for k in ("FAST_LANGGRAPH_ENABLE", "FAST_LANGGRAPH_DISABLE", "FAST_LANGGRAPH_STRICT")
            if os.environ.get(k)
        },
        "doctor": {
            "returncode": doctor.get("returncode"),
            "ok": report.get("ok"),
            "autoload": report.get("autoload"),
            "rust_core": report.get("rust_core"),
            "problems": report.get("problems"),
            "versions": report.get("versions"),
        },
        "patches": ranges,
        "ours": _junit(work / "ours.xml"),
        "graph_checks": _graph_checks(work / "graph_checks.json"),
        "upstream": {pkg: _upstream(work / f"upstream-{pkg}.json", pkg) for pkg in UPSTREAM_PACKAGES},
    }
    problems: List[str] = []
    if not report:
        problems.append("the doctor gave no JSON report: " + (doctor.get("stderr") or "")[-300:])
    elif doctor.get("returncode") != 0:
        problems.append(f"the doctor exited {doctor.get('returncode')}: {report.get('problems')}")
    if report and not (report.get("autoload") or {}).get("active"):
        problems.append("the autoload is not active in this environment")
    dv = (report.get("versions") or {}).get("langgraph")
    if report and dv != versions.get("langgraph"):
        problems.append(f"the doctor saw langgraph {dv}, the environment has {versions.get('langgraph')}")
    problems += [f"patch {r['name']}: {r['problem']}" for r in ranges if not r["ok"]]
    if report and any(r["in_range"] and not r.get("default", True) and r["status"] != "applied" for r in ranges):
        problems.append("an opt-in patch is off: run the matrix with FAST_LANGGRAPH_ENABLE=all")
    for part in (result["ours"], result["graph_checks"], *result["upstream"].values()):
        if part.get("problem"):
            problems.append(part["problem"])
    result["problems"] = problems
    result["ok"] = not problems
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"{args.env}.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    render()
    print(f"results: {out.relative_to(REPO)} and {RESULTS_MD.relative_to(REPO)}")
    if problems:
        print(f"MATRIX ENV {args.env} FAILED:")
        for p in problems:
            print("  - " + p)
        return 1
    print(f"MATRIX ENV {args.env}: OK (LangGraph {versions.get('langgraph')})")
    return 0


# --------------------------------------------------------------------------------------
# render
# --------------------------------------------------------------------------------------


def _line_key(res: Dict[str, Any]) -> Tuple[int, ...]:
    return _parse_version(str(res.get("line") or "0"))


def _counts(c: Optional[Dict[str, int]]) -> str:
    if not c:
        return "–"
    parts = [f"{c.get('passed', 0)} passed"]
    for k in ("skipped", "xfailed", "xpassed", "failed", "error", "crashed"):
        if c.get(k):
            parts.append(f"{c[k]} {k}")
    return ", ".join(parts)


def _git_commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha or "unknown"


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render() -> Path:
    results = []
    for path in sorted(RESULTS_DIR.glob("*.json")):
        data = _read_json(path)
        if data and data.get("env"):
            results.append(data)
    results.sort(key=_line_key)
    L: List[str] = []
    a = L.append
    a("# Compatibility matrix: results")
    a("")
    a(
        "Generated by `compat_matrix/report.py` from `compat_matrix/results/*.json`, which `tox -m matrix` "
        "writes (one environment per LangGraph line; see `tox.ini`). Do not edit by hand."
    )
    a("")
    if not results:
        a("No results yet: run `tox -m matrix`.")
        RESULTS_MD.write_text("\n".join(L) + "\n", encoding="utf-8")
        return RESULTS_MD
    first = results[0]
    fl = sorted({r["versions"].get("fast-langgraph") or "?" for r in results})
    dates = sorted(r.get("generated_at", "") for r in results)
    a(
        f"fast-langgraph {', '.join(fl)}; Python {', '.join(sorted({r.get('python', '?') for r in results}))}; "
        f"{first.get('platform', '?')}, {first.get('cpus', '?')} CPUs; "
        f"environments collected {dates[0]} to {dates[-1]}."
    )
    a("")
    wheels = {(w.get("name"), w.get("sha256")) for w in (r.get("wheel") for r in results) if w}
    heads = sorted({r.get("git_head") for r in results if r.get("git_head")})
    if len(wheels) == 1 and all(r.get("wheel") for r in results):
        name, digest = next(iter(wheels))
        a(
            f"The same wheel in every environment: `{name}` (sha256 `{digest[:16]}…`), "
            f"checkout at commit {', '.join(heads) or '?'}."
        )
        a("")
    elif wheels:
        a(
            "Wheels (per environment): "
            + "; ".join(
                f"{r['line']}: `{r['wheel']['sha256'][:12]}…` (commit {r.get('git_head', '?')})"
                for r in results
                if r.get("wheel")
            )
            + "."
        )
        a("")
    verdict = all(r.get("ok") for r in results)
    a(
        f"**Overall: {'OK' if verdict else 'FAILED'}** -- {sum(1 for r in results if r.get('ok'))} of {len(results)} "
        "environments pass: our tests, our graph checks, LangGraph's (and langgraph-checkpoint's) own suites "
        "with 0 regressions, and every patch applied exactly where its declared range says."
    )
    a("")

    # versions
    a("## Versions")
    a("")
    a(
        "Each environment installs the same wheel with `langgraph==X` under "
        "`compat_matrix/constraints/langgraph-<line>.txt` (regenerate with `python compat_matrix/pin.py`; why each "
        "line's pins are what they are is in that file's header)."
    )
    a("")
    a(
        "| line | env | langgraph | langchain-core | langgraph-checkpoint | langgraph-prebuilt | langgraph-sdk | pydantic | result |"
    )
    a("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        v = r["versions"]
        a(
            f"| {r['line']} | `{r['env']}` | {v.get('langgraph')} | {v.get('langchain-core')} | "
            f"{v.get('langgraph-checkpoint')} | {v.get('langgraph-prebuilt') or '(bundled)'} | {v.get('langgraph-sdk')} | "
            f"{v.get('pydantic')} | {'OK' if r.get('ok') else '**FAILED**'} |"
        )
    a("")

    # patches
    names: List[str] = []
    for r in results:
        for p in r.get("patches") or []:
            if p["name"] not in names:
                names.append(p["name"])
    a("## Patches")
    a("")
    a(
        "Status from `python -m fast_langgraph.doctor --json` run inside each environment with every patch "
        "on (`FAST_LANGGRAPH_ENABLE=all`: the opt-in ones too), as in every accelerated run of the matrix. "
        "A patch must be `applied` wherever its declared range includes the installed version, "
        "and `skipped` (with the doctor's reason) outside it."
    )
    a("")
    ranges = {}
    for r in results:
        for p in r.get("patches") or []:
            ranges.setdefault(
                p["name"], f"{p['distribution']} {p['supported']}" + ("" if p.get("default", True) else ", opt-in")
            )
    a("| line | " + " | ".join(f"`{n}` ({_md(ranges[n])})" for n in names) + " | autoload | doctor |")
    a("|---|" + "---|" * len(names) + "---|---|")
    for r in results:
        by = {p["name"]: p for p in r.get("patches") or []}
        cells = []
        for n in names:
            p = by.get(n)
            if p is None:
                cells.append("–")
                continue
            text = p["status"] + ("" if p["ok"] else " **(wrong)**")
            if p["status"] != "applied" and p.get("reason"):
                text += f": {_md(p['reason'])[:80]}"
            cells.append(text)
        auto = (r.get("doctor") or {}).get("autoload") or {}
        doc = r.get("doctor") or {}
        a(
            f"| {r['line']} | "
            + " | ".join(cells)
            + f" | {'active' if auto.get('active') else 'NOT active'} ({auto.get('bootstrap_state')}) | "
            f"{'ok' if doc.get('ok') else 'exit %s' % doc.get('returncode')} |"
        )
    a("")

    # tests
    a("## Tests")
    a("")
    a("- **ours**: `tests/` (pytest) against the installed wheel.")
    a(
        "- **graph checks**: `compat_matrix/graph_checks.py`, real graphs (errors in branches, interrupts, "
        "retries, step timeouts, SqliteSaver, subgraph streaming, functional API, async, batch) run vanilla and "
        "accelerated in fresh interpreters, outputs identical. They are the LangGraph-level check for 0.2 and "
        "0.3, whose sdists ship no tests."
    )
    a(
        "- **upstream**: the sdist's own `tests/`, run with `FAST_LANGGRAPH=0` (vanilla) and with the accelerator "
        "active, every patch on (`FAST_LANGGRAPH_ENABLE=all`, `FAST_LANGGRAPH_STRICT=1`), "
        "compared test by test (`compat_matrix/upstream_suite.py`). A regression is a test that "
        "passes vanilla and fails patched, confirmed by a serial rerun."
    )
    a("")
    a(
        "| line | ours | graph checks | upstream langgraph: vanilla | patched | regressions | "
        "upstream langgraph-checkpoint: vanilla | patched | regressions |"
    )
    a("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ours = r.get("ours") or {}
        gc = r.get("graph_checks") or {}
        cells = [
            r["line"],
            _counts(ours.get("counts"))
            if ours.get("counts")
            else (f"skipped ({ours['skipped_by']})" if ours.get("skipped_by") else ours.get("status", "–")),
            (
                f"{gc.get('identical')}/{gc.get('scenarios')} identical"
                if gc.get("scenarios") is not None
                else gc.get("status", "–")
            ),
        ]
        for pkg in UPSTREAM_PACKAGES:
            u = (r.get("upstream") or {}).get(pkg) or {}
            if u.get("status") == "no-tests":
                cells += [f"no tests shipped ({pkg} {u.get('version')})", "–", "–"]
            elif "counts" in u:
                desel = f" (+{u['deselected']} deselected)" if u.get("deselected") else ""
                cells += [
                    f"{pkg} {u.get('version')}: {_counts(u['counts'].get('vanilla'))}{desel}",
                    _counts(u["counts"].get("patched")),
                    f"**{len(u.get('regressions') or [])}**"
                    + (f" ({len(u['flaky'])} flaky)" if u.get("flaky") else ""),
                ]
            else:
                cells += [u.get("status", "–"), "–", "–"]
        a("| " + " | ".join(_md(c) for c in cells) + " |")
    a("")
    desel = sorted(
        {
            (pkg, u.get("deselect_why"))
            for r in results
            for pkg, u in (r.get("upstream") or {}).items()
            if u.get("deselected") and u.get("deselect_why")
        }
    )
    if desel:
        a(
            "Deselected: "
            + "; ".join(f"{pkg}: {why}" for pkg, why in desel)
            + ". From LangGraph 0.5 on the suite's own `NO_DOCKER=true` skips the Postgres, Redis and server tests "
            "(counted as skipped)."
        )
        a("")

    # known upstream failures
    a("## Known upstream failures")
    a("")
    a(
        "Tests that fail in **both** runs (vanilla and patched) with this line's pinned dependencies: "
        "upstream problems, not regressions."
    )
    a("")
    any_known = False
    for r in results:
        for pkg in UPSTREAM_PACKAGES:
            u = (r.get("upstream") or {}).get(pkg) or {}
            known = u.get("fails_upstream_too") or []
            if not known:
                continue
            any_known = True
            a(f"- **{r['line']}** ({pkg} {u.get('version')}): {len(known)}")
            for k in known:
                a(f"  - `{k['nodeid']}`" + (f": {_md(k['message'])}" if k.get("message") else ""))
    if not any_known:
        a("None.")
    a("")

    # problems
    failing = [r for r in results if not r.get("ok")]
    if failing:
        a("## Problems")
        a("")
        for r in failing:
            for p in r.get("problems") or []:
                a(f"- **{r['line']}**: {_md(p)}")
        a("")

    # timing
    a("## Time per environment")
    a("")
    a("| line | ours | graph checks | upstream langgraph (vanilla + patched) | upstream checkpoint |")
    a("|---|---|---|---|---|")
    for r in results:

        def _up(pkg: str) -> str:
            d = ((r.get("upstream") or {}).get(pkg) or {}).get("durations") or {}
            if not d:
                return "–"
            return f"{d.get('total_s', 0):.0f} s ({d.get('vanilla_s', 0):.0f} + {d.get('patched_s', 0):.0f})"

        a(
            f"| {r['line']} | {(r.get('ours') or {}).get('time_s', '–')} s | "
            f"{(r.get('graph_checks') or {}).get('time_s', '–')} s | {_up('langgraph')} | {_up('langgraph-checkpoint')} |"
        )
    a("")
    RESULTS_MD.write_text("\n".join(L) + "\n", encoding="utf-8")
    return RESULTS_MD


def cmd_render(args: argparse.Namespace) -> int:
    path = render()
    print(f"wrote {path.relative_to(REPO)}")
    results = [_read_json(p) or {} for p in sorted(RESULTS_DIR.glob("*.json"))]
    if args.check and not all(r.get("ok") for r in results):
        print("at least one environment of the matrix failed (see RESULTS.md)")
        return 1
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rest: List[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1 :]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("ours", help="run our tests against the installed wheel (pytest args after --)")
    o.add_argument("--junit", help="write JUnit XML here")
    c = sub.add_parser("collect", help="record one environment's results and regenerate RESULTS.md")
    c.add_argument("--env", required=True, help="tox environment name")
    c.add_argument("--line", required=True, help="LangGraph release line, e.g. 0.4")
    c.add_argument("--work", required=True, help="directory the steps wrote their results to")
    r = sub.add_parser("render", help="regenerate RESULTS.md from results/*.json")
    r.add_argument("--check", action="store_true", help="exit 1 if any environment failed")
    args = p.parse_args(argv)
    if args.cmd == "ours":
        return cmd_ours(args, rest)
    if args.cmd == "collect":
        return cmd_collect(args)
    return cmd_render(args)


if __name__ == "__main__":
    sys.exit(main())

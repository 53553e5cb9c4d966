"""``python -m fast_langgraph.doctor [--json]``: what fast_langgraph does in this environment.

It imports LangGraph itself (so the autoload fires as it would in your program),
then reports the Rust core, versions, the autoload, the switches, and every patch
with its status and reason. Exit code 0 when everything that should apply did
(patches turned off by a switch count as intended), 1 otherwise: usable as a
deployment gate.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from typing import Any, Dict, List, Optional

PTH_NAME = "fast_langgraph_autoload.pth"
DISTRIBUTIONS = ("langgraph", "langchain-core", "langgraph-checkpoint", "langgraph-prebuilt")


def _site_dirs() -> List[str]:
    import site

    dirs: List[str] = []
    try:
        dirs.extend(site.getsitepackages())
    except AttributeError:  # pragma: no cover - old virtualenv's site.py
        pass
    try:
        dirs.append(site.getusersitepackages())
    except AttributeError:  # pragma: no cover
        pass
    dirs.extend(p for p in sys.path if p.endswith("site-packages"))
    return list(dict.fromkeys(dirs))


def _autoload_report() -> Dict[str, Any]:
    from fast_langgraph import _bootstrap, _switches

    installed = [os.path.join(d, PTH_NAME) for d in _site_dirs() if os.path.isfile(os.path.join(d, PTH_NAME))]
    armed_by_site = any(type(f).__name__ == "FastLangGraphAutoload" for f in sys.meta_path)
    return {
        "pth_files": installed,
        "active": _bootstrap.origin == "site" or armed_by_site,
        "bootstrap_state": _bootstrap.state,
        # Every switch the package reads (fast_langgraph._switches.VARIABLES), None when unset.
        "switches": dict(_switches.read().raw),
        "FAST_LANGGRAPH": os.environ.get("FAST_LANGGRAPH"),
        "FAST_LANGGRAPH_DISABLE": os.environ.get("FAST_LANGGRAPH_DISABLE"),
        "disabled_by_env": _switches.disabled(),
    }


def _import_langgraph() -> Optional[str]:
    """Import LangGraph and every module a patch targets; the error text if LangGraph is missing."""
    from fast_langgraph.patches import REGISTRY

    try:
        importlib.import_module("langgraph.graph")
    except Exception as exc:
        return "%s: %s" % (type(exc).__name__, exc)
    for spec in REGISTRY:
        for target in spec.targets:
            try:
                importlib.import_module(target.module)
            except Exception:  # absent in this version: the patch table says whether that matters
                pass
    return None


def _sqlite_report(core: Any) -> Optional[Dict[str, Any]]:
    """The SQLite library behind RustSqliteSaver and the pragmas a new saver runs with."""
    if core is None:
        return None
    import shutil
    import sqlite3
    import tempfile

    try:
        rust_version = core.SqliteCheckpointStore.sqlite_version()
    except Exception as exc:
        # RustSqliteSaver is opt-in, not a patch: the rest works without it, so this is not a problem.
        return {
            "rust_sqlite_version": None,
            "python_sqlite3_version": sqlite3.sqlite_version,
            "saver_unavailable": "%s: %s" % (type(exc).__name__, exc),
            "saver_default_pragmas": {},
        }
    folder = tempfile.mkdtemp(prefix="flg-doctor-")
    try:
        store = core.SqliteCheckpointStore(os.path.join(folder, "probe.db"))
        pragmas = store.pragmas()
        store.close()
        levels = {"0": "OFF", "1": "NORMAL", "2": "FULL", "3": "EXTRA"}
        pragmas["synchronous"] = levels.get(pragmas.get("synchronous", ""), pragmas.get("synchronous", ""))
    except Exception as exc:
        pragmas = {"error": "%s: %s" % (type(exc).__name__, exc)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "rust_sqlite_version": rust_version,
        "python_sqlite3_version": sqlite3.sqlite_version,
        "saver_default_pragmas": pragmas,
    }


#: Modules of the unrelated PyPI project also named ``fast-langgraph`` (0.1.15's wheel);
#: none of them is ours. Its Rust core is ``fast_langgraph/fast_langgraph.abi3.so``.
FOREIGN_MODULES = (
    "accelerator.py",
    "algo_shims.py",
    "cache_decorator.py",
    "checkpoint_wrapper.py",
    "executor_cache.py",
    "optimizations.py",
    "shim.py",
)
#: A file only this project ships: a distribution owning ``fast_langgraph/`` without it is the other one.
OWN_MARKER = "fast_langgraph/_bootstrap.py"


def _foreign_package_report(package_dir: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """Files or metadata of the other ``fast-langgraph`` distribution in our package's folder.

    Both projects install the import package ``fast_langgraph``; installed into one
    environment, their files mix in one folder. ``None`` when there is no trace of it.
    """
    if package_dir is None:
        package_dir = os.path.dirname(os.path.abspath(__file__))
    try:
        names = os.listdir(package_dir)
    except OSError:
        names = []
    files = sorted(
        n for n in names if n in FOREIGN_MODULES or (n.startswith("fast_langgraph.") and n.endswith((".so", ".pyd")))
    )
    site_dir = os.path.dirname(package_dir)
    metadata = []
    try:
        entries = sorted(os.listdir(site_dir))
    except OSError:
        entries = []
    for entry in entries:
        if not (entry.lower().startswith("fast_langgraph-") and entry.endswith((".dist-info", ".egg-info"))):
            continue
        record_path = os.path.join(site_dir, entry, "RECORD" if entry.endswith(".dist-info") else "installed-files.txt")
        try:
            with open(record_path, encoding="utf-8") as record:
                owned = {line.split(",", 1)[0].strip() for line in record}
        except OSError:
            continue
        if any(f.startswith("fast_langgraph/") for f in owned) and OWN_MARKER not in owned:
            metadata.append(os.path.join(site_dir, entry))
    if not files and not metadata:
        return None
    return {"package_dir": package_dir, "files": files, "metadata": metadata}


def _foreign_package_problem(report: Dict[str, Any]) -> str:
    found = [os.path.join(report["package_dir"], f) for f in report["files"]] + report["metadata"]
    return (
        "another project's fast_langgraph is installed in the same folder (%s): the unrelated "
        "`fast-langgraph` from the public PyPI index shares this import name, and its files mix with "
        "ours. Run `pip uninstall -y fast-langgraph` until pip reports it is not installed, delete %s "
        "if it is still there, then reinstall this accelerator from its wheel or private index "
        "(see docs/install.md)" % (", ".join(found), report["package_dir"])
    )


def _message_codec_report(serde_entry: Dict[str, Any]) -> Dict[str, Any]:
    """The message codec (part of ``serde``): on or off, why, and the verified range."""
    from fast_langgraph.patches import message_codec

    status = message_codec.status()
    enabled = status.enabled and serde_entry["status"] == "applied"
    reason = status.reason if serde_entry["status"] == "applied" else "off: the serde patch is not applied"
    return {
        "enabled": enabled,
        "reason": reason,
        "verified_langchain_core": message_codec.VERIFIED_LANGCHAIN_CORE,
        "verified_pydantic": message_codec.VERIFIED_PYDANTIC,
        "classes": list(status.classes),
    }


def collect() -> Dict[str, Any]:
    """Everything the doctor reports, as plain data."""
    import fast_langgraph
    from fast_langgraph import _bootstrap, _patching, _rust

    langgraph_error = _import_langgraph()
    core = _rust.load_core()
    patches = _bootstrap.status()
    autoload = _autoload_report()
    problems: List[str] = list(_patching.switch_problems())
    if core is None:
        problems.append(_rust.core_error() or "Rust core not loaded")
    if langgraph_error:
        problems.append("LangGraph could not be imported: " + langgraph_error)
    if not autoload["disabled_by_env"] and not autoload["active"]:
        problems.append(
            "the autoload is not active in this interpreter (%s); install fast_langgraph into this "
            "environment (docs/install.md: not from the public index, whose fast-langgraph is another project), "
            "or call fast_langgraph.patch() explicitly"
            % (
                "no %s found in site-packages" % PTH_NAME
                if not autoload["pth_files"]
                else "site disabled, e.g. python -S"
            )
        )
    foreign = _foreign_package_report()
    if foreign:
        problems.append(_foreign_package_problem(foreign))
    sqlite_info = _sqlite_report(core)
    if sqlite_info and sqlite_info["rust_sqlite_version"] not in (None, sqlite_info["python_sqlite3_version"]):
        problems.append(
            "RustSqliteSaver uses SQLite %s but Python's sqlite3 uses %s: two SQLite libraries in one "
            "process must not open the same database file"
            % (sqlite_info["rust_sqlite_version"], sqlite_info["python_sqlite3_version"])
        )
    for entry in patches:
        # A patch outside its declared version range is expected not to apply.
        if entry["status"] not in ("applied", "disabled") and entry["in_range"]:
            problems.append("patch %s is %s: %s" % (entry["name"], entry["status"], entry["reason"]))
    for entry in patches:
        if entry["name"] == "serde":
            entry["message_codec"] = _message_codec_report(entry)
    return {
        "fast_langgraph": fast_langgraph.__version__,
        "rust_core": {
            "loaded": core is not None,
            "error": _rust.core_error(),
            "build": core.build_info() if core else None,
        },
        "python": {
            "version": platform.python_version(),
            "executable": sys.executable,
            "implementation": platform.python_implementation(),
        },
        "versions": {name: _patching.installed_version(name) for name in DISTRIBUTIONS},
        "autoload": autoload,
        "patches": patches,
        "sqlite": sqlite_info,
        "foreign_package": foreign,
        "problems": problems,
        "ok": not problems,
    }


def render(report: Dict[str, Any]) -> str:
    lines = []
    core = report["rust_core"]
    core_text = "loaded (%s build)" % core["build"]["profile"] if core["loaded"] else "NOT LOADED: %s" % core["error"]
    lines.append("fast_langgraph %s   Rust core: %s" % (report["fast_langgraph"], core_text))
    py = report["python"]
    lines.append("Python %s (%s)" % (py["version"], py["executable"]))
    lines.append("   ".join("%s %s" % (k, v or "not installed") for k, v in report["versions"].items()))
    auto = report["autoload"]
    pth = ", ".join(auto["pth_files"]) or "not installed"
    lines.append(
        "autoload: %s; %s (bootstrap: %s)"
        % (pth, "active" if auto["active"] else "not active", auto["bootstrap_state"])
    )
    lines.append(
        "switches: " + "  ".join("%s=%s" % (k, "(unset)" if v is None else v) for k, v in auto["switches"].items())
    )
    sq = report.get("sqlite")
    if sq and sq.get("saver_unavailable"):
        lines.append("SQLite: RustSqliteSaver unavailable in this interpreter: %s" % sq["saver_unavailable"])
    elif sq:
        pragmas = " ".join("%s=%s" % kv for kv in sq["saver_default_pragmas"].items())
        lines.append(
            "SQLite %s (Python sqlite3: %s); RustSqliteSaver defaults: %s"
            % (sq["rust_sqlite_version"], sq["python_sqlite3_version"], pragmas)
        )
    lines.append("")
    width = max([len(p["name"]) for p in report["patches"]] + [5])
    lines.append("%-*s  %-8s  %s" % (width, "patch", "status", "reason / targets"))
    for entry in report["patches"]:
        lines.append("%-*s  %-8s  %s" % (width, entry["name"], entry["status"], entry["reason"] or entry["summary"]))
        # Which release the patch met, against the range it was verified for.
        lines.append(
            "%-*s            %s %s (verified for %s)"
            % (width, "", entry["distribution"], entry.get("installed") or "not installed", entry["supported"])
        )
        for target in entry["targets"]:
            lines.append("%-*s            %s: %s" % (width, "", target["target"], target["state"]))
        codec = entry.get("message_codec")
        if codec:
            lines.append(
                "%-*s            message codec: %s (verified for langchain-core %s, pydantic %s; outside it, messages take LangGraph's path)"
                % (width, "", codec["reason"], codec["verified_langchain_core"], codec["verified_pydantic"])
            )
    lines.append("")
    if report["ok"]:
        lines.append("OK: everything that should apply is applied.")
    else:
        lines.append("PROBLEMS:")
        lines.extend("  - " + p for p in report["problems"])
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fast_langgraph.doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        report = collect()
    except Exception:
        # The other project's files may have replaced some of ours: say that, not a traceback.
        foreign = _foreign_package_report()
        if foreign is None:
            raise
        print("PROBLEMS:\n  - " + _foreign_package_problem(foreign))
        return 1
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

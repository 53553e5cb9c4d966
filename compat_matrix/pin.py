#!/usr/bin/env python3
"""Regenerate compat_matrix/constraints/langgraph-<line>.txt: one fully pinned environment per line.

For each line it creates a throw-away virtualenv with this Python, installs
``langgraph==X`` plus the line's seed pins (LINES below), tests/requirements.txt,
compat_matrix/requirements-upstream.txt and fast_langgraph's own dependency, then writes
``pip freeze`` (without fast-langgraph) with a header saying how it was made. tox installs
every environment of the matrix with that file as constraints, so a run is reproducible.

    python compat_matrix/pin.py            # every line
    python compat_matrix/pin.py 0.4 1.2    # some lines
    python compat_matrix/pin.py --check    # do the files, tox.ini and .ci/run pin what LINES says? (no network)

``LINES`` below is the one source of the LangGraph versions the matrix runs: tox.ini's
factors (``lgXY``: ``LG_LINE``, ``LG_VERSION``, ``langgraph==``, constraints file) and
.ci/run's newest and oldest lines must match it (:func:`check_tox`, also run by
tests/test_versions.py).

Run it with the Python the matrix uses (tox.ini: py311). Stdlib only.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Dict, List, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

#: line -> (langgraph version, seed requirements, why each seed is there).
#: The newest line takes what pip resolves today. An older line keeps the dependencies of
#: its release era where today's break its own test suite: LangGraph's snapshot tests record
#: what langchain-core and pydantic printed when the release was cut (mermaid ids, JSON
#: schemas, callback metadata), and old checkpoint savers call APIs that have since gone.
#: Every cap was found by bisecting the line's upstream suite (see compat_matrix/README.md).
LINES: Dict[str, Tuple[str, List[str], str]] = {
    "0.2": (
        "0.2.76",
        ["langgraph-checkpoint-sqlite", "aiosqlite<0.22", "ormsgpack<1.12"],
        "aiosqlite<0.22: checkpoint-sqlite 2.0.x calls Connection.is_alive(), removed in aiosqlite 0.22. "
        "ormsgpack<1.12: with 1.12+ langgraph-checkpoint 2.x's serializer raises TypeError on strings with "
        "lone surrogates (its own test_serde_jsonplus fails); checkpoint 3.0 requires ormsgpack>=1.12",
    ),
    "0.3": (
        "0.3.34",
        ["langgraph-checkpoint-sqlite", "aiosqlite<0.22", "ormsgpack<1.12"],
        "aiosqlite<0.22 and ormsgpack<1.12: as for 0.2",
    ),
    "0.4": (
        "0.4.10",
        [
            "langchain-core<0.3.67",
            "pydantic<2.10",
            "langgraph-checkpoint<2.1",
            "langgraph-checkpoint-sqlite<3",
            "langgraph-prebuilt<0.3",
            "langgraph-sdk<0.2",
            "aiosqlite<0.22",
            "ormsgpack<1.12",
        ],
        "langgraph 0.4 declares open-ended ranges. prebuilt<0.3: 0.3+ imports langgraph.stream (0.6+). "
        "checkpoint<2.1 and sqlite<3: 2.1 changed checkpoint metadata (155 suite failures). sdk<0.2. "
        "langchain-core<0.3.67 and pydantic<2.10: the suite's snapshots (mermaid, JSON schemas) and "
        "Required[...] state fields match those, as in 0.4.10's own lock file. aiosqlite<0.22 and "
        "ormsgpack<1.12 as for 0.2",
    ),
    "0.6": (
        "0.6.11",
        ["langgraph-checkpoint-sqlite", "langchain-core<0.3.77", "pydantic<2.12"],
        "langchain-core<0.3.77 and pydantic<2.12: the suite's snapshots match those (0.6.11's lock has "
        "0.3.76 and 2.11.9). langgraph-checkpoint stays at the default 3.0.x, so the matrix covers that line",
    ),
    "1.0": (
        "1.0.10",
        ["langgraph-prebuilt==1.0.8", "langgraph-checkpoint-sqlite", "langchain-core<1.2.20"],
        "prebuilt==1.0.8: 1.0.9-1.0.13 import ExecutionInfo from langgraph.runtime (1.1+). "
        "langchain-core<1.2.20: later releases change chat-model callback metadata the suite snapshots",
    ),
    "1.1": (
        "1.1.10",
        ["langgraph-checkpoint-sqlite", "langchain-core<1.4.6"],
        "langchain-core<1.4.6: later releases change chat-model callback metadata the suite snapshots",
    ),
    "1.2": ("1.2.24", ["langgraph-checkpoint-sqlite"], "none: what pip resolves today"),
}

REQUIREMENT_FILES = (REPO / "tests" / "requirements.txt", HERE / "requirements-upstream.txt")
OWN_DEPS_RE = re.compile(r"dependencies\s*=\s*\[(.*?)\]", re.S)


def own_dependencies() -> List[str]:
    """fast_langgraph's runtime dependencies, from pyproject.toml."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    m = OWN_DEPS_RE.search(text)
    if not m:
        return []
    return re.findall(r'"([^"]+)"', m.group(1))


def constraints_path(line: str) -> Path:
    return HERE / "constraints" / f"langgraph-{line}.txt"


def pin(line: str) -> Path:
    version, seeds, why = LINES[line]
    with tempfile.TemporaryDirectory(prefix=f"pin-{line}-") as tmp:
        venv.EnvBuilder(with_pip=True).create(tmp)
        python = str(Path(tmp) / "bin" / "python")
        reqs = [f"langgraph=={version}", *seeds, *own_dependencies()]
        cmd = [python, "-m", "pip", "install", "-q", *reqs]
        for f in REQUIREMENT_FILES:
            cmd += ["-r", str(f)]
        print(
            f"[{line}] pip install {' '.join(reqs)} -r tests/requirements.txt -r compat_matrix/requirements-upstream.txt",
            flush=True,
        )
        subprocess.run(cmd, check=True)
        subprocess.run([python, "-m", "pip", "check"], check=True)
        freeze = subprocess.run(
            [python, "-m", "pip", "freeze", "--exclude-editable"], check=True, capture_output=True, text=True
        ).stdout.splitlines()
    lines = sorted(
        (x for x in freeze if x.strip() and not x.lower().startswith(("fast-langgraph", "fast_langgraph"))),
        key=str.lower,
    )
    seed_text = " ".join(f"'{s}'" if any(c in s for c in "<>=!") else s for s in [f"langgraph=={version}", *seeds])
    header = [
        f"# LangGraph {line} line: generated by `python compat_matrix/pin.py {line}` on "
        f"{datetime.date.today().isoformat()} (Python {platform.python_version()}).",
        f"# Seeds: pip install {seed_text}, plus tests/requirements.txt, compat_matrix/requirements-upstream.txt",
        f"# and fast_langgraph's own dependencies. Why the seeds: {why}.",
    ]
    out = constraints_path(line)
    out.write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    print(f"[{line}] wrote {out.relative_to(REPO)} ({len(lines)} pins)", flush=True)
    return out


def factor(line: str) -> str:
    """tox.ini's factor for a release line: ``"0.2"`` -> ``"lg02"``, ``"1.2"`` -> ``"lg12"``."""
    major, minor = line.split(".")
    return "lg%s%s" % (major, minor)


def check_tox(tox_ini: Path = REPO / "tox.ini", ci_run: Path = REPO / ".ci" / "run") -> List[str]:
    """Where tox.ini or .ci/run disagree with ``LINES`` (an empty list when they agree)."""
    problems: List[str] = []
    text = tox_ini.read_text(encoding="utf-8")
    factors = {factor(line): line for line in LINES}
    expected = "py311-lg{%s}" % ",".join(f[2:] for f in factors)
    for what in ("env_list", "matrix ="):
        block = text[text.index(what) :].split("\n", 2)
        if expected not in "\n".join(block[:2]):
            problems.append("tox.ini %s does not list %s" % (what.rstrip(" ="), expected))
    for f, line in factors.items():
        version = LINES[line][0]
        for needed in (
            "%s: LG_LINE = %s" % (f, line),
            "%s: LG_VERSION = %s" % (f, version),
            "%s: langgraph==%s" % (f, version),
            "%s: -c {tox_root}/compat_matrix/constraints/langgraph-%s.txt" % (f, line),
        ):
            if not re.search(r"^\s*%s\s*$" % re.escape(needed), text, re.M):
                problems.append("tox.ini lacks `%s`" % needed)
    for stray in sorted(set(re.findall(r"\b(lg\d\d):", text)) - set(factors)):
        problems.append("tox.ini has factor %s, which is not a line of compat_matrix/pin.py" % stray)
    ci = ci_run.read_text(encoding="utf-8")
    newest, oldest = list(LINES)[-1], list(LINES)[0]
    for pinned in set(re.findall(r"langgraph==([0-9][^\s\"']*)", ci)):
        if pinned != LINES[newest][0]:
            problems.append(".ci/run installs langgraph==%s; the newest line is %s" % (pinned, LINES[newest][0]))
    for line in set(re.findall(r"constraints/langgraph-([0-9.]+)\.txt", ci)) - set(LINES):
        problems.append(".ci/run uses constraints for line %s, which pin.py does not have" % line)
    for f in set(re.findall(r"py311-(lg\d\d)", ci)) - {factor(oldest), factor(newest)}:
        problems.append(".ci/run runs tox env %s: neither the oldest nor the newest line" % f)
    return problems


def check(lines: List[str]) -> int:
    """Each file pins the line's langgraph version and satisfies the seed upper bounds."""
    bad = 0
    for line in lines:
        version = LINES[line][0]
        path = constraints_path(line)
        if not path.is_file():
            print(f"[{line}] missing: {path}")
            bad += 1
            continue
        pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", path.read_text(encoding="utf-8"), re.M))
        pins = {k.lower().replace("_", "-"): v for k, v in pins.items()}
        if pins.get("langgraph") != version:
            print(f"[{line}] pins langgraph {pins.get('langgraph')}, LINES says {version}")
            bad += 1
        else:
            print(
                f"[{line}] langgraph {version}, langchain-core {pins.get('langchain-core')}, "
                f"checkpoint {pins.get('langgraph-checkpoint')}, prebuilt {pins.get('langgraph-prebuilt', '-')}"
            )
    for problem in check_tox():
        print(problem)
        bad += 1
    return 1 if bad else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("lines", nargs="*", help="release lines (default: all): " + ", ".join(LINES))
    p.add_argument("--check", action="store_true", help="only check the existing files")
    args = p.parse_args()
    lines = args.lines or list(LINES)
    unknown = [x for x in lines if x not in LINES]
    if unknown:
        p.error("unknown line(s): " + ", ".join(unknown))
    if args.check:
        return check(lines)
    for line in lines:
        pin(line)
    return check(lines)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Regenerate compat_matrix/constraints/langgraph-<line>.txt: one fully pinned environment per line.

For each line it creates a throw-away virtualenv with this Python, installs
``langgraph==X`` plus the line's seed pins (LINES below), tests/requirements.txt,
compat_matrix/requirements-upstream.txt and fast_langgraph's own dependency, then writes
``pip freeze`` (without fast-langgraph) with a header saying how it was made. tox installs
every environment of the matrix with that file as constraints, so a run is reproducible.

    python compat_matrix/pin.py            # every line
    python compat_matrix/pin.py 0.4 1.2    # some lines
    python compat_matrix/pin.py --check    # do the files pin what LINES says? (no network)

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
    "0.2": ("0.2.76", ["langgraph-checkpoint-sqlite", "aiosqlite<0.22", "ormsgpack<1.12"],
            "aiosqlite<0.22: checkpoint-sqlite 2.0.x calls Connection.is_alive(), removed in aiosqlite 0.22. "
            "ormsgpack<1.12: with 1.12+ langgraph-checkpoint 2.x's serializer raises TypeError on strings with "
            "lone surrogates (its own test_serde_jsonplus fails); checkpoint 3.0 requires ormsgpack>=1.12"),
    "0.3": ("0.3.34", ["langgraph-checkpoint-sqlite", "aiosqlite<0.22", "ormsgpack<1.12"],
            "aiosqlite<0.22 and ormsgpack<1.12: as for 0.2"),
    "0.4": ("0.4.10", ["langchain-core<0.3.67", "pydantic<2.10", "langgraph-checkpoint<2.1",
                       "langgraph-checkpoint-sqlite<3", "langgraph-prebuilt<0.3", "langgraph-sdk<0.2",
                       "aiosqlite<0.22", "ormsgpack<1.12"],
            "langgraph 0.4 declares open-ended ranges. prebuilt<0.3: 0.3+ imports langgraph.stream (0.6+). "
            "checkpoint<2.1 and sqlite<3: 2.1 changed checkpoint metadata (155 suite failures). sdk<0.2. "
            "langchain-core<0.3.67 and pydantic<2.10: the suite's snapshots (mermaid, JSON schemas) and "
            "Required[...] state fields match those, as in 0.4.10's own lock file. aiosqlite<0.22 and "
            "ormsgpack<1.12 as for 0.2"),
    "0.6": ("0.6.11", ["langgraph-checkpoint-sqlite", "langchain-core<0.3.77", "pydantic<2.12"],
            "langchain-core<0.3.77 and pydantic<2.12: the suite's snapshots match those (0.6.11's lock has "
            "0.3.76 and 2.11.9). langgraph-checkpoint stays at the default 3.0.x, so the matrix covers that line"),
    "1.0": ("1.0.10", ["langgraph-prebuilt==1.0.8", "langgraph-checkpoint-sqlite", "langchain-core<1.2.20"],
            "prebuilt==1.0.8: 1.0.9-1.0.13 import ExecutionInfo from langgraph.runtime (1.1+). "
            "langchain-core<1.2.20: later releases change chat-model callback metadata the suite snapshots"),
    "1.1": ("1.1.10", ["langgraph-checkpoint-sqlite", "langchain-core<1.4.6"],
            "langchain-core<1.4.6: later releases change chat-model callback metadata the suite snapshots"),
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
        print(f"[{line}] pip install {' '.join(reqs)} -r tests/requirements.txt -r compat_matrix/requirements-upstream.txt",
              flush=True)
        subprocess.run(cmd, check=True)
        subprocess.run([python, "-m", "pip", "check"], check=True)
        freeze = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable"], check=True,
                                capture_output=True, text=True).stdout.splitlines()
    lines = sorted((x for x in freeze if x.strip() and not x.lower().startswith(("fast-langgraph", "fast_langgraph"))),
                   key=str.lower)
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
            print(f"[{line}] langgraph {version}, langchain-core {pins.get('langchain-core')}, "
                  f"checkpoint {pins.get('langgraph-checkpoint')}, prebuilt {pins.get('langgraph-prebuilt', '-')}")
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

"""The patch table in the docs, generated from the registry (:data:`fast_langgraph.patches.REGISTRY`).

``python -m fast_langgraph.patches.table`` rewrites the blocks between
``<!-- patches:start -->`` and ``<!-- patches:end -->`` in ``README.md`` (the short
table) and ``<!-- patches-full:start -->`` / ``<!-- patches-full:end -->`` in
``docs/patches.md`` (with targets and notes); ``--check`` only says whether they are
current (exit 1 if not), as ``tests/test_readme.py`` does. Paths are relative to the
current directory (the repository root).
"""

from __future__ import annotations

import argparse
import sys
from typing import Iterable, List, Optional, Sequence, Tuple

from fast_langgraph.patches import REGISTRY, PatchSpec

#: (file, marker name, full table?)
BLOCKS = (("README.md", "patches", False), ("docs/patches.md", "patches-full", True))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _targets(spec: PatchSpec) -> str:
    parts = []
    for target in spec.targets:
        extra = [v for v in (target.versions and "%s %s" % (spec.distribution, target.versions),) if v]
        if not target.required:
            extra.append("optional")
        parts.append("`%s`%s" % (target.qualname, " (%s)" % ", ".join(extra) if extra else ""))
    return "<br>".join(parts)


def markdown(full: bool = False, registry: Iterable[PatchSpec] = REGISTRY) -> str:
    """The table as Markdown: one row per registry entry, in registry order."""
    if full:
        lines = [
            "| patch | what it does | targets (rebound where LangGraph looks them up) | verified for | code | notes |",
            "|---|---|---|---|---|---|",
        ]
    else:
        lines = ["| patch | what it does | verified for | code |", "|---|---|---|---|"]
    for spec in registry:
        name = "`%s`%s" % (spec.name, "" if spec.default else " (opt-in)")
        verified = "%s `%s`" % (spec.distribution, spec.supported)
        code = "Rust" if spec.needs_core else "Python"
        row: Tuple[str, ...] = (name, _cell(spec.summary), verified, code)
        if full:
            row = (name, _cell(spec.summary), _targets(spec), verified, code, _cell(spec.notes))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def replace_block(text: str, marker: str, body: str) -> str:
    """``text`` with the lines between ``<!-- {marker}:start -->`` and ``<!-- {marker}:end -->`` set to ``body``."""
    start, end = "<!-- %s:start -->" % marker, "<!-- %s:end -->" % marker
    head, sep, rest = text.partition(start)
    middle, sep2, tail = rest.partition(end)
    if not sep or not sep2:
        raise ValueError("markers %s ... %s not found" % (start, end))
    return head + start + "\n" + body + sep2 + tail


def stale(root: str = ".") -> List[str]:
    """The files whose generated block differs from the registry (after rewriting nothing)."""
    out = []
    for path, marker, full in BLOCKS:
        with open("%s/%s" % (root, path), encoding="utf-8") as f:
            text = f.read()
        if replace_block(text, marker, markdown(full)) != text:
            out.append(path)
    return out


def write(root: str = ".") -> List[Tuple[str, bool]]:
    """Rewrite every block; (path, changed) per file."""
    done = []
    for path, marker, full in BLOCKS:
        name = "%s/%s" % (root, path)
        with open(name, encoding="utf-8") as f:
            text = f.read()
        new = replace_block(text, marker, markdown(full))
        if new != text:
            with open(name, "w", encoding="utf-8") as f:
                f.write(new)
        done.append((path, new != text))
    return done


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fast_langgraph.patches.table", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a table is not current; write nothing")
    parser.add_argument("--print", action="store_true", help="print the tables instead (short, then full)")
    parser.add_argument("--root", default=".", help="the repository root (default: the current directory)")
    args = parser.parse_args(argv)
    if args.print:
        print(markdown(False) + "\n" + markdown(True), end="")
        return 0
    if args.check:
        old = stale(args.root)
        for path in old:
            print("%s: the patch table is stale; run python -m fast_langgraph.patches.table" % path, file=sys.stderr)
        return 1 if old else 0
    for path, changed in write(args.root):
        print("%s: %s" % (path, "updated" if changed else "current"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

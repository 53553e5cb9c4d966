"""``python -m fast_langgraph.bench [CASE] [options]``: benchmarks, vanilla against accelerated.

Without a case it runs ``suite``. ``python -m fast_langgraph.bench --help`` lists the cases;
``python -m fast_langgraph.bench CASE --help`` shows a case's options.
"""

import ast
import importlib
import importlib.util
import re
import sys
from typing import Dict, List, Optional

#: case -> module whose ``main(argv)`` runs it. A new benchmark adds one row here; its
#: line in ``--help`` is the first sentence of that module's docstring, unless SUMMARIES
#: says it better.
CASES = {
    "suite": "fast_langgraph.bench.suite",
    "startup": "fast_langgraph.bench.startup",
    "executor": "fast_langgraph.demo",
    "caches": "fast_langgraph.bench.caches",
    "serde": "fast_langgraph.bench.serde",
    "saver": "fast_langgraph.bench.sqlite_saver",
    "channels": "fast_langgraph.bench.channels",
    "overhead": "fast_langgraph.bench.overhead",
    "ceilings": "fast_langgraph.bench.ceilings",
    "floor": "fast_langgraph.bench.floor",
    "profiler": "fast_langgraph.bench.profiler_overhead",
    "production": "fast_langgraph.bench.production",
    "langgraph-programs": "fast_langgraph.bench.upstream_programs",
}

#: Optional one-line descriptions, where the module docstring's first sentence is not one.
SUMMARIES: Dict[str, str] = {
    "suite": "LangGraph workloads, vanilla against accelerated, side by side (the default).",
    "startup": "Cost of the autoload at interpreter start and on LangGraph's first import.",
    "executor": "The demo graphs, vanilla and accelerated (python -m fast_langgraph.demo).",
    "caches": "@cached against functools.lru_cache and cachetools; RustNodeCache against InMemoryCache.",
    "serde": "Checkpoint encoding and decoding, patched against LangGraph's JsonPlusSerializer.",
    "saver": "RustSqliteSaver against langgraph-checkpoint-sqlite's SqliteSaver (puts, reads, threads, a graph).",
    "channels": "add_messages, apply_writes and the state-merge helpers against LangGraph's.",
    "overhead": "LangGraph's per-invoke and per-superstep cost, and where it goes.",
    "ceilings": "The most that replacing one of LangGraph's per-step functions could gain.",
    "floor": "The most an agent on a durable SQLite saver can gain: its own writes, replayed alone.",
    "profiler": "GraphProfiler's overhead on a LangGraph workload (session and per-invoke).",
    "production": "A chat agent as deployments run it: async on PostgreSQL and SQLite savers, many conversations at once.",
    "langgraph-programs": "LangGraph's own bench/ programs from the installed release's sdist, unmodified.",
}


def _first_sentence(module: str) -> str:
    """The first sentence of a module's docstring, without importing the module."""
    try:
        spec = importlib.util.find_spec(module)
        with open(spec.origin, encoding="utf-8") as f:  # type: ignore[union-attr, arg-type]
            doc = ast.get_docstring(ast.parse(f.read())) or ""
    except Exception:
        return ""
    text = " ".join(doc.split("\n\n")[0].split())
    text = re.sub(r"\(or ``[^`]*``\)", "", text)  # "(or ``... bench suite``)"
    text = re.sub(r"``python -m [^`]*``", "", text).replace("``", "")
    text = text.strip(" :.")
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].rstrip(".")
    return (sentence[:1].upper() + sentence[1:] + ".") if sentence else ""


def describe(case: str) -> str:
    return SUMMARIES.get(case) or _first_sentence(CASES[case]) or "(no description)"


def usage() -> str:
    width = max(len(name) for name in CASES)
    lines = [__doc__.strip().splitlines()[0].replace("``", ""), "", "cases:"]
    lines += ["  %-*s  %s" % (width, name, describe(name)) for name in CASES]
    lines += ["", "python -m fast_langgraph.bench CASE --help: that case's options."]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    case = argv[0] if argv and not argv[0].startswith("-") else "suite"
    rest = argv[1:] if argv and argv[0] == case else argv
    if case not in CASES:
        print("unknown case %r\n\n%s" % (case, usage()), file=sys.stderr)
        return 2
    return int(importlib.import_module(CASES[case]).main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())

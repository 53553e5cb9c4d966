"""``python -m fast_langgraph.bench [CASE] [options]``.

Cases: ``suite`` (the default: LangGraph workloads, vanilla vs accelerated),
``startup`` (cost of the autoload), ``executor`` (the demo graphs), ``caches``,
``serde`` (checkpoint encoding), ``saver`` (SQLite checkpointers), ``channels``
(add_messages, apply_writes and the state-merge helpers), ``overhead`` (LangGraph's
per-invoke and per-superstep cost, and where it goes), ``ceilings`` (the most that
replacing one of LangGraph's per-step functions could gain), ``profiler`` (GraphProfiler's overhead),
``langgraph-programs`` (the ``bench/`` programs of the installed LangGraph's sdist, unmodified).
"""

import importlib
import sys

#: case -> module whose ``main(argv)`` runs it
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
    "profiler": "fast_langgraph.bench.profiler",
    "langgraph-programs": "fast_langgraph.bench.upstream_programs",
}


def main() -> int:
    argv = sys.argv[1:]
    case = argv[0] if argv and not argv[0].startswith("-") else "suite"
    rest = argv[1:] if argv and argv[0] == case else argv
    if case not in CASES:
        print(__doc__)
        return 2
    return int(importlib.import_module(CASES[case]).main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""``python -m fast_langgraph.bench [CASE] [options]``.

Cases: ``suite`` (the default: LangGraph workloads, vanilla vs accelerated),
``startup`` (cost of the autoload), ``executor`` (the demo graphs), ``caches``.
"""

import sys


def main() -> int:
    argv = sys.argv[1:]
    case = argv[0] if argv and not argv[0].startswith("-") else "suite"
    rest = argv[1:] if argv and argv[0] == case else argv
    if case == "suite":
        from fast_langgraph.bench.suite import main as run
    elif case == "startup":
        from fast_langgraph.bench.startup import main as run
    elif case == "caches":
        from fast_langgraph.bench.caches import main as run
    elif case == "executor":
        from fast_langgraph.demo import main as run
    else:
        print(__doc__)
        return 2
    return run(rest)


if __name__ == "__main__":
    sys.exit(main())

"""``python -m fast_langgraph.bench CASE [options]``; cases: startup, executor, caches, saver."""

import sys


def main() -> int:
    cases = ("startup", "executor", "caches", "saver")
    if len(sys.argv) < 2 or sys.argv[1] not in cases:
        print(__doc__)
        return 2
    case, argv = sys.argv[1], sys.argv[2:]
    if case == "startup":
        from fast_langgraph.bench.startup import main as run
    elif case == "caches":
        from fast_langgraph.bench.caches import main as run
    elif case == "saver":
        from fast_langgraph.bench.sqlite_saver import main as run
    else:
        from fast_langgraph.demo import main as run
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())

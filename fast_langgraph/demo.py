"""``python -m fast_langgraph.demo``: real LangGraph graphs, run vanilla and accelerated, side by side.

Each mode runs in fresh interpreters (``FAST_LANGGRAPH=0`` for vanilla, the
installed autoload for accelerated), alternating, three rounds. The demo checks
that both modes produce identical results, prints the time per invoke of each
and their ratio, then the doctor's verdict. Needs LangGraph installed. The full
benchmark suite is ``python -m fast_langgraph.bench``.
"""

import argparse
import subprocess
import sys
import tempfile
from typing import List, Optional

#: Graphs whose speed comes from the patches that exist today.
DEMO_WORKLOADS = ["fanout4_memory", "linear3_memory", "linear10_sync", "send_fanout_100"]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fast_langgraph.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        import langgraph  # noqa: F401
    except ImportError:
        print("LangGraph is not installed here: pip install langgraph")
        return 2
    from fast_langgraph.bench import suite

    print("Median time per invoke, %d rounds in fresh interpreters, vanilla and accelerated alternating:" % args.rounds)
    rows = suite.run(quick=True, rounds=args.rounds, workloads=DEMO_WORKLOADS, compare=None)
    print(suite.render(rows))
    doctor = subprocess.run(
        [sys.executable, "-m", "fast_langgraph.doctor"], cwd=tempfile.gettempdir(), capture_output=True, text=True
    )
    print()
    print(doctor.stdout.rstrip())
    all_equal = all(r.get("same_result") for r in rows)
    return 0 if all_equal and doctor.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

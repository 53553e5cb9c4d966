"""``python -m fast_langgraph.profile``: the former name of ``python -m fast_langgraph.profiler`` (kept working)."""

import sys

from fast_langgraph.profiler.__main__ import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m fast_langgraph.profile"))

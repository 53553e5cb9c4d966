"""``python -m fast_langgraph.profiler [options] app.py [args ...]``: run a script under GraphProfiler.

The script runs as ``python app.py args ...`` would (``sys.argv``, ``sys.path[0]``,
``__name__ == "__main__"``), or a module with ``-m pkg.module``; every LangGraph
invoke/stream it makes, from any thread, is recorded. When it ends (normally, by
``sys.exit``, an exception or Ctrl-C) the report is written to stderr, so the
script's own stdout stays its own; ``-o FILE`` writes it to a file instead and
``-o -`` to stdout. The script's exit status is kept.

``python -m fast_langgraph.profile`` is the same command under its former name.
"""

import argparse
import os
import runpy
import sys
import traceback
from typing import List, Optional


def main(argv: Optional[List[str]] = None, prog: str = "python -m fast_langgraph.profiler") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a Python script under fast_langgraph's GraphProfiler and report where its "
        "LangGraph runs spend their time (on stderr unless -o is given).",
    )
    parser.add_argument("--json", action="store_true", help="the report as JSON (GraphProfiler.to_dict())")
    parser.add_argument("--html", metavar="OUT.html", help="also write an HTML timeline of the last runs")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the report to FILE ('-': stdout) instead of stderr"
    )
    parser.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m does")
    parser.add_argument("script", nargs="?", help="the script to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    opts = parser.parse_args(argv)
    if opts.module:
        script_args = ([opts.script] if opts.script else []) + opts.args
    elif opts.script:
        script_args = opts.args
    else:
        parser.error("give a script (or -m MODULE) to run")

    from fast_langgraph.profiler import GraphProfiler

    profiler = GraphProfiler()
    status = 0
    saved_argv, saved_path0 = sys.argv[:], sys.path[0] if sys.path else None
    try:
        with profiler.profile_run(all_threads=True):
            try:
                if opts.module:
                    sys.argv = [opts.module] + script_args
                    sys.path.insert(0, os.getcwd())
                    runpy.run_module(opts.module, run_name="__main__", alter_sys=True)
                else:
                    sys.argv = [opts.script] + script_args
                    sys.path.insert(0, os.path.dirname(os.path.abspath(opts.script)))
                    runpy.run_path(opts.script, run_name="__main__")
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if exc.code is not None and not isinstance(exc.code, int):
                    print(exc.code, file=sys.stderr)
            except KeyboardInterrupt:
                traceback.print_exc()
                status = 130
            except BaseException:
                traceback.print_exc()
                status = 1
    finally:
        sys.argv = saved_argv
        if saved_path0 is not None and sys.path and sys.path[0] != saved_path0:
            sys.path.pop(0)

    if opts.json:
        import json

        text = json.dumps(profiler.to_dict(), indent=2)
    else:
        text = profiler.report()
    if opts.output and opts.output != "-":
        with open(opts.output, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    else:
        stream = sys.stdout if opts.output == "-" else sys.stderr
        sys.stdout.flush()
        print(("" if opts.json else "\n") + text, file=stream)
    if opts.html:
        profiler.to_html(opts.html)
        print("timeline written to %s" % opts.html, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())

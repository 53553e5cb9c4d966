"""``python -m fast_langgraph.bench --instructions``: the suite's workloads counted in CPU
instructions per operation (valgrind's callgrind), vanilla against accelerated.

Wall time on a shared machine swings by tens of percent between runs; an instruction
count does not (it varies by well under 1 % between runs with the same hash seed). It
leaves out what instructions do not show: waiting for I/O (the SQLite workloads' fsyncs),
cache misses, and the other threads' contention. Read it next to the timed table, not
instead of it.

Each side runs the workload in two fresh interpreters under callgrind: one doing the
setup and the warm-up operation, one doing the same and then ``ops`` more; the
difference divided by ``ops`` is the cost of an operation, start-up and imports
cancelled out. Both sides run with ``PYTHONHASHSEED=0`` and their results are compared.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional

CHILD = (
    "import gc, json, sys\n"
    "from fast_langgraph.bench.workloads import WORKLOADS\n"
    "op = WORKLOADS[sys.argv[1]][0]()\n"
    "result = op()\n"
    "gc.collect()  # as the timed suite does: start-up's full collection, outside the count\n"
    "for _ in range(int(sys.argv[2])):\n"
    "    op()\n"
    "json.dump({'result': result}, sys.stdout, default=repr)\n"
)

_COLLECTED = re.compile(r"^==\d+== Collected : (\d+)\s*$", re.MULTILINE)


class InstructionCountError(RuntimeError):
    """valgrind is missing or a counted run failed."""


def find_valgrind(path: Optional[str] = None) -> str:
    found = path or shutil.which("valgrind")
    if not found:
        raise InstructionCountError(
            "--instructions needs valgrind (Debian/Ubuntu: apt-get install valgrind; macOS: not available)"
        )
    return found


def count(valgrind: str, workload: str, ops: int, accelerated: bool, python: str = sys.executable) -> Dict[str, Any]:
    """Instructions executed by a fresh interpreter running ``workload``'s setup, its
    warm-up operation and ``ops`` more; with the warm-up's result."""
    from fast_langgraph.bench.suite import mode_env

    env = mode_env(accelerated)
    env["PYTHONHASHSEED"] = "0"
    with tempfile.TemporaryDirectory(prefix="flg-callgrind-") as tmp:
        log = os.path.join(tmp, "valgrind.log")
        proc = subprocess.run(
            [
                valgrind,
                "--tool=callgrind",
                "--callgrind-out-file=" + os.path.join(tmp, "callgrind.out"),
                "--log-file=" + log,
                python,
                "-c",
                CHILD,
                workload,
                str(ops),
            ],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        try:
            with open(log, encoding="utf-8", errors="replace") as f:
                report = f.read()
        except OSError:
            report = ""
    found = _COLLECTED.findall(report)
    if proc.returncode != 0 or not found:
        last = (proc.stderr.strip().splitlines() or report.strip().splitlines() or ["exit %d" % proc.returncode])[-1]
        raise InstructionCountError("%s (%s side): %s" % (workload, "accelerated" if accelerated else "vanilla", last))
    # The interpreter's own process is the first one callgrind reports on.
    return {"instructions": int(found[0]), "result": json.loads(proc.stdout)["result"]}


def run(
    workloads: List[str],
    ops: Optional[int] = None,
    valgrind: Optional[str] = None,
    compare: Optional[str] = None,
    jobs: Optional[int] = None,
) -> List[Dict[str, Any]]:
    """One row per workload: instructions per operation on each side and their ratio.
    The four counted runs of a workload are independent and run in parallel."""
    from fast_langgraph.bench.workloads import WORKLOADS

    tool = find_valgrind(valgrind)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    rows: List[Dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=jobs or usable) as pool:
        for name in workloads:
            n = ops or WORKLOADS[name][1]
            plan = {
                (accelerated, k): pool.submit(
                    count, tool, name, k, accelerated, (compare or sys.executable) if accelerated else sys.executable
                )
                for accelerated in (False, True)
                for k in (0, n)
            }
            try:
                got = {key: future.result() for key, future in plan.items()}
            except InstructionCountError as e:
                rows.append({"workload": name, "error": str(e)})
                continue
            per_op = {
                side: (got[(accelerated, n)]["instructions"] - got[(accelerated, 0)]["instructions"]) / n
                for side, accelerated in (("vanilla", False), ("accelerated", True))
            }
            rows.append(
                {
                    "workload": name,
                    "ops": n,
                    "vanilla_instructions": per_op["vanilla"],
                    "accelerated_instructions": per_op["accelerated"],
                    "ratio": per_op["vanilla"] / per_op["accelerated"] if per_op["accelerated"] > 0 else float("nan"),
                    "same_result": got[(False, n)]["result"] == got[(True, n)]["result"],
                }
            )
    return rows


def render(rows: List[Dict[str, Any]]) -> str:
    from fast_langgraph.bench.suite import text_table

    return text_table(
        rows,
        " M/op",
        lambda r: (
            "%.1f" % (r["vanilla_instructions"] / 1e6),
            "%.1f" % (r["accelerated_instructions"] / 1e6),
            "equal" if r["same_result"] else "DIFFERENT",
        ),
    )

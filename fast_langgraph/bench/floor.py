"""How fast an agent on a durable saver can get at most: ``python -m fast_langgraph.bench floor``.

An operation of ``agent_sqlite_50_turns`` (or ``..._rust_saver``) writes ~100 checkpoints and
~100 sets of task writes, each committed with an fsync (``synchronous=FULL``: a checkpoint the
saver reported is on disk). LangGraph chains the checkpoint puts (each waits for the one before
it to return; on ``RustSqliteSaver``, with the ``checkpoint_pipeline`` patch, only until it is
queued, so several share a transaction) and an operation cannot end before its own writes,
however fast the rest of LangGraph gets. This measures that floor: in a fresh interpreter per side, the saver calls of one
operation are recorded, then replayed alone, in order, on one thread, against a new database
with the same saver and settings (and once more with ``synchronous=OFF``: what the same writes
cost without their fsyncs). The accelerated side's message cache is emptied before each replay,
as at the start of an operation.

Reported per side: the operation's wall time (as the suite times it), its writes replayed
alone, and the writes without fsync. Their difference over the number of writes is what one
transaction's fsync costs; times the transactions an operation commits (one per write, or
fewer where ``RustSqliteSaver``'s group commit joined writes: its ``write_stats()``), it is
the time an operation spends waiting for fsyncs, which no CPU work can shorten. ``bound =
vanilla operation / accelerated fsync time`` is the speed-up the accelerated operation would
reach if every instruction it runs, LangGraph's and the saver's, cost nothing. Medians over
``--rounds`` alternating rounds.
"""

import argparse
import json
import statistics
from typing import Any, Dict, List, Optional

from fast_langgraph.bench.suite import run_child

#: workload -> the function in ``workloads`` that makes its saver at a path.
SAVERS = {
    "agent_sqlite_50_turns": "sqlite_saver",
    "agent_sqlite_50_turns_rust_saver": "swapped_sqlite_saver",
}

CHILD = r"""
import gc, json, os, shutil, statistics, sys, tempfile, time
from fast_langgraph.bench import workloads
workload, factory, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
make_saver = getattr(workloads, factory)
op = workloads.WORKLOADS[workload][0]()
result = op()
folder = tempfile.mkdtemp(prefix="flg-floor-")
cls = type(make_saver(os.path.join(folder, "probe.db")))
calls, recording, originals, savers = [], [False], {}, []
for name in ("put", "put_writes"):
    originals[name] = original = cls.__dict__[name]
    def record(self, *args, _original=original, _name=name, **kwargs):
        if recording[0]:
            calls.append((_name, args, kwargs))
            savers[:] = [self]
        return _original(self, *args, **kwargs)
    setattr(cls, name, record)
recording[0] = True
op()
recording[0] = False
for name, original in originals.items():
    setattr(cls, name, original)
def transactions():
    stats = getattr(savers[0], "write_stats", None)
    return stats()["transactions"] if stats else None

gc.collect()
before = transactions()
start = time.perf_counter()
for _ in range(n):
    op()
op_s = (time.perf_counter() - start) / n
after = transactions()

def replay(synchronous, i):
    saver = make_saver(os.path.join(folder, "replay-%s-%d.db" % (synchronous, i)), synchronous)
    rust = sys.modules.get("fast_langgraph._rust")
    if rust is not None and hasattr(rust, "message_cache_clear"):
        rust.message_cache_clear()
    gc.collect()
    start = time.perf_counter()
    for name, args, kwargs in calls:
        getattr(saver, name)(*args, **kwargs)
    elapsed = time.perf_counter() - start
    stored = sum(1 for _ in saver.list(None))
    return elapsed, stored

full = [replay("FULL", i) for i in range(n)]
off = [replay("OFF", i) for i in range(n)]
puts = sum(1 for name, _, _ in calls if name == "put")
shutil.rmtree(folder, ignore_errors=True)
json.dump({
    "op_s": op_s,
    "writes_s": statistics.median(e for e, _ in full),
    "writes_nosync_s": statistics.median(e for e, _ in off),
    "calls": len(calls),
    "transactions_per_op": len(calls) if before is None else (after - before) / n,
    "all_stored": all(stored == puts for _, stored in full + off),
    "result": result,
}, sys.stdout, default=repr)
"""


def measure(workload: str, n: int, rounds: int) -> Dict[str, Any]:
    samples: Dict[str, List[Dict[str, Any]]] = {"vanilla": [], "accelerated": []}
    for _ in range(rounds):
        for mode in ("vanilla", "accelerated"):
            out = run_child(CHILD, [workload, SAVERS[workload], str(n)], mode == "accelerated")
            if "error" in out:
                return {"workload": workload, "error": "%s: %s" % (mode, out["error"])}
            samples[mode].append(out)
    row: Dict[str, Any] = {"workload": workload, "rounds": rounds, "ops_per_sample": n}
    for mode, outs in samples.items():
        for key in ("op_s", "writes_s", "writes_nosync_s"):
            row["%s_%s_ms" % (mode, key[:-2])] = statistics.median(o[key] for o in outs) * 1e3
        row["%s_calls" % mode] = outs[0]["calls"]
        row["%s_transactions" % mode] = statistics.median(o["transactions_per_op"] for o in outs)
    row["ratio"] = row["vanilla_op_ms"] / row["accelerated_op_ms"]
    per_fsync = (row["accelerated_writes_ms"] - row["accelerated_writes_nosync_ms"]) / row["accelerated_calls"]
    row["accelerated_fsync_ms"] = per_fsync * row["accelerated_transactions"]
    row["bound"] = row["vanilla_op_ms"] / row["accelerated_fsync_ms"]
    row["same_result"] = samples["vanilla"][0]["result"] == samples["accelerated"][0]["result"]
    row["replays_complete"] = all(o["all_stored"] for outs in samples.values() for o in outs)
    return row


def render(rows: List[Dict[str, Any]]) -> str:
    lines = [
        "%-34s %-11s %8s %13s %14s %13s"
        % ("workload", "side", "op ms", "writes alone", "without fsync", "transactions"),
    ]
    for r in rows:
        if "error" in r:
            lines.append("%-34s skipped: %s" % (r["workload"], r["error"][:100]))
            continue
        for side in ("vanilla", "accelerated"):
            lines.append(
                "%-34s %-11s %8.1f %13.1f %14.1f %13.0f"
                % (
                    r["workload"] if side == "vanilla" else "",
                    side,
                    r["%s_op_ms" % side],
                    r["%s_writes_ms" % side],
                    r["%s_writes_nosync_ms" % side],
                    r["%s_transactions" % side],
                )
            )
        checks = "results %s, replays %s" % (
            "equal" if r["same_result"] else "DIFFERENT",
            "complete" if r["replays_complete"] else "INCOMPLETE",
        )
        lines.append(
            "%-34s ratio %.2fx (%d saver calls an operation; %s)" % ("", r["ratio"], r["accelerated_calls"], checks)
        )
        lines.append(
            "%-34s accelerated: %.1f ms of fsync an operation; bound if no instruction cost anything %.2fx"
            % ("", r["accelerated_fsync_ms"], r["bound"])
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fast_langgraph.bench floor", description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(SAVERS), help="comma-separated, of: %s" % ", ".join(SAVERS))
    parser.add_argument("--ops", type=int, default=5, help="operations (and replays) per sample (default 5)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    names = args.workloads.split(",")
    unknown = [n for n in names if n not in SAVERS]
    if unknown:
        parser.error("unknown workload(s) %s; choose from %s" % (", ".join(unknown), ", ".join(SAVERS)))
    rows = []
    for name in names:
        rows.append(measure(name, args.ops, args.rounds))
        if not args.json:
            print(render(rows[-1:]), flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

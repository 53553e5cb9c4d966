"""Checkpoint saver benchmarks: ``python -m fast_langgraph.bench saver``.

``RustSqliteSaver`` against ``langgraph-checkpoint-sqlite``'s ``SqliteSaver``, side by
side in one process, each on its own file in the same folder (same file system), at the
same durability settings (journal mode and ``synchronous`` set on both connections),
results checked equal:

* ``put``, ``put_writes``, ``get_tuple`` and ``list`` over ``--n`` checkpoints of a
  message-heavy state (``--messages`` chat messages per checkpoint);
* how much of ``put`` is fsync: the same puts at ``synchronous=OFF``;
* 8 threads sharing one saver (``RustSqliteSaver`` group-commits their writes);
* end to end, a ``--steps``-step agent graph (agent and tool nodes alternating);
* ``--vs-vanilla``: instead of the above, each saver's ``get_tuple`` of one
  ``--messages``-message checkpoint accelerated against ``FAST_LANGGRAPH=0`` (what the
  ``serde`` patch and its message codec change), in fresh interpreters, alternating,
  the loaded values checked equal.
"""

import argparse
import json
import os
import shutil
import sqlite3
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional


def _messages(n: int) -> List[Any]:
    from langchain_core.messages import AIMessage, HumanMessage

    return [
        (HumanMessage if i % 2 == 0 else AIMessage)(
            content="message %d: %s" % (i, "lorem ipsum dolor sit amet " * 8), id="m%d" % i
        )
        for i in range(n)
    ]


def _checkpoints(n: int, messages: int) -> List[Any]:
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.base.id import uuid6

    base = _messages(messages)
    out = []
    for i in range(n):
        cp = empty_checkpoint()
        cp["id"] = str(uuid6())
        cp["channel_values"] = {"messages": base, "step": i}
        cp["channel_versions"] = {"messages": "%032d.0" % (i + 1), "step": "%032d.0" % (i + 1)}
        out.append(cp)
    return out


def _upstream(path: str, journal_mode: str, synchronous: str) -> Any:
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(path, check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()  # sets journal_mode=WAL
    conn.execute("PRAGMA journal_mode=%s" % journal_mode)
    conn.execute("PRAGMA synchronous=%s" % synchronous)
    return saver


def _rust(path: str, journal_mode: str, synchronous: str) -> Any:
    from fast_langgraph.sqlite_saver import RustSqliteSaver

    return RustSqliteSaver(path, journal_mode=journal_mode, synchronous=synchronous)


def _pragmas(saver: Any) -> str:
    conn = getattr(saver, "conn", None)
    if conn is not None:
        jm = conn.execute("PRAGMA journal_mode").fetchone()[0]
        sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    else:
        p = saver.pragmas()
        jm, sync = p["journal_mode"], p["synchronous"]
    return "journal_mode=%s synchronous=%s" % (jm, {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[int(sync)])


def _time(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def saver_cases(
    folder: str, n: int, messages: int, journal_mode: str, synchronous: str, rounds: int = 3
) -> List[Dict[str, Any]]:
    """Each case runs in ``rounds`` rounds alternating the savers (this machine is shared
    and noisy); a saver's time is its best round."""
    checkpoints = _checkpoints(n, messages)
    writes = [("messages", _messages(2)), ("step", 1)]
    makers = {"SqliteSaver": _upstream, "RustSqliteSaver": _rust}
    savers = {
        name: (
            make(os.path.join(folder, "%s-%s.db" % (name, synchronous)), journal_mode, synchronous),
            make(os.path.join(folder, "%s-off.db" % name), journal_mode, "OFF"),
        )
        for name, make in makers.items()
    }
    timings: Dict[str, Dict[str, float]] = {name: {} for name in makers}
    configs: Dict[str, List[Any]] = {name: [] for name in makers}

    def record(name: str, case: str, seconds: float, ops: int) -> None:
        per_op = seconds / ops
        timings[name][case] = min(timings[name].get(case, per_op), per_op)

    def put_all(saver: Any, thread: str, out: List[Any]) -> None:
        cfg: Dict[str, Any] = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
        for cp in checkpoints:
            cfg = saver.put(cfg, cp, {"source": "loop", "step": cp["channel_values"]["step"]}, {})
            out.append(cfg)

    latest = {"configurable": {"thread_id": "bench-0"}}
    for r in range(rounds):
        for name, (saver, nosync) in savers.items():
            out: List[Any] = []
            record(name, "put", _time(lambda: put_all(saver, "bench-%d" % r, out)), n)
            if r == 0:
                configs[name] = out
            record(name, "put (synchronous=OFF)", _time(lambda: put_all(nosync, "bench-%d" % r, [])), n)
            record(
                name,
                "put_writes",
                _time(lambda: [saver.put_writes(c, writes, "task-%d" % i) for i, c in enumerate(out)]),
                n,
            )
        for name, (saver, _) in savers.items():
            cfgs = configs[name]
            record(name, "get_tuple", _time(lambda: [saver.get_tuple(c) for c in cfgs]), n)
            record(name, "get_tuple (latest)", _time(lambda: [saver.get_tuple(latest) for _ in range(100)]), 100)
            record(name, "list (per item)", _time(lambda: list(saver.list(latest))), n)
            record(name, "list (limit=10)", _time(lambda: [list(saver.list(latest, limit=10)) for _ in range(20)]), 20)

    # The storage layer alone (bytes already serialized, synchronous=OFF so no fsync):
    # what the Rust core replaces, without the serde work both savers share.
    up_off, ru_off = savers["SqliteSaver"][1], savers["RustSqliteSaver"][1]
    rows_in = [
        ru_off._put_args({"configurable": {"thread_id": "raw", "checkpoint_ns": ""}}, cp, {"step": 1})
        for cp in checkpoints
    ]
    from langgraph.checkpoint.sqlite.utils import pending_writes_sql

    insert = (
        "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
        "parent_checkpoint_id, type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    select = (
        "SELECT thread_id, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata "
        "FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?"
    )

    def up_put_raw() -> None:
        for args in rows_in:
            with up_off.cursor() as cur:
                cur.execute(insert, args)

    def up_get_raw() -> None:
        for args in rows_in:
            with up_off.cursor(transaction=False) as cur:
                cur.execute(select, ("raw", "", args[2]))
                cur.fetchone()
                cur.execute(pending_writes_sql(True), ("raw", "", args[2]))
                cur.fetchall()

    for _ in range(rounds):
        record("SqliteSaver", "storage only: put (no serde, no fsync)", _time(up_put_raw), n)
        record(
            "RustSqliteSaver",
            "storage only: put (no serde, no fsync)",
            _time(lambda: [ru_off._store.put(*a) for a in rows_in]),
            n,
        )
        record("SqliteSaver", "storage only: get_tuple (no serde)", _time(up_get_raw), n)
        record(
            "RustSqliteSaver",
            "storage only: get_tuple (no serde)",
            _time(lambda: [ru_off._store.get("raw", "", a[2]) for a in rows_in]),
            n,
        )

    results = {
        name: {
            "pragmas": _pragmas(saver),
            "some": [saver.get_tuple(c) for c in configs[name][:: max(1, n // 10)]],
            "listed": list(saver.list(latest)),
        }
        for name, (saver, _) in savers.items()
    }
    up, ru = results["SqliteSaver"], results["RustSqliteSaver"]
    if up["some"] != ru["some"] or up["listed"] != ru["listed"]:
        raise AssertionError("RustSqliteSaver and SqliteSaver returned different checkpoints")
    if up["pragmas"] != ru["pragmas"]:
        raise AssertionError("durability settings differ: %s vs %s" % (up["pragmas"], ru["pragmas"]))
    rows: List[Dict[str, Any]] = []
    for case in timings["SqliteSaver"]:
        a, b = timings["SqliteSaver"][case], timings["RustSqliteSaver"][case]
        rows.append({"case": case, "SqliteSaver_us": a * 1e6, "RustSqliteSaver_us": b * 1e6, "speedup": a / b})
    for name in makers:
        full, off = timings[name]["put"], timings[name]["put (synchronous=OFF)"]
        rows.append({"case": "fsync share of put (%s)" % name, "value": max(0.0, (full - off) / full)})
    # What a put costs besides SQLite: serializing the checkpoint (same for both savers).
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    serde = JsonPlusSerializer()
    dumps = _time(lambda: [serde.dumps_typed(cp) for cp in checkpoints]) / n
    blob = serde.dumps_typed(checkpoints[0])
    loads = _time(lambda: [serde.loads_typed(blob) for _ in range(min(n, 200))]) / min(n, 200)
    rows.append(
        {
            "case": "serde dumps_typed / loads_typed per checkpoint",
            "value": "%.0f us / %.0f us (%d bytes)" % (dumps * 1e6, loads * 1e6, len(blob[1])),
        }
    )
    rows.append({"case": "settings", "value": "%s; %d checkpoints of %d messages" % (ru["pragmas"], n, messages)})
    return rows


def concurrent_case(
    folder: str, n: int, messages: int, journal_mode: str, synchronous: str, threads: int = 8
) -> List[Dict[str, Any]]:
    """``threads`` threads sharing one saver, each writing its own thread's checkpoints
    (a put and a put_writes each): what parallel graph runs or tasks do to a saver."""
    import threading

    checkpoints = _checkpoints(n, messages)
    per_write: Dict[str, float] = {}
    counts: Dict[str, int] = {}
    for r in range(2):
        for name, make in (("SqliteSaver", _upstream), ("RustSqliteSaver", _rust)):
            saver = make(os.path.join(folder, "%s-threads-%d.db" % (name, r)), journal_mode, synchronous)

            def work(t: int, saver: Any = saver) -> None:
                cfg: Dict[str, Any] = {"configurable": {"thread_id": "w%d" % t, "checkpoint_ns": ""}}
                for cp in checkpoints[t::threads]:
                    cfg = saver.put(cfg, cp, {"step": 1}, {})
                    saver.put_writes(cfg, [("step", 1)], "task")

            workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
            start = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            elapsed = (time.perf_counter() - start) / (2 * n)
            per_write[name] = min(per_write.get(name, elapsed), elapsed)
            counts[name] = sum(
                len(list(saver.list({"configurable": {"thread_id": "w%d" % t}}))) for t in range(threads)
            )
    if counts["SqliteSaver"] != n or counts["RustSqliteSaver"] != n:
        raise AssertionError("checkpoints lost with concurrent writers: %s" % counts)
    a, b = per_write["SqliteSaver"], per_write["RustSqliteSaver"]
    return [
        {
            "case": "%d threads: put + put_writes, per write" % threads,
            "SqliteSaver_us": a * 1e6,
            "RustSqliteSaver_us": b * 1e6,
            "speedup": a / b,
        }
    ]


def _agent_graph(checkpointer: Any, steps: int) -> Any:
    from typing import Annotated, TypedDict

    from langchain_core.messages import AIMessage, ToolMessage
    from langgraph.graph import END, START, StateGraph
    from langgraph.graph.message import add_messages

    class State(TypedDict):
        messages: Annotated[list, add_messages]

    def agent(state: State) -> Dict[str, Any]:
        n = len(state["messages"])
        if n >= steps:
            return {"messages": [AIMessage(content="done", id="final")]}
        call = {"name": "search", "args": {"q": "query %d" % n}, "id": "call-%d" % n}
        return {"messages": [AIMessage(content="thinking about step %d " % n * 4, tool_calls=[call], id="ai-%d" % n)]}

    def tools(state: State) -> Dict[str, Any]:
        call = state["messages"][-1].tool_calls[0]
        return {
            "messages": [
                ToolMessage(
                    content="result %s " % call["args"]["q"] * 20, tool_call_id=call["id"], id="t-%s" % call["id"]
                )
            ]
        }

    g = StateGraph(State)
    g.add_node("agent", agent)
    g.add_node("tools", tools)
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", lambda s: "tools" if s["messages"][-1].tool_calls else END, ["tools", END])
    g.add_edge("tools", "agent")
    return g.compile(checkpointer=checkpointer)


def graph_case(folder: str, steps: int, journal_mode: str, synchronous: str, repeat: int = 3) -> List[Dict[str, Any]]:
    from langchain_core.messages import HumanMessage

    makers = (("SqliteSaver", _upstream), ("RustSqliteSaver", _rust))
    savers = {
        name: make(os.path.join(folder, "%s-graph.db" % name), journal_mode, synchronous) for name, make in makers
    }
    graphs = {name: _agent_graph(saver, steps) for name, saver in savers.items()}
    outputs: Dict[str, Any] = {}
    samples: Dict[str, List[float]] = {name: [] for name in savers}
    for r in range(repeat):  # alternate the savers: the machine is shared and noisy
        for name, graph in graphs.items():
            config = {"configurable": {"thread_id": "run-%d" % r}, "recursion_limit": steps * 3}
            start = time.perf_counter()
            outputs[name] = graph.invoke({"messages": [HumanMessage(content="go", id="h")]}, config)
            samples[name].append(time.perf_counter() - start)
    history = {name: len(list(saver.list({"configurable": {"thread_id": "run-0"}}))) for name, saver in savers.items()}
    if outputs["SqliteSaver"] != outputs["RustSqliteSaver"] or history["SqliteSaver"] != history["RustSqliteSaver"]:
        raise AssertionError("the agent graph gave different results on the two savers")
    a, b = min(samples["SqliteSaver"]), min(samples["RustSqliteSaver"])
    return [
        {
            "case": "agent graph, %d steps (%d checkpoints)" % (steps, history["SqliteSaver"]),
            "SqliteSaver_us": a * 1e6,
            "RustSqliteSaver_us": b * 1e6,
            "speedup": a / b,
        }
    ]


def render(rows: List[Dict[str, Any]]) -> str:
    lines = ["%-44s %14s %16s %8s" % ("case", "SqliteSaver", "RustSqliteSaver", "speedup")]
    for r in rows:
        if "value" in r:
            v = r["value"]
            lines.append("%-44s %s" % (r["case"], ("%.0f%%" % (v * 100)) if isinstance(v, float) else v))
        else:
            lines.append(
                "%-44s %11.1f us %13.1f us %7.2fx"
                % (r["case"], r["SqliteSaver_us"], r["RustSqliteSaver_us"], r["speedup"])
            )
    return "\n".join(lines)


#: Child of ``--vs-vanilla``: writes (first call) or reads one checkpoint; prints the median
#: get_tuple time and a digest of what it loaded.
VS_VANILLA_CHILD = """
import hashlib, json, os, sqlite3, statistics, sys, time
path, kind, messages = sys.argv[1], sys.argv[2], int(sys.argv[3])
import langgraph.graph  # the autoload patches on LangGraph's first import
from fast_langgraph.bench.sqlite_saver import _checkpoints
if kind == "rust":
    from fast_langgraph import RustSqliteSaver
    saver = RustSqliteSaver(path)
else:
    from langgraph.checkpoint.sqlite import SqliteSaver
    saver = SqliteSaver(sqlite3.connect(path, check_same_thread=False))
config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
if not os.path.exists(path + ".written"):
    saver.put(config, _checkpoints(1, messages)[0], {"source": "loop", "step": 1}, {})
    open(path + ".written", "w").close()
times = []
for _ in range(200):
    t0 = time.perf_counter()
    got = saver.get_tuple(config)
    times.append(time.perf_counter() - t0)
values = got.checkpoint["channel_values"]["messages"]
digest = hashlib.sha256(repr([(type(m).__name__, m.__dict__, sorted(m.model_fields_set)) for m in values]).encode()).hexdigest()
import fast_langgraph
serde = {p["name"]: p["status"] for p in fast_langgraph.patch_status()}.get("serde")
print(json.dumps({"us": statistics.median(times) * 1e6, "digest": digest, "serde": serde}))
"""


def vs_vanilla(folder: str, messages: int, rounds: int) -> List[Dict[str, Any]]:
    """``get_tuple`` of one message-heavy checkpoint, accelerated vs ``FAST_LANGGRAPH=0``."""
    import statistics

    from fast_langgraph.bench.suite import run_child

    rows = []
    for kind, label in (("rust", "RustSqliteSaver"), ("sqlite", "SqliteSaver")):
        if kind == "rust":
            try:
                from fast_langgraph.sqlite_saver import check_supported_checkpoint_version

                check_supported_checkpoint_version()
            except Exception as exc:  # RustSqliteSaver needs langgraph-checkpoint >= 4.1
                rows.append({"case": "%s.get_tuple (%d messages)" % (label, messages), "error": str(exc)})
                continue
        path = os.path.join(folder, "%s.db" % kind)
        samples: Dict[str, List[float]] = {"vanilla": [], "accelerated": []}
        digests, serde, error = set(), {}, None
        for _ in range(rounds):
            for mode in ("vanilla", "accelerated"):
                out = run_child(VS_VANILLA_CHILD, [path, kind, str(messages)], mode == "accelerated")
                if "error" in out:
                    error = "%s: %s" % (mode, out["error"])
                    break
                samples[mode].append(out["us"])
                digests.add(out["digest"])
                serde[mode] = out["serde"]
            if error:
                break
        row: Dict[str, Any] = {"case": "%s.get_tuple (%d messages)" % (label, messages)}
        if error:
            row["error"] = error
        else:
            v, a = statistics.median(samples["vanilla"]), statistics.median(samples["accelerated"])
            row.update(
                vanilla_us=v,
                accelerated_us=a,
                ratio=v / a,
                equal=len(digests) == 1,
                serde=serde,
                range_vanilla=(min(samples["vanilla"]), max(samples["vanilla"])),
                range_accelerated=(min(samples["accelerated"]), max(samples["accelerated"])),
            )
        rows.append(row)
    return rows


def render_vs_vanilla(rows: List[Dict[str, Any]], rounds: int) -> str:
    lines = [
        "%-40s %12s %12s %8s  %s"
        % ("get_tuple, FAST_LANGGRAPH=0 vs accelerated", "vanilla us", "accel us", "ratio", "values")
    ]
    for r in rows:
        if "error" in r:
            lines.append("%-40s %s" % (r["case"], r["error"]))
            continue
        lines.append(
            "%-40s %12.1f %12.1f %7.2fx  %s (ranges %.0f-%.0f / %.0f-%.0f us)"
            % (
                r["case"],
                r["vanilla_us"],
                r["accelerated_us"],
                r["ratio"],
                "equal" if r["equal"] else "DIFFERENT",
                *r["range_vanilla"],
                *r["range_accelerated"],
            )
        )
    lines.append("(median of 200 calls per fresh interpreter; median over %d alternating rounds per side)" % rounds)
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fast_langgraph.bench saver", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="checkpoints (default 1000)")
    parser.add_argument("--messages", type=int, default=50, help="messages per checkpoint (default 50)")
    parser.add_argument("--steps", type=int, default=100, help="super-steps of the agent graph (default 100)")
    parser.add_argument("--journal-mode", default="WAL")
    parser.add_argument("--synchronous", default="FULL", help="FULL (default), NORMAL, OFF, EXTRA: for both savers")
    parser.add_argument("--dir", default=None, help="folder for the database files (default: a temp folder)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--vs-vanilla", action="store_true", help="get_tuple accelerated vs FAST_LANGGRAPH=0 only")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of --vs-vanilla (default 5)")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="flg-saver-bench-", dir=args.dir)
    if args.vs_vanilla:
        try:
            rows = vs_vanilla(folder, args.messages, args.rounds)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        print(json.dumps(rows, indent=2) if args.json else render_vs_vanilla(rows, args.rounds))
        return 0 if all(r.get("equal", True) for r in rows) else 1
    try:
        rows = saver_cases(folder, args.n, args.messages, args.journal_mode, args.synchronous)
        rows += concurrent_case(folder, min(args.n, 400), args.messages, args.journal_mode, args.synchronous)
        rows += graph_case(folder, args.steps, args.journal_mode, args.synchronous)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(rows, indent=2) if args.json else render(rows))
    return 0

"""Production shapes: ``python -m fast_langgraph.bench production``.

A chat agent as deployments run it, vanilla (``FAST_LANGGRAPH=0``) against accelerated,
each sample in a fresh interpreter, the two modes alternating (ABBA), results checked equal:

* ``agent_async_*``: one conversation of ``--turns`` turns (default 50), streamed with
  ``astream(stream_mode="updates")``; async nodes; an async fake chat model (a real
  ``BaseChatModel``, so LangChain's callbacks run) asks for a tool, an async tool node answers,
  the model replies; the history grows turn by turn. On ``AsyncPostgresSaver`` (one
  connection), ``AsyncSqliteSaver`` (aiosqlite) and fast_langgraph's ``AsyncRustSqliteSaver``.
* ``agent_sync_postgres``: the same with sync nodes, ``stream`` and ``PostgresSaver``.
* ``concurrent_async_postgres``: ``--threads`` conversations (default 64) of
  ``--concurrent-turns`` turns each at once (``asyncio.gather``), one graph, one
  ``AsyncPostgresSaver`` on an ``AsyncConnectionPool``: throughput in turns/s.

Reported per case: wall time per turn (median over rounds, min-max spread), CPU time of the
client process per turn (``time.process_time``; the server's CPU is not in it), turns/s, the
ratio of the medians, and whether both modes produced the same streamed updates and final
state (ids derived from run ids/timestamps aside: there are none in this graph).

PostgreSQL: ``--dsn`` or ``$FAST_LANGGRAPH_POSTGRES_DSN`` (a superuser: every sample gets its
own fresh database, created and dropped around it). Without one the Postgres cases are
skipped; to get a throw-away server for the run::

    .ci/with-postgres python -m fast_langgraph.bench production

The durability is the server's (``.ci/with-postgres`` keeps PostgreSQL's defaults: fsync on);
the SQLite savers write a file in a temporary directory at their default durability.
"""

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any, Dict, List, Optional, Sequence

from fast_langgraph.bench.suite import run_child

DSN_ENV = "FAST_LANGGRAPH_POSTGRES_DSN"
HOW_TO_GET_A_SERVER = ".ci/with-postgres python -m fast_langgraph.bench production"

#: case -> (saver, sync?, concurrent?)
CASES: Dict[str, Dict[str, Any]] = {
    "agent_async_postgres": {"saver": "postgres", "sync": False, "concurrent": False},
    "agent_async_sqlite": {"saver": "sqlite", "sync": False, "concurrent": False},
    "agent_async_rust_sqlite": {"saver": "rust_sqlite", "sync": False, "concurrent": False},
    "agent_sync_postgres": {"saver": "postgres", "sync": True, "concurrent": False},
    "concurrent_async_postgres": {"saver": "postgres_pool", "sync": False, "concurrent": True},
}

CHILD = "from fast_langgraph.bench.production import child_main; child_main()\n"


# ------------------------------------------------------------------------------------------
# The child: the graph, the fake model, one sample.
# ------------------------------------------------------------------------------------------


def _fake_model() -> Any:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    class FakeToolCallingModel(BaseChatModel):
        """After a user message: one tool call; after a tool result: an answer. Fixed ids."""

        @property
        def _llm_type(self) -> str:
            return "fake-tool-calling"

        def _reply(self, messages: List[Any]) -> ChatResult:
            n = len(messages)
            last = messages[-1]
            if last.type == "human":
                call = {
                    "name": "lookup",
                    "args": {"query": last.content, "top_k": 3, "filters": {"lang": "en", "n": n}},
                    "id": "call-%d" % n,
                    "type": "tool_call",
                }
                msg = AIMessage(
                    "Let me look that up.",
                    tool_calls=[call],
                    id="ai-%d" % n,
                    response_metadata={"model_name": "fake", "finish_reason": "tool_calls"},
                    usage_metadata={"input_tokens": 20 * n, "output_tokens": 12, "total_tokens": 20 * n + 12},
                )
            else:
                msg = AIMessage(
                    "Here is what I found about %s: %s" % (last.name, last.content[:80]),
                    id="ai-%d" % n,
                    response_metadata={"model_name": "fake", "finish_reason": "stop"},
                    usage_metadata={"input_tokens": 20 * n, "output_tokens": 40, "total_tokens": 20 * n + 40},
                )
            return ChatResult(generations=[ChatGeneration(message=msg)])

        def _generate(self, messages: List[Any], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
            return self._reply(messages)

        async def _agenerate(
            self, messages: List[Any], stop: Any = None, run_manager: Any = None, **kw: Any
        ) -> ChatResult:
            return self._reply(messages)

    return FakeToolCallingModel()


def _tool_result(call: Dict[str, Any]) -> Any:
    from langchain_core.messages import ToolMessage

    text = "; ".join("result %d for %r: lorem ipsum dolor sit amet" % (i, call["args"]["query"]) for i in range(3))
    return ToolMessage(text, tool_call_id=call["id"], name=call["name"], id="tool-" + call["id"])


def build_graph(sync: bool, checkpointer: Any) -> Any:
    from langgraph.graph import END, START, MessagesState, StateGraph

    model = _fake_model()

    def agent(state: Dict[str, Any]) -> Dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    async def aagent(state: Dict[str, Any]) -> Dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    def tools(state: Dict[str, Any]) -> Dict[str, Any]:
        return {"messages": [_tool_result(c) for c in state["messages"][-1].tool_calls]}

    async def atools(state: Dict[str, Any]) -> Dict[str, Any]:
        return tools(state)

    def route(state: Dict[str, Any]) -> str:
        return "tools" if state["messages"][-1].tool_calls else END

    g = StateGraph(MessagesState)
    g.add_node("agent", agent if sync else aagent)
    g.add_node("tools", tools if sync else atools)
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", route, ["tools", END])
    g.add_edge("tools", "agent")
    return g.compile(checkpointer=checkpointer)


def _user(turn: int) -> Dict[str, Any]:
    from langchain_core.messages import HumanMessage

    return {"messages": [HumanMessage("question %d about the order history" % turn, id="human-%d" % turn)]}


def _chunk(chunk: Dict[str, Any]) -> List[Any]:
    return [[node, [(m.type, m.id, m.content) for m in (upd or {}).get("messages", [])]] for node, upd in chunk.items()]


async def _aconversation(graph: Any, thread: str, turns: int, digest: Any) -> None:
    config = {"configurable": {"thread_id": thread}}
    for t in range(turns):
        async for chunk in graph.astream(_user(t), config, stream_mode="updates"):
            digest.update(repr(_chunk(chunk)).encode())


def _conversation(graph: Any, thread: str, turns: int, digest: Any) -> None:
    config = {"configurable": {"thread_id": thread}}
    for t in range(turns):
        for chunk in graph.stream(_user(t), config, stream_mode="updates"):
            digest.update(repr(_chunk(chunk)).encode())


def _final(state: Any) -> str:
    msgs = state.values["messages"]
    return hashlib.sha256(
        repr([(type(m).__name__, m.id, m.content, m.tool_calls if m.type == "ai" else None) for m in msgs]).encode()
    ).hexdigest()[:16] + ":%d" % len(msgs)


def _patched() -> Dict[str, Any]:
    mods = sys.modules
    if "fast_langgraph._patching" not in mods:
        return {"applied": 0}
    status = mods["fast_langgraph._patching"].status()
    return {"applied": sum(1 for e in status if e["status"] == "applied")}


async def _async_sample(case: Dict[str, Any], target: str, turns: int, threads: int) -> Dict[str, Any]:
    saver_kind = case["saver"]
    if saver_kind == "postgres":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        cm: Any = AsyncPostgresSaver.from_conn_string(target)
    elif saver_kind == "postgres_pool":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        pool: Any = AsyncConnectionPool(
            target,
            min_size=min(threads, 16),
            max_size=min(threads, 16),
            open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        )
        await pool.open(wait=True)
        cm = _PoolSaver(AsyncPostgresSaver(pool), pool)
    elif saver_kind == "sqlite":
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        cm = AsyncSqliteSaver.from_conn_string(target)
    else:
        from fast_langgraph.sqlite_saver import AsyncRustSqliteSaver

        cm = AsyncRustSqliteSaver.from_conn_string(target)
    async with cm as saver:
        await saver.setup()
        graph = build_graph(False, saver)
        await _aconversation(graph, "warm-up", 2, hashlib.sha256())  # imports, prepared statements
        digests = [hashlib.sha256() for _ in range(threads)]
        start, cpu = time.perf_counter(), time.process_time()
        if case["concurrent"]:
            await asyncio.gather(*(_aconversation(graph, "t%d" % i, turns, digests[i]) for i in range(threads)))
        else:
            await _aconversation(graph, "t0", turns, digests[0])
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        finals = [_final(await graph.aget_state({"configurable": {"thread_id": "t%d" % i}})) for i in range(threads)]
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "turns": turns * threads,
        "result": [d.hexdigest()[:16] for d in digests] + finals,
    }


class _PoolSaver:
    """``async with``: the saver, the pool closed on exit."""

    def __init__(self, saver: Any, pool: Any) -> None:
        self.saver, self.pool = saver, pool

    async def __aenter__(self) -> Any:
        return self.saver

    async def __aexit__(self, *exc: Any) -> None:
        await self.pool.close()


def _sync_sample(case: Dict[str, Any], target: str, turns: int) -> Dict[str, Any]:
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(target) as saver:
        saver.setup()
        graph = build_graph(True, saver)
        _conversation(graph, "warm-up", 2, hashlib.sha256())
        digest = hashlib.sha256()
        start, cpu = time.perf_counter(), time.process_time()
        _conversation(graph, "t0", turns, digest)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        final = _final(graph.get_state({"configurable": {"thread_id": "t0"}}))
    return {"wall_s": wall, "cpu_s": cpu, "turns": turns, "result": [digest.hexdigest()[:16], final]}


def child_main() -> None:
    """In the fresh interpreter: ``CASE TARGET TURNS THREADS`` -> one JSON line."""
    name, target, turns, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    case = CASES[name]
    if case["sync"]:
        out = _sync_sample(case, target, turns)
    else:
        out = asyncio.run(_async_sample(case, target, turns, threads if case["concurrent"] else 1))
    out["patched"] = _patched()
    json.dump(out, sys.stdout)


# ------------------------------------------------------------------------------------------
# The parent: targets (fresh database / file per sample), alternation, the table.
# ------------------------------------------------------------------------------------------


class _Target:
    """A fresh PostgreSQL database or SQLite file for one sample, removed afterwards."""

    def __init__(self, saver: str, dsn: Optional[str], folder: str) -> None:
        self.saver, self.dsn, self.folder = saver, dsn, folder
        self.name = "flg_bench_%s" % uuid.uuid4().hex[:12]

    def __enter__(self) -> str:
        if self.saver.startswith("postgres"):
            import psycopg

            assert self.dsn
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute("CREATE DATABASE %s" % self.name)
            return _with_database(self.dsn, self.name)
        return os.path.join(self.folder, self.name + ".db")

    def __exit__(self, *exc: Any) -> None:
        if self.saver.startswith("postgres"):
            import psycopg

            with psycopg.connect(self.dsn, autocommit=True) as conn:  # type: ignore[arg-type]
                conn.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name)
        else:
            for suffix in ("", "-wal", "-shm", "-journal"):
                try:
                    os.remove(os.path.join(self.folder, self.name + ".db" + suffix))
                except OSError:
                    pass


def _with_database(dsn: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    p = urlsplit(dsn)
    return urlunsplit((p.scheme, p.netloc, "/" + database, p.query, ""))


def run(
    cases: Sequence[str], rounds: int, turns: int, threads: int, concurrent_turns: int, dsn: Optional[str]
) -> List[Dict[str, Any]]:
    folder = tempfile.mkdtemp(prefix="fast_langgraph_bench_production_")
    rows = []
    try:
        for name in cases:
            case = CASES[name]
            n_turns = concurrent_turns if case["concurrent"] else turns
            n_threads = threads if case["concurrent"] else 1
            samples: Dict[str, List[Dict[str, Any]]] = {"vanilla": [], "accelerated": []}
            results: Dict[str, Any] = {}
            patched: Dict[str, int] = {}
            error = None
            for r in range(rounds):
                order = ("vanilla", "accelerated") if r % 2 == 0 else ("accelerated", "vanilla")
                for mode in order:
                    with _Target(case["saver"], dsn, folder) as target:
                        out = run_child(CHILD, [name, target, str(n_turns), str(n_threads)], mode == "accelerated")
                    if "error" in out:
                        error = "%s: %s" % (mode, out["error"])
                        break
                    samples[mode].append(out)
                    results.setdefault(mode, out["result"])
                    if out["result"] != results[mode]:
                        error = "%s: results differ between its own rounds" % mode
                    patched[mode] = out["patched"]["applied"]
                if error:
                    break
            row: Dict[str, Any] = {"case": name, "turns": n_turns * n_threads, "threads": n_threads, "rounds": rounds}
            if error:
                row["error"] = error
            else:
                for mode in ("vanilla", "accelerated"):
                    per_turn = [s["wall_s"] / s["turns"] * 1e3 for s in samples[mode]]
                    cpu = [s["cpu_s"] / s["turns"] * 1e3 for s in samples[mode]]
                    row[mode] = {
                        "ms_per_turn": statistics.median(per_turn),
                        "spread": [min(per_turn), max(per_turn)],
                        "cpu_ms_per_turn": statistics.median(cpu),
                        "cpu_spread": [min(cpu), max(cpu)],
                        "turns_per_s": 1e3 / statistics.median(per_turn),
                        "samples_ms_per_turn": per_turn,
                    }
                row["ratio"] = row["vanilla"]["ms_per_turn"] / row["accelerated"]["ms_per_turn"]
                row["cpu_ratio"] = row["vanilla"]["cpu_ms_per_turn"] / row["accelerated"]["cpu_ms_per_turn"]
                row["same_result"] = results["vanilla"] == results["accelerated"]
                row["accelerated_was_patched"] = patched["accelerated"] > 0
                row["vanilla_was_unpatched"] = patched["vanilla"] == 0
            rows.append(row)
            print(render([row], header=not rows[:-1]), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def render(rows: List[Dict[str, Any]], header: bool = True) -> str:
    lines = []
    if header:
        lines.append(
            "%-26s %6s %22s %22s %6s %18s %7s  %s"
            % ("case", "turns", "vanilla ms/turn", "accel. ms/turn", "ratio", "CPU ms/turn v/a", "CPU x", "results")
        )
    for r in rows:
        if "error" in r:
            lines.append("%-26s %6d  ERROR %s" % (r["case"], r["turns"], r["error"]))
            continue
        v, a = r["vanilla"], r["accelerated"]
        ok = "equal" if r["same_result"] else "DIFFER"
        if not (r["accelerated_was_patched"] and r["vanilla_was_unpatched"]):
            ok += " (patch state unexpected)"
        lines.append(
            "%-26s %6d %8.2f (%5.2f-%5.2f) %8.2f (%5.2f-%5.2f) %5.2fx %8.2f / %7.2f %6.2fx  %s"
            % (
                r["case"],
                r["turns"],
                v["ms_per_turn"],
                v["spread"][0],
                v["spread"][1],
                a["ms_per_turn"],
                a["spread"][0],
                a["spread"][1],
                r["ratio"],
                v["cpu_ms_per_turn"],
                a["cpu_ms_per_turn"],
                r["cpu_ratio"],
                ok,
            )
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fast_langgraph.bench production", description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    p.add_argument("--rounds", type=int, default=5, help="samples per mode, alternating (default 5)")
    p.add_argument("--turns", type=int, default=50, help="turns of the one-conversation cases (default 50)")
    p.add_argument("--threads", type=int, default=64, help="conversations at once in the concurrent case (default 64)")
    p.add_argument("--concurrent-turns", type=int, default=3, help="turns of each concurrent conversation (default 3)")
    p.add_argument("--dsn", default=os.environ.get(DSN_ENV), help="PostgreSQL DSN (default $%s)" % DSN_ENV)
    p.add_argument("--quick", action="store_true", help="2 rounds, 10 turns, 16 threads")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.turns, args.threads = 2, 10, 16
    cases = list(args.cases)
    if not args.dsn:
        skipped = [c for c in cases if CASES[c]["saver"].startswith("postgres")]
        cases = [c for c in cases if c not in skipped]
        if skipped:
            print(
                "no PostgreSQL (--dsn or $%s): skipping %s.\nFor a throw-away server: %s\n"
                % (DSN_ENV, ", ".join(skipped), HOW_TO_GET_A_SERVER),
                flush=True,
            )
    print(
        "production shapes, vanilla vs accelerated: %d rounds (fresh interpreters, alternating); median "
        "wall ms per turn (min-max), client CPU ms per turn" % args.rounds,
        flush=True,
    )
    rows = run(cases, args.rounds, args.turns, args.threads, args.concurrent_turns, args.dsn)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "argv": sys.argv, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}, f, indent=2)
    bad = [r for r in rows if "error" in r or not r["same_result"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""PostgresSaver / AsyncPostgresSaver (langgraph-checkpoint-postgres) through our serde patch,
against a real PostgreSQL: ``$FAST_LANGGRAPH_POSTGRES_DSN`` (``.ci/with-postgres pytest ...``
starts one). Without it the module skips; ``FAST_LANGGRAPH_REQUIRE_POSTGRES=1`` (CI) makes
that an error instead.

Each side runs in a fresh interpreter, vanilla (``FAST_LANGGRAPH=0``) and accelerated, on its
own database: a chat agent with tool calls, sync on ``PostgresSaver`` and async on
``AsyncPostgresSaver`` (one connection, and a pool), an interrupt and a resume, an
``update_state``. Then:

* the rows written are the same bytes (blobs, writes, the checkpoint and metadata JSON; the
  checkpoint ids, timestamps and the random part of channel versions normalised);
* ``get_state_history`` / ``aget_state_history`` read back equal snapshots (``repr`` of the
  values: message types, fields, ids);
* each side reads the other's database and gets what the other read (patched reads vanilla's
  rows and vice versa).
"""

import json
import os
import uuid

import pytest

from conftest import run_python

ENV = "FAST_LANGGRAPH_POSTGRES_DSN"
DSN = os.environ.get(ENV)

_missing = []
if not DSN:
    _missing.append("a server: %s (run under .ci/with-postgres)" % ENV)
try:
    import psycopg  # noqa: F401
    import langgraph.checkpoint.postgres  # noqa: F401
except ImportError:
    _missing.append("langgraph-checkpoint-postgres and psycopg[binary] (pip install them)")
if _missing:
    _reason = "PostgreSQL saver tests need " + " and ".join(_missing)
    if os.environ.get("FAST_LANGGRAPH_REQUIRE_POSTGRES") == "1":
        raise RuntimeError(_reason + " (FAST_LANGGRAPH_REQUIRE_POSTGRES=1)")
    pytest.skip(_reason, allow_module_level=True)


CHILD = r'''
import asyncio, json, os, re, sys, operator
from typing import Annotated, TypedDict

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, interrupt
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
import psycopg

action, dsn = os.environ["FLG_PG_ACTION"], os.environ["FLG_PG_DSN"]


class State(TypedDict):
    messages: Annotated[list, add_messages]
    notes: Annotated[list, operator.add]
    meta: dict
    turn: int


def _agent(state):
    n = state.get("turn", 0)
    last = state["messages"][-1]
    if isinstance(last, HumanMessage) or n % 3 != 2:
        call = {"name": "lookup", "args": {"q": "item %d" % n, "k": [n, n + 1.5, None]}, "id": "call-%d" % n}
        msg = AIMessage("thinking %d" % n, tool_calls=[call], id="ai-%d" % n,
                        response_metadata={"model": "fake", "usage": {"in": n, "out": 2 * n}})
    else:
        msg = AIMessage("done after %d" % n, id="ai-%d" % n)
    return {"messages": [msg], "turn": n + 1, "meta": {"last": n, "tags": ("a", "b")}}


def _tools(state):
    out = [ToolMessage("result of %s" % c["args"]["q"], tool_call_id=c["id"], id="tool-" + c["id"])
           for c in state["messages"][-1].tool_calls]
    return {"messages": out, "notes": ["tool %d" % state["turn"]]}


def _review(state):
    answer = interrupt({"question": "ok?", "turn": state["turn"]})
    return {"notes": ["review: %s" % answer]}


async def _aagent(state):
    return _agent(state)


async def _atools(state):
    return _tools(state)


async def _areview(state):
    return _review(state)


def route(state):
    return "tools" if state["messages"][-1].tool_calls else "review"


def build(agent, tools, review):
    g = StateGraph(State)
    g.add_node("agent", agent)
    g.add_node("tools", tools)
    g.add_node("review", review)
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", route, ["tools", "review"])
    g.add_edge("tools", "agent")
    g.add_edge("review", END)
    return g


def scrub(text):
    """Ids derived from checkpoint ids (interrupt ids, task ids) differ from run to run."""
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UUID", text)
    return re.sub(r"\b[0-9a-f]{32}\b", "HEX32", text)


def snap(s):
    return {
        "values": scrub(repr(s.values)),
        "next": list(s.next),
        "metadata": scrub(repr({k: v for k, v in (s.metadata or {}).items() if k not in ("run_id",)})),
        "tasks": [scrub(repr((t.name, t.path, t.error, t.interrupts, t.result))) for t in s.tasks],
        "interrupts": scrub(repr(s.interrupts)),
        "has_parent": s.parent_config is not None,
    }


def run_sync(saver, thread):
    graph = build(_agent, _tools, _review).compile(checkpointer=saver)
    cfg = {"configurable": {"thread_id": thread}}
    events = []
    for turn in range(2):
        for ev in graph.stream({"messages": [HumanMessage("question %d" % turn, id="h-%d" % turn)]}, cfg,
                               stream_mode="updates"):
            events.append(scrub(repr(ev)))
        for ev in graph.stream(Command(resume="yes %d" % turn), cfg, stream_mode="updates"):
            events.append(scrub(repr(ev)))
    graph.update_state(cfg, {"notes": ["edited"], "meta": {"edited": True}})
    return events


async def run_async(saver, thread):
    graph = build(_aagent, _atools, _areview).compile(checkpointer=saver)
    cfg = {"configurable": {"thread_id": thread}}
    events = []
    for turn in range(2):
        async for ev in graph.astream({"messages": [HumanMessage("question %d" % turn, id="h-%d" % turn)]}, cfg,
                                      stream_mode="updates"):
            events.append(scrub(repr(ev)))
        async for ev in graph.astream(Command(resume="yes %d" % turn), cfg, stream_mode="updates"):
            events.append(scrub(repr(ev)))
    await graph.aupdate_state(cfg, {"notes": ["edited"], "meta": {"edited": True}})
    return events


class Opaque:
    """Not encodable: the node's write fails in the saver, on the loop or in a thread."""


async def run_failing(saver, thread):
    async def bad(state):
        return {"meta": {"opaque": Opaque()}}

    g = StateGraph(State)
    g.add_node("bad", bad)
    g.add_edge(START, "bad")
    graph = g.compile(checkpointer=saver)
    events = []
    try:
        async for ev in graph.astream({"messages": [HumanMessage("q", id="h-bad")]},
                                      {"configurable": {"thread_id": thread}}, stream_mode="updates"):
            events.append(scrub(repr(ev)))
    except Exception as exc:
        events.append(repr((type(exc).__name__, str(exc))))
    return events


REFUSE = (
    """CREATE OR REPLACE FUNCTION flg_refuse() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'refused by trigger (%)', NEW.thread_id;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER flg_refuse_checkpoints BEFORE INSERT ON checkpoints FOR EACH ROW
        WHEN (NEW.thread_id = 'refused-checkpoint') EXECUTE FUNCTION flg_refuse()""",
    """CREATE TRIGGER flg_refuse_writes BEFORE INSERT ON checkpoint_writes FOR EACH ROW
        WHEN (NEW.thread_id = 'refused-writes') EXECUTE FUNCTION flg_refuse()""",
)


async def run_refused(saver, label):
    """The database refuses a checkpoint, then a task's writes: the error each run ends with,
    then an ordinary run on the same saver (its lock and connection were given back)."""
    events = []
    for thread in ("refused-checkpoint", "refused-writes"):
        try:
            events += await run_async(saver, thread)
        except Exception as exc:
            events.append(repr((type(exc).__name__, str(exc).splitlines()[0])))
    events += await run_async(saver, "after-refusal-" + label)
    return events


def inlined():
    """Calls postgres_inline_serde ran on the loop's thread, per function (none: not patched)."""
    import langgraph.checkpoint.postgres.aio as aio

    return {name: b.inlined for name, b in getattr(aio.asyncio, "backoffs", {}).items()}


def history(saver):
    graph = build(_agent, _tools, _review).compile(checkpointer=saver)
    out = []
    for t in ("sync", "async", "pool"):
        out += [snap(s) for s in graph.get_state_history({"configurable": {"thread_id": t}})]
    return out


async def ahistory(saver):
    graph = build(_aagent, _atools, _areview).compile(checkpointer=saver)
    out = []
    for t in ("sync", "async", "pool"):
        out += [snap(s) async for s in graph.aget_state_history({"configurable": {"thread_id": t}})]
    return out


def rows(dsn):
    """The tables, ids/timestamps/random version suffixes normalised, bytes as hex."""
    with psycopg.connect(dsn) as conn:
        cps = conn.execute(
            "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint::text, "
            "metadata::text FROM checkpoints ORDER BY thread_id, checkpoint_ns, checkpoint_id").fetchall()
        ids = {}
        for r in cps:
            ids.setdefault(r[2], "cp%d" % len(ids))

        def norm(text):
            for k, v in ids.items():
                text = text.replace(k, v)
            text = re.sub(r'"ts": "[^"]*"', '"ts": "T"', text)
            text = re.sub(r"(\d{32})\.[0-9.e-]+", r"\1", text)
            return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UUID", text)

        def blob(data):
            # an interrupt's id (msgpack str8 of 32 hex digits) is derived from the checkpoint id
            return re.sub(rb"\xd9\x20[0-9a-f]{32}", b"\xd9\x20" + b"X" * 32, bytes(data or b"")).hex()

        out = {"checkpoints": [[r[0], r[1], ids[r[2]], ids.get(r[3]), r[4], norm(r[5]), norm(r[6])] for r in cps]}
        blobs = conn.execute("SELECT thread_id, checkpoint_ns, channel, version, type, blob FROM checkpoint_blobs").fetchall()
        out["blobs"] = sorted([r[0], r[1], r[2], r[3].split(".")[0], r[4], blob(r[5])] for r in blobs)
        writes = conn.execute(
            "SELECT thread_id, checkpoint_ns, checkpoint_id, task_path, idx, channel, type, blob "
            "FROM checkpoint_writes").fetchall()
        out["writes"] = sorted([r[0], r[1], ids.get(r[2], "?"), r[3], r[4], r[5], r[6], blob(r[7])]
                               for r in writes)
    return out


def patched(name):
    try:
        from fast_langgraph import _patching
    except ImportError:
        return None
    return {e["name"]: e["status"] for e in _patching.status()}.get(name)


async def amain():
    result = {"serde": None}
    if action == "write":
        events = {}
        with PostgresSaver.from_conn_string(dsn) as saver:
            saver.setup()
            events["sync"] = run_sync(saver, "sync")
        async with AsyncPostgresSaver.from_conn_string(dsn) as saver:
            events["async"] = await run_async(saver, "async")
            events["failing"] = await run_failing(saver, "failing")
            async with saver.conn.cursor() as cur:
                for statement in REFUSE:
                    await cur.execute(statement)
            events["refused"] = await run_refused(saver, "connection")
        from psycopg_pool import AsyncConnectionPool
        from psycopg.rows import dict_row
        async with AsyncConnectionPool(dsn, max_size=4, kwargs={"autocommit": True, "prepare_threshold": 0,
                                                                "row_factory": dict_row}) as pool:
            saver = AsyncPostgresSaver(pool)
            events["pool"] = await run_async(saver, "pool")
            events["pool_refused"] = await run_refused(saver, "pool")
        result["events"] = events
        result["rows"] = rows(dsn)
    with PostgresSaver.from_conn_string(dsn) as saver:
        result["history"] = history(saver)
        tup = saver.get_tuple({"configurable": {"thread_id": "sync"}})
        result["latest"] = scrub(repr((tup.checkpoint["channel_values"], tup.pending_writes)))
        result["listed"] = len(list(saver.list(None)))
    async with AsyncPostgresSaver.from_conn_string(dsn) as saver:
        result["ahistory"] = await ahistory(saver)
        tup = await saver.aget_tuple({"configurable": {"thread_id": "pool"}})
        result["alatest"] = scrub(repr((tup.checkpoint["channel_values"], tup.pending_writes)))
    result["serde"] = patched("serde")
    result["postgres_cursor"] = patched("postgres_cursor")
    result["inlined"] = inlined()
    print(json.dumps(result))


asyncio.run(amain())
'''


def _dsn_for(database):
    from urllib.parse import urlsplit, urlunsplit

    p = urlsplit(DSN)
    return urlunsplit((p.scheme, p.netloc, "/" + database, p.query, ""))


@pytest.fixture(scope="module")
def databases():
    import psycopg

    names = {mode: "flg_test_%s_%s" % (mode, uuid.uuid4().hex[:10]) for mode in ("vanilla", "patched")}
    with psycopg.connect(DSN, autocommit=True) as conn:
        for name in names.values():
            conn.execute("CREATE DATABASE %s" % name)
    yield {mode: _dsn_for(name) for mode, name in names.items()}
    with psycopg.connect(DSN, autocommit=True) as conn:
        for name in names.values():
            conn.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


def _child(action, dsn, patched):
    proc = run_python(CHILD, FLG_PG_ACTION=action, FLG_PG_DSN=dsn, FAST_LANGGRAPH=None if patched else "0", timeout=300)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def written(databases):
    return {mode: _child("write", databases[mode], mode == "patched") for mode in ("vanilla", "patched")}


def test_serde_patch_is_applied_only_in_the_patched_child(written):
    assert written["patched"]["serde"] == "applied"
    assert written["vanilla"]["serde"] != "applied"


def test_same_streamed_updates(written):
    assert written["patched"]["events"] == written["vanilla"]["events"]
    assert len(written["vanilla"]["events"]["sync"]) > 10
    # A write the serializer refuses: the same error ends the run both ways.
    assert "Opaque" in written["vanilla"]["events"]["failing"][-1]


def test_same_errors_when_the_database_refuses_a_write(written):
    # postgres_cursor leaves the pipeline, pooled connection and lock when the server's error
    # arrives (at the pipeline's sync): same error, and the saver goes on working, both ways.
    assert written["patched"]["postgres_cursor"] == "applied"
    assert written["vanilla"]["postgres_cursor"] != "applied"
    for key in ("refused", "pool_refused"):
        events = written["vanilla"]["events"][key]
        refusals = [e for e in events if "refused by trigger" in e]
        assert len(refusals) == 2 and all("RaiseException" in e for e in refusals), events
        assert len(events) > 10
        assert written["patched"]["events"][key] == events, key


def test_async_saver_serializes_on_the_loop_only_when_patched(written):
    # postgres_inline_serde (AsyncPostgresSaver, one connection and a pool) ran each kind of call inline.
    assert written["vanilla"]["inlined"] == {}
    assert set(written["patched"]["inlined"]) == {"_dump_blobs", "_dump_writes", "_load_writes"}
    assert all(n > 5 for n in written["patched"]["inlined"].values()), written["patched"]["inlined"]


def test_same_bytes_written(written):
    v, p = written["vanilla"]["rows"], written["patched"]["rows"]
    assert len(v["blobs"]) > 10 and len(v["writes"]) > 10 and len(v["checkpoints"]) > 10
    for table in ("checkpoints", "blobs", "writes"):
        assert p[table] == v[table], table


def test_same_history_read_back(written):
    for key in ("history", "ahistory", "latest", "alatest", "listed"):
        assert written["patched"][key] == written["vanilla"][key], key
    # the sync and async readers agree on every thread
    assert written["vanilla"]["history"] == written["vanilla"]["ahistory"]
    assert "ToolMessage" in written["vanilla"]["history"][0]["values"]


def test_each_side_reads_the_others_rows(written, databases):
    read_by_patched = _child("read", databases["vanilla"], True)
    read_by_vanilla = _child("read", databases["patched"], False)
    assert read_by_patched["serde"] == "applied"
    for key in ("history", "ahistory", "latest", "alatest", "listed"):
        assert read_by_patched[key] == written["vanilla"][key], key
        assert read_by_vanilla[key] == written["patched"][key], key

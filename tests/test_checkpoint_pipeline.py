"""The ``checkpoint_pipeline`` patch: a sync loop's checkpoint saves on RustSqliteSaver queue
behind each other instead of waiting for each other's commit. Stored rows, their order, the
errors a failed save raises and what it stops are those of LangGraph's own method."""

import sqlite3
import threading
from concurrent.futures import Future

import pytest

import fast_langgraph

pytest.importorskip("langgraph.pregel._loop")  # the patch applies when it is imported
state = {p["name"]: p for p in fast_langgraph.patch_status()}.get("checkpoint_pipeline")
if state is None or state["status"] != "applied":
    pytest.skip("checkpoint_pipeline patch not applied here: %s" % (state,), allow_module_level=True)
SqliteSaver = pytest.importorskip("langgraph.checkpoint.sqlite").SqliteSaver

from langgraph.pregel._loop import SyncPregelLoop  # noqa: E402

from conftest import run_in_threads, skip_module_unless_rust_sqlite_saver_supported  # noqa: E402
from graphs import run_agents, stored  # noqa: E402

from fast_langgraph.bench.workloads import _agent  # noqa: E402
from fast_langgraph.patches import checkpoint_pipeline  # noqa: E402
from fast_langgraph.patches._spec import PatchSkipped, Target  # noqa: E402
from fast_langgraph.sqlite_saver import (  # noqa: E402
    AsyncRustSqliteSaver,
    RustSqliteSaver,
    _queued_saves,
    takes_queued_saves,
)

skip_module_unless_rust_sqlite_saver_supported()

LANGGRAPHS_OWN = SyncPregelLoop._checkpointer_put_after_previous.__wrapped__


@pytest.fixture
def langgraphs_own(monkeypatch):
    """Run the loop's own save chain (the patch off) inside the test."""
    monkeypatch.setattr(SyncPregelLoop, "_checkpointer_put_after_previous", LANGGRAPHS_OWN)


@pytest.fixture
def queued(monkeypatch):
    """Count the saves that went through ``_put_after``."""
    calls = []
    original = RustSqliteSaver._put_after

    def counted(self, *args):
        calls.append(args[1]["configurable"].get("checkpoint_id"))
        return original(self, *args)

    monkeypatch.setattr(RustSqliteSaver, "_put_after", counted)
    return calls


def _chain(path, thread_id):
    """(checkpoint_id, parent_checkpoint_id) rows, newest first, and that they form one chain."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints WHERE thread_id = ? "
            "ORDER BY checkpoint_id DESC",
            (thread_id,),
        ).fetchall()
    assert all(parent == rows[i + 1][0] for i, (_, parent) in enumerate(rows[:-1])), rows
    return rows


def test_an_agent_loop_stores_what_sqlite_saver_stores_in_fewer_transactions(tmp_path, queued):
    path = str(tmp_path / "rust.db")
    with RustSqliteSaver.from_conn_string(path) as rust:
        rust_runs = run_agents(rust)
        stats = rust.write_stats()
    with SqliteSaver.from_conn_string(str(tmp_path / "upstream.db")) as upstream:
        assert run_agents(upstream) == rust_runs
    rust_stored = rust_runs[1]
    assert len(rust_stored[0]) > 30
    assert len(queued) == sum(len(s) for s in rust_stored)  # every save went through the queue
    assert stats["transactions"] < stats["writes"]
    for i in range(3):
        assert len(_chain(path, "agent-%d" % i)) == len(rust_stored[i])
    assert not _queued_saves  # nothing left behind


def test_a_resumed_thread_chains_onto_its_stored_checkpoint(tmp_path, queued):
    """The first save of an invoke has no future before it; its parent is read from the store."""
    path = str(tmp_path / "rust.db")
    with RustSqliteSaver.from_conn_string(path) as rust:
        graph, run = _agent(3, rust)
        first = run(0)
        config = {"configurable": {"thread_id": "agent-0"}}
        graph.update_state(config, {"messages": []})
        second = graph.invoke(None, config)
        assert first["messages"] == [(m.type, m.content, m.id) for m in second["messages"]]
        rows = _chain(path, "agent-0")
    assert len(rows) == len(queued) + 1  # update_state's put is the saver's own put


def _failing_at(path, step):
    """Make SQLite refuse the checkpoint of ``step`` (both savers write the same JSON metadata)."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON checkpoints "
            "WHEN json_extract(CAST(NEW.metadata AS TEXT), '$.step') = %d "
            "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END" % step
        )


def _run_failing(tmp_path, name, step):
    path = str(tmp_path / name)
    with RustSqliteSaver.from_conn_string(path) as rust:
        _failing_at(path, step)
        _, run = _agent(10, rust)
        with pytest.raises(Exception) as info:
            run(0)
        history = stored(rust, "agent-0")
    return type(info.value), str(info.value), history


@pytest.mark.parametrize("step", [0, 5, 19])
def test_a_refused_save_stops_the_saves_after_it_as_langgraphs_loop_does(tmp_path, step, queued, monkeypatch):
    """The save refused inside SQLite (its savepoint rolled back, possibly in a transaction
    it shared) is the last attempted: the ones queued behind it are not written, and the run
    raises that save's error, as with the loop's own chain."""
    pipelined = _run_failing(tmp_path, "pipelined.db", step)
    assert queued
    monkeypatch.setattr(SyncPregelLoop, "_checkpointer_put_after_previous", LANGGRAPHS_OWN)
    own = _run_failing(tmp_path, "own.db", step)
    assert pipelined == own
    assert own[0] is sqlite3.IntegrityError and "refused by a trigger" in own[1]
    assert [s[1] for s in own[2]] == list(range(-1, step))[::-1]
    assert not _queued_saves


class RefusingSerde:
    """LangGraph's serializer, refusing checkpoints that hold ``messages`` of a given length."""

    def __init__(self, length):
        from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

        self.inner, self.length = JsonPlusSerializer(), length

    def dumps_typed(self, obj):
        if isinstance(obj, dict) and len(obj.get("channel_values", {}).get("messages", ())) == self.length:
            raise ValueError("cannot serialize this one")
        return self.inner.dumps_typed(obj)

    def loads_typed(self, data):
        return self.inner.loads_typed(data)


def _run_unserializable(tmp_path, name):
    with RustSqliteSaver.from_conn_string(str(tmp_path / name), serde=RefusingSerde(6)) as rust:
        _, run = _agent(8, rust)
        with pytest.raises(Exception) as info:
            run(0)
        return info.value, [s[1] for s in stored(rust, "agent-0")]


def test_a_save_that_cannot_be_serialized_stops_the_saves_after_it(tmp_path, queued, monkeypatch):
    pipelined, pipelined_steps = _run_unserializable(tmp_path, "pipelined.db")
    assert queued
    monkeypatch.setattr(SyncPregelLoop, "_checkpointer_put_after_previous", LANGGRAPHS_OWN)
    own, own_steps = _run_unserializable(tmp_path, "own.db")
    assert (type(pipelined), str(pipelined)) == (type(own), str(own)) == (ValueError, "cannot serialize this one")
    assert pipelined.__context__ is own.__context__ is None
    assert pipelined_steps == own_steps and len(own_steps) < 8


def test_savers_that_must_see_every_put_take_the_loops_own_path(tmp_path, queued):
    with RustSqliteSaver.from_conn_string(str(tmp_path / "a.db")) as rust:
        assert takes_queued_saves(rust)
        puts = []
        original = rust.put
        rust.put = lambda *a, **k: (puts.append(a[1]["id"]), original(*a, **k))[1]
        assert not takes_queued_saves(rust)
        _, run = _agent(2, rust)
        run(0)
    assert puts and not queued

    class Instrumented(RustSqliteSaver):
        pass

    with Instrumented.from_conn_string(str(tmp_path / "b.db")) as sub:
        assert not takes_queued_saves(sub)
    async_saver = AsyncRustSqliteSaver(str(tmp_path / "c.db"))
    assert takes_queued_saves(async_saver)
    async_saver.close()
    assert not takes_queued_saves(SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False)))


def test_queued_saves_commit_in_order_several_per_transaction(tmp_path):
    saver = RustSqliteSaver(str(tmp_path / "q.db"))
    store = saver._store
    before = saver.write_stats()
    pending, after = [], None
    for i in range(20):
        after = store.put_queued("t", "", "%03d" % i, "%03d" % (i - 1) if i else None, "msgpack", b"c", b"{}", after)
        pending.append(after)
    assert [p.wait() for p in pending] == [True] * 20
    stats = saver.write_stats()
    assert stats["writes"] - before["writes"] == 20
    assert stats["transactions"] - before["transactions"] == 1  # queued before anyone waited: one group
    assert [k[2] for k in store.list_keys("t")] == ["%03d" % i for i in range(19, -1, -1)]
    with pytest.raises(RuntimeError, match="already waited"):
        pending[0].wait()
    other = RustSqliteSaver(str(tmp_path / "other.db"))
    with pytest.raises(ValueError, match="another store"):
        other._store.put_queued("t", "", "x", None, "msgpack", b"c", b"{}", pending[-1])
    saver.close()
    other.close()


def test_a_failed_queued_save_fails_the_ones_queued_behind_it(tmp_path):
    path = str(tmp_path / "q.db")
    saver = RustSqliteSaver(path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON checkpoints WHEN NEW.checkpoint_id = 'bad' "
            "BEGIN SELECT RAISE(ABORT, 'no'); END"
        )
    store = saver._store
    first = store.put_queued("t", "", "ok", None, "msgpack", b"c", b"{}")
    bad = store.put_queued("t", "", "bad", "ok", "msgpack", b"c", b"{}", first)
    behind = store.put_queued("t", "", "behind", "bad", "msgpack", b"c", b"{}", bad)
    further = store.put_queued("t", "", "further", "behind", "msgpack", b"c", b"{}", behind)
    unrelated = store.put_queued("u", "", "free", None, "msgpack", b"c", b"{}")
    assert first.wait()
    with pytest.raises(sqlite3.IntegrityError, match="no"):
        bad.wait()
    assert behind.wait() is False and further.wait() is False
    assert unrelated.wait()
    assert [k[2] for k in store.list_keys()] == ["ok", "free"] or sorted(k[2] for k in store.list_keys()) == [
        "free",
        "ok",
    ]
    saver.close()


def test_a_save_waits_for_the_one_before_it_to_be_queued(tmp_path):
    """The next save's thread may run first: it waits until the save before it is queued
    (or its future is done), so the two are queued, and committed, in the loop's order."""
    saver = RustSqliteSaver(str(tmp_path / "w.db"))
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "a"}}
    checkpoint = {"v": 4, "id": "b", "ts": "", "channel_values": {}, "channel_versions": {}, "versions_seen": {}}
    prev = Future()
    done = threading.Event()
    second = threading.Thread(target=lambda: (saver._put_after(prev, config, checkpoint, {}), done.set()))
    second.start()
    assert not done.wait(0.2)  # waiting for "a" to be queued
    first_config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": None}}
    saver._put_after(None, first_config, dict(checkpoint, id="a"), {})
    assert done.wait(10)
    second.join()
    prev.set_result(None)
    assert [k[2] for k in saver._store.list_keys("t")] == ["b", "a"]
    saver.close()


def test_a_save_after_a_future_done_elsewhere_does_not_wait(tmp_path):
    saver = RustSqliteSaver(str(tmp_path / "d.db"))
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "elsewhere"}}
    checkpoint = {"v": 4, "id": "b", "ts": "", "channel_values": {}, "channel_versions": {}, "versions_seen": {}}
    prev = Future()
    threading.Timer(0.1, prev.set_result, (None,)).start()
    saver._put_after(prev, config, checkpoint, {})  # woken by the future's done callback
    failed = Future()
    failed.set_exception(KeyError("before"))
    with pytest.raises(KeyError, match="before"):
        saver._put_after(failed, config, dict(checkpoint, id="c"), {})
    assert [k[2] for k in saver._store.list_keys("t")] == ["b"]
    saver.close()


def test_the_patch_applies_only_over_the_verified_method():
    target = Target("langgraph.pregel._loop", "SyncPregelLoop._checkpointer_put_after_previous")
    assert checkpoint_pipeline.replacement(target, LANGGRAPHS_OWN).__wrapped__ is LANGGRAPHS_OWN

    def _checkpointer_put_after_previous(self, prev, delta_write_futs, config, checkpoint, metadata, new_versions):
        pass

    _checkpointer_put_after_previous.__module__ = "langgraph.pregel._loop"
    _checkpointer_put_after_previous.__qualname__ = "SyncPregelLoop._checkpointer_put_after_previous"
    with pytest.raises(PatchSkipped, match="not a verified version"):
        checkpoint_pipeline.replacement(target, _checkpointer_put_after_previous)
    with pytest.raises(PatchSkipped, match="not LangGraph's own"):
        checkpoint_pipeline.replacement(target, lambda *a: None)


# -- InMemorySaver: the loop's saves run as it submits them -----------------------------------

from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.pregel._executor import BackgroundExecutor  # noqa: E402

LANGGRAPHS_SUBMIT = BackgroundExecutor.submit.__wrapped__


@pytest.fixture
def inline(monkeypatch):
    """Count the loop's saves run as submitted."""
    ran = []
    original = checkpoint_pipeline.saves_in_memory

    def counted(fn, args):
        yes = original(fn, args)
        ran.append(yes)
        return yes

    monkeypatch.setattr(checkpoint_pipeline, "saves_in_memory", counted)
    return ran


def _history(graph, thread_id):
    config = {"configurable": {"thread_id": thread_id}}
    return [
        (s.values, s.metadata.get("step"), s.next, [w[1:] for w in s.tasks]) for s in graph.get_state_history(config)
    ]


def _agent_run(saver, turns=12):
    graph, run = _agent(turns, saver)
    out = [run(i) for i in range(2)]
    config = {"configurable": {"thread_id": "agent-0"}, "recursion_limit": 100}
    streamed = list(graph.stream(None, config, stream_mode=["updates", "values"]))
    return out, streamed, [_history(graph, "agent-%d" % i) for i in range(2)]


def test_an_agent_on_in_memory_saver_runs_its_saves_as_submitted_with_the_same_history(inline, monkeypatch):
    ours = _agent_run(InMemorySaver())
    assert sum(inline) > 40
    monkeypatch.setattr(BackgroundExecutor, "submit", LANGGRAPHS_SUBMIT)
    assert _agent_run(InMemorySaver()) == ours
    assert len(ours[2][0]) > 20


def _unserializable_run(saver):
    from typing import Any, TypedDict

    from langgraph.graph import END, START, StateGraph

    class S(TypedDict):
        n: int
        thing: Any

    def step(state):
        return {"n": state["n"] + 1, "thing": threading.Lock() if state["n"] == 2 else None}

    builder = StateGraph(S)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda s: END if s["n"] >= 5 else "step")
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    streamed = []
    with pytest.raises(Exception) as info:
        for chunk in graph.stream({"n": 0, "thing": None}, config, stream_mode="updates"):
            streamed.append({k: {"n": v["n"]} for k, v in chunk.items()})
    history = [(s.values.get("n"), s.metadata.get("step")) for s in graph.get_state_history(config)]
    return type(info.value), str(info.value), streamed, history


def test_a_save_that_fails_on_in_memory_saver_fails_the_run_as_a_background_save_does(inline, monkeypatch):
    ours = _unserializable_run(InMemorySaver())
    assert any(inline)
    monkeypatch.setattr(BackgroundExecutor, "submit", LANGGRAPHS_SUBMIT)
    theirs = _unserializable_run(InMemorySaver())
    assert ours == theirs
    assert theirs[0] is TypeError and "not msgpack serializable" in theirs[1] and len(theirs[2]) >= 3


def test_only_a_plain_in_memory_saver_runs_saves_as_submitted(tmp_path):
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    plain = InMemorySaver()
    assert checkpoint_pipeline.plain_memory_saver(plain)
    assert checkpoint_pipeline.saves_in_memory(plain.put_writes, ({}, [], "task"))
    assert not checkpoint_pipeline.saves_in_memory(plain.put, ({}, {}, {}, {}))

    class Sub(InMemorySaver):
        pass

    class OwnSerde(JsonPlusSerializer):
        pass

    replaced = InMemorySaver()
    replaced.put_writes = lambda *a, **k: None
    for saver in (Sub(), InMemorySaver(serde=OwnSerde()), replaced, RustSqliteSaver(str(tmp_path / "r.db"))):
        assert not checkpoint_pipeline.plain_memory_saver(saver)
        assert not checkpoint_pipeline.saves_in_memory(saver.put_writes, ({}, [], "task"))


def test_a_save_waiting_for_an_unfinished_one_goes_to_a_worker():
    class Loop:
        checkpointer = InMemorySaver()

    [ours] = checkpoint_pipeline._PUT_AFTER_PREVIOUS
    bound = ours.__get__(Loop())
    pending, done = Future(), Future()
    done.set_result(None)
    assert checkpoint_pipeline.saves_in_memory(bound, (None, ()))
    assert checkpoint_pipeline.saves_in_memory(bound, (done, [done]))
    assert not checkpoint_pipeline.saves_in_memory(bound, (pending, ()))
    assert not checkpoint_pipeline.saves_in_memory(bound, (done, [pending]))


def test_a_save_run_as_submitted_is_a_task_of_the_executor():
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "1"}}
    with BackgroundExecutor({}) as submit:
        ok = submit(saver.put_writes, config, [("a", 1)], "task")
        failing = submit(saver.put_writes, {"configurable": {}}, [("a", 1)], "task")
        assert ok.done() and ok.result() is None
        assert failing.done() and isinstance(failing.exception(), KeyError)
        executor = submit.__self__
        assert list(executor.tasks) == [failing]  # as BackgroundExecutor.done leaves them
        executor.tasks.clear()
    assert saver.writes


@pytest.mark.parametrize("max_concurrency", [None, 1])
def test_threads_running_graphs_on_one_saver_store_what_in_memory_saver_stores(tmp_path, max_concurrency):
    """Several threads invoking at once on one RustSqliteSaver (their saves queued and
    grouped together) and on one InMemorySaver (saves run as submitted): the same histories."""
    from langchain_core.messages import HumanMessage

    rust, memory = RustSqliteSaver(str(tmp_path / "shared.db")), InMemorySaver()
    graphs = [_agent(6, saver)[0] for saver in (rust, memory)]
    errors = []

    def conversations(k):
        try:
            for j in range(3):
                for graph in graphs:
                    config = {"configurable": {"thread_id": "t%d-%d" % (k, j)}, "max_concurrency": max_concurrency}
                    graph.invoke({"messages": [HumanMessage("start", id="human")]}, config)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    threads = run_in_threads(conversations, [(k,) for k in range(4)], timeout=60)
    assert not errors and not any(t.is_alive() for t in threads)
    ids = ["t%d-%d" % (k, j) for k in range(4) for j in range(3)]
    assert [stored(rust, i) for i in ids] == [stored(memory, i) for i in ids]
    assert len(stored(rust, ids[0])) > 10 and not _queued_saves
    rust.close()

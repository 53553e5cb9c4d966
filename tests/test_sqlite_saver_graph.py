"""A compiled LangGraph graph (messages, a subgraph, interrupts) on RustSqliteSaver vs SqliteSaver."""

import asyncio
import operator
import sqlite3
from typing import Annotated, List, TypedDict

import pytest

pytest.importorskip("langgraph.types", reason="needs LangGraph with interrupt()")
SqliteSaver = pytest.importorskip("langgraph.checkpoint.sqlite").SqliteSaver

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.graph.message import add_messages  # noqa: E402
from langgraph.types import Command, interrupt  # noqa: E402

from conftest import skip_module_unless_rust_sqlite_saver_supported  # noqa: E402
from graphs import run_agents  # noqa: E402

from fast_langgraph.sqlite_saver import (  # noqa: E402
    AsyncRustSqliteSaver,
    RustSqliteSaver,
)

skip_module_unless_rust_sqlite_saver_supported()


class State(TypedDict):
    messages: Annotated[list, add_messages]
    log: Annotated[List[str], operator.add]


class Sub(TypedDict):
    messages: Annotated[list, add_messages]
    log: Annotated[List[str], operator.add]


def _subgraph():
    def lookup(state: Sub):
        call = state["messages"][-1].tool_calls[0]
        return {
            "messages": [
                ToolMessage(
                    content="result of %s" % call["args"]["q"], tool_call_id=call["id"], id="tool-" + call["id"]
                )
            ],
            "log": ["tool"],
        }

    sub = StateGraph(Sub)
    sub.add_node("lookup", lookup)
    sub.add_edge(START, "lookup")
    sub.add_edge("lookup", END)
    return sub.compile()


def build(checkpointer):
    def agent(state: State):
        n = sum(isinstance(m, AIMessage) for m in state["messages"])
        if n < 3:
            msg = AIMessage(
                content="",
                tool_calls=[{"name": "search", "args": {"q": "q%d" % n}, "id": "call-%d" % n}],
                id="ai-%d" % n,
            )
        else:
            msg = AIMessage(content="final answer", id="ai-final-%d" % len(state["messages"]))
        return {"messages": [msg], "log": ["agent%d" % n]}

    def review(state: State):
        answer = interrupt({"question": "approve?", "n": len(state["messages"])})
        return {"log": ["review:%s" % answer]}

    def route(state: State):
        return "tools" if state["messages"][-1].tool_calls else END

    g = StateGraph(State)
    g.add_node("agent", agent)
    g.add_node("review", review)
    g.add_node("tools", _subgraph())
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", route, ["tools", END])
    g.add_edge("tools", "review")
    g.add_edge("review", "agent")
    return g.compile(checkpointer=checkpointer)


def _drive(graph, thread="t"):
    config = {"configurable": {"thread_id": thread}}
    outputs = [graph.invoke({"messages": [HumanMessage(content="hi", id="h")], "log": []}, config)]
    while graph.get_state(config).next:
        outputs.append(graph.invoke(Command(resume="yes-%d" % len(outputs)), config))
    return outputs


def _outputs(outputs):
    """Interrupt ids derive from (random) checkpoint ids: compare their values."""
    return [{k: ([i.value for i in v] if k == "__interrupt__" else v) for k, v in out.items()} for out in outputs]


def _normalize_snapshot(s):
    return (
        s.values,
        s.next,
        {k: v for k, v in s.metadata.items() if k not in ("run_id",)},
        [(t.name, [i.value for i in t.interrupts]) for t in s.tasks],
        s.parent_config is None,
    )


def _history(graph, thread="t", subgraphs=False):
    config = {"configurable": {"thread_id": thread}}
    return list(graph.get_state_history(config))


def test_graph_runs_the_same_on_both_savers(tmp_path):
    rust_db, upstream_db = str(tmp_path / "rust.db"), str(tmp_path / "upstream.db")
    with RustSqliteSaver.from_conn_string(rust_db) as rust:
        rust_graph = build(rust)
        rust_out = _drive(rust_graph)
        rust_hist = _history(rust_graph)
        # The same file read through SqliteSaver gives the identical history (same ids).
        with SqliteSaver.from_conn_string(rust_db) as upstream_on_rust_file:
            assert _history(build(upstream_on_rust_file)) == rust_hist
    with SqliteSaver.from_conn_string(upstream_db) as upstream:
        upstream_graph = build(upstream)
        upstream_out = _drive(upstream_graph)
        upstream_hist = _history(upstream_graph)
    assert _outputs(rust_out) == _outputs(upstream_out)
    assert len(rust_out) == 4  # three interrupts, then the final answer
    assert rust_out[-1]["messages"][-1].content == "final answer"
    assert [_normalize_snapshot(s) for s in rust_hist] == [_normalize_snapshot(s) for s in upstream_hist]
    # And the other way: our saver continues a thread SqliteSaver started.
    with RustSqliteSaver.from_conn_string(upstream_db) as rust_on_upstream_file:
        graph = build(rust_on_upstream_file)
        assert _history(graph) == upstream_hist
        more = graph.invoke(
            {"messages": [HumanMessage(content="again", id="h2")], "log": []}, {"configurable": {"thread_id": "t"}}
        )
        # The stored history was loaded: the old messages plus "again" and a new answer.
        assert more["messages"][:-2] == upstream_out[-1]["messages"]
        assert more["messages"][-1].content == "final answer"


def test_async_graph_matches_sync(tmp_path):
    async def run():
        async with AsyncRustSqliteSaver.from_conn_string(str(tmp_path / "a.db")) as saver:
            graph = build(saver)
            config = {"configurable": {"thread_id": "t"}}
            outs = [await graph.ainvoke({"messages": [HumanMessage(content="hi", id="h")], "log": []}, config)]
            while (await graph.aget_state(config)).next:
                outs.append(await graph.ainvoke(Command(resume="yes-%d" % len(outs)), config))
            history = [s async for s in graph.aget_state_history(config)]
            return outs, history

    outs, history = asyncio.run(run())
    with RustSqliteSaver.from_conn_string(str(tmp_path / "s.db")) as saver:
        graph = build(saver)
        assert _outputs(_drive(graph)) == _outputs(outs)
        assert [_normalize_snapshot(s) for s in _history(graph)] == [_normalize_snapshot(s) for s in history]


def test_subgraph_checkpoints_are_listed_by_namespace(tmp_path):
    db = str(tmp_path / "ns.db")
    with RustSqliteSaver.from_conn_string(db) as saver:
        _drive(build(saver))
        namespaces = {
            t.config["configurable"]["checkpoint_ns"] for t in saver.list({"configurable": {"thread_id": "t"}})
        }
    upstream = SqliteSaver(sqlite3.connect(db))
    assert namespaces == {
        t.config["configurable"]["checkpoint_ns"] for t in upstream.list({"configurable": {"thread_id": "t"}})
    }
    assert "" in namespaces


def test_an_agent_loop_on_group_commit_stores_what_sqlite_saver_stores(tmp_path):
    """A tool-calling loop's writes come in pairs (a task's writes, the step's checkpoint)
    that the group-commit window may join into one transaction: every checkpoint and write
    is stored all the same, as SqliteSaver stores them, and the counters add up."""
    with RustSqliteSaver.from_conn_string(str(tmp_path / "rust.db")) as rust:
        calls = []
        for name in ("put", "put_writes"):
            original = getattr(rust, name)
            setattr(rust, name, lambda *a, _o=original, _n=name, **k: (calls.append(_n), _o(*a, **k))[1])
        rust_runs = run_agents(rust)
        stats = rust.write_stats()
    with SqliteSaver.from_conn_string(str(tmp_path / "upstream.db")) as upstream:
        assert run_agents(upstream) == rust_runs
    assert len(rust_runs[1][0]) > 30
    assert stats["writes"] == len(calls) > 150
    assert stats["transactions"] <= stats["writes"] and stats["joined"] <= stats["windows"]

"""LangGraph workloads shared by the end-to-end tests; each returns JSON-able results.

Run as a script (``python tests/graphs.py NAME``) it prints the results of one
workload as JSON, so a test can compare a vanilla and an accelerated interpreter.
"""

import contextvars
import json
import operator
import sys
import threading
from typing import Annotated, Any, List, TypedDict

tenant = contextvars.ContextVar("tenant", default="unset")


class State(TypedDict):
    log: Annotated[List[str], operator.add]
    total: Annotated[int, operator.add]


def _node(name, weight):
    def run(state):
        return {"log": ["%s:%s" % (name, tenant.get())], "total": weight}

    run.__name__ = name
    return run


def fanout_graph(checkpointer=None, width=4):
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(State)
    names = ["b%d" % i for i in range(width)]
    for i, name in enumerate(names):
        builder.add_node(name, _node(name, i))
        builder.add_edge(START, name)
    builder.add_node("join", _node("join", 100))
    builder.add_edge(names, "join")
    builder.add_edge("join", END)
    return builder.compile(checkpointer=checkpointer)


def nested_graph(checkpointer=None):
    """Parallel branches that each run a parallel subgraph (waits inside pool workers)."""
    from langgraph.graph import END, START, StateGraph

    inner = fanout_graph(width=3)

    def call_inner(state):
        out = inner.invoke({"log": [], "total": 0})
        return {"log": sorted(out["log"]), "total": out["total"]}

    builder = StateGraph(State)
    for name in ("left", "right", "middle"):
        builder.add_node(name, call_inner)
        builder.add_edge(START, name)
        builder.add_edge(name, END)
    return builder.compile(checkpointer=checkpointer)


def send_graph():
    from langgraph.graph import END, START, StateGraph

    try:
        from langgraph.types import Send
    except ImportError:  # langgraph 0.2
        from langgraph.constants import Send

    def fan(state):
        return [Send("work", {"log": [], "total": i}) for i in range(10)]

    def work(state):
        return {"log": ["w%d" % state["total"]], "total": state["total"]}

    builder = StateGraph(State)
    builder.add_node("work", work)
    builder.add_conditional_edges(START, fan, ["work"])
    builder.add_edge("work", END)
    return builder.compile()


def tool_node_results():
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool
    from langgraph.prebuilt import ToolNode

    @tool
    def double(x: int) -> int:
        """Double x."""
        return 2 * x

    calls = [{"name": "double", "args": {"x": i}, "id": "call_%d" % i, "type": "tool_call"} for i in range(6)]
    from langgraph.graph import END, START, MessagesState, StateGraph

    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode([double]))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    out = builder.compile().invoke({"messages": [AIMessage("", tool_calls=calls)]})
    return [(m.tool_call_id, m.content) for m in out["messages"][1:]]


class CachedState(TypedDict):
    x: int
    log: Annotated[List[str], operator.add]


def cached_node_graph(cache, calls, ttl=None):
    """One node with a CachePolicy; ``calls`` records each real execution (LangGraph >= 0.4)."""
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import CachePolicy

    def expensive(state):
        calls.append(state["x"])
        return {"log": ["computed %d" % state["x"]]}

    builder = StateGraph(CachedState)
    builder.add_node("expensive", expensive, cache_policy=CachePolicy(ttl=ttl))
    builder.add_edge(START, "expensive")
    builder.add_edge("expensive", END)
    return builder.compile(cache=cache)


def _norm(out):
    return {"log": sorted(out["log"]), "total": out["total"]}


def run(name: str) -> Any:
    from langgraph.checkpoint.memory import MemorySaver

    tenant.set("acme")
    if name == "fanout":
        graph = fanout_graph(MemorySaver())
        cfg = {"configurable": {"thread_id": "t"}}
        results = [_norm(graph.invoke({"log": [], "total": 0}, cfg)) for _ in range(3)]
        history = [_norm(s.values) for s in graph.get_state_history(cfg) if s.values]
        updates = sorted(
            json.dumps(c, sort_keys=True)
            for c in graph.stream({"log": [], "total": 1}, {"configurable": {"thread_id": "s"}}, stream_mode="updates")
        )
        return {"results": results, "history": history, "updates": updates}
    if name == "nested":
        graph = nested_graph(MemorySaver())
        return [
            _norm(graph.invoke({"log": [], "total": 0}, {"configurable": {"thread_id": str(i)}, "max_concurrency": 1}))
            for i in range(3)
        ]
    if name == "send":
        return [_norm(send_graph().invoke({"log": [], "total": 0}, {"max_concurrency": 3}))]
    if name == "tools":
        return tool_node_results()
    if name == "threads":
        graph = fanout_graph(MemorySaver())
        before = threading.active_count()
        for i in range(30):
            graph.invoke({"log": [], "total": 0}, {"configurable": {"thread_id": str(i)}})
        return {"extra_threads_alive": threading.active_count() - before}
    raise SystemExit("unknown workload " + name)


def stored(saver, thread):
    """A thread's checkpoints as stored, ids aside (they come from the clock)."""
    config = {"configurable": {"thread_id": thread}}
    return [
        (t.checkpoint["channel_values"], t.metadata.get("step"), [w[1:] for w in t.pending_writes])
        for t in saver.list(config)
    ]


def run_agents(saver, conversations=3, turns=15):
    """``conversations`` runs of the bench's tool-calling agent on ``saver``: their outputs,
    and each thread's checkpoints as stored."""
    from fast_langgraph.bench.workloads import _agent

    _, run = _agent(turns, saver)
    outputs = [run(i) for i in range(conversations)]
    return outputs, [stored(saver, "agent-%d" % i) for i in range(conversations)]


if __name__ == "__main__":
    json.dump(run(sys.argv[1]), sys.stdout)

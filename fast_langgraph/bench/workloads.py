"""Deterministic LangGraph workloads for ``python -m fast_langgraph.bench`` (fake models, no network).

Each workload builds its graph once (``setup``) and returns a callable that runs
one operation and returns a JSON-able digest of the result, so a vanilla and an
accelerated run can be checked equal. Works on LangGraph 0.2 through 1.2.
"""

import asyncio
import atexit
import operator
import os
import shutil
import tempfile
from typing import Annotated, Any, Callable, Dict, List, Tuple, TypedDict

Op = Callable[[], Any]


class Counter(TypedDict):
    total: Annotated[int, operator.add]
    path: Annotated[List[str], operator.add]


def _linear(n: int, checkpointer: Any = None) -> Any:
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(Counter)
    names = ["n%d" % i for i in range(n)]
    for i, name in enumerate(names):
        builder.add_node(name, lambda state, i=i, name=name: {"total": i, "path": [name]})
    builder.add_edge(START, names[0])
    for a, b in zip(names, names[1:]):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=checkpointer)


def _op_counter(run: Callable[[int], Any]) -> Op:
    state = {"i": 0}

    def op() -> Any:
        state["i"] += 1
        return run(state["i"])

    return op


def _fanout(width: int, checkpointer: Any = None) -> Any:
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(Counter)
    names = ["b%d" % i for i in range(width)]
    for i, name in enumerate(names):
        builder.add_node(name, lambda state, i=i, name=name: {"total": i, "path": [name]})
        builder.add_edge(START, name)
    builder.add_node("join", lambda state: {"total": 100, "path": ["join"]})
    builder.add_edge(names, "join")
    builder.add_edge("join", END)
    return builder.compile(checkpointer=checkpointer)


def _loop(schema: Any, name: str, node: Any, steps: int, checkpointer: Any = None) -> Any:
    """One node that runs again until the state's ``step`` reaches ``steps``."""
    from langgraph.graph import END, START, StateGraph

    def again(state: Dict[str, Any]) -> str:
        return name if state["step"] < steps else END

    builder = StateGraph(schema)
    builder.add_node(name, node)
    builder.add_edge(START, name)
    builder.add_conditional_edges(name, again, [name, END])
    return builder.compile(checkpointer=checkpointer)


def _threaded(graph: Any) -> Op:
    def run(i: int) -> Any:
        out = graph.invoke({"total": 0, "path": []}, {"configurable": {"thread_id": str(i)}})
        return [out["total"], sorted(out["path"])]

    return _op_counter(run)


def fanout4_memory() -> Op:
    from langgraph.checkpoint.memory import MemorySaver

    return _threaded(_fanout(4, MemorySaver()))


def linear3_memory() -> Op:
    from langgraph.checkpoint.memory import MemorySaver

    return _threaded(_linear(3, MemorySaver()))


def linear10_sync() -> Op:
    graph = _linear(10)
    return lambda: graph.invoke({"total": 0, "path": []})


def linear10_async() -> Op:
    graph = _linear(10)
    loop = asyncio.new_event_loop()
    return lambda: loop.run_until_complete(graph.ainvoke({"total": 0, "path": []}))


def stream_updates() -> Op:
    graph = _linear(10)
    return lambda: list(graph.stream({"total": 0, "path": []}, stream_mode="updates"))


def stream_values() -> Op:
    graph = _linear(10)
    return lambda: list(graph.stream({"total": 0, "path": []}, stream_mode="values"))


def _agent(turns: int, checkpointer: Any) -> Tuple[Any, Callable[[int], Dict[str, Any]]]:
    """A ReAct-style loop: a fake model asks for a tool ``turns`` times, then answers."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langgraph.graph import END, START, MessagesState, StateGraph

    def model(state: Dict[str, Any]) -> Dict[str, Any]:
        n = sum(1 for m in state["messages"] if m.type == "ai")
        if n >= turns:
            return {"messages": [AIMessage("done after %d tools" % n, id="ai-final")]}
        call = {"name": "lookup", "args": {"q": "item %d" % n}, "id": "call-%d" % n, "type": "tool_call"}
        return {"messages": [AIMessage("", tool_calls=[call], id="ai-%d" % n)]}

    def tools(state: Dict[str, Any]) -> Dict[str, Any]:
        last = state["messages"][-1]
        return {
            "messages": [
                ToolMessage("result for %s" % c["args"]["q"], tool_call_id=c["id"], id="tool-%s" % c["id"])
                for c in last.tool_calls
            ]
        }

    def route(state: Dict[str, Any]) -> str:
        return "tools" if state["messages"][-1].tool_calls else END

    builder = StateGraph(MessagesState)
    builder.add_node("model", model)
    builder.add_node("tools", tools)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route, ["tools", END])
    builder.add_edge("tools", "model")
    graph: Any = builder.compile(checkpointer=checkpointer)

    def run(i: int) -> Dict[str, Any]:
        config = {"configurable": {"thread_id": "agent-%d" % i}, "recursion_limit": 4 * turns + 10}
        out = graph.invoke({"messages": [HumanMessage("start", id="human")]}, config)
        return {"messages": [(m.type, m.content, m.id) for m in out["messages"]]}

    return graph, run


def agent_memory() -> Op:
    from langgraph.checkpoint.memory import MemorySaver

    return _op_counter(_agent(50, MemorySaver())[1])


def agent_stream_updates() -> Op:
    """The in-memory agent, streamed with ``stream_mode="updates"`` (every chunk compared)."""
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.memory import MemorySaver

    graph, _ = _agent(50, MemorySaver())

    def run(i: int) -> Any:
        config = {"configurable": {"thread_id": "agent-%d" % i}, "recursion_limit": 4 * 50 + 10}
        chunks = graph.stream({"messages": [HumanMessage("start", id="human")]}, config, stream_mode="updates")
        return [
            [node, [(m.type, m.content, m.id) for m in update["messages"]]]
            for chunk in chunks
            for node, update in chunk.items()
        ]

    return _op_counter(run)


def sqlite_saver(path: str, synchronous: str = "") -> Any:
    """``agent_sqlite_50_turns``'s saver: LangGraph's ``SqliteSaver`` on a default connection
    (``synchronous`` overrides the connection's setting)."""
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(path, check_same_thread=False)
    if synchronous:
        conn.execute("PRAGMA synchronous=%s" % synchronous)
    return SqliteSaver(conn)


def swapped_sqlite_saver(path: str, synchronous: str = "FULL") -> Any:
    """``agent_sqlite_50_turns_rust_saver``'s saver, WAL: LangGraph's ``SqliteSaver`` on the
    vanilla side, our ``RustSqliteSaver`` on the accelerated side (the swap a user makes)."""
    if os.environ.get("FAST_LANGGRAPH") == "0":
        saver = sqlite_saver(path, synchronous)
        saver.conn.execute("PRAGMA journal_mode=WAL")
        return saver
    from fast_langgraph.sqlite_saver import RustSqliteSaver

    return RustSqliteSaver(path, journal_mode="WAL", synchronous=synchronous)


def _database_path() -> str:
    """A database file in a new temporary folder, removed when the process exits (each suite
    sample is a process; their databases grow to tens of MB)."""
    folder = tempfile.mkdtemp(prefix="flg-bench-")
    atexit.register(shutil.rmtree, folder, True)
    return os.path.join(folder, "agent.db")


def agent_sqlite() -> Op:
    return _op_counter(_agent(50, sqlite_saver(_database_path()))[1])


def agent_sqlite_saver_swap() -> Op:
    """The same agent on SQLite, WAL, synchronous=FULL, after the saver swap."""
    return _op_counter(_agent(50, swapped_sqlite_saver(_database_path()))[1])


class Big(TypedDict):
    blob: Dict[str, Any]
    step: Annotated[int, operator.add]


def large_state() -> Op:
    """A ~1 MB nested state carried through 100 steps with an in-memory checkpointer."""
    from langgraph.checkpoint.memory import MemorySaver

    blob = {"doc%d" % i: {"text": "x" * 900, "tags": ["t%d" % j for j in range(10)], "n": i} for i in range(1000)}

    def step(state: Dict[str, Any]) -> Dict[str, Any]:
        return {"step": 1}

    graph = _loop(Big, "step", step, 100, checkpointer=MemorySaver())

    def run(i: int) -> Any:
        out = graph.invoke({"blob": blob, "step": 0}, {"configurable": {"thread_id": str(i)}, "recursion_limit": 500})
        return [out["step"], len(out["blob"])]

    return _op_counter(run)


def send_fanout100() -> Op:
    from langgraph.graph import END, START, StateGraph

    try:
        from langgraph.types import Send
    except ImportError:  # langgraph 0.2
        from langgraph.constants import Send  # type: ignore[no-redef]

    def fan(state: Dict[str, Any]) -> List[Any]:
        return [Send("work", {"total": i, "path": []}) for i in range(100)]

    def work(state: Dict[str, Any]) -> Dict[str, Any]:
        return {"total": state["total"], "path": ["w%d" % state["total"]]}

    builder = StateGraph(Counter)
    builder.add_node("work", work)
    builder.add_conditional_edges(START, fan, ["work"])
    builder.add_edge("work", END)
    graph = builder.compile()

    def op() -> Any:
        out = graph.invoke({"total": 0, "path": []})
        return [out["total"], sorted(out["path"])]

    return op


def messages200() -> Op:
    """200 steps whose state carries a growing ``messages`` list and reducer channels."""
    from langchain_core.messages import AIMessage, HumanMessage
    from langgraph.graph.message import add_messages

    class State(TypedDict):
        messages: Annotated[List[Any], add_messages]
        total: Annotated[int, operator.add]
        path: Annotated[List[str], operator.add]
        step: int

    def talk(state: Dict[str, Any]) -> Dict[str, Any]:
        n = state["step"] + 1
        return {"messages": [AIMessage(content="m%d" % n, id="m%d" % n)], "total": n, "path": ["t"], "step": n}

    graph = _loop(State, "talk", talk, 200)

    def run(i: int) -> Any:
        out = graph.invoke(
            {"messages": [HumanMessage(content="go", id="h")], "total": 0, "path": [], "step": 0},
            {"recursion_limit": 500},
        )
        return [len(out["messages"]), out["messages"][-1].content, out["total"], len(out["path"])]

    return _op_counter(run)


#: name -> (setup, operations per sample in quick mode, in full mode)
WORKLOADS: Dict[str, Tuple[Callable[[], Op], int, int]] = {
    "fanout4_memory": (fanout4_memory, 100, 300),
    "linear3_memory": (linear3_memory, 100, 300),
    "linear10_sync": (linear10_sync, 20, 300),
    "linear10_async": (linear10_async, 20, 300),
    "stream_updates": (stream_updates, 20, 300),
    "stream_values": (stream_values, 20, 300),
    "agent_memory_50_turns": (agent_memory, 2, 10),
    "agent_memory_50_turns_stream_updates": (agent_stream_updates, 2, 10),
    "agent_sqlite_50_turns": (agent_sqlite, 1, 5),
    "agent_sqlite_50_turns_rust_saver": (agent_sqlite_saver_swap, 1, 5),
    "large_state_1mb_100_steps": (large_state, 1, 3),
    "send_fanout_100": (send_fanout100, 3, 30),
    "messages_200_steps": (messages200, 1, 5),
}

"""Checkpoints written with the ``serde`` patch read identically without it, and back.

A real compiled graph (messages with tool calls, a pydantic model, a dataclass,
``Send`` fan-out, an ``interrupt``) checkpoints into a SQLite file in one process;
fresh processes with the accelerator on and with ``FAST_LANGGRAPH=0`` read every
checkpoint and pending write back and print them; the printouts must be equal.
"""

from __future__ import annotations

import json
import os
import textwrap

import pytest

pytest.importorskip("langgraph.checkpoint.sqlite")
pytest.importorskip("langgraph.checkpoint.serde.jsonplus")

import fast_langgraph  # noqa: E402
import fast_langgraph._rust  # noqa: E402
from fast_langgraph.bench.serde import NATIVE_DECODER_MISSING  # noqa: E402

serde_state = {p["name"]: p for p in fast_langgraph.patch_status()}.get("serde")
if serde_state is None or not serde_state["in_range"]:
    pytest.skip("serde patch not applicable here", allow_module_level=True)

STATE_MODULE = """
import dataclasses
import operator
from typing import Annotated, List, Optional

import pydantic
from typing_extensions import TypedDict

from langgraph.graph.message import add_messages


class Profile(pydantic.BaseModel):
    name: str
    tags: List[str] = []
    score: Optional[float] = None


@dataclasses.dataclass
class Step:
    label: str
    count: int


class State(TypedDict, total=False):
    messages: Annotated[list, add_messages]
    profile: Profile
    steps: Annotated[list, operator.add]
    answer: str
"""

WRITE = """
import fast_langgraph, fast_langgraph._rust, os
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send, interrupt
from interop_state import Profile, State, Step

expected = os.environ["INTEROP_MODE"] == "on"
status = {p["name"]: p["status"] for p in fast_langgraph.patch_status()}["serde"]
assert (status == "applied") == expected, status
if expected:
    # Every blob off ormsgpack's plain path (by default small ones stay there): to the
    # Rust reader, or to ormsgpack with the GC paused (the default build's only route).
    core = fast_langgraph._rust.require_core()
    if os.environ["INTEROP_READER"] == "rust-reader":
        core.msgpack_decode_native(True)
    core.msgpack_gc_pause_min_input(0)

def plan(state):
    return {
        "messages": [AIMessage(content="", id="ai-1", tool_calls=[{"name": "search", "args": {"q": "x", "n": i}, "id": "call-%d" % i} for i in range(3)])],
        "profile": Profile(name="p", tags=["a", "b"], score=0.5),
        "steps": [Step("plan", 1)],
    }

def fan(state):
    return [Send("tool", {"call": c}) for c in state["messages"][-1].tool_calls]

def tool(arg):
    call = arg["call"]
    return {"messages": [ToolMessage(content="r%d" % call["args"]["n"], tool_call_id=call["id"], id="t-" + call["id"])], "steps": [Step("tool", call["args"]["n"])]}

def ask(state):
    answer = interrupt({"question": "ok?", "profile": state["profile"]})
    return {"answer": answer, "messages": [HumanMessage(content=str(answer), id="h-answer")]}

builder = StateGraph(State)
builder.add_node("plan", plan)
builder.add_node("tool", tool)
builder.add_node("ask", ask)
builder.add_edge(START, "plan")
builder.add_conditional_edges("plan", fan, ["tool"])
builder.add_edge("tool", "ask")
builder.add_edge("ask", END)
with SqliteSaver.from_conn_string(os.environ["INTEROP_DB"]) as saver:
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"messages": [HumanMessage(content="go", id="h-0")]}, config)
"""

READ = """
import fast_langgraph, fast_langgraph._rust, json, os
from langgraph.checkpoint.sqlite import SqliteSaver

expected = os.environ["INTEROP_MODE"] == "on"
status = {p["name"]: p["status"] for p in fast_langgraph.patch_status()}["serde"]
with SqliteSaver.from_conn_string(os.environ["INTEROP_DB"]) as saver:
    assert ({p["name"]: p["status"] for p in fast_langgraph.patch_status()}["serde"] == "applied") == expected
    if expected:
        # Every blob off ormsgpack's plain path (by default small ones stay there): to the
        # Rust reader, or to ormsgpack with the GC paused (the default build's only route).
        core = fast_langgraph._rust.require_core()
        if os.environ["INTEROP_READER"] == "rust-reader":
            core.msgpack_decode_native(True)
        core.msgpack_gc_pause_min_input(0)
    out = []
    for tup in saver.list({"configurable": {"thread_id": "t"}}):
        out.append({
            "values": repr(sorted(tup.checkpoint["channel_values"].items())),
            "writes": repr([(w[1], w[2]) for w in tup.pending_writes or []]),
            "step": tup.metadata.get("step"),
        })
print(json.dumps(out))
"""


def _env(on):
    return {} if on else {"FAST_LANGGRAPH": "0"}


@pytest.mark.parametrize("reader", ["rust-reader", "paused-ormsgpack"])
@pytest.mark.parametrize("writer_on", [True, False], ids=["written-patched", "written-vanilla"])
def test_checkpoints_read_the_same_in_both_modes(tmp_path, py, writer_on, reader):
    if reader == "rust-reader" and not hasattr(fast_langgraph._rust.require_core(), "msgpack_decode_native"):
        pytest.skip(NATIVE_DECODER_MISSING)
    (tmp_path / "interop_state.py").write_text(textwrap.dedent(STATE_MODULE))
    db = str(tmp_path / "state.db")
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    py(
        WRITE,
        PYTHONPATH=path,
        INTEROP_READER=reader,
        INTEROP_MODE="on" if writer_on else "off",
        INTEROP_DB=db,
        **_env(writer_on),
    )
    reads = {}
    for reader_on in (True, False):
        proc = py(
            READ,
            PYTHONPATH=path,
            INTEROP_READER=reader,
            INTEROP_MODE="on" if reader_on else "off",
            INTEROP_DB=db,
            **_env(reader_on),
        )
        reads[reader_on] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert reads[True] == reads[False]
    text = json.dumps(reads[True])
    # The state really holds what the test is about.
    for needle in ("ToolMessage", "Profile(", "Step(", "Send(", "Interrupt(", "tool_calls"):
        assert needle in text, needle

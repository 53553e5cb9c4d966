"""The ``add_messages`` patch: MessageMerger behaves exactly like LangGraph's reducer.

Differential tests run LangGraph's own reducer (the closure cell's original) and
the Rust merger on deep copies of the same inputs, with ``uuid`` replaced by a
deterministic counter in ``langgraph.graph.message`` (both read it there), and
compare results, exceptions and the in-place id assignments on the inputs.
"""

from __future__ import annotations

import copy
import itertools
import types
import uuid
from typing import Any, List

import pytest

pytest.importorskip("langgraph.graph.message")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from langchain_core.messages import (  # noqa: E402
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)

import fast_langgraph  # noqa: E402
from fast_langgraph.patches.messages import make_merger  # noqa: E402
from langgraph.graph import message as message_module  # noqa: E402

state = {p["name"]: p for p in fast_langgraph.patch_status()}.get("add_messages")
if state is None or not state["in_range"]:
    pytest.skip("add_messages patch not applicable here: %s" % (state,), allow_module_level=True)

CELL = message_module.add_messages.__closure__[0]
ORIGINAL = getattr(CELL.cell_contents, "__wrapped__", CELL.cell_contents)
MERGER = make_merger(message_module, ORIGINAL)
REMOVE_ALL = getattr(message_module, "REMOVE_ALL_MESSAGES", None)


@pytest.fixture
def counting_uuid(monkeypatch):
    """A ``uuid`` stand-in whose ``uuid4`` counts, so both sides assign the same ids."""

    def install():
        counter = itertools.count()
        fake = types.SimpleNamespace(uuid4=lambda: uuid.UUID(int=next(counter)))
        monkeypatch.setattr(message_module, "uuid", fake)

    return install


def outcome(fn, left, right, **kwargs):
    try:
        result = fn(left, right, **kwargs)
    except Exception as exc:  # noqa: BLE001 - compared below
        return ("raised", type(exc), str(exc)), left, right
    return ("returned", result), left, right


def same(a: Any, b: Any) -> bool:
    """Equal, and equal message by message in type and id (== on messages ignores neither)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, BaseMessage):
        return type(a) is type(b) and a.id == b.id and a == b
    return a == b


def check(counting_uuid, left, right, **kwargs):
    counting_uuid()
    expected = outcome(ORIGINAL, copy.deepcopy(left), copy.deepcopy(right), **kwargs)
    counting_uuid()
    got = outcome(MERGER, copy.deepcopy(left), copy.deepcopy(right), **kwargs)
    assert expected[0][0] == got[0][0], (expected[0], got[0])
    if expected[0][0] == "raised":
        assert expected[0][1:] == got[0][1:]
    else:
        assert same(expected[0][1], got[0][1])
    # ids assigned in place, on both sides, in the same order
    assert same(expected[1], got[1]) and same(expected[2], got[2])
    return got[0]


def msgs(*specs):
    kinds = {"h": HumanMessage, "a": AIMessage, "s": SystemMessage}
    return [kinds[k](content="%s%s" % (k, i), id=i) for k, i in specs]


def test_patch_installed_in_the_closure_cell():
    assert type(CELL.cell_contents).__name__ == "MessageMerger"
    assert CELL.cell_contents.__wrapped__ is ORIGINAL
    # The wrapper (what MessagesState holds) keeps its identity.
    from langgraph.graph import MessagesState, add_messages

    from typing import get_type_hints

    hints = get_type_hints(MessagesState, include_extras=True)
    assert hints["messages"].__metadata__[0] is add_messages


@pytest.mark.parametrize(
    "left,right",
    [
        (msgs(("h", "1"), ("a", "2")), msgs(("a", "3"))),
        (msgs(("h", "1"), ("a", "2")), msgs(("a", "2"))),  # replace by id
        (msgs(("h", "1"), ("h", "1")), msgs(("a", "1"))),  # duplicate ids on the left
        (msgs(("h", None), ("a", None)), msgs(("a", None))),  # ids assigned, left first
        ([], []),
        ([], msgs(("h", "x"))),
        (msgs(("h", "1")), HumanMessage(content="single", id="9")),  # non-list right
        (HumanMessage(content="single", id="9"), msgs(("h", "1"))),  # non-list left
        (msgs(("h", "1"), ("a", "2")), [RemoveMessage(id="1")]),
        (msgs(("h", "1"), ("a", "2")), [RemoveMessage(id="1"), HumanMessage(content="back", id="1")]),
        (msgs(("h", "1"), ("a", "2")), [HumanMessage(content="again", id="1"), RemoveMessage(id="1")]),
        (msgs(("h", "1")), [RemoveMessage(id="missing")]),  # ValueError, same text
        (msgs(("h", "1")), [("user", "tuple")]),  # coercion: LangGraph's own code
        (msgs(("h", "1")), [{"role": "assistant", "content": "dict", "id": "d"}]),
        (msgs(("h", "1")), ["a string"]),
        (msgs(("h", "1")), [AIMessageChunk(content="chunk", id="c")]),
        (msgs(("h", "1")), [ToolMessage(content="t", tool_call_id="c1", id=None)]),
        (None, msgs(("h", "1"))),
    ],
)
def test_matches_langgraph(counting_uuid, left, right):
    check(counting_uuid, left, right)


@pytest.mark.skipif(REMOVE_ALL is None, reason="REMOVE_ALL_MESSAGES arrived in LangGraph 0.3")
def test_remove_all(counting_uuid):
    left = msgs(("h", "1"), ("a", "2"))
    kind, result = check(
        counting_uuid, left, [HumanMessage(content="x", id="0"), RemoveMessage(id=REMOVE_ALL), *msgs(("a", "n"))]
    )
    assert [m.id for m in result] == ["n"]


def test_format_keyword_goes_to_langgraph(counting_uuid):
    pytest.importorskip("langchain_core.messages")
    check(counting_uuid, msgs(("h", "1")), msgs(("a", "2")), format=None)
    with pytest.raises(ValueError):
        MERGER(msgs(("h", "1")), msgs(("a", "2")), format="bogus")


def test_list_subclass_goes_to_langgraph(counting_uuid):
    class Tracked(list):
        copies = 0

        def copy(self):
            Tracked.copies += 1
            return list(self)

    # LangGraph 1.2 calls the subclass's copy(); older releases coerce to a plain list first.
    check(counting_uuid, Tracked(msgs(("h", "1"))), msgs(("a", "2")))
    assert Tracked.copies % 2 == 0  # the same on both sides of the comparison


def test_inputs_not_mutated_beyond_ids():
    left = msgs(("h", "1"), ("a", "2"))
    right = msgs(("a", "2"), ("h", "3"))
    before = list(left), list(right)
    result = MERGER(left, right)
    assert left == before[0] and right == before[1]
    assert result is not left and [m.id for m in result] == ["1", "2", "3"]
    assert result[1] is right[0]


ids = st.one_of(st.none(), st.sampled_from(["1", "2", "3", "4", "5", "6"]))
kinds = st.sampled_from([HumanMessage, AIMessage, SystemMessage])


@st.composite
def message(draw, removable=False):
    if removable and draw(st.integers(0, 4)) == 0:
        choices = ["1", "2", "3", "9"] + ([REMOVE_ALL] if REMOVE_ALL else [])
        return RemoveMessage(id=draw(st.sampled_from(choices)))
    return draw(kinds)(content=draw(st.text(max_size=3)), id=draw(ids))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(left=st.lists(message(), max_size=12), right=st.lists(message(removable=True), max_size=6), single=st.booleans())
def test_differential(counting_uuid, left: List[Any], right: List[Any], single: bool):
    if single and right:
        check(counting_uuid, left, right[0])
    else:
        check(counting_uuid, left, right)


GRAPH_SCRIPT = """
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langgraph.graph import END, START, MessagesState, StateGraph
import langgraph.graph.message as m

class State(MessagesState):
    steps: int

def talk(state):
    step = state.get("steps", 0) + 1
    if step == 3:
        return {"steps": step, "messages": [RemoveMessage(id=state["messages"][0].id)]}
    if step == 4:
        return {"steps": step, "messages": [AIMessage(content="replaced", id="r2")]}
    return {"steps": step, "messages": [AIMessage(content="reply %d" % step, id="r%d" % step), ("user", "ok")]}

def again(state):
    return "talk" if state["steps"] < 6 else END

b = StateGraph(State)
b.add_node("talk", talk)
b.add_edge(START, "talk")
b.add_conditional_edges("talk", again)
result = b.compile().invoke({"messages": [HumanMessage(content="hi", id="h")]})
print(type(m.add_messages.__closure__[0].cell_contents).__name__)
print([(x.id if x.id.startswith(("h", "r")) else "uuid", x.content) for x in result["messages"]])
"""


def test_graph_with_messages_state(py):
    patched = py(GRAPH_SCRIPT).stdout.splitlines()
    vanilla = py(GRAPH_SCRIPT, FAST_LANGGRAPH="0").stdout.splitlines()
    assert (patched[0], vanilla[0]) == ("MessageMerger", "function")
    assert patched[1] == vanilla[1]


def test_unpatch_restores_the_cell():
    fast_langgraph.unpatch("add_messages")
    try:
        assert CELL.cell_contents is ORIGINAL
    finally:
        fast_langgraph.patch(add_messages=True)
    assert type(CELL.cell_contents).__name__ == "MessageMerger"

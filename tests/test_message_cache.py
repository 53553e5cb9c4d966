"""The encoder's cache of encoded messages (part of the ``serde`` patch's message codec).

A message encoded twice (the first time only its address is noted) and unchanged
since is written from the bytes kept for it; anything that changed it, however deep,
must give the bytes LangGraph writes unpatched. Each test encodes with the patch first
(filling the cache), changes the message, encodes again, and only then encodes
unpatched (patching again, after, empties the cache).
"""

from __future__ import annotations

import os
from typing import Any, List

import pytest

from conftest import run_in_threads

pytest.importorskip("langgraph.checkpoint.serde.jsonplus")
pytest.importorskip("langchain_core.messages")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fast_langgraph  # noqa: E402
from langchain_core import messages as m  # noqa: E402
from langgraph.checkpoint.serde import jsonplus  # noqa: E402

# Importing the codec's tests skips this module where they skip (serde patch not
# applicable); their module fixture keeps the patch on here too.
from test_message_codec import SETTINGS, message, outcome, serde_patched, tree, vanilla_dumps  # noqa: E402, F401

from fast_langgraph._rust import message_cache_clear, message_cache_info  # noqa: E402


def hits() -> int:
    return message_cache_info()[1]


def containers(obj: Any, out: List[Any]) -> List[Any]:
    if type(obj) is dict:
        out.append(obj)
        for value in list(obj.values()):
            containers(value, out)
    elif type(obj) is list:
        out.append(obj)
        for item in list(obj):
            containers(item, out)
    return out


CHANGES = [
    "set_key",
    "delete_key",
    "reinsert_key",
    "append",
    "replace_item",
    "pop_item",
    "same_value",
    "equal_str",
    "same_type",
    "same_type",
]


def other_of_same_type(value: Any) -> Any:
    """A different value of the same type (what a type check alone would miss)."""
    if type(value) is bool:
        return not value
    if type(value) is int:
        return value + 1 if value < 2**63 else value - 1
    if type(value) is float:
        return 1.5 if value != 1.5 else 2.5
    if type(value) is str:
        return value + "!"
    if type(value) is dict:
        return {**value, "added": 1}
    if type(value) is list:
        return value + [None]
    return value


def change(msg: Any, at: int, how: str, value: Any) -> None:
    """Change one container of ``msg.__dict__`` in place (``at`` picks which)."""
    found = containers(msg.__dict__, [])
    target = found[at % len(found)]
    if type(target) is dict:
        keys = list(target)
        key = keys[at % len(keys)] if keys else None
        if how == "set_key" or key is None:
            target["k%d" % at if key is None or how == "set_key" else key] = value
        elif how == "delete_key" and target is not msg.__dict__:
            del target[key]
        elif how == "reinsert_key":
            target[key] = target.pop(key)
        elif how == "same_value":
            target[key] = target[key]
        elif how == "equal_str" and type(target[key]) is str:
            target[key] = "".join(list(target[key]))  # equal, another object (when not interned)
        elif how == "same_type":
            target[key] = other_of_same_type(target[key])
        else:
            target[key] = value
    else:
        if how == "append" or not target:
            target.append(value)
        elif how == "pop_item":
            target.pop(at % len(target))
        elif how == "same_value":
            target[at % len(target)] = target[at % len(target)]
        elif how == "same_type":
            target[at % len(target)] = other_of_same_type(target[at % len(target)])
        else:
            target[at % len(target)] = value


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
@SETTINGS
@given(message(), st.lists(st.tuples(st.integers(0, 40), st.sampled_from(CHANGES), tree), min_size=1, max_size=3))
def test_changed_messages_are_encoded_again(msg, changes):
    serde = jsonplus.JsonPlusSerializer()
    expected_first = vanilla_dumps(serde, [msg])
    assert serde.dumps_typed([msg]) == expected_first  # noted
    assert serde.dumps_typed([msg]) == expected_first  # kept
    for at, how, value in changes:
        change(msg, at, how, value)
    got = outcome(lambda: serde.dumps_typed([msg]))
    assert got == outcome(lambda: vanilla_dumps(serde, [msg]))


def leaf_slots(obj: Any) -> List[Any]:
    """Every (container, key or index) of ``obj``'s tree holding a str/int/float/bool."""
    return [
        (c, k)
        for c in containers(obj, [])
        for k in (list(c) if type(c) is dict else range(len(c)))
        if type(c[k]) in (str, int, float, bool)
    ]


@SETTINGS
@given(message(), st.integers(0, 1000))
def test_one_leaf_changed_anywhere(msg, at):
    """The change a type check alone would miss: one value replaced by another of its type."""
    serde = jsonplus.JsonPlusSerializer()
    slots = leaf_slots(msg.__dict__)
    if not slots:
        return
    first = vanilla_dumps(serde, [msg])
    assert serde.dumps_typed([msg]) == first
    assert serde.dumps_typed([msg]) == first
    container, key = slots[at % len(slots)]
    container[key] = other_of_same_type(container[key])
    got = outcome(lambda: serde.dumps_typed([msg]))
    expected = outcome(lambda: vanilla_dumps(serde, [msg]))
    assert got == expected
    assert got != ("ok", first) or expected == ("ok", first)


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
@SETTINGS
@given(message(), st.sampled_from(["content", "id", "name", "additional_kwargs"]), tree)
def test_fields_assigned_after_encoding(msg, field, value):
    serde = jsonplus.JsonPlusSerializer()
    serde.dumps_typed([msg])
    serde.dumps_typed([msg])
    setattr(msg, field, value)
    got = outcome(lambda: serde.dumps_typed([msg]))
    assert got == outcome(lambda: vanilla_dumps(serde, [msg]))


def test_unchanged_messages_are_written_from_the_cache():
    serde = jsonplus.JsonPlusSerializer()
    history = [
        m.HumanMessage("hi", id="h"),
        m.AIMessage("", tool_calls=[{"name": "f", "args": {"q": [1, {"x": None}]}, "id": "c"}], id="a"),
        m.ToolMessage("out", tool_call_id="c", id="t", artifact={"rows": [1.5, True]}),
    ]
    first = serde.dumps_typed({"messages": history})
    before = hits()
    assert serde.dumps_typed({"messages": history}) == first
    assert hits() == before  # the first time only noted, the second kept
    assert serde.dumps_typed({"messages": history}) == first
    assert hits() - before == 3
    history[1].tool_calls[0]["args"]["q"][1]["x"] = 2  # deep inside: a miss
    before = hits()
    changed = serde.dumps_typed({"messages": history})
    assert hits() - before == 2
    assert changed != first
    assert changed == vanilla_dumps(serde, {"messages": history})


def test_a_new_message_at_a_dead_ones_address():
    serde = jsonplus.JsonPlusSerializer()
    for i in range(200):
        msg = m.AIMessage("turn %d" % i, id="same-%d" % (i % 3))
        got = serde.dumps_typed([msg])
        assert serde.dumps_typed([msg]) == got
        del msg  # the next one is often allocated at the same address
        assert got == serde.dumps_typed([m.AIMessage("turn %d" % i, id="same-%d" % (i % 3))])
    shared = {"k": ["v"]}
    a = m.HumanMessage("x", additional_kwargs=shared, id="1")
    first = serde.dumps_typed([a])
    assert serde.dumps_typed([a]) == first
    del a
    b = m.HumanMessage("x", additional_kwargs=shared, id="2")
    assert serde.dumps_typed([b]) != first
    assert serde.dumps_typed([b]) == vanilla_dumps(serde, [b])


@pytest.mark.parametrize("value", ["HumanMessage", "Renamed"])
def test_class_renamed_after_encoding(value):
    serde = jsonplus.JsonPlusSerializer()
    msg = m.HumanMessage("x", id="1")
    serde.dumps_typed([msg])
    serde.dumps_typed([msg])
    old = m.HumanMessage.__name__
    m.HumanMessage.__name__ = "".join(list(value))  # another str object either way
    try:
        got = serde.dumps_typed([msg])
        assert got == vanilla_dumps(serde, [msg])
    finally:
        m.HumanMessage.__name__ = old


def test_extras_set_after_encoding_are_seen():
    serde = jsonplus.JsonPlusSerializer()
    msg = m.HumanMessage("x", id="1")
    serde.dumps_typed([msg])
    serde.dumps_typed([msg])
    msg.some_extra = 1
    assert serde.dumps_typed([msg]) == vanilla_dumps(serde, [msg])


def test_messages_written_once_are_only_noted():
    serde = jsonplus.JsonPlusSerializer()
    message_cache_clear()
    once = [m.HumanMessage("msg %d" % i) for i in range(100)]
    serde.dumps_typed(once)
    assert message_cache_info()[0] == 0
    serde.dumps_typed(once)
    assert message_cache_info()[0] == 100


def test_unused_entries_are_swept():
    serde = jsonplus.JsonPlusSerializer()
    message_cache_clear()
    for i in range(10_000):
        msg = m.HumanMessage("msg %d" % i)
        serde.dumps_typed([msg])
        serde.dumps_typed([msg])
    # A sweep drops what was not used since the one before (sweeps at 256 entries, then
    # whenever they double): never more than twice that here.
    assert message_cache_info()[0] <= 512
    message_cache_clear()
    assert message_cache_info()[0] == 0


def test_large_messages_are_not_kept():
    serde = jsonplus.JsonPlusSerializer()
    message_cache_clear()
    big = m.HumanMessage("x" * 100_000)
    small = m.HumanMessage("x")
    serde.dumps_typed([big, small])
    serde.dumps_typed([big, small])
    assert message_cache_info()[0] == 1


def test_patching_again_starts_over():
    serde = jsonplus.JsonPlusSerializer()
    keep = m.HumanMessage("x")
    serde.dumps_typed([keep])
    serde.dumps_typed([keep])
    assert message_cache_info()[0] >= 1
    fast_langgraph.unpatch("serde")
    fast_langgraph.patch(serde=True)  # the codec is configured again: a new release may differ
    assert message_cache_info()[0] == 0


def test_threads_share_it():
    serde = jsonplus.JsonPlusSerializer()
    history = [m.AIMessage("m %d" % i, id=str(i), response_metadata={"n": [i]}) for i in range(50)]
    expected = vanilla_dumps(serde, history)
    results: List[bytes] = []

    def work() -> None:
        for _ in range(50):
            results.append(serde.dumps_typed(history)[1])

    run_in_threads(work, [()] * 4)
    assert len(results) == 200 and all(r == expected[1] for r in results)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_uses_it_safely():
    serde = jsonplus.JsonPlusSerializer()
    history = [m.HumanMessage("m %d" % i, id=str(i)) for i in range(20)]
    expected = serde.dumps_typed(history)
    assert serde.dumps_typed(history) == expected
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            history[3].content = "changed in the child"
            ok = serde.dumps_typed(history) != expected and serde.dumps_typed(history[:3]) == serde.dumps_typed(
                history[:3]
            )
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)
    assert serde.dumps_typed(history) == expected

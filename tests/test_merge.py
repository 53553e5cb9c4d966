"""State-merge helpers: the Rust functions equal their plain-Python references."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fast_langgraph import deep_merge, langgraph_state_update
from fast_langgraph.merge import python_deep_merge, python_state_update

leaves = st.one_of(st.none(), st.integers(), st.text(max_size=4), st.lists(st.integers(), max_size=3))
keys = st.sampled_from(["a", "b", "c", "messages", "d"])
nested = st.recursive(leaves, lambda inner: st.dictionaries(keys, inner, max_size=4), max_leaves=12)
dicts = st.dictionaries(keys, nested, max_size=5)


@settings(max_examples=300, deadline=None)
@given(base=dicts, update=dicts)
def test_deep_merge_matches_python(base, update):
    before = copy.deepcopy((base, update))
    assert deep_merge(base, update) == python_deep_merge(base, update)
    assert (base, update) == before  # inputs untouched


@settings(max_examples=300, deadline=None)
@given(
    state=st.dictionaries(keys, st.one_of(leaves, st.lists(st.integers(), max_size=3))),
    update=st.dictionaries(keys, leaves),
    append=st.lists(keys, max_size=2),
)
def test_state_update_matches_python(state, update, append):
    before = copy.deepcopy((state, update))
    try:
        expected = python_state_update(state, update, append)
    except TypeError:
        with pytest.raises(TypeError):
            langgraph_state_update(state, update, append)
        return
    assert langgraph_state_update(state, update, append) == expected
    assert (state, update) == before


def test_state_update_appends_and_replaces():
    state = {"messages": [1, 2], "step": 1, "other": {"x": 1}}
    out = langgraph_state_update(state, {"messages": [3], "step": 2}, append_keys=["messages"])
    assert out == {"messages": [1, 2, 3], "step": 2, "other": {"x": 1}}
    assert state["messages"] == [1, 2] and out["other"] is state["other"]
    assert langgraph_state_update({}, {"messages": "one"}, ["messages"]) == {"messages": ["one"]}
    assert langgraph_state_update({"m": (1,)}, {"m": (2, 3)}, ["m"]) == {"m": [1, 2, 3]}


def test_deep_merge_shares_untouched_values():
    shared = [1, 2]
    base = {"a": {"b": 1, "keep": shared}, "z": shared}
    out = deep_merge(base, {"a": {"b": 2}})
    assert out == {"a": {"b": 2, "keep": [1, 2]}, "z": [1, 2]}
    assert out["a"]["keep"] is shared and out["a"] is not base["a"] and base["a"]["b"] == 1


def test_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match="base must be a dict"):
        deep_merge([], {})
    with pytest.raises(TypeError, match="update must be a dict"):
        langgraph_state_update({}, None)
    with pytest.raises(TypeError, match="not a list or tuple"):
        langgraph_state_update({"m": 5}, {"m": [1]}, ["m"])
    loop: dict = {}
    loop["a"] = loop
    with pytest.raises(RecursionError):
        deep_merge(loop, loop)

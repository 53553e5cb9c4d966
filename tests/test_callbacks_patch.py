"""The ``callbacks`` patch: the same child managers and merged metadata as langchain-core's code.

Each case builds a run manager from generated handlers, tags and metadata (duplicates,
``lc_versions`` in either position, non-dict mappings, the child tag already present),
twice, and compares everything a caller can see on the results of the original and
the patched functions: class, handlers (identity, order), tags, metadata, parent run
id, and that no list or dict is shared with the parent where the original's is not.
"""

from __future__ import annotations

import uuid
from types import MappingProxyType
from typing import Any

import pytest

import fast_langgraph

state = {p["name"]: p for p in fast_langgraph.patch_status()}.get("callbacks")
if state is None or not state["in_range"]:
    pytest.skip("callbacks patch not applicable here: %s" % (state,), allow_module_level=True)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from langchain_core.callbacks import base as cb_base  # noqa: E402
from langchain_core.callbacks import manager as cb_manager  # noqa: E402
from langchain_core.callbacks.base import BaseCallbackHandler  # noqa: E402
from langchain_core.runnables import config as lc_config  # noqa: E402

from fast_langgraph.patches.callbacks import (  # noqa: E402
    add_metadata,
    make_get_child,
    make_handle_event,
    merge_metadata_dicts,
)


def _unwrap(f: Any) -> Any:
    return getattr(f, "__wrapped__", f)


ORIGINAL_MERGE = _unwrap(lc_config._merge_metadata_dicts)
ORIGINAL_ADD_METADATA = _unwrap(cb_base.BaseCallbackManager.add_metadata)
ORIGINAL_GET_CHILD = _unwrap(cb_manager.ParentRunManager.get_child)
ORIGINAL_AGET_CHILD = _unwrap(cb_manager.AsyncParentRunManager.get_child)
ORIGINAL_HANDLE_EVENT = _unwrap(cb_manager.handle_event)


class Handler(BaseCallbackHandler):
    def __init__(self, key: int) -> None:
        self.key = key

    def __eq__(self, other: object) -> bool:  # duplicates by value, as add_handler checks with ==
        return isinstance(other, Handler) and other.key == self.key

    __hash__ = None  # type: ignore[assignment]


HANDLERS = [Handler(i) for i in range(3)] + [Handler(0)]
keys = st.sampled_from(["a", "b", "lc_versions", "langgraph_step"])
values = st.one_of(
    st.integers(0, 3),
    st.text(max_size=2),
    st.none(),
    st.tuples(st.integers(0, 2)),
    st.dictionaries(st.sampled_from(["core", "lg"]), st.text(max_size=2), max_size=2),
)
metadata = st.one_of(
    st.dictionaries(keys, values, max_size=4),
    st.dictionaries(keys, values, max_size=3).map(MappingProxyType),
)
tags = st.lists(st.sampled_from(["t1", "t2", "seq:step:1", "graph:step:3"]), max_size=4)


@settings(max_examples=400, deadline=None)
@given(base=metadata, incoming=metadata)
def test_merge_metadata_dicts(base, incoming):
    expected = ORIGINAL_MERGE(base, incoming)
    got = merge_metadata_dicts(base, incoming)
    assert type(got) is type(expected) and got == expected and list(got) == list(expected)
    assert got is not base and got is not incoming
    if "lc_versions" in got and isinstance(expected["lc_versions"], dict):
        # copied or shared exactly where the original copies or shares
        assert (got["lc_versions"] is incoming.get("lc_versions")) == (
            expected["lc_versions"] is incoming.get("lc_versions")
        )
        assert (got["lc_versions"] is base.get("lc_versions")) == (expected["lc_versions"] is base.get("lc_versions"))


def _snapshot(m: Any, parent: Any) -> Any:
    lists = ("handlers", "inheritable_handlers", "tags", "inheritable_tags", "metadata", "inheritable_metadata")
    return (
        type(m),
        m.parent_run_id,
        [
            (name, type(getattr(m, name)), list(map(id, getattr(m, name))) if "handlers" in name else getattr(m, name))
            for name in lists
        ],
        # which attributes share an object with the parent's (none should, in either version)
        [getattr(m, a) is getattr(parent, b) for a in lists for b in lists if hasattr(parent, b)],
        [getattr(m, a) is getattr(m, b) for a in lists for b in lists if a < b],
    )


def _parent(cls: Any, handlers: list, itags: list, imeta: Any, meta: Any) -> Any:
    return cls(
        run_id=uuid.UUID(int=7),
        handlers=list(handlers),
        inheritable_handlers=list(handlers),
        parent_run_id=None,
        tags=["own"],
        inheritable_tags=list(itags),
        metadata=meta,
        inheritable_metadata=imeta,
    )


@pytest.mark.parametrize(
    "run_cls,original,class_name",
    [
        (cb_manager.CallbackManagerForChainRun, ORIGINAL_GET_CHILD, "CallbackManager"),
        (cb_manager.AsyncCallbackManagerForChainRun, ORIGINAL_AGET_CHILD, "AsyncCallbackManager"),
    ],
)
@settings(max_examples=300, deadline=None)
@given(
    handlers=st.lists(st.sampled_from(HANDLERS), max_size=4),
    itags=tags,
    imeta=metadata,
    tag=st.one_of(st.none(), st.sampled_from(["t1", "seq:step:1", "new"])),
)
def test_get_child_same_manager(run_cls, original, class_name, handlers, itags, imeta, tag):
    patched = make_get_child(cb_manager, class_name, original)
    parent = _parent(run_cls, handlers, itags, imeta, {"m": 1})
    expected = original(parent, tag)
    got = patched(parent, tag)
    assert _snapshot(got, parent) == _snapshot(expected, parent)
    # the parent is left as it was
    assert parent.inheritable_tags == list(itags) and parent.inheritable_metadata == imeta


def test_get_child_errors_like_original():
    parent = _parent(cb_manager.CallbackManagerForChainRun, [], [], {}, {})
    for attribute in ("inheritable_handlers", "inheritable_tags"):
        setattr(parent, attribute, None)
        with pytest.raises(TypeError) as expected:
            ORIGINAL_GET_CHILD(parent, "x")
        with pytest.raises(TypeError) as got:
            make_get_child(cb_manager, "CallbackManager", ORIGINAL_GET_CHILD)(parent, "x")
        assert str(got.value) == str(expected.value)
        setattr(parent, attribute, [])


@settings(max_examples=200, deadline=None)
@given(meta=metadata, imeta=metadata, new=metadata, inherit=st.booleans())
def test_add_metadata(meta, imeta, new, inherit):
    results = []
    for fn in (ORIGINAL_ADD_METADATA, add_metadata):
        m = cb_manager.CallbackManager(handlers=[], metadata=meta, inheritable_metadata=imeta)
        fn(m, new, inherit)
        results.append((m.metadata, type(m.metadata), m.inheritable_metadata, type(m.inheritable_metadata)))
    assert results[0] == results[1]


class Recorder(BaseCallbackHandler):
    def __init__(self, log: list, fail: bool = False) -> None:
        self.log, self.fail = log, fail

    def on_chain_start(self, serialized, inputs, **kwargs):
        self.log.append(("start", inputs, sorted(kwargs)))
        if self.fail:
            raise ValueError("boom")


@pytest.mark.parametrize("handlers", ["empty", "one", "failing", "tuple"])
def test_handle_event_same_calls(handlers, caplog):
    patched = make_handle_event(ORIGINAL_HANDLE_EVENT)
    results = []
    for fn in (ORIGINAL_HANDLE_EVENT, patched):
        log: list = []
        made = {
            "empty": [],
            "one": [Recorder(log)],
            "failing": [Recorder(log, fail=True)],
            "tuple": (),
        }[handlers]
        caplog.clear()
        out = fn(made, "on_chain_start", "ignore_chain", None, {"x": 1}, run_id=uuid.UUID(int=1), tags=[])
        results.append((out, log, [r.getMessage() for r in caplog.records]))
    assert results[0] == results[1]


def test_langchain_core_uses_it():
    assert lc_config._merge_metadata_dicts is merge_metadata_dicts
    assert cb_base.BaseCallbackManager.add_metadata is add_metadata
    assert cb_manager.ParentRunManager.get_child is not ORIGINAL_GET_CHILD
    assert cb_manager.handle_event is not ORIGINAL_HANDLE_EVENT
    fast_langgraph.unpatch("callbacks")
    try:
        assert lc_config._merge_metadata_dicts is ORIGINAL_MERGE
        assert cb_manager.ParentRunManager.get_child is ORIGINAL_GET_CHILD
        assert cb_manager.AsyncParentRunManager.get_child is ORIGINAL_AGET_CHILD
        assert cb_base.BaseCallbackManager.add_metadata is ORIGINAL_ADD_METADATA
        assert cb_manager.handle_event is ORIGINAL_HANDLE_EVENT
    finally:
        fast_langgraph.patch(callbacks=None)
    assert lc_config._merge_metadata_dicts is merge_metadata_dicts

"""The ``merge_metadata`` patch: LangGraph's per-task metadata merge, same dicts, same copies."""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType

import pytest

import fast_langgraph

state = {p["name"]: p for p in fast_langgraph.patch_status()}.get("merge_metadata")
if state is None or not state["in_range"]:
    pytest.skip("merge_metadata patch not applicable here: %s" % (state,), allow_module_level=True)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from langgraph._internal import _config  # noqa: E402

from fast_langgraph.patches.merge_metadata import make_merge_metadata  # noqa: E402

ORIGINAL = getattr(_config._merge_metadata, "__wrapped__", _config._merge_metadata)
PATCHED = make_merge_metadata(ORIGINAL.__globals__, ORIGINAL)


class StrSub(str):
    pass


keys = st.sampled_from(["a", "b", "lc_versions", "langgraph_step", "langgraph_path"])
leaf = st.one_of(
    st.integers(-2, 3),
    st.booleans(),
    st.floats(allow_nan=False),
    st.text(max_size=2),
    st.text(max_size=2).map(StrSub),
    st.none(),
    st.binary(max_size=2),
    st.tuples(st.integers(0, 2), st.text(max_size=1)),
    st.lists(st.integers(0, 2), max_size=2),
)
nested = st.dictionaries(st.sampled_from(["core", "lg"]), leaf, max_size=2)
values = st.one_of(leaf, nested, nested.map(MappingProxyType), nested.map(OrderedDict))
metadata = st.one_of(
    st.none(),
    st.dictionaries(keys, values, max_size=5),
    st.dictionaries(keys, values, max_size=3).map(MappingProxyType),
)


def _shape(merged, base, new):
    """Values, types and which values are the very objects of the inputs (shared vs copied)."""
    sources = [v for m in (base or {}, new or {}) for v in m.values()]
    return [
        (k, type(v), v, [v is s for s in sources], type(v) is dict and [x is y for x in v.values() for y in sources])
        for k, v in merged.items()
    ]


@settings(max_examples=600, deadline=None)
@given(base=metadata, new=metadata)
def test_same_as_langgraph(base, new):
    expected = ORIGINAL(base, new)
    got = PATCHED(base, new)
    assert type(got) is type(expected) is dict
    assert _shape(got, base, new) == _shape(expected, base, new)


def test_merge_configs_uses_it():
    assert _config._merge_metadata is not ORIGINAL
    config = _config.merge_configs(
        {"metadata": {"a": 1, "n": {"x": 1}}}, {"metadata": {"langgraph_step": 2, "t": ("a",)}}
    )
    assert config["metadata"] == {"a": 1, "n": {"x": 1}, "langgraph_step": 2, "t": ("a",)}
    fast_langgraph.unpatch("merge_metadata")
    try:
        assert _config._merge_metadata is ORIGINAL
    finally:
        fast_langgraph.patch(merge_metadata=None)
    assert _config._merge_metadata is not ORIGINAL

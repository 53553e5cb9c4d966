"""The ``uuid6`` patch: the same checkpoint ids, clock and random draws as LangGraph's uuid6."""

from __future__ import annotations

import random
import uuid

import pytest

import fast_langgraph

state = {p["name"]: p for p in fast_langgraph.patch_status()}.get("uuid6")
if state is None or not state["in_range"]:
    pytest.skip("uuid6 patch not applicable here: %s" % (state,), allow_module_level=True)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from langgraph.checkpoint.base import id as id_module  # noqa: E402

from fast_langgraph.patches.uuid6 import make_uuid6  # noqa: E402

ORIGINAL = getattr(id_module.uuid6, "__wrapped__", id_module.uuid6)


class FakeTime:
    def __init__(self, ns):
        self.ns = ns

    def time_ns(self):
        return self.ns


def _run(fn, g, ns, last, seed, node, clock_seq):
    g["time"], g["_last_v6_timestamp"] = FakeTime(ns), last
    g["random"] = random.Random(seed)
    u = fn(node=node, clock_seq=clock_seq)
    return u, g["_last_v6_timestamp"], g["random"].random()


@settings(max_examples=500, deadline=None)
@given(
    ns=st.integers(0, 2**64),
    last=st.one_of(st.none(), st.integers(0, 2**62)),
    seed=st.integers(0, 5),
    node=st.one_of(st.none(), st.integers(-(2**50), 2**50)),
    clock_seq=st.one_of(st.none(), st.integers(-3, 2**15)),
)
def test_same_ids_and_side_effects(ns, last, seed, node, clock_seq):
    g = ORIGINAL.__globals__
    saved = {k: g[k] for k in ("time", "_last_v6_timestamp", "random")}
    try:
        expected = _run(ORIGINAL, g, ns, last, seed, node, clock_seq)
        got = _run(make_uuid6(g, ORIGINAL), g, ns, last, seed, node, clock_seq)
    finally:
        g.update(saved)
    (eu, elast, enext), (gu, glast, gnext) = expected, got
    assert type(gu) is type(eu) and gu == eu and str(gu) == str(eu) and gu.int == eu.int
    assert gu.version == eu.version == 6 and gu.is_safe is eu.is_safe and gu.time == eu.time
    assert (glast, gnext) == (elast, enext)  # same clock state, same random draws


def test_float_argument_fails_the_same_way():
    for fn in (ORIGINAL, id_module.uuid6):
        with pytest.raises(TypeError):
            fn(clock_seq=1.5)


def _importers() -> list:
    """The modules of this LangGraph release that hold a from-import of uuid6."""
    import importlib

    found = []
    for name in ("langgraph.checkpoint.base", "langgraph.pregel._checkpoint", "langgraph.pregel.checkpoint"):
        try:
            module = importlib.import_module(name)
        except ImportError:  # pregel._checkpoint appeared in 0.6, pregel.checkpoint in 0.3
            continue
        if hasattr(module, "uuid6"):
            found.append(module)
    return found


def test_ids_stay_monotonic_and_everyone_uses_it():
    importers = _importers()
    assert importers
    assert id_module.uuid6 is not ORIGINAL
    assert all(m.uuid6 is id_module.uuid6 for m in importers)
    ids = [str(id_module.uuid6(clock_seq=i % 3)) for i in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 6 for i in ids)
    fast_langgraph.unpatch("uuid6")
    try:
        assert id_module.uuid6 is ORIGINAL and all(m.uuid6 is ORIGINAL for m in importers)
    finally:
        fast_langgraph.patch(uuid6=None)
    assert id_module.uuid6 is not ORIGINAL

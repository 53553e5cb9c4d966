"""The ``channels`` patch: WritesApplier behaves exactly like LangGraph's ``apply_writes``.

Each differential case is a plain-data scenario (channel kinds and their starting
updates, tasks with triggers and writes, versions); it is built twice, fresh, and
run through LangGraph's ``apply_writes`` and through the Rust WritesApplier. The
returned set (or the exception), the checkpoint's versions and versions_seen, the
state of every channel and the warnings logged must all be equal.
"""

from __future__ import annotations

import logging
import operator
from typing import Any, Dict, List

import pytest

import fast_langgraph

state = {p["name"]: p for p in fast_langgraph.patch_status()}.get("channels")
if state is None or not state["in_range"]:
    pytest.skip("channels patch not applicable here: %s" % (state,), allow_module_level=True)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from langgraph.channels.any_value import AnyValue  # noqa: E402
from langgraph.channels.binop import BinaryOperatorAggregate  # noqa: E402
from langgraph.channels.ephemeral_value import EphemeralValue  # noqa: E402
from langgraph.channels.last_value import LastValue, LastValueAfterFinish  # noqa: E402
from langgraph.channels.named_barrier_value import NamedBarrierValue, NamedBarrierValueAfterFinish  # noqa: E402
from langgraph.channels.topic import Topic  # noqa: E402
from langgraph.channels.untracked_value import UntrackedValue  # noqa: E402
from langgraph.pregel import _algo  # noqa: E402

from fast_langgraph.patches.channels import make_writes_applier  # noqa: E402

ORIGINAL = getattr(_algo.apply_writes, "__wrapped__", _algo.apply_writes)
APPLIER = make_writes_applier(_algo, ORIGINAL)


class CustomValue(LastValue):
    """A user subclass: must go through its own Python methods."""

    def is_available(self) -> bool:
        return super().is_available()


NAMES = {"a", "b"}
KINDS = {
    "last": lambda: LastValue(int),
    "last_after_finish": lambda: LastValueAfterFinish(int),
    "binop": lambda: BinaryOperatorAggregate(int, operator.add),
    "binop_list": lambda: BinaryOperatorAggregate(list, operator.add),
    "ephemeral": lambda: EphemeralValue(int),
    "ephemeral_noguard": lambda: EphemeralValue(int, guard=False),
    "topic": lambda: Topic(int),
    "topic_acc": lambda: Topic(int, accumulate=True),
    "barrier": lambda: NamedBarrierValue(str, set(NAMES)),
    "barrier_after_finish": lambda: NamedBarrierValueAfterFinish(str, set(NAMES)),
    "any": lambda: AnyValue(int),
    "untracked": lambda: UntrackedValue(int),
    "custom": lambda: CustomValue(int),
}


def value_for(kind: str, n: int) -> Any:
    if kind.startswith("barrier"):
        return ["a", "b", "zz"][n % 3]  # "zz" is not a name: InvalidUpdateError
    if kind == "binop_list":
        return [n]
    return n


def channel_state(ch: Any) -> Dict[str, Any]:
    slots: Dict[str, Any] = {"type": type(ch).__name__}
    for cls in type(ch).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if slot not in ("key", "typ"):
                v = getattr(ch, slot, "<unset>")
                slots[slot] = sorted(v) if isinstance(v, set) else v
    return slots


def build(scenario: Dict[str, Any]):
    channels = {}
    for name, (kind, initial, finished) in scenario["channels"].items():
        ch = KINDS[kind]()
        ch.key = name
        if initial:
            try:
                ch.update([value_for(kind, n) for n in initial])
            except Exception:  # noqa: BLE001 - an invalid start is simply skipped
                pass
        if finished:
            ch.finish()
        channels[name] = ch
    versions = {name: v for name, v in scenario["versions"].items() if name in channels or name == "__start__"}
    checkpoint = {
        "v": 4,
        "id": "x",
        "ts": "t",
        "channel_values": {},
        "channel_versions": versions,
        "versions_seen": {k: dict(v) for k, v in scenario["seen"].items()},
        "updated_channels": None,
    }
    tasks = [
        _algo.PregelTaskWrites(tuple(t["path"]), t["name"], [tuple(w) for w in t["writes"]], list(t["triggers"]))
        for t in scenario["tasks"]
    ]
    return checkpoint, channels, tasks


def run(fn, scenario, use_versions: bool, caplog) -> Any:
    checkpoint, channels, tasks = build(scenario)
    counter = {"n": 0}

    def next_version(current: Any, channel: Any) -> int:
        counter["n"] += 1
        return (current or 0) + 1

    caplog.clear()
    try:
        result = (
            "returned",
            sorted(fn(checkpoint, channels, tasks, next_version if use_versions else None, scenario["triggers"])),
        )
    except Exception as exc:  # noqa: BLE001 - compared
        result = ("raised", type(exc).__name__, str(exc))
    logs = [r.getMessage() for r in caplog.records]
    return (
        result,
        checkpoint["channel_versions"],
        checkpoint["versions_seen"],
        {k: channel_state(ch) for k, ch in channels.items()},
        logs,
        counter["n"],
    )


def check(scenario: Dict[str, Any], caplog, use_versions: bool = True) -> Any:
    with caplog.at_level(logging.WARNING):
        expected = run(ORIGINAL, scenario, use_versions, caplog)
        got = run(APPLIER, scenario, use_versions, caplog)
    assert got == expected
    return got


channel_names = st.sampled_from(["c0", "c1", "c2", "c3", "c4"])


# Task paths: the shapes LangGraph makes, plus what exercises task_path_str's corners
# (negative and huge ints, bools, nested tuples, non-ASCII, ties, more than 3 parts).
path_parts = st.one_of(
    st.sampled_from(["__pregel_pull", "__pregel_push", "n0", "n1", "é", "\U0001f600", "a, b"]),
    st.integers(-20, 20),
    st.sampled_from([2**63, -(2**63) - 1, True]),
)
paths = st.one_of(
    st.sampled_from([("__pregel_pull", "n0"), ("__pregel_pull", "n1"), ("__pregel_push", 0), ("__pregel_push", 1)]),
    st.lists(st.one_of(path_parts, st.tuples(path_parts, path_parts)), min_size=1, max_size=5).map(tuple),
)


@st.composite
def scenarios(draw):
    names = draw(st.lists(channel_names, min_size=1, max_size=5, unique=True))
    channels = {
        n: (draw(st.sampled_from(sorted(KINDS))), draw(st.lists(st.integers(0, 5), max_size=2)), draw(st.booleans()))
        for n in names
    }
    write_targets = st.sampled_from(names + ["unknown", "__no_writes__", "__pregel_push", "__start__"])
    tasks = []
    for _ in range(draw(st.integers(0, 4))):
        tasks.append(
            {
                "path": draw(paths),
                "name": draw(st.sampled_from(["n0", "n1", "n2"])),
                "writes": draw(st.lists(st.tuples(write_targets, st.integers(0, 5)), max_size=4)),
                "triggers": draw(st.lists(st.sampled_from(names + ["__start__", "branch:to:x"]), max_size=2)),
            }
        )
    return {
        "channels": channels,
        "versions": draw(st.dictionaries(st.sampled_from(names + ["__start__"]), st.integers(1, 9), max_size=4)),
        "seen": draw(
            st.dictionaries(
                st.sampled_from(["n0", "n1"]), st.dictionaries(channel_names, st.integers(1, 9), max_size=2), max_size=2
            )
        ),
        "tasks": tasks,
        "triggers": draw(st.sampled_from([{}, {names[0]: ["n0"]}, {"c9": ["n1"]}])),
    }


def writes_for(scenario: Dict[str, Any]) -> Dict[str, Any]:
    # Values written must suit the target channel's kind.
    for task in scenario["tasks"]:
        task["writes"] = [
            (chan, value_for(scenario["channels"][chan][0], n) if chan in scenario["channels"] else n)
            for chan, n in task["writes"]
        ]
    return scenario


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(scenario=scenarios(), use_versions=st.booleans())
def test_differential(scenario, use_versions, caplog):
    check(writes_for(scenario), caplog, use_versions)


def test_installed_everywhere_it_is_looked_up():
    from langgraph.pregel import _loop, main

    assert type(_algo.apply_writes).__name__ == "WritesApplier"
    assert _loop.apply_writes is _algo.apply_writes is main.apply_writes


def test_monkeypatched_channel_method_is_honoured(monkeypatch, caplog):
    calls: List[str] = []
    original = LastValue.is_available

    def spy(self):
        calls.append(self.key)
        return original(self)

    monkeypatch.setattr(LastValue, "is_available", spy)
    scenario = {
        "channels": {"c0": ("last", [1], False), "c1": ("binop", [], False)},
        "versions": {"c0": 1},
        "seen": {},
        "tasks": [{"path": ("__pregel_pull", "n0"), "name": "n0", "writes": [("c1", 2)], "triggers": ["c0"]}],
        "triggers": {},
    }
    check(scenario, caplog)
    assert calls  # the spy ran on both sides: LastValue was not treated as pristine


def test_non_dict_inputs_go_to_langgraph(caplog):
    from types import MappingProxyType

    checkpoint, channels, tasks = build(
        {"channels": {"c0": ("last", [], False)}, "versions": {}, "seen": {}, "tasks": [], "triggers": {}}
    )
    assert APPLIER(checkpoint, MappingProxyType(channels), tasks, None, {}) == ORIGINAL(
        checkpoint, MappingProxyType(channels), tasks, None, {}
    )


def test_unpatch_restores_every_binding():
    from langgraph.pregel import _loop, main

    fast_langgraph.unpatch("channels")
    try:
        assert _algo.apply_writes is ORIGINAL and _loop.apply_writes is ORIGINAL and main.apply_writes is ORIGINAL
    finally:
        fast_langgraph.patch(channels=True)
    assert type(_loop.apply_writes).__name__ == "WritesApplier"


def test_paths_tied_in_their_first_three_parts_keep_langgraphs_order(caplog):
    # 1.2 sorts on the whole path (its key is inside a lambda); 1.1 on the first three parts.
    scenario = {
        "channels": {"c0": ("any", [], False)},
        "versions": {},
        "seen": {},
        "tasks": [
            {
                "path": (0, "__pregel_pull", "__pregel_pull", "__pregel_pull"),
                "name": "n0",
                "writes": [("unknown", 0)],
                "triggers": [],
            },
            {"path": (0, "__pregel_pull", "__pregel_pull"), "name": "n0", "writes": [("unknown", 0)], "triggers": []},
        ],
        "triggers": {},
    }
    check(scenario, caplog, use_versions=False)

"""The ``replace`` patch: a faster dataclasses.replace for plain frozen dataclasses, same results."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest

import fast_langgraph
from fast_langgraph.patches.replace import _copiers, copier_for, plan_for, replace

state = {p["name"]: p for p in fast_langgraph.patch_status()}.get("replace")


@dataclasses.dataclass(frozen=True)
class Plain:
    a: int
    b: str = "x"
    c: list = dataclasses.field(default_factory=list)
    k: ClassVar[int] = 3


@dataclasses.dataclass(frozen=True, slots=True)
class Slotted:
    a: int
    b: int = 0


@dataclasses.dataclass(frozen=True)
class WithPost:
    a: int

    def __post_init__(self):
        object.__setattr__(self, "a", self.a * 2)


@dataclasses.dataclass(frozen=True)
class WithInitFalse:
    a: int
    b: int = dataclasses.field(init=False, default=5)


@dataclasses.dataclass(frozen=True)
class WithInitVar:
    a: int
    scale: dataclasses.InitVar[int] = 1


@dataclasses.dataclass
class Mutable:
    a: int


class SubNoDecorator(Plain):
    pass


@pytest.mark.parametrize(
    "obj,changes",
    [
        (Plain(1), {"a": 2}),
        (Plain(1, "y", [1]), {}),
        (Slotted(1), {"b": 9}),
        (WithPost(1), {"a": 3}),
        (WithInitFalse(1), {"a": 4}),
        (WithInitVar(1), {"a": 2, "scale": 3}),
        (Mutable(1), {"a": 2}),
        (SubNoDecorator(1), {"a": 7}),
    ],
)
def test_same_as_dataclasses_replace(obj, changes):
    expected = dataclasses.replace(obj, **changes)
    got = replace(obj, **changes)
    assert type(got) is type(expected) and got == expected and got is not obj
    assert [getattr(got, f.name) for f in dataclasses.fields(got)] == [
        getattr(expected, f.name) for f in dataclasses.fields(expected)
    ]


@pytest.mark.parametrize(
    "obj,changes,error",
    [
        (Plain(1), {"zz": 1}, TypeError),
        (WithInitFalse(1), {"b": 1}, ValueError),
        (object(), {}, TypeError),
    ],
)
def test_same_errors(obj, changes, error):
    with pytest.raises(error) as expected:
        dataclasses.replace(obj, **changes)
    with pytest.raises(error) as got:
        replace(obj, **changes)
    assert str(got.value) == str(expected.value)


def test_plans():
    assert plan_for(Plain)[0] == ("a", "b", "c")
    assert plan_for(Slotted)[0] == ("a", "b")
    for cls in (WithPost, WithInitFalse, WithInitVar, Mutable, SubNoDecorator, int):
        assert plan_for(cls) is None, cls


@dataclasses.dataclass(frozen=True, slots=True)
class SlottedLogged:
    a: int
    b: int = 0

    def __getattribute__(self, name):  # runs code on reads: the generated copy must not be used
        return object.__getattribute__(self, name)


@dataclasses.dataclass(frozen=True, slots=True)
class SlottedFallback:
    a: int
    b: int = 0
    reads = []  # not a field: no annotation

    def __getattr__(self, name):  # runs only when a slot is unset
        SlottedFallback.reads.append(name)
        return -1


def test_getattr_runs_only_where_dataclasses_replace_runs_it():
    # b unset, then changed: dataclasses.replace never reads b, so __getattr__ must not run.
    blank = object.__new__(SlottedFallback)
    object.__setattr__(blank, "a", 1)
    assert replace(blank, b=2) == dataclasses.replace(blank, b=2)
    assert SlottedFallback.reads == []
    assert copier_for(SlottedFallback).__code__.co_filename.endswith("replace.py")


def test_slotted_classes_get_generated_code():
    assert copier_for(Plain).__code__.co_filename.endswith("replace.py")  # no slots: the loop
    assert copier_for(Slotted).__code__.co_filename.startswith("<fast_langgraph replace for Slotted")
    assert copier_for(SlottedLogged).__code__.co_filename.endswith("replace.py")
    assert replace(SlottedLogged(1), b=2) == dataclasses.replace(SlottedLogged(1), b=2)


@pytest.mark.parametrize("changes", [{}, {"a": 5}, {"b": 5}, {"a": 1, "b": 2}])
def test_an_unset_slot_behaves_like_dataclasses_replace(changes):
    # An instance made without __init__: dataclasses.replace reads only the unchanged
    # fields, so it fails or succeeds depending on which were given.
    blank = object.__new__(Slotted)
    object.__setattr__(blank, "a", 1)
    try:
        expected = dataclasses.replace(blank, **changes)
    except AttributeError as e:
        with pytest.raises(AttributeError) as got:
            replace(blank, **changes)
        assert str(got.value) == str(e)
    else:
        assert replace(blank, **changes) == expected
    assert Slotted in _copiers


@pytest.mark.skipif(state is None or not state["in_range"], reason="replace patch not applicable here")
def test_langgraph_runtime_uses_it():
    from langgraph import runtime

    assert runtime.replace is replace
    r = runtime.Runtime(context={"u": 1}, store=None)
    assert r.override(context={"u": 2}) == dataclasses.replace(r, context={"u": 2})
    if not hasattr(runtime, "ExecutionInfo"):  # LangGraph < 1.1
        return
    info = runtime.ExecutionInfo(checkpoint_id="c", checkpoint_ns="", task_id="t")
    r = r.override(execution_info=info)
    assert r.patch_execution_info(node_attempt=2) == dataclasses.replace(
        r, execution_info=dataclasses.replace(info, node_attempt=2)
    )

"""Patch ``apply_writes`` (``langgraph.pregel._algo``, LangGraph 0.6-1.2) with a Rust version.

The loop (``pregel._loop``) and ``pregel.main`` import ``apply_writes`` by name,
so each binding is replaced where it is looked up. All bindings share one
:class:`fast_langgraph._core.WritesApplier` around the original function.

What runs natively: the per-superstep bookkeeping LangGraph does on every channel
(``is_available()``, ``update(EMPTY_SEQ)``, ``finish()``, ``consume()``) for the
built-in channel classes whose methods are still LangGraph's own. Reducers,
``update()`` with values, custom channels and subclasses run LangGraph's Python.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Set

from fast_langgraph.patches._spec import PatchSkipped, Target

ALGO = "langgraph.pregel._algo"

#: Channel classes whose no-op paths WritesApplier does natively (same code 0.6.11-1.2.24).
NATIVE_CHANNELS = (
    ("langgraph.channels.last_value", "LastValue"),
    ("langgraph.channels.last_value", "LastValueAfterFinish"),
    ("langgraph.channels.binop", "BinaryOperatorAggregate"),
    ("langgraph.channels.ephemeral_value", "EphemeralValue"),
    ("langgraph.channels.topic", "Topic"),
    ("langgraph.channels.named_barrier_value", "NamedBarrierValue"),
    ("langgraph.channels.named_barrier_value", "NamedBarrierValueAfterFinish"),
    ("langgraph.channels.any_value", "AnyValue"),
    ("langgraph.channels.untracked_value", "UntrackedValue"),
)

# One applier per original function, shared by every module that imported it.
_appliers: Dict[int, Any] = {}


def code_names(code: Any) -> Set[str]:
    """The global/attribute names ``code`` and the functions nested in it use.

    1.2's ``apply_writes`` sorts with ``key=lambda t: writes_sort_key(...)``: the name
    is in the lambda's code object, not in the function's own ``co_names``.
    """
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, type(code)):
            names |= code_names(const)
    return names


def make_writes_applier(algo: Any, original: Any) -> Any:
    """A :class:`WritesApplier` standing in for ``original`` (``algo.apply_writes``)."""
    import importlib

    from fast_langgraph._rust import WritesApplier

    g = algo.__dict__
    code = original.__code__
    names = code_names(code)
    if "writes_sort_key" in names:  # 1.2: full path through writes_sort_key

        def sort_key(t: Any) -> Any:
            return g["writes_sort_key"](g["task_path_str"](t.path))

    else:  # 0.6-1.1: the first three path parts

        def sort_key(t: Any) -> Any:
            return g["task_path_str"](t.path[:3])

    skip_names = ["NO_WRITES", "PUSH", "RESUME", "INTERRUPT", "RETURN", "ERROR"]
    if "ERROR_SOURCE_NODE" in names:
        skip_names.append("ERROR_SOURCE_NODE")
    skip = tuple(g[name] for name in skip_names)

    def warn_unknown(task: Any, chan: Any) -> None:
        g["logger"].warning(f"Task {task.name} with path {task.path} wrote to unknown channel {chan}, ignoring it.")

    from langgraph._internal._typing import EMPTY_SEQ, MISSING

    classes = [getattr(importlib.import_module(module), name) for module, name in NATIVE_CHANNELS]
    return WritesApplier(
        original, sort_key, skip, g["RESERVED"], EMPTY_SEQ, MISSING, warn_unknown, classes, native_sort_for(algo, code)
    )


def native_sort_for(algo: Any, code: Any) -> Any:
    """What WritesApplier needs to order tasks itself, or None if the key functions are not the verified ones."""
    g = algo.__dict__
    task_path_str = g.get("task_path_str")
    try:
        if task_path_str(("a", 3, ("b", -2))) != "~a, 0000000003, ~b, -000000002":
            return None
        if "writes_sort_key" in code_names(code):
            writes_sort_key = g["writes_sort_key"]
            if writes_sort_key("x") != ("x", "", 0):
                return None
            return (g, task_path_str, writes_sort_key)
    except Exception:  # noqa: BLE001 - anything unexpected: leave the ordering to LangGraph
        return None
    return (g, task_path_str, None)


def replacement(target: Target, original: object) -> object:
    algo = sys.modules.get(ALGO)
    if algo is None:
        import importlib

        algo = importlib.import_module(ALGO)
    from fast_langgraph._rust import WritesApplier

    own = algo.__dict__.get("apply_writes")
    if isinstance(own, WritesApplier):  # _algo itself was patched first
        own = own.__wrapped__
    if own is None or getattr(own, "__module__", None) != ALGO:
        raise PatchSkipped("%s.apply_writes is %r, not LangGraph's own; left alone" % (ALGO, own))
    code = getattr(own, "__code__", None)
    if code is None or code.co_varnames[:5] != (
        "checkpoint",
        "channels",
        "tasks",
        "get_next_version",
        "trigger_to_nodes",
    ):
        raise PatchSkipped("apply_writes has a signature this patch was not verified for")
    applier = _appliers.get(id(own))
    if applier is None:
        applier = _appliers[id(own)] = make_writes_applier(algo, own)
    # A module that imported the name after _algo was patched already holds the applier.
    if original is not own and original is not applier:
        raise PatchSkipped("%s is %r, not %s.apply_writes; left alone" % (target.qualname, original, ALGO))
    return applier

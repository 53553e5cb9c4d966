"""Explicit state-merge helpers, in Rust: ``langgraph_state_update`` and ``deep_merge``.

Both return new dicts and leave their inputs untouched; values that are not merged
are shared with the inputs, not copied (as ``{**a, **b}`` does).

When they pay off (``python -m fast_langgraph.bench channels`` measures it side by side
with the plain-Python versions below): ``deep_merge`` on nested dicts, where Python
pays a function call per level; ``langgraph_state_update`` on states with many keys
or long append lists. On a handful of keys plain Python (``{**state, **update}``) is
as fast or faster, because CPython's dict is already C and crossing into Rust costs a
call: use the Python form there.

The ``python_*`` functions are the plain-Python equivalents: the reference the tests
compare with and the baseline the benchmark measures against.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional

# The core through its checked loader: an ImportError saying why when it is missing or stale.
from fast_langgraph._rust import deep_merge, langgraph_state_update

__all__ = ["deep_merge", "langgraph_state_update", "python_deep_merge", "python_state_update"]

MAX_MERGE_DEPTH = 500


def python_state_update(
    state: Mapping[Any, Any], update: Mapping[Any, Any], append_keys: Optional[Iterable[Any]] = None
) -> Dict[Any, Any]:
    """Plain-Python :func:`langgraph_state_update`."""
    keys = list(append_keys or ())
    out = dict(state)
    for key, value in update.items():
        if key in keys:
            old = state.get(key)
            if old is not None and not isinstance(old, (list, tuple)):
                raise TypeError("append key holds a %s, not a list or tuple" % type(old).__name__)
            items = [] if old is None else list(old)
            if isinstance(value, (list, tuple)):
                items.extend(value)
            else:
                items.append(value)
            out[key] = items
        else:
            out[key] = value
    return out


def python_deep_merge(base: Mapping[Any, Any], update: Mapping[Any, Any], _depth: int = 0) -> Dict[Any, Any]:
    """Plain-Python :func:`deep_merge`."""
    if _depth > MAX_MERGE_DEPTH:
        raise RecursionError("deep_merge: dicts nested deeper than %d levels" % MAX_MERGE_DEPTH)
    out = dict(base)
    for key, value in update.items():
        old = base.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = python_deep_merge(old, value, _depth + 1)
        else:
            out[key] = value
    return out

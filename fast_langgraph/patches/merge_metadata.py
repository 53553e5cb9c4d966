"""Patch ``langgraph._internal._config._merge_metadata`` (LangGraph 1.2): no ABC check per plain value.

``merge_configs`` merges each task's metadata (``langgraph_step``, ``langgraph_node``,
``langgraph_triggers``, ``langgraph_path``, ``langgraph_checkpoint_ns``, plus the
caller's) through ``_merge_metadata``, which copies every value with
``_copy_mapping_value``: ``dict(value) if isinstance(value, Mapping) else value``,
an ABC check per key. :func:`merge_metadata` below runs the same loop, keeps values
of the builtin scalar types and tuples as they are (they are not mappings) and hands
every other value, and every ``lc_versions`` key, to the module's own
``_copy_mapping_value`` / merge rule, read at call time.
"""

from __future__ import annotations

from typing import Any, Callable

from fast_langgraph.patches._source import require_source
from fast_langgraph.patches._spec import PatchSkipped, Target

CONFIG = "langgraph._internal._config"

#: Source digests of _merge_metadata and _copy_mapping_value as verified (LangGraph 1.2.24).
VERIFIED = ("9406b1cb5f6df4af",)
VERIFIED_COPY = ("4242d463e1fafd86",)

#: Exact types that are never a Mapping, kept as they are (what _copy_mapping_value returns for them).
_PLAIN = frozenset({str, int, float, bool, type(None), tuple, bytes})


def make_merge_metadata(g: dict, original: Callable[..., Any]) -> Callable[..., Any]:
    """``_merge_metadata`` over the config module's globals ``g``."""

    def merge_metadata(base: Any, new: Any) -> Any:
        copy = g["_copy_mapping_value"]
        merged = {}
        for key, value in (base or {}).items():
            merged[key] = value if type(value) in _PLAIN else copy(value)
        for key, value in (new or {}).items():
            if key == "lc_versions":
                if isinstance(merged.get(key), g["Mapping"]) and isinstance(value, g["Mapping"]):
                    merged[key] = {**merged[key], **value}
                else:
                    merged[key] = copy(value)
            else:
                merged[key] = value if type(value) in _PLAIN else copy(value)
        return merged

    merge_metadata.__wrapped__ = original  # type: ignore[attr-defined]
    merge_metadata.__doc__ = original.__doc__
    return merge_metadata


_made: dict = {}


def replacement(target: Target, original: Any) -> Any:
    if getattr(original, "__module__", None) != CONFIG or getattr(original, "__name__", None) != "_merge_metadata":
        raise PatchSkipped("%s is %r, not LangGraph's own; left alone" % (target.qualname, original))
    g = original.__globals__
    require_source(original, VERIFIED, CONFIG + "._merge_metadata")
    require_source(g["_copy_mapping_value"], VERIFIED_COPY, CONFIG + "._copy_mapping_value")
    if id(original) not in _made:
        _made[id(original)] = make_merge_metadata(g, original)
    return _made[id(original)]

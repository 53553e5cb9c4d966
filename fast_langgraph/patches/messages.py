"""Patch the ``add_messages`` reducer (``langgraph.graph.message``) with a Rust merge.

``add_messages`` is a wrapper whose closure cell ``func`` holds the real reducer.
``MessagesState``, prebuilt ``AgentState`` and users' ``Annotated[list, add_messages]``
captured the wrapper when their class was defined, so rebinding the module
attribute would miss them; swapping the cell reaches every alias, and the
wrapper (what LangGraph and users compare with ``is``) keeps its identity.

:class:`fast_langgraph._core.MessageMerger` runs the same algorithm in one pass
for plain lists of plain messages and hands everything else (coercion of dicts,
tuples, strings and chunks; ``format=``; list subclasses) to the original.
"""

from __future__ import annotations

import sys
from typing import Any, Tuple

from fast_langgraph.patches._spec import PatchSkipped, Target

_V02_NAMES = (
    "isinstance", "list", "convert_to_messages", "id", "str", "uuid", "uuid4", "copy",
    "enumerate", "set", "get", "RemoveMessage", "add", "discard", "ValueError", "len",
    "append", "_format_messages",
)  # fmt: skip
_V03_NAMES = (
    "isinstance", "list", "convert_to_messages", "id", "str", "uuid", "uuid4", "enumerate",
    "RemoveMessage", "REMOVE_ALL_MESSAGES", "copy", "set", "get", "add", "discard",
    "ValueError", "len", "append", "_format_messages",
)  # fmt: skip
_V12_NAMES = (
    "isinstance", "list", "_coerce_to_messages", "id", "str", "uuid", "uuid4", "enumerate",
    "RemoveMessage", "REMOVE_ALL_MESSAGES", "copy", "set", "get", "add", "discard",
    "ValueError", "len", "append", "_format_messages", "cast",
)  # fmt: skip

# (co_varnames, co_names) of the reducer in every release we compared it in,
# line by line, with MessageMerger: 0.2.76; 0.3.34-1.1.10; 1.2.x.
VERIFIED_SHAPES: Tuple[Tuple[Tuple[str, ...], Tuple[str, ...]], ...] = (
    (("left", "right", "format", "m", "merged", "merged_by_id", "existing_idx", "msg"), _V02_NAMES),
    (
        ("left", "right", "format", "remove_all_idx", "m", "idx", "merged", "merged_by_id", "existing_idx", "msg"),
        _V03_NAMES,
    ),
    (
        ("left", "right", "format", "remove_all_idx", "m", "idx", "merged", "merged_by_id", "existing_idx", "msg"),
        _V12_NAMES,
    ),
)


def make_merger(module: Any, original: Any) -> Any:
    """A :class:`MessageMerger` standing in for ``original`` (the reducer in ``module``)."""
    from langchain_core.messages import BaseMessage, BaseMessageChunk

    from fast_langgraph._rust import MessageMerger

    code = original.__code__
    remove_all = module.REMOVE_ALL_MESSAGES if "remove_all_idx" in code.co_varnames else None
    return MessageMerger(original, BaseMessage, BaseMessageChunk, module.RemoveMessage, module.__dict__, remove_all)


def replacement(target: Target, original: object) -> object:
    module = sys.modules[target.module]
    wrapper = getattr(module, "add_messages", None)
    if getattr(getattr(wrapper, "__code__", None), "co_freevars", None) != ("func",):
        raise PatchSkipped("add_messages is not LangGraph's wrapper around a 'func' cell")
    if (
        getattr(original, "__module__", None) != module.__name__
        or getattr(original, "__name__", None) != "add_messages"
    ):
        raise PatchSkipped("the add_messages cell holds %r, not LangGraph's reducer; left alone" % (original,))
    code = getattr(original, "__code__", None)
    if code is None or (code.co_varnames, code.co_names) not in VERIFIED_SHAPES:
        raise PatchSkipped("this add_messages differs from the releases it was verified against")
    return make_merger(module, original)

"""Patch langchain-core's callback-manager bookkeeping that LangGraph runs for every task.

Every task of every superstep builds child callback managers
(``ParentRunManager.get_child``, twice more inside each node's ``RunnableSeq``) and
merges metadata into them (``BaseCallbackManager.add_metadata``, which calls
``langchain_core.runnables.config._merge_metadata_dicts``), whether or not any
callback or tracer is configured. The replacements below build the very same
objects with fewer calls:

* ``_merge_metadata_dicts``: for two plain dicts without ``lc_versions`` the original
  returns ``{**base, **incoming}`` after three ``isinstance(..., Mapping)`` checks on
  ``None`` (ABC checks, the slow kind); that is what the fast path returns. Anything
  else (``lc_versions`` on either side, dict subclasses, other mappings) is the
  original function.
* ``BaseCallbackManager.add_metadata``: the original, minus the function-level import
  it runs on every call; ``_merge_metadata_dicts`` is still read from
  ``langchain_core.runnables.config`` at call time.
* ``handle_event`` (every ``on_chain_start``/``on_chain_end`` and the other events of a
  callback manager call it): with an empty handler list the original loops over nothing
  and returns ``None``; the fast path returns ``None`` at once. Anything else is the original.
* ``ParentRunManager.get_child`` / ``AsyncParentRunManager.get_child``: the same
  manager class, constructor call, handlers, tags, metadata and child tag, in the
  same order; the calls that do nothing on empty lists (``set_handlers([])``,
  ``add_tags([])``) and the membership scan for a child tag the manager does not
  have yet are skipped.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

from fast_langgraph.patches._spec import PatchSkipped, Target

CONFIG = "langchain_core.runnables.config"

#: The original _merge_metadata_dicts, set when that target is patched.
_merge_original: Optional[Callable[[Any, Any], Any]] = None
_config_module: Any = None


def merge_metadata_dicts(base: Any, incoming: Any) -> Any:
    """``_merge_metadata_dicts``, without the ``lc_versions`` checks when there is none."""
    if type(base) is dict and type(incoming) is dict and "lc_versions" not in base and "lc_versions" not in incoming:
        return {**base, **incoming}
    return _merge_original(base, incoming)  # type: ignore[misc]


def make_handle_event(original: Callable[..., Any]) -> Callable[..., Any]:
    """``handle_event`` returning at once for an empty handler list (what the original does, minus the work)."""

    def handle_event(handlers: Any, event_name: str, ignore_condition_name: Any, *args: Any, **kwargs: Any) -> None:
        if not handlers and type(handlers) is list:
            return None
        return original(handlers, event_name, ignore_condition_name, *args, **kwargs)

    handle_event.__wrapped__ = original  # type: ignore[attr-defined]
    handle_event.__doc__ = original.__doc__
    return handle_event


def _config() -> Any:
    global _config_module
    if _config_module is None:
        import importlib

        _config_module = importlib.import_module(CONFIG)
    return _config_module


def add_metadata(self: Any, metadata: Any, inherit: bool = True) -> None:
    """``BaseCallbackManager.add_metadata`` without the per-call import statement."""
    merge = (_config_module or _config())._merge_metadata_dicts
    self.metadata = merge(self.metadata, metadata)
    if inherit:
        self.inheritable_metadata = merge(self.inheritable_metadata, metadata)


def make_get_child(module: Any, class_name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """``get_child`` building ``module.<class_name>`` the way ``original`` does."""
    verified = getattr(module, class_name)

    def get_child(self: Any, tag: Optional[str] = None) -> Any:
        cls = getattr(module, class_name)
        if cls is not verified:  # someone swapped the manager class: their code, the original path
            return original(self, tag)
        manager = cls(handlers=[], parent_run_id=self.run_id)
        handlers = self.inheritable_handlers
        # set_handlers([]) / add_tags([]) change nothing on a fresh manager; anything
        # else (including a None that makes the original raise) goes through them.
        if handlers or type(handlers) is not list:
            manager.set_handlers(handlers)
        tags = self.inheritable_tags
        if tags or type(tags) is not list:
            manager.add_tags(tags)
        manager.add_metadata(self.inheritable_metadata)
        if tag is not None:
            if tag in manager.tags:
                manager.add_tags([tag], inherit=False)
            else:  # what add_tags([tag], inherit=False) does when the tag is new
                manager.tags.append(tag)
        return manager

    get_child.__wrapped__ = original  # type: ignore[attr-defined]
    get_child.__doc__ = original.__doc__
    get_child.__qualname__ = getattr(original, "__qualname__", "get_child")
    return get_child


def replacement(target: Target, original: Any) -> Any:
    global _merge_original
    if target.attribute == "_merge_metadata_dicts":
        if getattr(original, "__module__", None) != CONFIG:
            raise PatchSkipped("%s is %r, not langchain-core's own; left alone" % (target.qualname, original))
        _merge_original = original
        merge_metadata_dicts.__wrapped__ = original  # type: ignore[attr-defined]
        return merge_metadata_dicts
    if getattr(original, "__module__", None) != target.module:
        raise PatchSkipped("%s is %r, not langchain-core's own; left alone" % (target.qualname, original))
    if target.attribute == "handle_event":
        return make_handle_event(original)
    if target.attribute == "BaseCallbackManager.add_metadata":
        add_metadata.__wrapped__ = original  # type: ignore[attr-defined]
        return add_metadata
    if target.attribute in ("ParentRunManager.get_child", "AsyncParentRunManager.get_child"):
        module = sys.modules[target.module]
        class_name = "CallbackManager" if target.attribute.startswith("Parent") else "AsyncCallbackManager"
        return make_get_child(module, class_name, original)
    raise PatchSkipped("no replacement for %s" % target.qualname)

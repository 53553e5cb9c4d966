"""What the profiler wraps, per LangGraph version, and how it installs and removes the wrappers.

The functions are described by the patch registry's own :class:`~fast_langgraph.patches.Target`
records (module, dotted attribute, version range) and found and swapped through
:mod:`fast_langgraph._patching` (:func:`~fast_langgraph._patching.resolve`,
:func:`~fast_langgraph._patching.rebind`), the one mechanism the patches use too.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from fast_langgraph import _patching
from fast_langgraph.patches import Target
from fast_langgraph.patches._spec import version_in_range
from fast_langgraph.profiler.runs import Session
from fast_langgraph.profiler.wrappers import WRAPPERS, wrap


class Area(NamedTuple):
    """One instrumented area: every target must be found, or the area is reported unavailable."""

    name: str
    distribution: str
    targets: Tuple[Target, ...]


# LangGraph 0.6 renamed pregel/__init__, loop and runner to pregel.main, _loop and _runner.
_OLD, _NEW = "<0.6", ">=0.6"

#: What is wrapped. Where the same attribute is listed twice, the version ranges say which applies.
TARGETS: Tuple[Area, ...] = (
    Area(
        "runs",
        "langgraph",
        tuple(
            Target(module, "Pregel." + name, versions=versions)
            for name in ("stream", "astream", "invoke", "ainvoke")
            for module, versions in (("langgraph.pregel.main", _NEW), ("langgraph.pregel", _OLD))
        ),
    ),
    Area(
        "nodes",
        "langgraph",
        tuple(
            Target(module, attribute, versions=versions)
            for attribute in ("run_with_retry", "arun_with_retry", "PregelRunner.commit")
            for module, versions in (("langgraph.pregel._runner", _NEW), ("langgraph.pregel.runner", _OLD))
        ),
    ),
    Area(
        "supersteps",
        "langgraph",
        (
            Target("langgraph.pregel._loop", "PregelLoop.tick", versions=_NEW),
            Target("langgraph.pregel.loop", "PregelLoop.tick", versions=_OLD),
        ),
    ),
    Area(
        "channel_updates",
        "langgraph",
        (
            Target("langgraph.pregel._loop", "apply_writes", versions=_NEW),
            Target("langgraph.pregel.loop", "apply_writes", versions=_OLD),
        ),
    ),
    Area(
        "checkpoint_serialization",
        "langgraph-checkpoint",
        (
            Target("langgraph.checkpoint.serde.jsonplus", "JsonPlusSerializer.dumps_typed"),
            Target("langgraph.checkpoint.serde.jsonplus", "JsonPlusSerializer.loads_typed"),
        ),
    ),
)
#: What the report says is or is not instrumented (``scheduling`` needs ``nodes``).
INSTRUMENTED = ("runs", "nodes", "supersteps", "channel_updates", "checkpoint_serialization", "saver_io")


# Area -> where its functions are: looked up once per process (the installed versions do not
# change), so a profile_run() around every invoke stays cheap.
_found: Dict[Area, List[Tuple[Any, str]]] = {}


def _find(area: Area) -> List[Tuple[Any, str]]:
    places = _found.get(area)
    if places is None:
        places = _found[area] = _lookup(area)
    return places


def _lookup(area: Area) -> List[Tuple[Any, str]]:
    """``(owner, name)`` for every attribute of the area on the installed version (LookupError if one is missing).

    Targets outside the installed version's range are passed over; with the version
    unknown, each attribute comes from the first of its targets that exists.
    """
    version = _patching.installed_version(area.distribution)
    found: Dict[str, Tuple[Any, str]] = {}
    errors: Dict[str, List[str]] = {}
    for target in area.targets:
        attribute = target.attribute.rsplit(".", 1)[-1]
        if attribute in found or (version and target.versions and not version_in_range(version, target.versions)):
            continue
        try:
            owner, name = _patching.resolve(target, area.distribution)
            if name not in vars(owner):  # inherited: wrapping it would not be undone exactly
                raise LookupError("%s is inherited, not defined there" % target.qualname)
        except LookupError as exc:
            errors.setdefault(attribute, []).append(str(exc))
            continue
        found[attribute] = (owner, name)
    missing = [e for attribute, reasons in errors.items() if attribute not in found for e in reasons]
    if missing:
        raise LookupError("; ".join(missing))
    return list(found.values())


def _wrapper(area: str, name: str, original: Any) -> Any:
    return WRAPPERS[(area, name)](name, original)


def install() -> None:
    """Wrap every area's functions, for the first open ``profile_run()``; count the others."""
    # Import outside the lock (imports take the import lock; runs take ours).
    resolved: List[Tuple[str, List[Tuple[Any, str]]]] = []
    problems: Dict[str, str] = {}
    for area in TARGETS:
        try:
            resolved.append((area.name, _find(area)))
        except Exception as exc:
            problems.setdefault(area.name, str(exc))
    try:
        importlib.import_module("langgraph.checkpoint.base")
    except Exception as exc:
        problems["saver_io"] = "langgraph.checkpoint.base: %s" % exc
    with Session.lock:
        Session.depth += 1
        if Session.depth > 1:
            return
        for area_name, places in resolved:
            try:
                for owner, name in places:
                    wrap(owner, name, functools.partial(_wrapper, area_name, name))
            except Exception as exc:
                problems[area_name] = "%s: %s" % (area_name, exc)
        availability: Dict[str, Optional[str]] = {area: problems.get(area) for area in INSTRUMENTED}
        availability["scheduling"] = "needs node times: " + problems["nodes"] if problems.get("nodes") else None
        Session.availability = availability


def uninstall() -> None:
    """Put every original back when the last ``profile_run()`` closes."""
    with Session.lock:
        Session.depth -= 1
        if Session.depth > 0:
            return
        restores, Session.restores = Session.restores, []
        Session.saver_classes = set()
        for restore in reversed(restores):
            try:
                restore()
            except Exception:  # restoring one must not stop the others
                pass

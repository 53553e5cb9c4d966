"""Applies and reverts the patches of :mod:`fast_langgraph.patches` and records what happened.

Switch precedence, lowest to highest: the registry's default, then
``FAST_LANGGRAPH_DISABLE=a,b`` (``*`` or ``all`` for every patch), then
``FAST_LANGGRAPH=0``, then explicit ``fast_langgraph.patch(name=True/False)``.

Every failure is recorded on the patch (status ``skipped`` or ``failed``, with the
reason), logged once, and swallowed, unless ``FAST_LANGGRAPH_STRICT=1``.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

from fast_langgraph import _bootstrap
from fast_langgraph.patches import REGISTRY, PatchSkipped, PatchSpec, Target
from fast_langgraph.patches._spec import version_in_range

log = logging.getLogger("fast_langgraph")

# Status values
PENDING = "pending"  # enabled; waiting for the target module to be imported
APPLIED = "applied"
SKIPPED = "skipped"  # cannot apply here (version, missing symbol, Rust core, ...)
FAILED = "failed"  # an error while applying
DISABLED = "disabled"  # turned off by a switch


class PatchState:
    """The live record of one registry row in this process."""

    def __init__(self, spec: PatchSpec) -> None:
        self.spec = spec
        self.override: Optional[bool] = None  # explicit patch(name=...) switch
        self.status = PENDING
        self.reason = ""
        # (module, attribute) -> (original, replacement) for every rebinding we made
        self.swapped: Dict[Tuple[str, str], Tuple[Any, Any]] = {}
        # (module, attribute) -> note, for targets that were looked at and not swapped
        self.target_notes: Dict[Tuple[str, str], str] = {}
        self.warned = False

    def enabled(self) -> Tuple[bool, str]:
        """Whether the switches allow this patch, and which switch decided."""
        name = self.spec.name
        if self.override is not None:
            return self.override, "fast_langgraph.patch(%s=%s)" % (name, self.override)
        if _bootstrap.disabled_by_env():
            return False, "FAST_LANGGRAPH=%s" % os.environ.get("FAST_LANGGRAPH", "").strip()
        if _named_in("FAST_LANGGRAPH_DISABLE", name):
            return False, "FAST_LANGGRAPH_DISABLE=%s" % os.environ.get("FAST_LANGGRAPH_DISABLE", "")
        if not self.spec.default and not _named_in("FAST_LANGGRAPH_ENABLE", name):
            return False, "off by default; enable with FAST_LANGGRAPH_ENABLE=%s or fast_langgraph.patch(%s=True)" % (
                name,
                name,
            )
        return True, ""

    def as_dict(self) -> Dict[str, Any]:
        version = installed_version(self.spec.distribution)
        targets = []
        for target in self.spec.targets:
            key = (target.module, target.attribute)
            in_range = version is None or not target.versions or version_in_range(version, target.versions)
            if key in self.swapped:
                live = _lookup(sys.modules.get(target.module), target.attribute)
                state = "patched" if live is self.swapped[key][1] else "replaced by someone else"
            elif key in self.target_notes:
                state = self.target_notes[key]
            elif not in_range:
                state = "not in this version"
            elif target.module in sys.modules:
                state = "not patched"
            else:
                state = "module not imported"
            targets.append({"target": target.qualname, "required": target.required, "state": state})
        return {
            "name": self.spec.name,
            "summary": self.spec.summary,
            "status": self.status,
            # False when the installed version is outside the declared range: not applying is expected.
            "in_range": version is not None and version_in_range(version, self.spec.supported),
            "default": self.spec.default,
            "reason": self.reason,
            "distribution": self.spec.distribution,
            "supported": self.spec.supported,
            "installed": version,
            "needs_core": self.spec.needs_core,
            "targets": targets,
        }


_lock = threading.RLock()
_states: Dict[str, PatchState] = {spec.name: PatchState(spec) for spec in REGISTRY}
_hooked: set = set()  # target modules with a post-import hook registered
_versions: Dict[str, Optional[str]] = {}


def register(spec: PatchSpec) -> PatchState:
    """Add a row to the live registry (tests use it for deliberately broken patches)."""
    with _lock:
        if spec.name in _states:
            raise ValueError("a patch named %r is already registered" % spec.name)
        state = _states[spec.name] = PatchState(spec)
    if _bootstrap.state == "activated":
        activate()
    return state


def forget(name: str) -> None:
    """Revert a patch and drop it from the live registry."""
    with _lock:
        state = _states.pop(name)
        _revert_state(state)


def _named_in(variable: str, name: str) -> bool:
    """Whether a comma-separated switch such as FAST_LANGGRAPH_DISABLE names this patch (or ``*``/``all``)."""
    names = {part.strip().lower() for part in os.environ.get(variable, "").split(",")}
    return bool(names & {name.lower(), "*", "all"})


def installed_version(distribution: str) -> Optional[str]:
    if distribution not in _versions:
        try:
            from importlib.metadata import PackageNotFoundError, version
        except ImportError:  # pragma: no cover - Python < 3.8
            _versions[distribution] = None
        else:
            try:
                _versions[distribution] = version(distribution)
            except PackageNotFoundError:
                _versions[distribution] = None
    return _versions[distribution]


def _step(owner: Any, part: str) -> Any:
    """One segment of a target path: ``name`` or ``name[index]`` (a closure cell, say)."""
    if part.endswith("]"):
        name, _, index = part[:-1].partition("[")
        try:
            return getattr(owner, name)[int(index)]
        except (TypeError, IndexError) as exc:
            raise AttributeError("%s[%s]: %s" % (name, index, exc)) from exc
    return getattr(owner, part)


def _lookup(owner: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        try:
            owner = _step(owner, part)
        except AttributeError:
            return None
        if owner is None:
            return None
    return owner


def _owner_and_name(module: Any, dotted: str) -> Tuple[Any, str]:
    *path, name = dotted.split(".")
    owner = module
    for part in path:
        owner = _step(owner, part)
    return owner, name


def _report(
    state: PatchState, status: str, reason: str, exc: Optional[BaseException] = None, expected: bool = False
) -> None:
    """Record why a patch did not apply; warn once, unless the registry foresaw it.

    ``expected``: the installed release is outside the patch's declared range, which the
    doctor counts as intended (exit 0); saying so at every start-up would only be noise.
    """
    state.status, state.reason = status, reason
    if status == FAILED and _bootstrap.strict_mode() and exc is not None:
        raise exc
    if status in (FAILED, SKIPPED) and not state.warned:
        state.warned = True
        log.log(
            logging.DEBUG if expected else logging.WARNING,
            "fast_langgraph: patch %r %s: %s (LangGraph runs unpatched there)",
            state.spec.name,
            status,
            reason,
        )


def _out_of_range(state: PatchState) -> bool:
    version = installed_version(state.spec.distribution)
    return version is not None and not version_in_range(version, state.spec.supported)


def _check_applicable(state: PatchState) -> Optional[str]:
    """Why this patch cannot apply in this environment, or None."""
    spec = state.spec
    version = installed_version(spec.distribution)
    if version is None:
        return "%s is not installed (no distribution metadata)" % spec.distribution
    if not version_in_range(version, spec.supported):
        return "%s %s is outside the supported range %s" % (spec.distribution, version, spec.supported)
    if spec.needs_core:
        from fast_langgraph._rust import core_error

        error = core_error()
        if error:
            return error
    return None


def _required_targets(spec: PatchSpec) -> List[Target]:
    version = installed_version(spec.distribution)
    return [
        t
        for t in spec.targets
        if t.required and (version is None or not t.versions or version_in_range(version, t.versions))
    ]


def _refresh_status(state: PatchState) -> None:
    if state.status in (SKIPPED, FAILED, DISABLED):
        return
    required = _required_targets(state.spec)
    done = all((t.module, t.attribute) in state.swapped for t in required)
    state.status = APPLIED if done and state.swapped else PENDING
    state.reason = "" if state.status == APPLIED else "waiting for %s to be imported" % ", ".join(
        t.module for t in required if (t.module, t.attribute) not in state.swapped
    )


def _apply_target(state: PatchState, target: Target, module: Any) -> None:
    """Rebind one target in a freshly imported (or already loaded) module."""
    with _lock:
        if state.status in (SKIPPED, FAILED, DISABLED):
            return
        on, why = state.enabled()
        if not on:
            state.status, state.reason = DISABLED, why
            return
        key = (target.module, target.attribute)
        if key in state.swapped:
            return
        try:
            reason = _check_applicable(state)
            if reason:
                _report(state, SKIPPED, reason, expected=_out_of_range(state))
                return
            version = installed_version(state.spec.distribution)
            if target.versions and version and not version_in_range(version, target.versions):
                state.target_notes[key] = "not in this version"
                return
            try:
                owner, name = _owner_and_name(module, target.attribute)
                original = getattr(owner, name)
            except AttributeError:
                if target.required:
                    _report(state, SKIPPED, "%s does not exist in %s %s" % (target.qualname, state.spec.distribution, version))
                else:
                    state.target_notes[key] = "absent (optional)"
                return
            impl = importlib.import_module(state.spec.implementation)
            try:
                replacement = impl.replacement(target, original)
            except PatchSkipped as exc:
                if target.required:
                    _report(state, SKIPPED, str(exc))
                else:
                    state.target_notes[key] = "skipped: %s" % exc
                return
            if replacement is original:
                # This module imported the name after another target was patched: it
                # already holds our object; reverting it restores what that wraps.
                original = getattr(replacement, "__wrapped__", original)
            setattr(owner, name, replacement)
            state.swapped[key] = (original, replacement)
            _refresh_status(state)
        except Exception as exc:
            _revert_state(state)
            _report(state, FAILED, "%s while patching %s: %s" % (type(exc).__name__, target.qualname, exc), exc)


def _revert_state(state: PatchState) -> None:
    for (module_name, attribute), (original, replacement) in list(state.swapped.items()):
        module = sys.modules.get(module_name)
        if module is not None:
            try:
                owner, name = _owner_and_name(module, attribute)
                # Only undo our own rebinding: someone may have wrapped it since.
                if getattr(owner, name, None) is replacement:
                    setattr(owner, name, original)
            except Exception:  # a half-torn-down module; nothing more to undo there
                pass
        del state.swapped[(module_name, attribute)]


def _hook_for(module_name: str):
    def on_import(module: Any) -> None:
        try:
            for state in _states.values():
                for target in state.spec.targets:
                    if target.module == module_name:
                        _apply_target(state, target, module)
        except Exception:
            if _bootstrap.strict_mode():
                raise
            log.exception("fast_langgraph: internal error in the import hook for %s", module_name)

    return on_import


def activate() -> None:
    """Register post-import hooks for every enabled patch's target modules (idempotent).

    Modules already imported are patched at once (wrapt calls their hook immediately).
    """
    import wrapt

    with _lock:
        for state in _states.values():
            on, why = state.enabled()
            if not on:
                state.status, state.reason = DISABLED, why
                continue
            if state.status == DISABLED:
                state.status, state.reason = PENDING, ""
            if _out_of_range(state):
                # No hook at all: a module loaded through wrapt's importer shows its frame
                # in the warnings its import emits (their file:line would differ from
                # unpatched), and nothing would be patched anyway.
                _report(state, SKIPPED, _check_applicable(state) or "", expected=True)
                continue
            _refresh_status(state)
            for target in state.spec.targets:
                if target.module in _hooked:
                    if target.module in sys.modules:
                        _apply_target(state, target, sys.modules[target.module])
                    continue
                _hooked.add(target.module)
                wrapt.register_post_import_hook(_hook_for(target.module), target.module)


def patch(**switches: bool) -> None:
    """See :func:`fast_langgraph.patch`."""
    unknown = sorted(set(switches) - set(_states))
    if unknown:
        raise TypeError(
            "unknown patch name(s) %s; known patches: %s" % (", ".join(unknown), ", ".join(sorted(_states)))
        )
    with _lock:
        # patch() alone hands every decision back to the environment.
        overrides: Dict[str, Optional[bool]] = dict(switches) or {name: None for name in _states}
        for name, on in overrides.items():
            state = _states[name]
            state.override = None if on is None else bool(on)
            if on is not None and not on:
                _revert_state(state)
                state.status, state.reason = DISABLED, "fast_langgraph.patch(%s=False)" % name
            elif state.status == DISABLED or (on and state.status in (SKIPPED, FAILED)):
                # An explicit patch(name=True) retries a failed patch; it warns at most once anyway.
                state.status, state.reason = PENDING, ""
    if any(on is None or on for on in overrides.values()):
        _bootstrap.start("explicit")
        if _bootstrap.state == "activated":
            activate()  # also patches modules imported before this call


def unpatch(*names: str) -> None:
    """See :func:`fast_langgraph.unpatch`."""
    chosen = names or tuple(_states)
    patch(**{name: False for name in chosen})


def status() -> List[Dict[str, Any]]:
    with _lock:
        for state in _states.values():
            if state.status == PENDING:
                on, why = state.enabled()
                if not on:
                    state.status, state.reason = DISABLED, why
                elif _bootstrap.state != "activated":
                    state.reason = "fast_langgraph is not active in this interpreter (autoload %s)" % _bootstrap.state
                else:
                    # A target module that does not exist in this version (pregel._algo
                    # before 0.6) never fires its hook: give the verdict here instead.
                    reason = _check_applicable(state)
                    if reason:
                        state.status, state.reason = SKIPPED, reason
        return [state.as_dict() for state in _states.values()]


# ---------------------------------------------------------------- lookup and rebinding for other tools
# The profiler (fast_langgraph.profiler.instrument) finds and swaps LangGraph functions
# through these, with the registry's Target records and version ranges.


def resolve(target: Target, distribution: str) -> Tuple[Any, str]:
    """Where ``target`` lives here: ``(owner, name)``, its module imported.

    Raises :class:`LookupError` saying why when the installed ``distribution`` is outside
    ``target.versions``, the module does not import, or the attribute does not exist.
    """
    version = installed_version(distribution)
    if target.versions and version and not version_in_range(version, target.versions):
        raise LookupError("%s is not in %s %s (only %s)" % (target.qualname, distribution, version, target.versions))
    try:
        module = importlib.import_module(target.module)
    except Exception as exc:  # an absent module is the normal "other version" case
        raise LookupError("%s: %s" % (target.module, exc)) from None
    try:
        owner, name = _owner_and_name(module, target.attribute)
        getattr(owner, name)
    except AttributeError:
        raise LookupError("%s does not exist in %s %s" % (target.qualname, distribution, version)) from None
    return owner, name


def rebind(owner: Any, name: str, replacement: Any) -> Callable[[], None]:
    """Set ``owner.name = replacement``; return the undo.

    The undo restores the previous binding exactly (removing the attribute if ``owner``
    only inherited it), and only while ``replacement`` is still there: whoever replaced
    it since keeps theirs.
    """
    own = vars(owner)
    had = name in own
    original = own.get(name)
    setattr(owner, name, replacement)

    def undo() -> None:
        if vars(owner).get(name) is replacement:
            if had:
                setattr(owner, name, original)
            else:
                delattr(owner, name)

    return undo

"""Applies and reverts the patches of :mod:`fast_langgraph.patches` and records what happened.

Which patches are on is decided by the switches (:mod:`fast_langgraph._switches` documents
them and their precedence) and by explicit overrides, which :mod:`fast_langgraph._bootstrap`
passes in (:func:`set_overrides`). Post-import hooks (:mod:`fast_langgraph._import_hooks`)
apply each patch when its target module is imported.

Every failure is recorded on the patch (status ``skipped`` or ``failed``, with the
reason), logged once, and swallowed, unless ``FAST_LANGGRAPH_STRICT=1``. When the Rust
core cannot load, that is one warning for all the patches that need it.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

from fast_langgraph import _switches
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
        return _switches.decide(self.spec.name, self.spec.default, self.override, _switches.read())

    def as_dict(self) -> Dict[str, Any]:
        version = installed_version(self.spec.distribution)
        targets = []
        for target in self.spec.targets:
            key = (target.module, target.attribute)
            in_range = version is None or not target.versions or _in_range(version, target.versions) is not False
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
            # An unparseable version counts as in range: the doctor lists the skip as a problem.
            "in_range": version is not None and _in_range(version, self.spec.supported) is not False,
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
_active = False  # activate() ran: hooks are registered
_core_warned = False  # the one warning for a Rust core that cannot load was logged
_switches_warned = False  # the one warning for mistakes in the switches was logged


def register(spec: PatchSpec) -> PatchState:
    """Add a row to the live registry (tests use it for deliberately broken patches)."""
    with _lock:
        if spec.name in _states:
            raise ValueError("a patch named %r is already registered" % spec.name)
        state = _states[spec.name] = PatchState(spec)
    if _active:
        activate()
    return state


def names() -> List[str]:
    """The names of every registered patch."""
    with _lock:
        return list(_states)


def forget(name: str) -> None:
    """Revert a patch and drop it from the live registry."""
    with _lock:
        state = _states.pop(name)
        _revert_state(state)


def switch_problems() -> List[str]:
    """Mistakes in the environment switches (unknown patch names, unrecognised values)."""
    with _lock:
        known = list(_states)
    return _switches.problems(known)


def _normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them, with ``_`` for the separator."""
    out, previous_sep = [], False
    for char in name.lower():
        sep = char in "-_."
        if not (sep and previous_sep):
            out.append("_" if sep else char)
        previous_sep = sep
    return "".join(out)


def _version_from_dist_info(distribution: str) -> Optional[str]:
    """The ``Version:`` of the first ``<name>-<version>.dist-info`` on ``sys.path``, or None.

    What ``importlib.metadata.version`` returns for an installed wheel, without importing
    importlib.metadata (email, zipfile, csv, ...: several ms on LangGraph's first import).
    """
    wanted = _normalized(distribution)
    for entry in sys.path:
        try:
            listing = os.listdir(entry or ".")
        except OSError:  # a zip file, a missing directory
            continue
        for name in listing:
            stem, _, kind = name.rpartition(".")
            # <name>-<version>[-pyX.Y].<kind>: the name part never holds a "-" (it is escaped to "_").
            if kind not in ("dist-info", "egg-info") or _normalized(stem.partition("-")[0]) != wanted:
                continue
            if kind == "egg-info":
                return None  # PKG-INFO, maybe a file: left to importlib.metadata
            try:
                with open(os.path.join(entry or ".", name, "METADATA"), encoding="utf-8") as f:
                    for line in f:
                        if not line.strip():
                            break  # end of the headers
                        if line.startswith("Version:"):
                            return line[len("Version:") :].strip()
            except OSError:
                pass
            return None  # the first match is the one importlib.metadata picks
    return None


def installed_version(distribution: str) -> Optional[str]:
    """The installed version of ``distribution`` (cached), or None when it is not installed."""
    if distribution not in _versions:
        version = _version_from_dist_info(distribution)
        if version is None:  # egg-info, zip imports, ...: the full lookup
            from importlib.metadata import PackageNotFoundError
            from importlib.metadata import version as metadata_version

            try:
                version = metadata_version(distribution)
            except PackageNotFoundError:
                version = None
        _versions[distribution] = version
    return _versions[distribution]


def _in_range(version: str, spec: str) -> Optional[bool]:
    """``version_in_range``, or None when the installed version cannot be parsed."""
    try:
        return version_in_range(version, spec)
    except ValueError:
        return None


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
    global _core_warned
    state.status, state.reason = status, reason
    if status == FAILED and _switches.strict() and exc is not None:
        raise exc
    if status in (FAILED, SKIPPED) and not state.warned:
        state.warned = True
        if state.spec.needs_core and reason == _core_error():
            # One warning for every patch that needs the core; the doctor lists each.
            if not _core_warned:
                _core_warned = True
                with _lock:
                    names = sorted(s.spec.name for s in _states.values() if s.spec.needs_core)
                log.warning(
                    "fast_langgraph: %s; the patches that need it (%s) are skipped (LangGraph runs unpatched there)",
                    reason,
                    ", ".join(names),
                )
            return
        log.log(
            logging.DEBUG if expected else logging.WARNING,
            "fast_langgraph: patch %r %s: %s (LangGraph runs unpatched there)",
            state.spec.name,
            status,
            reason,
        )


def _core_error() -> Optional[str]:
    from fast_langgraph._rust import core_error

    return core_error()


def _out_of_range(state: PatchState) -> bool:
    version = installed_version(state.spec.distribution)
    return version is not None and _in_range(version, state.spec.supported) is False


def _check_applicable(state: PatchState) -> Optional[str]:
    """Why this patch cannot apply in this environment, or None."""
    spec = state.spec
    version = installed_version(spec.distribution)
    if version is None:
        return "%s is not installed (no distribution metadata)" % spec.distribution
    in_range = _in_range(version, spec.supported)
    if in_range is None:
        return "%s's version %r cannot be parsed; not checked against %s" % (spec.distribution, version, spec.supported)
    if not in_range:
        return "%s %s is outside the supported range %s" % (spec.distribution, version, spec.supported)
    if spec.needs_core:
        error = _core_error()
        if error:
            return error
    return None


def _required_targets(spec: PatchSpec) -> List[Target]:
    version = installed_version(spec.distribution)
    return [
        t
        for t in spec.targets
        if t.required and (version is None or not t.versions or _in_range(version, t.versions) is not False)
    ]


def _refresh_status(state: PatchState) -> None:
    if state.status in (SKIPPED, FAILED, DISABLED):
        return
    required = _required_targets(state.spec)
    done = all((t.module, t.attribute) in state.swapped for t in required)
    state.status = APPLIED if done and state.swapped else PENDING
    state.reason = (
        ""
        if state.status == APPLIED
        else "waiting for %s to be imported"
        % ", ".join(t.module for t in required if (t.module, t.attribute) not in state.swapped)
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
            if target.versions and version and _in_range(version, target.versions) is False:
                state.target_notes[key] = "not in this version"
                return
            try:
                owner, name = _owner_and_name(module, target.attribute)
                original = getattr(owner, name)
            except AttributeError:
                if target.required:
                    _report(
                        state,
                        SKIPPED,
                        "%s does not exist in %s %s" % (target.qualname, state.spec.distribution, version),
                    )
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
            if _switches.strict():
                raise
            log.exception("fast_langgraph: internal error in the import hook for %s", module_name)

    return on_import


def activate() -> None:
    """Register post-import hooks for every enabled patch's target modules (idempotent).

    Modules already imported are patched at once (their hook runs immediately). Mistakes
    in the switches are logged here, once per process.
    """
    global _active, _switches_warned
    from fast_langgraph import _import_hooks

    with _lock:
        _active = True
        if not _switches_warned:
            _switches_warned = True
            for problem in _switches.problems(list(_states)):
                log.warning("fast_langgraph: %s", problem)
        for state in _states.values():
            on, why = state.enabled()
            if not on:
                state.status, state.reason = DISABLED, why
                continue
            if state.status == DISABLED:
                state.status, state.reason = PENDING, ""
            if _out_of_range(state):
                # No hook at all: a module loaded through our importer shows its frame in
                # the warnings its import emits (their file:line would differ from
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
                _import_hooks.register(target.module, _hook_for(target.module))


def set_overrides(switches: Dict[str, Optional[bool]]) -> bool:
    """Record explicit ``patch(name=True/False/None)`` switches; reverts the ones turned off.

    An empty mapping hands every decision back to the environment. Returns whether
    anything may now need activation (some switch is not False).
    """
    unknown = sorted(set(switches) - set(_states))
    if unknown:
        raise TypeError(
            "unknown patch name(s) %s; known patches: %s" % (", ".join(unknown), ", ".join(sorted(_states)))
        )
    wrong = sorted(name for name, on in switches.items() if on is not None and not isinstance(on, bool))
    if wrong:
        raise TypeError(
            "patch switches take True or False (or None: back to the environment); got %s"
            % ", ".join("%s=%r" % (name, switches[name]) for name in wrong)
        )
    with _lock:
        overrides: Dict[str, Optional[bool]] = dict(switches) or {name: None for name in _states}
        for name, on in overrides.items():
            state = _states[name]
            state.override = on
            if on is False:
                _revert_state(state)
                state.status, state.reason = DISABLED, "fast_langgraph.patch(%s=False)" % name
            elif state.status == DISABLED or (on and state.status in (SKIPPED, FAILED)):
                # An explicit patch(name=True) retries a failed patch; it warns at most once anyway.
                state.status, state.reason = PENDING, ""
    return any(on is not False for on in overrides.values())


def status(bootstrap_state: str = "activated") -> List[Dict[str, Any]]:
    """One dict per patch (see :func:`fast_langgraph.patch_status`).

    ``bootstrap_state`` is the autoload's state, for the reason of a pending patch.
    """
    with _lock:
        for state in _states.values():
            if state.status == PENDING:
                on, why = state.enabled()
                if not on:
                    state.status, state.reason = DISABLED, why
                elif not _active:
                    state.reason = "fast_langgraph is not active in this interpreter (autoload %s)" % bootstrap_state
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

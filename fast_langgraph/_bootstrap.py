"""Autoload bootstrap: stdlib only, nearly free, unable to raise.

Calls go one way: the ``.pth`` line -> this module -> :mod:`fast_langgraph._patching`
-> :mod:`fast_langgraph.patches`. ``fast_langgraph.pth`` (installed as
``fast_langgraph_autoload.pth``) holds an inline copy of :class:`FastLangGraphAutoload`:
importing any module from a ``.pth`` costs ~1.5 ms per interpreter start, inline code
~0.4 ms. When ``FAST_LANGGRAPH`` is 0/false/off/no it does nothing else (the switches
are documented in :mod:`fast_langgraph._switches`). Otherwise it puts a meta-path
watcher first in ``sys.meta_path``; the first import of ``langgraph`` or
``langchain_core`` calls :func:`on_trigger`, which loads the patch registry
(``fast_langgraph._patching``) and its post-import hooks before any LangGraph
submodule is imported.

:func:`autoload` is the zero-argument equivalent for ``.start`` files
(PEP 829, Python >= 3.15) and for embedders; :func:`patch` and :func:`unpatch` are
what ``fast_langgraph.patch()`` / ``unpatch()`` call.
"""

import sys

from fast_langgraph import _switches

#: Top-level packages whose first import wakes the accelerator up.
TRIGGER_PACKAGES = ("langgraph", "langchain_core")

#: What the bootstrap did in this process, for the doctor:
#: "not run", "disabled", "waiting", "activated", or "failed: <error>".
state = "not run"
#: Who armed it: "site" (.pth / .start autoload) or "explicit" (fast_langgraph.patch()).
origin = None


class FastLangGraphAutoload:
    """Meta-path finder that finds nothing: it notices the first import of a
    trigger package and then stays inert (removing itself from ``sys.meta_path``
    while the import system iterates over it would make it skip a finder)."""

    fired = False

    def find_spec(self, name, path=None, target=None):
        if not self.fired and name in TRIGGER_PACKAGES:
            self.fired = True
            on_trigger(self)
        return None


def on_trigger(watcher=None):
    """Called once by a watcher when LangGraph (or langchain-core) starts importing."""
    global origin
    if origin is None:
        origin = "site"
    _activate()


def _activate():
    global state
    if state == "activated":
        return
    try:
        from fast_langgraph import _patching

        _patching.activate()
        state = "activated"
    except Exception as exc:  # never break the host program
        state = "failed: %r" % (exc,)
        if _switches.strict():
            raise
        try:
            import logging

            logging.getLogger("fast_langgraph").warning(
                "fast_langgraph could not activate; LangGraph runs unpatched: %r", exc
            )
        except Exception:
            pass


def start(origin_name="explicit"):
    """Arm the accelerator: at once if LangGraph is already imported, else on its first import."""
    global state, origin
    if state in ("waiting", "activated"):
        return
    if origin is None:
        origin = origin_name
    if any(name in sys.modules for name in TRIGGER_PACKAGES):
        _activate()
        return
    if not any(type(f).__name__ == "FastLangGraphAutoload" and not f.fired for f in sys.meta_path):
        sys.meta_path.insert(0, FastLangGraphAutoload())
    state = "waiting"


def patch(**switches):
    """Explicit switches (``fast_langgraph.patch``): record them, then arm or re-apply."""
    from fast_langgraph import _patching

    if _patching.set_overrides(switches):
        start("explicit")
        if state == "activated":
            _patching.activate()  # also patches modules imported before this call


def unpatch(*names):
    """Revert the named patches (all when none is named) and keep them off."""
    from fast_langgraph import _patching

    patch(**{name: False for name in names or _patching.names()})


def status():
    """``fast_langgraph.patch_status()``."""
    from fast_langgraph import _patching

    return _patching.status(state)


def autoload():
    """Zero-argument entry point, equivalent to the ``.pth`` line. Never raises."""
    global state
    try:
        if _switches.disabled():
            state = "disabled"
            return
        start("site")
    except Exception:
        pass

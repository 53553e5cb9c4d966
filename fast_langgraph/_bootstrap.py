"""Autoload bootstrap: stdlib only, nearly free, unable to raise.

``fast_langgraph.pth`` (installed as ``fast_langgraph_autoload.pth``) holds an
inline copy of :class:`FastLangGraphAutoload`: importing any module from a
``.pth`` costs ~1.5 ms per interpreter start, inline code ~0.4 ms. When
``FAST_LANGGRAPH`` is 0/false/off/no it does nothing else. Otherwise it puts a
meta-path watcher first in ``sys.meta_path``; the first import of ``langgraph``
or ``langchain_core`` calls :func:`on_trigger`, which loads wrapt and the patch
registry (``fast_langgraph._patching``) so that post-import hooks exist before
any LangGraph submodule is imported.

:func:`autoload` is the zero-argument equivalent for ``.start`` files
(PEP 829, Python >= 3.15) and for embedders.
"""

import os
import sys

#: Values of ``FAST_LANGGRAPH`` that turn every patch off.
OFF_VALUES = frozenset(("0", "false", "off", "no"))
ON_VALUES = frozenset(("1", "true", "on", "yes"))
#: Top-level packages whose first import wakes the accelerator up.
TRIGGER_PACKAGES = ("langgraph", "langchain_core")

#: What the bootstrap did in this process, for the doctor:
#: "not run", "disabled", "waiting", "activated", or "failed: <error>".
state = "not run"
#: Who armed it: "site" (.pth / .start autoload) or "explicit" (fast_langgraph.patch()).
origin = None


def disabled_by_env(environ=os.environ):
    """True when ``FAST_LANGGRAPH`` is 0/false/off/no (any case, surrounding blanks ignored)."""
    return environ.get("FAST_LANGGRAPH", "").strip().lower() in OFF_VALUES


def strict_mode(environ=os.environ):
    """``FAST_LANGGRAPH_STRICT=1``: our own internal errors raise instead of being logged (for CI)."""
    return environ.get("FAST_LANGGRAPH_STRICT", "").strip().lower() in ON_VALUES


#: Default of :func:`sqlite_fork_timeout`, in seconds.
SQLITE_FORK_TIMEOUT = 5.0


def sqlite_fork_timeout(environ=os.environ):
    """``FAST_LANGGRAPH_SQLITE_FORK_TIMEOUT``: seconds ``os.fork()`` waits for the SQLite work
    of ``RustSqliteSaver``s in flight (a number >= 0; default 5, also for anything else)."""
    try:
        value = float(environ.get("FAST_LANGGRAPH_SQLITE_FORK_TIMEOUT", ""))
    except ValueError:
        return SQLITE_FORK_TIMEOUT
    return value if value >= 0 else SQLITE_FORK_TIMEOUT


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
        if strict_mode():
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


def autoload():
    """Zero-argument entry point, equivalent to the ``.pth`` line. Never raises."""
    global state
    try:
        if disabled_by_env():
            state = "disabled"
            return
        start("site")
    except Exception:
        pass

"""Loads the Rust core (``fast_langgraph._core``) on first use and remembers why it could not."""

from __future__ import annotations

from types import ModuleType
from typing import Optional

from fast_langgraph._version import __version__

_core: Optional[ModuleType] = None
_error: Optional[str] = None
_tried = False


def load_core() -> Optional[ModuleType]:
    """The Rust core module, or None when it cannot be loaded (see :func:`core_error`)."""
    global _core, _error, _tried
    if not _tried:
        _tried = True
        try:
            from fast_langgraph import _core as core
        except Exception as exc:  # ImportError, OSError from a bad .so, ...
            _error = "Rust core not loadable: %s: %s" % (type(exc).__name__, exc)
        else:
            if core.__version__ != __version__:
                _error = "Rust core %s does not match fast_langgraph %s; reinstall the package" % (
                    core.__version__,
                    __version__,
                )
            else:
                _core = core
    return _core


def core_error() -> Optional[str]:
    """Why the Rust core is unavailable, or None when it loaded."""
    load_core()
    return _error

"""Loads the Rust core (``fast_langgraph._core``) on first use and remembers why it could not.

The one place that imports ``_core``: it also checks that the compiled core is the one
built for this Python package. Code that needs a core function or class imports it from
here (typed by the stub, ``_core.pyi``, for the names listed at the end of this module)::

    from fast_langgraph._rust import LruCache, make_key   # at module level, or inside a function

and code that needs the module itself calls ``require_core()``. Both raise
:class:`ImportError` saying why the core is unavailable. Code that can run without the core asks :func:`load_core` (None
then) or :func:`core_error`.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any, Optional

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


def require_core() -> ModuleType:
    """The Rust core module; :class:`ImportError` with the reason when it cannot be loaded."""
    core = load_core()
    if core is None:
        raise ImportError("fast_langgraph: %s" % _error)
    return core


if TYPE_CHECKING:  # the core's names importable from here, with the stub's types (list one to import it)
    from fast_langgraph._core import (
        CachedFunction as CachedFunction,
        LruCache as LruCache,
        ManualClock as ManualClock,
        MessageExtHook as MessageExtHook,
        MessageMerger as MessageMerger,
        SqliteCheckpointStore as SqliteCheckpointStore,
        WritesApplier as WritesApplier,
        deep_merge as deep_merge,
        langgraph_state_update as langgraph_state_update,
        make_key as make_key,
        message_cache_clear as message_cache_clear,
        message_cache_info as message_cache_info,
        message_codec_configure as message_codec_configure,
        msgpack_encode as msgpack_encode,
        msgpack_unpackb as msgpack_unpackb,
        sqlite_after_fork as sqlite_after_fork,
        sqlite_before_fork as sqlite_before_fork,
    )
else:

    def __getattr__(name: str) -> Any:
        # `from fast_langgraph._rust import LruCache`: the core's attribute through the checked
        # loader, so importing a module that needs the core fails there, saying why.
        if name.startswith("_"):
            raise AttributeError("module %r has no attribute %r" % (__name__, name))
        return getattr(require_core(), name)

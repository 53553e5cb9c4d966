"""Post-import hooks: call a function right after a named module has been imported.

The same mechanism as wrapt's ``register_post_import_hook`` (a meta-path finder that
wraps the real loader of the watched modules), in the few lines the patches need:
importing wrapt 2.x at activation also loads asyncio, importlib.metadata and wrapt's
caching and synchronization modules, which cost LangGraph's first import tens of ms.

Stdlib only (``sys``, ``threading``). Hooks run outside the lock, in the importing thread,
after the module's code has run and before the import statement returns. A module that
is already imported gets its hook at once.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable, Dict, List, Optional, Set

Hook = Callable[[Any], None]

_lock = threading.RLock()
#: module name -> hooks still to call when it is imported
_pending: Dict[str, List[Hook]] = {}
_finder: Optional["PostImportFinder"] = None


def register(name: str, hook: Hook) -> None:
    """Call ``hook(module)`` once ``name`` is imported (now, if it already is)."""
    global _finder
    with _lock:
        if _finder is None:
            _finder = PostImportFinder()
            sys.meta_path.insert(0, _finder)
        module = sys.modules.get(name)
        if module is None:
            _pending.setdefault(name, []).append(hook)
    if module is not None:  # outside the lock: a hook may import in another thread
        hook(module)


def _notify(module: Any) -> None:
    with _lock:
        hooks = _pending.pop(str(getattr(module, "__name__", "")), [])
    for hook in hooks:
        hook(module)


class _ChainedLoader:
    """Runs the real loader, then the module's hooks; everything else is the real loader's."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> Any:  # get_source, is_package, get_resource_reader, ...
        return getattr(self.loader, name)

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        # The module's own code sees its real loader, as without us.
        if getattr(module, "__loader__", None) is self:
            try:
                module.__loader__ = self.loader
            except AttributeError:
                pass
        spec = getattr(module, "__spec__", None)
        if spec is not None and getattr(spec, "loader", None) is self:
            spec.loader = self.loader
        self.loader.exec_module(module)
        _notify(module)


class PostImportFinder:
    """Meta-path finder that finds nothing itself: for a watched module it asks the
    finders after it and wraps the loader they return."""

    def __init__(self) -> None:
        self._in_progress: Set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        with _lock:
            if fullname not in _pending or fullname in self._in_progress:
                return None
            self._in_progress.add(fullname)
        try:
            spec = None
            for finder in list(sys.meta_path):
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            loader = getattr(spec, "loader", None)
            # Only loaders of the modern protocol; anything else imports as without us.
            if loader is None or not hasattr(loader, "exec_module") or isinstance(loader, _ChainedLoader):
                return spec
            spec.loader = _ChainedLoader(loader)  # type: ignore[union-attr]
            return spec
        finally:
            with _lock:
                self._in_progress.discard(fullname)

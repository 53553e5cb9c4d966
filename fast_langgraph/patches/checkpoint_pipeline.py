"""Patch how LangGraph's sync loop schedules its checkpoint saves (LangGraph 1.2).

The loop saves in the background: each checkpoint ``put`` (``_checkpointer_put_after_previous``)
and each task's ``put_writes`` is a task of its ``BackgroundExecutor``, and a checkpoint's
``put`` first waits for the one before it to have returned.

* ``SyncPregelLoop._checkpointer_put_after_previous``: on ``RustSqliteSaver``, the save goes to
  ``RustSqliteSaver._put_after``, which waits only until the save before it is *queued*, so
  saves that queue up while another commits share the next transaction (one fsync), instead
  of one transaction per save, one after another, each handed between threads through the GIL.
* ``BackgroundExecutor.submit``: on a plain ``InMemorySaver`` (which does no I/O), those two
  tasks run as the loop submits them, in the submitting thread, instead of in a worker that
  needs the GIL the loop holds: what a worker scheduled at once would do. The task is still a
  future of the executor, done with the same result or exception, so the loop and the run's
  exit see what they see with a worker.

Rows, their order, what a failed save stops and raises, and when the run returns are the loop's
own. Any other saver, subclasses, a ``put``/``put_writes`` replaced on the class or the instance
(instrumentation sees every call), a custom ``serde`` on ``InMemorySaver``, and a save that
waits for delta-channel writes not yet done run LangGraph's code.
"""

from __future__ import annotations

import concurrent.futures
import sys
from contextvars import copy_context
from typing import Any, Callable, Set

from fast_langgraph.patches._source import require_source
from fast_langgraph.patches._spec import PatchSkipped, Target

LOOP = "langgraph.pregel._loop"
EXECUTOR = "langgraph.pregel._executor"
SAVER_MODULE = "fast_langgraph.sqlite_saver"
MEMORY_MODULE = "langgraph.checkpoint.memory"
JSONPLUS_MODULE = "langgraph.checkpoint.serde.jsonplus"

#: Source digests as verified (LangGraph 1.2.24).
VERIFIED = {
    "SyncPregelLoop._checkpointer_put_after_previous": ("48e963eb32f32061",),
    "BackgroundExecutor.submit": ("97e273c3b0caa88f",),
}
MODULES = {
    "SyncPregelLoop._checkpointer_put_after_previous": LOOP,
    "BackgroundExecutor.submit": EXECUTOR,
}

#: Our ``_checkpointer_put_after_previous`` functions (one per original patched).
_PUT_AFTER_PREVIOUS: Set[Any] = set()


def make_put_after_previous(original: Callable[..., Any]) -> Callable[..., Any]:
    def _checkpointer_put_after_previous(
        self: Any,
        prev: Any,
        delta_write_futs: Any,
        config: Any,
        checkpoint: Any,
        metadata: Any,
        new_versions: Any,
    ) -> Any:
        saver = self.checkpointer
        # The saver module is loaded whenever one of its savers exists.
        module = sys.modules.get(SAVER_MODULE)
        if delta_write_futs or module is None or not module.takes_queued_saves(saver):
            return original(self, prev, delta_write_futs, config, checkpoint, metadata, new_versions)
        saver._put_after(prev, config, checkpoint, metadata)

    _checkpointer_put_after_previous.__wrapped__ = original  # type: ignore[attr-defined]
    _checkpointer_put_after_previous.__doc__ = original.__doc__
    _PUT_AFTER_PREVIOUS.add(_checkpointer_put_after_previous)
    return _checkpointer_put_after_previous


def _own_method(saver: Any, name: str) -> bool:
    method = getattr(type(saver), name, None)
    return (
        getattr(method, "__module__", None) == MEMORY_MODULE
        and getattr(method, "__qualname__", None) == "InMemorySaver." + name
        and name not in saver.__dict__
    )


def plain_memory_saver(saver: Any) -> bool:
    """``InMemorySaver`` itself, its own ``put``/``put_writes``, LangGraph's serializer."""
    memory, jsonplus = sys.modules.get(MEMORY_MODULE), sys.modules.get(JSONPLUS_MODULE)
    return (
        memory is not None
        and jsonplus is not None
        and type(saver) is getattr(memory, "InMemorySaver", None)
        and type(getattr(saver, "serde", None)) is getattr(jsonplus, "JsonPlusSerializer", None)
        and _own_method(saver, "put")
        and _own_method(saver, "put_writes")
    )


def saves_in_memory(fn: Any, args: Any) -> bool:
    """Whether ``fn(*args)`` is the loop's checkpoint save or task-writes save on a plain
    ``InMemorySaver``, with nothing left to wait for."""
    func = getattr(fn, "__func__", None)
    if func is None:
        return False
    owner = fn.__self__
    if func in _PUT_AFTER_PREVIOUS:
        prev, delta_write_futs = args[0], args[1]
        return (
            plain_memory_saver(owner.checkpointer)
            and (prev is None or prev.done())
            and all(f.done() for f in delta_write_futs)
        )
    return getattr(func, "__qualname__", None) == "InMemorySaver.put_writes" and plain_memory_saver(owner)


def make_submit(original: Callable[..., Any]) -> Callable[..., Any]:
    def submit(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        # The loop submits its saves without keywords; node tasks come with some.
        if kwargs or not saves_in_memory(fn, args):
            return original(self, fn, *args, **kwargs)
        # What a worker would do (in a copy of the context), done now; then registered as
        # LangGraph's submit registers a task (its defaults: reraised on exit, not cancelled).
        # KeyboardInterrupt and the like propagate: they interrupt the run here, as anywhere
        # in the loop's thread.
        task: concurrent.futures.Future = concurrent.futures.Future()
        task.set_running_or_notify_cancel()
        try:
            result = copy_context().run(fn, *args)
        except Exception as exc:
            task.set_exception(exc)
            del exc
        else:
            task.set_result(result)
        self.tasks[task] = (False, True)
        task.add_done_callback(self.done)
        return task

    submit.__wrapped__ = original  # type: ignore[attr-defined]
    submit.__doc__ = original.__doc__
    return submit


_made: dict = {}
_MAKERS = {
    "SyncPregelLoop._checkpointer_put_after_previous": make_put_after_previous,
    "BackgroundExecutor.submit": make_submit,
}


def replacement(target: Target, original: Any) -> Any:
    name = target.attribute
    if getattr(original, "__module__", None) != MODULES[name] or getattr(original, "__qualname__", None) != name:
        raise PatchSkipped("%s is %r, not LangGraph's own; left alone" % (target.qualname, original))
    require_source(original, VERIFIED[name], target.qualname)
    if id(original) not in _made:
        _made[id(original)] = _MAKERS[name](original)
    return _made[id(original)]

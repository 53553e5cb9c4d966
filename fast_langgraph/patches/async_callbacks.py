"""Patch the async callback events LangGraph fires for every task when no callback is configured.

On the async path every node run ends with ``await run_manager.on_chain_end(output)``
(and every chat model call with ``on_llm_end``). langchain-core decorates those
methods with ``shielded``: each call copies the context, creates a Task for the
method body and awaits it through ``asyncio.shield``, although with an empty handler
list the body only returns. Every ``on_chain_start`` and the other events of an async
manager await ``ahandle_event``, which, with no handlers, loops over nothing and awaits
``asyncio.gather()`` of nothing (a finished future: no suspension).

* ``ahandle_event``: with an empty handler list (an exact ``list``) the fast path returns
  ``None`` at once, which is what the original does without a suspension point.
  Anything else is the original.
* The ``shielded`` event methods (``on_chain_end``/``on_chain_error``,
  ``on_llm_end``/``on_llm_error``, ``on_retriever_end``/``on_retriever_error``): when the
  manager's handler list is an exact, empty ``list`` and the loop has no task factory
  (an eager one would run the original's body inside ``create_task``), the fast path suspends the caller
  for the same three event-loop iterations the original's Task + shield take (its body
  runs one iteration later, its result reaches the shield the next, the shield wakes the
  caller the one after), at the same places in the ready queue, so every other task runs
  in the same order as before; a cancellation arrives at the same ``await``. The
  coroutine of the original body is created at call time as the original does (argument
  errors raise in the same place) and closed unstarted. If a handler appears in the one
  iteration before the original would have looked, the body runs in a shielded Task in
  the context copied at call time (one iteration later than the original would have).
  With handlers, everything is the original.

What differs: fewer Task objects exist (``asyncio.all_tasks()`` during those iterations,
and the numbers in later auto-generated ``Task-N`` names).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import types
from typing import Any, Callable, Dict

from fast_langgraph.patches._source import require_source
from fast_langgraph.patches._spec import PatchSkipped, Target

MANAGER = "langchain_core.callbacks.manager"

#: Source digests of the functions the fast paths stand for (langchain-core 1.8.3).
VERIFIED: Dict[str, tuple] = {
    "ahandle_event": ("d7e942231aa70081",),
    "shielded": ("2024513a807039ff",),
    "AsyncCallbackManagerForChainRun.on_chain_end": ("9b16be4bd3460f0d",),
    "AsyncCallbackManagerForChainRun.on_chain_error": ("f8d360b2889848d6",),
    "AsyncCallbackManagerForLLMRun.on_llm_end": ("fb1ace3f68397fee",),
    "AsyncCallbackManagerForLLMRun.on_llm_error": ("8a345e94f7555251",),
    "AsyncCallbackManagerForRetrieverRun.on_retriever_end": ("cf25440e864e1f73",),
    "AsyncCallbackManagerForRetrieverRun.on_retriever_error": ("382a074b83bc9b05",),
}

_copy_context = contextvars.copy_context
_running_loop = asyncio.get_running_loop
_create_task = asyncio.create_task
_shield = asyncio.shield


@types.coroutine
def _one_iteration() -> Any:
    # A bare yield: the Task reschedules itself with call_soon (one loop iteration).
    yield


def make_ahandle_event(original: Callable[..., Any]) -> Callable[..., Any]:
    async def ahandle_event(
        handlers: Any, event_name: str, ignore_condition_name: Any, *args: Any, **kwargs: Any
    ) -> None:
        if not handlers and type(handlers) is list:
            return None
        return await original(handlers, event_name, ignore_condition_name, *args, **kwargs)

    ahandle_event.__wrapped__ = original  # type: ignore[attr-defined]
    ahandle_event.__name__ = original.__name__
    ahandle_event.__qualname__ = original.__qualname__
    ahandle_event.__doc__ = original.__doc__
    return ahandle_event


def make_shielded_event(original: Callable[..., Any]) -> Callable[..., Any]:
    """A ``shielded`` event method that skips the Task and shield when there is no handler."""
    body = original.__wrapped__  # type: ignore[attr-defined]

    async def event(self: Any, *args: Any, **kwargs: Any) -> Any:
        handlers = self.handlers
        # A task factory (e.g. 3.12's eager_task_factory) may run the body inside
        # create_task and change how many iterations the original waits: use it.
        if handlers or type(handlers) is not list or _running_loop().get_task_factory() is not None:
            return await original(self, *args, **kwargs)
        ctx = _copy_context()
        coro = body(self, *args, **kwargs)
        try:
            await _one_iteration()  # where the original's Task runs its body
            if self.handlers or type(self.handlers) is not list:
                task = _create_task(coro, context=ctx)  # type: ignore[call-arg]  # 3.11+, as langchain-core's own shielded
                coro = None
                return await _shield(task)
            await _one_iteration()  # the body's result reaches the shield
            await _one_iteration()  # the shield wakes the caller
            return None
        finally:
            if coro is not None:
                coro.close()

    event.__wrapped__ = original  # type: ignore[attr-defined]
    for attr in ("__name__", "__qualname__", "__doc__"):
        setattr(event, attr, getattr(original, attr))
    return event


def _is_shielded(original: Any, module: Any) -> bool:
    shielded = getattr(module, "shielded", None)
    if shielded is None or not hasattr(original, "__wrapped__"):
        return False

    async def probe() -> None:
        return None

    return getattr(original, "__code__", None) is shielded(probe).__code__


def replacement(target: Target, original: Any) -> Any:
    import sys

    module = sys.modules[MANAGER]
    if target.attribute == "ahandle_event":
        if getattr(original, "__module__", None) != MANAGER or not inspect.iscoroutinefunction(original):
            raise PatchSkipped("%s is %r, not langchain-core's own; left alone" % (target.qualname, original))
        require_source(original, VERIFIED["ahandle_event"], target.qualname)
        return make_ahandle_event(original)
    if target.attribute in VERIFIED:
        if getattr(original, "__module__", None) != MANAGER or not _is_shielded(original, module):
            raise PatchSkipped(
                "%s is %r, not langchain-core's shielded method; left alone" % (target.qualname, original)
            )
        require_source(module.shielded, VERIFIED["shielded"], MANAGER + ".shielded")
        require_source(original.__wrapped__, VERIFIED[target.attribute], target.qualname)
        return make_shielded_event(original)
    raise PatchSkipped("no replacement for %s" % target.qualname)

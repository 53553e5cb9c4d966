"""Wrapping: the functions that time LangGraph's calls while a profile is open.

Every wrapper of a plain or async function is generated from one template per kind
(``span``, ``saver``, ``node``, ``tick``, ``commit``) with the exact parameters of the
function it wraps, like the ``decorator`` package does: a ``(*args, **kwargs)``
wrapper costs about three times as much per call, and these run on every serializer,
saver, channel-update, task and tick call of a profiled run. A signature the template
cannot copy (``*args``, ``**kwargs``, keyword-only parameters) gets the same template
with ``(*args, **kwargs)``. Generators (a saver's ``list``/``alist``) are timed per
item; ``Pregel.stream``/``astream``/``invoke``/``ainvoke`` open and close runs.

Where the wrapped functions are and how they are swapped is
:mod:`fast_langgraph.profiler.instrument`'s job (through :mod:`fast_langgraph._patching`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from typing import Any, AsyncIterator, Callable, Dict, Generator, Iterator, Optional, Tuple

from fast_langgraph import _patching
from fast_langgraph.profiler.runs import (
    _CHANNELS,
    _NESTED,
    _SAVER,
    _SERDE,
    Session,
    _current,
    _Frame,
    _orphan_tasks,
    _perf,
    _profilers_now,
    _Run,
    _via_invoke,
)

#: Marks our wrappers: one found in place (someone wrapped ours) is left as it is.
MARK = "__fast_langgraph_profiler__"
SAVER_METHODS = ("put", "put_writes", "get_tuple", "list", "aput", "aput_writes", "aget_tuple", "alist")
_CHECKPOINTER_KEY = "__pregel_checkpointer"  # CONFIG_KEY_CHECKPOINTER, 0.2 to 1.2

_TEMPLATES = {
    "span": """
{async_}def {name}({params}):
    _flg_run = _flg_current.get()
    if _flg_run is None or _flg_run is _flg_NESTED:
        return {await_}_flg_original({args})
    _flg_start = _flg_perf()
    try:
        return {await_}_flg_original({args})
    finally:
        if _flg_run.__class__ is _flg_Frame:
            if _flg_kind == _flg_SERDE:
                _flg_run.serde += _flg_perf() - _flg_start
        else:
            _flg_run.spans += (_flg_kind, _flg_start, _flg_perf())
""",
    "saver": """
{async_}def {name}({params}):
    _flg_run = _flg_current.get()
    if _flg_run is None or _flg_run is _flg_NESTED:
        return {await_}_flg_original({args})
    _flg_frame = _flg_Frame()
    _flg_token = _flg_current.set(_flg_frame)
    _flg_start = _flg_perf()
    try:
        return {await_}_flg_original({args})
    finally:
        _flg_end = _flg_perf()
        _flg_current.reset(_flg_token)
        if _flg_run.__class__ is _flg_Frame:
            _flg_run.serde += _flg_frame.serde
        else:
            _flg_run.saver += (_flg_start, _flg_end, _flg_frame.serde)
""",
    "node": """
{async_}def {name}({params}):
    _flg_run = _flg_current.get()
    if _flg_run.__class__ is not _flg_Run:
        return {await_}_flg_original({args})
    _flg_token = _flg_current.set(_flg_NESTED)
    _flg_start = _flg_perf()
    try:
        return {await_}_flg_original({args})
    finally:
        _flg_end = _flg_perf()
        _flg_current.reset(_flg_token)
        _flg_run.nodes += (_flg_getattr({first}, "name", "?"), _flg_run.current_step, _flg_start, _flg_end)
        if {check_thread} and _flg_run.thread != _flg_get_ident():
            _flg_orphan_tasks[_flg_id({first})] = ({first}, _flg_run)
            _flg_run.orphans.append(_flg_id({first}))
""",
    "tick": """
def {name}({params}):
    _flg_run = _flg_current.get()
    if _flg_run.__class__ is not _flg_Run:
        return _flg_original({args})
    _flg_start = _flg_perf()
    _flg_more = False
    try:
        _flg_more = _flg_original({args})
        return _flg_more
    finally:
        _flg_step = _flg_getattr({first}, "step", None) if _flg_more else None
        _flg_run.current_step = _flg_step
        _flg_run.ticks += (_flg_start, _flg_step)
""",
    "commit": """
def {name}({params}):
    if _flg_current.get() is not None or not _flg_orphan_tasks:
        return _flg_original({args})
    _flg_entry = _flg_orphan_tasks.pop(_flg_id({second}), None)
    if _flg_entry is None or _flg_entry[0] is not {second}:
        return _flg_original({args})
    _flg_token = _flg_current.set(_flg_entry[1])
    try:
        return _flg_original({args})
    finally:
        _flg_current.reset(_flg_token)
""",
}

# Per (original function, template): a profile_run() around every invoke stays cheap.
_prepared: Dict[Tuple[Any, str], Tuple[Any, str, Dict[str, Any], bool]] = {}


def _make(original: Callable[..., Any], template: str, **env: Any) -> Callable[..., Any]:
    """``original`` wrapped by ``_TEMPLATES[template]``."""
    try:
        prepared = _prepared.get((original, template))
    except TypeError:  # an unhashable callable: build it every time
        prepared = _prepare(original, template)
    else:
        if prepared is None:
            prepared = _prepared[(original, template)] = _prepare(original, template)
    code, name, defaults, is_async = prepared
    namespace = dict(
        defaults,
        _flg_original=original,
        _flg_current=_current,
        _flg_perf=_perf,
        _flg_NESTED=_NESTED,
        _flg_Run=_Run,
        _flg_Frame=_Frame,
        _flg_SERDE=_SERDE,
        _flg_orphan_tasks=_orphan_tasks,
        _flg_get_ident=threading.get_ident,
        _flg_is_async=is_async,
        _flg_getattr=getattr,  # not the builtins by name: a parameter could be called "id"
        _flg_id=id,
        **{"_flg_" + k: v for k, v in env.items()},
    )
    exec(code, namespace)
    return functools.update_wrapper(namespace[name], original)


def _parameters(
    original: Callable[..., Any], template: str
) -> Optional[Tuple[str, str, Dict[str, Any], Tuple[str, ...]]]:
    """``original``'s parameters for a template: (definition, call, defaults, names), or
    None when they cannot be copied (``*args``, ``**kwargs``, keyword-only, too few)."""
    try:
        parameters = list(inspect.signature(original, follow_wrapped=False).parameters.values())
    except (TypeError, ValueError):
        return None
    names, defs = [], []
    defaults: Dict[str, Any] = {}
    for i, p in enumerate(parameters):
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) or p.name.startswith("_flg_"):
            return None
        names.append(p.name)
        if p.default is p.empty:
            defs.append(p.name)
        else:
            defaults["_flg_default_%d" % i] = p.default
            defs.append("%s=_flg_default_%d" % (p.name, i))
    if len(names) < (2 if template == "commit" else 1):
        return None
    return ", ".join(defs), ", ".join(names), defaults, tuple(names)


def _prepare(original: Callable[..., Any], template: str) -> Tuple[Any, str, Dict[str, Any], bool]:
    """The compiled wrapper source for ``original`` (its own parameters, else ``*args, **kwargs``)."""
    is_async = inspect.iscoroutinefunction(original) and template != "tick"
    exact = _parameters(original, template)
    if exact is not None:
        params, args, defaults, names = exact
        first, second = names[0], names[1] if len(names) > 1 else names[0]
    else:
        params = args = "*_flg_args, **_flg_kwargs"
        defaults, first, second = {}, "_flg_args[0]", "_flg_args[1]"
    name = getattr(original, "__name__", "wrapper")
    if not name.isidentifier():
        name = "wrapper"
    source = _TEMPLATES[template].format(
        name=name,
        params=params,
        args=args,
        first=first,
        second=second,
        async_="async " if is_async else "",
        await_="await " if is_async else "",
        check_thread="not _flg_is_async",
    )
    code = compile(source, "<fast_langgraph.profiler: %s wrapper>" % template, "exec")
    return code, name, defaults, is_async


def _stream_wrapper(name: str, original: Callable[..., Generator[Any, Any, Any]]) -> Callable[..., Iterator[Any]]:
    @functools.wraps(original)
    def stream(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        run = None if _current.get() is not None else _new_run(self, args, kwargs, "sync")
        if run is None:  # nested in a profiled node, or nobody profiling
            return (yield from original(self, *args, **kwargs))
        error: Optional[BaseException] = None
        if run.entry == "invoke":
            # Pregel.invoke consumes the chunks: its loop is framework time as well, so the
            # run stays current throughout (cheaper than switching at every chunk).
            token = _current.set(run)
            try:
                return (yield from original(self, *args, **kwargs))
            except BaseException as exc:
                error = exc
                raise
            finally:
                with contextlib.suppress(ValueError):  # finalized from another context
                    _current.reset(token)
                run.finish(error)
        # A caller iterating stream(): its time between chunks is not the graph's.
        inner = original(self, *args, **kwargs)
        try:
            while True:
                token = _current.set(run)
                try:
                    item = next(inner)
                except StopIteration as stop:
                    return stop.value
                finally:
                    _current.reset(token)
                paused = _perf()
                yield item
                run.gaps += (paused, _perf())
        except BaseException as exc:
            error = exc
            raise
        finally:
            token = _current.set(run)
            try:
                inner.close()
            finally:
                _current.reset(token)
                run.finish(error)

    return stream


def _astream_wrapper(name: str, original: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    @functools.wraps(original)
    async def astream(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        run = None if _current.get() is not None else _new_run(self, args, kwargs, "async")
        if run is None:
            async for item in original(self, *args, **kwargs):
                yield item
            return
        error: Optional[BaseException] = None
        if run.entry == "invoke":  # as in stream(): Pregel.ainvoke consumes the chunks
            token = _current.set(run)
            try:
                async for item in original(self, *args, **kwargs):
                    yield item
                return
            except BaseException as exc:
                error = exc
                raise
            finally:
                with contextlib.suppress(ValueError):
                    _current.reset(token)
                run.finish(error)
        inner = original(self, *args, **kwargs)
        try:
            while True:
                token = _current.set(run)
                try:
                    item = await inner.__anext__()
                except StopAsyncIteration:
                    return
                finally:
                    _current.reset(token)
                paused = _perf()
                yield item
                run.gaps += (paused, _perf())
        except BaseException as exc:
            error = exc
            raise
        finally:
            token = _current.set(run)
            try:
                await inner.aclose()  # type: ignore[attr-defined]
            finally:
                _current.reset(token)
                run.finish(error)

    return astream


def _invoke_wrapper(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def invoke(self: Any, *args: Any, **kwargs: Any) -> Any:
        token = _via_invoke.set(True)
        try:
            return original(self, *args, **kwargs)
        finally:
            _via_invoke.reset(token)

    return invoke


def _ainvoke_wrapper(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def ainvoke(self: Any, *args: Any, **kwargs: Any) -> Any:
        token = _via_invoke.set(True)
        try:
            return await original(self, *args, **kwargs)
        finally:
            _via_invoke.reset(token)

    return ainvoke


def _node_wrapper(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    return _make(original, "node")


def _commit_wrapper(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    return _make(original, "commit")


def _tick_wrapper(name: str, original: Callable[..., bool]) -> Callable[..., bool]:
    return _make(original, "tick")


def _record(run: Any, kind: int, start: float, end: float) -> None:
    if run.__class__ is _Frame:  # inside a saver call: only its serialization is kept apart
        if kind == _SERDE:
            run.serde += end - start
    else:
        run.spans += (kind, start, end)


def _span_wrapper(original: Callable[..., Any], kind: int) -> Callable[..., Any]:
    """Time every call of ``original`` under span ``kind`` (sync, async, generators alike)."""
    if inspect.isasyncgenfunction(original):

        @functools.wraps(original)
        async def agen(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            run = _current.get()
            inner = original(*args, **kwargs)
            while True:
                start = _perf()
                try:
                    item = await inner.__anext__()
                except StopAsyncIteration:
                    return
                finally:
                    if run is not None and run is not _NESTED:
                        _record(run, kind, start, _perf())
                yield item

        return agen
    if inspect.isgeneratorfunction(original):

        @functools.wraps(original)
        def gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
            run = _current.get()
            if run is None or run is _NESTED:
                return (yield from original(*args, **kwargs))
            inner = original(*args, **kwargs)
            while True:
                start = _perf()
                try:
                    item = next(inner)
                except StopIteration as stop:
                    return stop.value
                finally:
                    _record(run, kind, start, _perf())
                yield item

        return gen
    return _make(original, "span", kind=kind)


def _saver_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    """Time a checkpointer method; the serialization inside it is recorded as one number with
    the call instead of a span per ``dumps_typed`` (fewer events to sort at the end of a run)."""
    if inspect.isasyncgenfunction(original) or inspect.isgeneratorfunction(original):
        return _span_wrapper(original, _SAVER)  # list/alist: timed per item, serialization spans kept
    return _make(original, "saver")


#: (area, attribute name) -> wrapper factory ``(name, original) -> wrapper``.
WRAPPERS: Dict[Tuple[str, str], Callable[[str, Any], Any]] = {
    ("runs", "stream"): _stream_wrapper,
    ("runs", "astream"): _astream_wrapper,
    ("runs", "invoke"): _invoke_wrapper,
    ("runs", "ainvoke"): _ainvoke_wrapper,
    ("nodes", "run_with_retry"): _node_wrapper,
    ("nodes", "arun_with_retry"): _node_wrapper,
    ("nodes", "commit"): _commit_wrapper,
    ("supersteps", "tick"): _tick_wrapper,
    ("channel_updates", "apply_writes"): lambda name, original: _span_wrapper(original, _CHANNELS),
    ("checkpoint_serialization", "dumps_typed"): lambda name, original: _span_wrapper(original, _SERDE),
    ("checkpoint_serialization", "loads_typed"): lambda name, original: _span_wrapper(original, _SERDE),
}


def wrap(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    """Replace ``owner.name`` by ``make(original)`` through the registry's rebinding, and
    keep its undo for the end of the session."""
    original = vars(owner)[name]
    if getattr(original, MARK, False):
        return  # a wrapper left in place by someone who wrapped ours: still active, keep it
    wrapper = make(original)
    setattr(wrapper, MARK, True)
    Session.restores.append(_patching.rebind(owner, name, wrapper))


def _ensure_saver(checkpointer: Any) -> None:
    """Wrap the I/O methods of this checkpointer's class (once per class per session)."""
    if checkpointer is None or isinstance(checkpointer, bool) or type(checkpointer) in Session.saver_classes:
        return
    cls = type(checkpointer)
    try:
        from langgraph.checkpoint.base import BaseCheckpointSaver
    except Exception:
        return
    if not isinstance(checkpointer, BaseCheckpointSaver):
        return
    with Session.lock:
        if Session.depth == 0 or cls in Session.saver_classes:
            return
        for name in SAVER_METHODS:
            owner = next((k for k in cls.__mro__ if name in vars(k)), None)
            if owner is None or owner is object or not inspect.isfunction(vars(owner)[name]):
                continue
            try:
                wrap(owner, name, _saver_wrapper)
            except Exception:
                pass  # this method stays unmeasured; its time counts as scheduling
        Session.saver_classes = Session.saver_classes | {cls}


def _new_run(graph: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any], mode: str) -> Optional[_Run]:
    profilers = _profilers_now()
    if not profilers:
        return None
    config = args[1] if len(args) > 1 else kwargs.get("config")
    try:
        _ensure_saver(getattr(graph, "checkpointer", None))
        if isinstance(config, dict):
            _ensure_saver((config.get("configurable") or {}).get(_CHECKPOINTER_KEY))
    except Exception:
        pass
    measured = {area for area, problem in Session.availability.items() if problem is None}
    name = getattr(graph, "name", None) or type(graph).__name__
    return _Run(str(name), mode, "invoke" if _via_invoke.get() else "stream", profilers, measured)

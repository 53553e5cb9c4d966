"""Where a LangGraph run spends its time: :class:`GraphProfiler`.

::

    from fast_langgraph import GraphProfiler

    profiler = GraphProfiler()
    with profiler.profile_run():
        graph.invoke(inputs, config)          # sync or async (ainvoke, stream, astream)
    profiler.print_report()                   # terminal table
    profiler.to_dict()                        # the same, JSON-safe
    profiler.to_html("timeline.html")         # self-contained timeline

For every top-level ``invoke``/``stream`` (and their async forms) made while a
``profile_run()`` block is open, the profiler records the wall time of each node
(task), of each superstep, and the framework overhead: the wall time of the run
during which no node was running, split into

* ``checkpoint_serialization``: ``JsonPlusSerializer.dumps_typed`` / ``loads_typed``;
* ``saver_io``: the checkpointer's ``put``, ``put_writes``, ``get_tuple``, ``list``
  and their async forms, minus the serialization they do;
* ``channel_updates``: ``apply_writes`` (writes applied to the channels between steps);
* ``scheduling``: the rest (task preparation, the runner, streaming, callbacks).

Each instant of a run is counted once, in the first that applies of: a node running,
the caller holding a ``stream()`` between chunks ("consumer"), serialization, saver
I/O, channel updates, scheduling. So the parts add up to the run's wall time even
when the checkpoint is written in a background thread while the next nodes run.
(Serialization inside a saver call is timed as a total per call; when such a call
is partly hidden behind a running node, its visible time is split between the two
areas in proportion.)

How it works: on entering the first ``profile_run()`` the profiler wraps a handful of
LangGraph functions where LangGraph looks them up (``Pregel.stream``/``astream``/
``invoke``/``ainvoke``, ``PregelLoop.tick``, ``run_with_retry``/``arun_with_retry``
and ``PregelRunner.commit`` in the runner module, ``apply_writes`` in the loop module,
``JsonPlusSerializer.dumps_typed``/``loads_typed``, and the methods of each
checkpointer class a profiled run uses); on leaving the last one every original is
put back exactly, even on error. Whatever is installed is what gets wrapped, so it
works the same with fast_langgraph's patches on or off (``FAST_LANGGRAPH=0``). A
function that cannot be found on the installed LangGraph (0.2 to 1.2 are supported)
makes its area "unavailable" in the report; it never raises.

A subgraph, or any graph invoked from inside a node, counts as time of that node.
The profiler is also a LangChain callback handler: ``graph.invoke(x, {"callbacks":
[profiler]})`` records node and superstep times without ``profile_run()`` (the
overhead split needs ``profile_run()``).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import html
import importlib
import inspect
import json
import logging
import sys
import threading
import time
from collections import deque
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Callable,
    Deque,
    Dict,
    Generator,
    Iterator,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
)

if TYPE_CHECKING:
    from langchain_core.callbacks.base import BaseCallbackHandler as _CallbackBase
else:
    try:
        from langchain_core.callbacks.base import BaseCallbackHandler as _CallbackBase
    except ImportError:  # LangGraph absent: the profiler then has nothing to record
        _CallbackBase = object

__all__ = ["GraphProfiler", "AREAS"]

#: The framework-overhead areas, in report order (``scheduling`` is the remainder).
AREAS = ("scheduling", "channel_updates", "checkpoint_serialization", "saver_io")

_LABELS = {
    "scheduling": "scheduling (the rest)",
    "channel_updates": "channel updates (apply_writes)",
    "checkpoint_serialization": "checkpoint serialization",
    "saver_io": "saver I/O",
}

# Span kinds, highest attribution priority first.
_SERDE, _SAVER, _CHANNELS = 0, 1, 2
_KIND_AREA = ("checkpoint_serialization", "saver_io", "channel_updates")

_perf = time.perf_counter


class _Nested:
    """Marks code running inside a node: nothing there is framework overhead of the run."""

    __slots__ = ()


_NESTED = _Nested()

# The run whose framework code is executing in this context: a _Run, _NESTED (inside a
# node of a run) or None. LangGraph copies the context into its worker threads and
# tasks, so background checkpoint writes and parallel nodes see it too.
_current: contextvars.ContextVar[Any] = contextvars.ContextVar("fast_langgraph_profiler_run", default=None)
# Set by the invoke/ainvoke wrappers: the stream below is consumed by LangGraph itself.
_via_invoke: contextvars.ContextVar[bool] = contextvars.ContextVar("fast_langgraph_profiler_invoke", default=False)
# Profilers whose profile_run(all_threads=False) is open in this context.
_context_profilers: contextvars.ContextVar[Tuple["GraphProfiler", ...]] = contextvars.ContextVar(
    "fast_langgraph_profilers", default=()
)


class _Run:
    """Raw measurements of one top-level run; appended to from several threads (list.append is atomic)."""

    __slots__ = (
        "graph",
        "mode",
        "entry",
        "profilers",
        "measured",
        "thread",
        "started_at",
        "start",
        "end",
        "error",
        "ticks",
        "nodes",
        "spans",
        "saver",
        "gaps",
        "current_step",
        "orphans",
    )

    def __init__(self, graph: str, mode: str, entry: str, profilers: Tuple["GraphProfiler", ...], measured: Set[str]):
        self.graph = graph
        self.mode = mode  # "sync" | "async"
        self.entry = entry  # "invoke" | "stream" | "callback"
        self.profilers = profilers
        self.measured = measured
        self.thread = threading.get_ident()
        self.started_at = time.time()
        self.start = _perf()
        self.end = self.start
        self.error: Optional[str] = None
        # Flat lists of numbers (and node names), not lists of tuples: nothing the garbage
        # collector tracks is allocated per measurement, which keeps its work (and so the
        # profiler's overhead) down in long-running processes.
        self.ticks: List[Any] = []  # start, step (None: no tasks) per tick
        self.nodes: List[Any] = []  # name, step, start, end per task
        self.spans: List[Any] = []  # kind, start, end per serialization / channel-update call
        self.saver: List[float] = []  # start, end, serialization inside, per checkpointer call
        self.gaps: List[float] = []  # start, end per pause of the stream's consumer
        self.current_step: Optional[int] = None
        self.orphans: List[int] = []  # ids of tasks whose commit may run without our context

    def finish(self, error: Optional[BaseException] = None) -> None:
        self.end = _perf()
        if error is not None and not isinstance(error, GeneratorExit):
            self.error = "%s: %s" % (type(error).__name__, str(error)[:200])
        for key in self.orphans:
            _orphan_tasks.pop(key, None)
        try:
            summary = _summarize(self)
            for profiler in self.profilers:
                profiler._add(self, summary)
        except Exception:  # a profiler bug must not fail the user's graph call
            from fast_langgraph import _bootstrap

            if _bootstrap.strict_mode():
                raise
            logging.getLogger("fast_langgraph").warning("GraphProfiler could not record a run", exc_info=True)


# ---------------------------------------------------------------- attribution

# Sweep event codes: a class starts (0-4) or ends (8-12); 16 + i: tick i (a superstep boundary).
# Classes by priority: 0 node, 1 stream consumer, 2 serialization, 3 saver I/O, 4 channel updates.
_END, _TICK = 8, 16


def _summarize(run: _Run) -> Dict[str, Any]:
    """The JSON-safe record of one run (seconds; offsets from the run's start).

    One sweep over the sorted start/end events attributes every instant of the run to
    the highest-priority class active then (scheduling when none is): linear after the
    sort, which matters because it runs once per recorded invoke.
    """
    start, end = run.start, run.end
    names, node_steps, node_starts, node_ends = run.nodes[0::4], run.nodes[1::4], run.nodes[2::4], run.nodes[3::4]
    ticks = sorted(zip(run.ticks[0::2], run.ticks[1::2]))
    if not ticks and names:  # callback runs: supersteps from the nodes' metadata
        first: Dict[Any, float] = {}
        for step, a in zip(node_steps, node_starts):
            if step not in first or a < first[step]:
                first[step] = a
        ticks = sorted((a, step) for step, a in first.items())

    # Events as two flat lists sorted through an index: no tuple per event (cheaper, and
    # nothing for the garbage collector to scan).
    spans, saver, gaps = run.spans, run.saver, run.gaps
    tick_times = [t for t, _ in ticks]
    times = spans[1::3] + spans[2::3] + saver[0::3] + saver[1::3] + node_starts + node_ends
    times += gaps[0::2] + gaps[1::2] + tick_times
    codes = [k + 2 for k in spans[0::3]]
    codes += [k + _END for k in codes]
    codes += [_SAVER + 2] * (len(saver) // 3) + [_SAVER + 2 + _END] * (len(saver) // 3)
    codes += [0] * len(node_starts) + [_END] * len(node_ends)
    codes += [1] * (len(gaps) // 2) + [1 + _END] * (len(gaps) // 2)
    codes += range(_TICK, _TICK + len(tick_times))

    active = [0, 0, 0, 0, 0]
    acc = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # the five classes, then scheduling
    top = 5  # the highest-priority class active now (5: none, scheduling)
    mark_nodes: List[float] = []  # node time so far, at each tick
    mark_consumer: List[float] = []  # consumer time so far, at each tick
    prev = start
    for i in sorted(range(len(times)), key=times.__getitem__):
        t = times[i]
        if t > prev:
            if t > end:  # a late background event, past the run
                t = end
            acc[top] += t - prev
            prev = t
        code = codes[i]
        if code < _END:
            active[code] += 1
            if code < top:
                top = code
        elif code < _TICK:
            code -= _END
            active[code] -= 1
            if code == top and not active[code]:
                top = 5
                for lower in range(code + 1, 5):
                    if active[lower]:
                        top = lower
                        break
        else:
            mark_nodes.append(acc[0])
            mark_consumer.append(acc[1])
    if end > prev:
        acc[top] += end - prev
    mark_nodes.append(acc[0])
    mark_consumer.append(acc[1])
    seconds = acc
    saver_total = sum(saver[1::3]) - sum(saver[0::3])
    saver_serde = sum(saver[2::3])
    if saver_total > 0:  # serialization nested in saver calls was folded into them (see _saver_wrapper)
        moved = seconds[3] * min(1.0, saver_serde / saver_total)
        seconds[3] -= moved
        seconds[2] += moved

    nodes_measured = "nodes" in run.measured
    overhead: Dict[str, Optional[float]] = {
        "scheduling": seconds[5] if nodes_measured else None,
        "channel_updates": seconds[4],
        "checkpoint_serialization": seconds[2],
        "saver_io": seconds[3],
    }
    for area in AREAS[1:]:
        if area not in run.measured:
            overhead[area] = None

    node_stats: Dict[str, Dict[str, Any]] = {}
    for name, a, b in zip(names, node_starts, node_ends):
        stat = node_stats.get(name)
        if stat is None:
            stat = node_stats[name] = {"calls": 0, "total_s": 0.0, "max_s": 0.0}
        stat["calls"] += 1
        stat["total_s"] += b - a
        if b - a > stat["max_s"]:
            stat["max_s"] = b - a

    # Supersteps: five numbers each in one flat list, and the tasks as three lists (name, step,
    # duration); _expand_steps turns them into dicts when someone asks.
    steps: List[Any] = []
    for i, (t, step) in enumerate(ticks):
        if step is None:
            continue
        t_end = ticks[i + 1][0] if i + 1 < len(ticks) else end
        node_time = mark_nodes[i + 1] - mark_nodes[i]
        overhead_time = max(0.0, t_end - t - node_time - (mark_consumer[i + 1] - mark_consumer[i]))
        steps += (step, t - start, t_end - t, node_time, overhead_time)
    return {
        "graph": run.graph,
        "mode": run.mode,
        "entry": run.entry,
        "started_at": run.started_at,
        "wall_s": end - start,
        "error": run.error,
        "supersteps": len(steps) // 5,
        "node_time_s": seconds[0] if nodes_measured else None,
        "consumer_s": seconds[1],
        "overhead_s": sum(seconds[2:]) if nodes_measured else None,
        "overhead": {area: overhead[area] for area in AREAS},
        "nodes": node_stats,
        "steps": steps,
        "tasks": (names, node_steps, [b - a for a, b in zip(node_starts, node_ends)]),
    }


def _expand_steps(summary: Dict[str, Any]) -> Dict[str, Any]:
    """A run record as documented in GraphProfiler.to_dict (supersteps as dicts)."""
    measured = summary["node_time_s"] is not None
    names, node_steps, durations = summary["tasks"]
    per_step: Dict[Any, Dict[str, List[Any]]] = {}
    for name, step, duration in zip(names, node_steps, durations):
        entry = per_step.setdefault(step, {}).setdefault(name, [0, 0.0])
        entry[0] += 1
        entry[1] += duration
    flat = summary["steps"]
    out = {k: v for k, v in summary.items() if k != "tasks"}
    out["steps"] = [
        {
            "step": step,
            "start_s": start,
            "duration_s": duration,
            "node_time_s": node_time if measured else None,
            "overhead_s": overhead if measured else None,
            "nodes": [{"name": n, "calls": c, "time_s": d} for n, (c, d) in per_step.get(step, {}).items()],
        }
        for step, start, duration, node_time, overhead in zip(flat[0::5], flat[1::5], flat[2::5], flat[3::5], flat[4::5])
    ]
    return out


# ---------------------------------------------------------------- instrumentation


class _State:
    lock = threading.RLock()
    depth = 0  # open profile_run() blocks, all threads
    restores: List[Callable[[], None]] = []
    availability: Dict[str, Optional[str]] = {}  # area -> None when instrumented, else why not
    saver_classes: Set[type] = set()
    global_profilers: Tuple["GraphProfiler", ...] = ()  # profile_run(all_threads=True), with repeats


# id(task) -> (task, run): tasks run in a worker thread, whose commit callback runs outside
# the task's context (concurrent.futures done-callbacks get the worker thread's own).
_orphan_tasks: Dict[int, Tuple[Any, _Run]] = {}

_MARK = "__fast_langgraph_profiler__"

#: What is wrapped: (area, candidate modules newest first, class or None for a module global, names)
_TARGETS: Tuple[Tuple[str, Tuple[str, ...], Optional[str], Tuple[str, ...]], ...] = (
    ("runs", ("langgraph.pregel.main", "langgraph.pregel"), "Pregel", ("stream", "astream", "invoke", "ainvoke")),
    ("nodes", ("langgraph.pregel._runner", "langgraph.pregel.runner"), None, ("run_with_retry", "arun_with_retry")),
    ("nodes", ("langgraph.pregel._runner", "langgraph.pregel.runner"), "PregelRunner", ("commit",)),
    ("supersteps", ("langgraph.pregel._loop", "langgraph.pregel.loop"), "PregelLoop", ("tick",)),
    ("channel_updates", ("langgraph.pregel._loop", "langgraph.pregel.loop"), None, ("apply_writes",)),
    (
        "checkpoint_serialization",
        ("langgraph.checkpoint.serde.jsonplus",),
        "JsonPlusSerializer",
        ("dumps_typed", "loads_typed"),
    ),
)
#: What the report says is or is not instrumented (``scheduling`` needs ``nodes``).
_INSTRUMENTED = ("runs", "nodes", "supersteps", "channel_updates", "checkpoint_serialization", "saver_io")
_SAVER_METHODS = ("put", "put_writes", "get_tuple", "list", "aput", "aput_writes", "aget_tuple", "alist")
_CHECKPOINTER_KEY = "__pregel_checkpointer"  # CONFIG_KEY_CHECKPOINTER, 0.2 to 1.2


def _import(candidates: Sequence[str], owner: Optional[str], names: Sequence[str]) -> Tuple[Any, str]:
    """The module (or class) of the first candidate that defines ``names``, and its dotted name."""
    errors = []
    for module_name in candidates:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # an absent module is the normal "other version" case
            errors.append("%s: %s" % (module_name, exc))
            continue
        target = getattr(module, owner) if owner else module
        if target is not None and all(name in vars(target) for name in names):
            return target, module_name + ("." + owner if owner else "")
        errors.append("%s has no %s" % (module_name + ("." + owner if owner else ""), "/".join(names)))
    raise LookupError("; ".join(errors))


def _swap(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    """Replace ``owner.name`` by ``make(original)`` and register its exact restoration."""
    original = vars(owner)[name]
    if getattr(original, _MARK, False):
        return  # a wrapper left in place by someone who wrapped ours: still active, keep it
    wrapper = make(original)
    setattr(wrapper, _MARK, True)
    setattr(owner, name, wrapper)

    def restore() -> None:
        # Put the original back only if ours is still there; whoever replaced it since
        # kept a reference to ours, which passes straight through once no run is active.
        if vars(owner).get(name) is wrapper:
            setattr(owner, name, original)

    _State.restores.append(restore)


def _install() -> None:
    # Import outside the lock (imports take the import lock; runs take ours).
    resolved: List[Tuple[str, Any, str, Tuple[str, ...]]] = []
    problems: Dict[str, str] = {}
    for area, candidates, owner, names in _TARGETS:
        try:
            target, where = _import(candidates, owner, names)
            resolved.append((area, target, where, names))
        except Exception as exc:
            problems.setdefault(area, str(exc))
    try:
        importlib.import_module("langgraph.checkpoint.base")
    except Exception as exc:
        problems["saver_io"] = "langgraph.checkpoint.base: %s" % exc
    with _State.lock:
        _State.depth += 1
        if _State.depth > 1:
            return
        for area, target, where, names in resolved:
            if area in problems:
                continue  # all or nothing per area
            try:
                for name in names:
                    _swap(target, name, functools.partial(_WRAPPERS[(area, name)], name))
            except Exception as exc:
                problems[area] = "%s: %s" % (where, exc)
        availability: Dict[str, Optional[str]] = {area: problems.get(area) for area in _INSTRUMENTED}
        if problems.get("nodes"):
            availability["scheduling"] = "needs node times: " + problems["nodes"]
        else:
            availability["scheduling"] = None
        _State.availability = availability


def _uninstall() -> None:
    with _State.lock:
        _State.depth -= 1
        if _State.depth > 0:
            return
        restores, _State.restores = _State.restores, []
        _State.saver_classes = set()
        for restore in reversed(restores):
            try:
                restore()
            except Exception:  # restoring one must not stop the others
                pass


def _ensure_saver(checkpointer: Any) -> None:
    """Wrap the I/O methods of this checkpointer's class (once per class per session)."""
    if checkpointer is None or isinstance(checkpointer, bool) or type(checkpointer) in _State.saver_classes:
        return
    cls = type(checkpointer)
    try:
        from langgraph.checkpoint.base import BaseCheckpointSaver
    except Exception:
        return
    if not isinstance(checkpointer, BaseCheckpointSaver):
        return
    with _State.lock:
        if _State.depth == 0 or cls in _State.saver_classes:
            return
        for name in _SAVER_METHODS:
            owner = next((k for k in cls.__mro__ if name in vars(k)), None)
            if owner is None or owner is object or not inspect.isfunction(vars(owner)[name]):
                continue
            try:
                _swap(owner, name, _saver_wrapper)
            except Exception:
                pass  # this method stays unmeasured; its time counts as scheduling
        _State.saver_classes = _State.saver_classes | {cls}


def _profilers_now() -> Tuple["GraphProfiler", ...]:
    local, shared = _context_profilers.get(), _State.global_profilers
    if not shared:
        return local
    out = list(local)
    for p in shared:
        if p not in out:
            out.append(p)
    return tuple(out)


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
    measured = {area for area, problem in _State.availability.items() if problem is None}
    name = getattr(graph, "name", None) or type(graph).__name__
    return _Run(str(name), mode, "invoke" if _via_invoke.get() else "stream", profilers, measured)


# ---------------------------------------------------------------- wrappers

# The wrappers below run on every serializer, saver, channel-update, task and tick call of a
# profiled run, so each is first built with the exact parameters of the function it wraps
# (generated source, like the ``decorator`` package does): a ``(*args, **kwargs)`` wrapper
# costs about three times as much per call. The closures further down are the fallback for
# signatures with ``*args``, ``**kwargs`` or keyword-only parameters.

_FAST_TEMPLATES = {
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


def _fast_wrapper(original: Callable[..., Any], template: str, **env: Any) -> Optional[Callable[..., Any]]:
    """``original`` wrapped by ``_FAST_TEMPLATES[template]`` with its exact parameters, or None."""
    try:
        prepared = _prepared.get((original, template), False)
    except TypeError:  # an unhashable callable
        return None
    if prepared is False:
        prepared = _prepared[(original, template)] = _prepare(original, template)
    if prepared is None:
        return None
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


def _prepare(original: Callable[..., Any], template: str) -> Optional[Tuple[Any, str, Dict[str, Any], bool]]:
    """The compiled wrapper source for ``original``'s signature (None: use the closures)."""
    is_async = inspect.iscoroutinefunction(original)
    if template == "tick" and is_async or inspect.isgeneratorfunction(original) or inspect.isasyncgenfunction(original):
        return None
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
    name = getattr(original, "__name__", "wrapper")
    if not name.isidentifier():
        name = "wrapper"
    source = _FAST_TEMPLATES[template].format(
        name=name,
        params=", ".join(defs),
        args=", ".join(names),
        first=names[0],
        second=names[1] if len(names) > 1 else names[0],
        async_="async " if is_async else "",
        await_="await " if is_async else "",
        check_thread="not _flg_is_async",
    )
    code = compile(source, "<fast_langgraph.profiler: %s wrapper>" % template, "exec")
    return code, name, defaults, is_async


# Per (original function, template): a profile_run() around every invoke stays cheap.
_prepared: Dict[Tuple[Any, str], Any] = {}



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
    fast = _fast_wrapper(original, "node")
    if fast is not None:
        return fast

    @functools.wraps(original)
    def run_with_retry(task: Any, *args: Any, **kwargs: Any) -> Any:
        run = _current.get()
        if run.__class__ is not _Run:
            return original(task, *args, **kwargs)
        token = _current.set(_NESTED)
        start = _perf()
        try:
            return original(task, *args, **kwargs)
        finally:
            end = _perf()
            _current.reset(token)
            run.nodes += (getattr(task, "name", "?"), run.current_step, start, end)
            if run.thread != threading.get_ident():
                _orphan_tasks[id(task)] = (task, run)
                run.orphans.append(id(task))

    return run_with_retry


def _anode_wrapper(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    fast = _fast_wrapper(original, "node")
    if fast is not None:
        return fast

    @functools.wraps(original)
    async def arun_with_retry(task: Any, *args: Any, **kwargs: Any) -> Any:
        run = _current.get()
        if run.__class__ is not _Run:
            return await original(task, *args, **kwargs)
        token = _current.set(_NESTED)
        start = _perf()
        try:
            return await original(task, *args, **kwargs)
        finally:
            end = _perf()
            _current.reset(token)
            run.nodes += (getattr(task, "name", "?"), run.current_step, start, end)

    return arun_with_retry


def _commit_wrapper(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    fast = _fast_wrapper(original, "commit")
    if fast is not None:
        return fast

    @functools.wraps(original)
    def commit(self: Any, task: Any, *args: Any, **kwargs: Any) -> Any:
        if _current.get() is not None or not _orphan_tasks:
            return original(self, task, *args, **kwargs)
        entry = _orphan_tasks.pop(id(task), None)
        if entry is None or entry[0] is not task:
            return original(self, task, *args, **kwargs)
        # The task's writes (and the checkpointer calls they trigger) are the run's.
        token = _current.set(entry[1])
        try:
            return original(self, task, *args, **kwargs)
        finally:
            _current.reset(token)

    return commit


def _tick_wrapper(name: str, original: Callable[..., bool]) -> Callable[..., bool]:
    fast = _fast_wrapper(original, "tick")
    if fast is not None:
        return fast

    @functools.wraps(original)
    def tick(self: Any, *args: Any, **kwargs: Any) -> bool:
        run = _current.get()
        if run.__class__ is not _Run:
            return original(self, *args, **kwargs)
        start = _perf()
        more = False
        try:
            more = original(self, *args, **kwargs)
            return more
        finally:
            step = getattr(self, "step", None) if more else None
            run.current_step = step
            run.ticks += (start, step)

    return tick


def _record(run: Any, kind: int, start: float, end: float) -> None:
    if run.__class__ is _Frame:  # inside a saver call: only its serialization is kept apart
        if kind == _SERDE:
            run.serde += end - start
    else:
        run.spans += (kind, start, end)


def _span_wrapper(original: Callable[..., Any], kind: int) -> Callable[..., Any]:
    """Time every call of ``original`` under span ``kind`` (sync, async, generators alike)."""
    fast = _fast_wrapper(original, "span", kind=kind)
    if fast is not None:
        return fast
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
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def coro(*args: Any, **kwargs: Any) -> Any:
            run = _current.get()
            if run is None or run is _NESTED:
                return await original(*args, **kwargs)
            start = _perf()
            try:
                return await original(*args, **kwargs)
            finally:
                _record(run, kind, start, _perf())

        return coro

    @functools.wraps(original)
    def call(*args: Any, **kwargs: Any) -> Any:
        run = _current.get()
        if run is None or run is _NESTED:
            return original(*args, **kwargs)
        start = _perf()
        try:
            return original(*args, **kwargs)
        finally:
            if run.__class__ is _Frame:  # _record, inlined: this is the most frequent call
                if kind == _SERDE:
                    run.serde += _perf() - start
            else:
                run.spans += (kind, start, _perf())

    return call


class _Frame:
    """Stands for the run inside a saver call: adds up the serialization done within it."""

    __slots__ = ("serde",)

    def __init__(self) -> None:
        self.serde = 0.0


def _saver_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    """Time a checkpointer method; the serialization inside it is recorded as one number with
    the call instead of a span per ``dumps_typed`` (fewer events to sort at the end of a run)."""
    if inspect.isasyncgenfunction(original) or inspect.isgeneratorfunction(original):
        return _span_wrapper(original, _SAVER)  # list/alist: timed per item, serialization spans kept
    fast = _fast_wrapper(original, "saver")
    if fast is not None:
        return fast
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def coro(*args: Any, **kwargs: Any) -> Any:
            run = _current.get()
            if run is None or run is _NESTED:
                return await original(*args, **kwargs)
            frame = _Frame()
            token = _current.set(frame)
            start = _perf()
            try:
                return await original(*args, **kwargs)
            finally:
                end = _perf()
                _current.reset(token)
                if run.__class__ is _Frame:  # a saver method calling another
                    run.serde += frame.serde
                else:
                    run.saver += (start, end, frame.serde)

        return coro

    @functools.wraps(original)
    def call(*args: Any, **kwargs: Any) -> Any:
        run = _current.get()
        if run is None or run is _NESTED:
            return original(*args, **kwargs)
        frame = _Frame()
        token = _current.set(frame)
        start = _perf()
        try:
            return original(*args, **kwargs)
        finally:
            end = _perf()
            _current.reset(token)
            if run.__class__ is _Frame:  # a saver method calling another
                run.serde += frame.serde
            else:
                run.saver += (start, end, frame.serde)

    return call


_WRAPPERS: Dict[Tuple[str, str], Callable[[str, Any], Any]] = {
    ("runs", "stream"): _stream_wrapper,
    ("runs", "astream"): _astream_wrapper,
    ("runs", "invoke"): _invoke_wrapper,
    ("runs", "ainvoke"): _ainvoke_wrapper,
    ("nodes", "run_with_retry"): _node_wrapper,
    ("nodes", "arun_with_retry"): _anode_wrapper,
    ("nodes", "commit"): _commit_wrapper,
    ("supersteps", "tick"): _tick_wrapper,
    ("channel_updates", "apply_writes"): lambda name, original: _span_wrapper(original, _CHANNELS),
    ("checkpoint_serialization", "dumps_typed"): lambda name, original: _span_wrapper(original, _SERDE),
    ("checkpoint_serialization", "loads_typed"): lambda name, original: _span_wrapper(original, _SERDE),
}


# ---------------------------------------------------------------- the profiler


def _ms(seconds: Optional[float]) -> str:
    return "n/a" if seconds is None else "%.3f" % (seconds * 1e3)


def _pct(part: Optional[float], whole: float) -> str:
    return "" if part is None or whole <= 0 else "%.1f %%" % (100.0 * part / whole)


class GraphProfiler(_CallbackBase):
    """Records per-node, per-superstep and framework-overhead wall time of LangGraph runs.

    Thread-safe: one profiler can record concurrent runs from many threads and tasks.
    Runs are kept for reports (the last ``max_runs``, with full timelines for the last
    ``max_timelines``); totals cover every run recorded since creation or :meth:`reset`.
    """

    # LangChain callback-handler settings: events come inline (accurate times, no executor
    # hop), only chain events are wanted.
    run_inline = True
    raise_error = False

    @property
    def ignore_llm(self) -> bool:
        return True

    @property
    def ignore_retry(self) -> bool:
        return True

    @property
    def ignore_agent(self) -> bool:
        return True

    @property
    def ignore_retriever(self) -> bool:
        return True

    @property
    def ignore_chat_model(self) -> bool:
        return True

    @property
    def ignore_custom_event(self) -> bool:
        return True

    def __init__(self, *, max_runs: int = 100, max_timelines: int = 20) -> None:
        self._lock = threading.Lock()
        self._max_runs = max_runs
        self._max_timelines = max_timelines
        self._availability: Dict[str, Optional[str]] = {}
        self._callback_roots: Dict[Any, _Run] = {}
        self._callback_nodes: Dict[Any, Tuple[_Run, str, Optional[int], float]] = {}
        self.reset()

    # -- recording

    def reset(self) -> None:
        """Forget every recorded run."""
        with self._lock:
            self._runs: Deque[Dict[str, Any]] = deque(maxlen=self._max_runs)
            self._timelines: Deque[Tuple[Dict[str, Any], _Run]] = deque(maxlen=self._max_timelines)
            self._count = 0
            self._totals: Dict[str, Any] = {
                "wall_s": 0.0,
                "node_time_s": 0.0,
                "overhead_s": 0.0,
                "consumer_s": 0.0,
                "supersteps": 0,
                "step_time_s": 0.0,
                "errors": 0,
                "overhead": {area: None for area in AREAS},
                "nodes": {},
                "entries": {},
                "slowest_step": None,
            }

    @contextlib.contextmanager
    def profile_run(self, *, all_threads: bool = True) -> Iterator["GraphProfiler"]:
        """Record the LangGraph runs made while the block is open.

        With ``all_threads`` (the default) runs started from any thread are recorded;
        with ``all_threads=False`` only those started from this context (this thread
        or task, and the threads and tasks LangGraph starts for them). Blocks nest and
        may be open in several threads at once; LangGraph's functions are wrapped while
        at least one is open and restored exactly when the last one closes.
        """
        _install()
        self._availability = dict(_State.availability)
        if all_threads:
            with _State.lock:
                _State.global_profilers = _State.global_profilers + (self,)
        local = _context_profilers.get()
        token = _context_profilers.set(local + (self,)) if self not in local else None
        try:
            yield self
        finally:
            if token is not None:
                try:
                    _context_profilers.reset(token)
                except ValueError:  # left in another context than entered
                    _context_profilers.set(tuple(p for p in _context_profilers.get() if p is not self))
            if all_threads:
                with _State.lock:
                    shared = list(_State.global_profilers)
                    shared.remove(self)
                    _State.global_profilers = tuple(shared)
            _uninstall()

    def _add(self, run: _Run, summary: Dict[str, Any]) -> None:
        with self._lock:
            self._count += 1
            summary = dict(summary, index=self._count)
            self._runs.append(summary)
            self._timelines.append((summary, run))
            t = self._totals
            t["wall_s"] += summary["wall_s"]
            t["node_time_s"] += summary["node_time_s"] or 0.0
            t["overhead_s"] += summary["overhead_s"] or 0.0
            t["consumer_s"] += summary["consumer_s"]
            t["supersteps"] += summary["supersteps"]
            t["errors"] += summary["error"] is not None
            t["entries"][summary["entry"]] = t["entries"].get(summary["entry"], 0) + 1
            for area, value in summary["overhead"].items():
                if value is not None:
                    t["overhead"][area] = (t["overhead"][area] or 0.0) + value
            for name, stat in summary["nodes"].items():
                agg = t["nodes"].setdefault(name, {"calls": 0, "total_s": 0.0, "max_s": 0.0})
                agg["calls"] += stat["calls"]
                agg["total_s"] += stat["total_s"]
                agg["max_s"] = max(agg["max_s"], stat["max_s"])
            durations = summary["steps"][2::5]
            if durations:
                t["step_time_s"] += sum(durations)
                longest = max(durations)
                slowest = t["slowest_step"]
                if slowest is None or longest > slowest["duration_s"]:
                    step = summary["steps"][5 * durations.index(longest)]
                    t["slowest_step"] = {"run": self._count, "graph": summary["graph"], "step": step, "duration_s": longest}

    # -- LangChain callback handler (graph.invoke(x, {"callbacks": [profiler]}))

    def on_chain_start(
        self,
        serialized: Optional[Dict[str, Any]],
        inputs: Any,
        *,
        run_id: Any,
        parent_run_id: Any = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        """Callback: a graph run (a chain whose children are LangGraph nodes) or one of its nodes starts."""
        now = _perf()
        node = (metadata or {}).get("langgraph_node")
        with self._lock:
            if node is None:
                current = _current.get()
                if isinstance(current, _Run) and self in current.profilers:
                    return  # profile_run() is recording this run already
                if current is _NESTED:
                    return
                name = kwargs.get("name") or (serialized or {}).get("name") or "graph"
                run = _Run(str(name), "callback", "callback", (self,), {"nodes", "supersteps"})
                run.start = now
                self._callback_roots[run_id] = run  # a candidate until a node shows up under it
            elif parent_run_id in self._callback_roots:
                run = self._callback_roots[parent_run_id]
                step = (metadata or {}).get("langgraph_step")
                self._callback_nodes[run_id] = (run, str(node), step if isinstance(step, int) else None, now)

    def on_chain_end(self, outputs: Any, *, run_id: Any, parent_run_id: Any = None, **kwargs: Any) -> None:
        """Callback: a chain ends."""
        self._callback_end(run_id, None)

    def on_chain_error(self, error: BaseException, *, run_id: Any, parent_run_id: Any = None, **kwargs: Any) -> None:
        """Callback: a chain fails."""
        self._callback_end(run_id, error)

    def _callback_end(self, run_id: Any, error: Optional[BaseException]) -> None:
        now = _perf()
        with self._lock:
            node = self._callback_nodes.pop(run_id, None)
            if node is not None:
                node[0].nodes += (node[1], node[2], node[3], now)
                return
            root = self._callback_roots.pop(run_id, None)
        if root is not None and root.nodes:  # a chain with no node under it was not a graph
            root.finish(error)

    # -- reports

    @property
    def runs(self) -> List[Dict[str, Any]]:
        """The kept runs' records (oldest first), as in :meth:`to_dict`."""
        with self._lock:
            kept = list(self._runs)
        return [_expand_steps(r) for r in kept]

    def to_dict(self) -> Dict[str, Any]:
        """Everything recorded, JSON-serialisable (seconds; offsets from each run's start).

        Keys: ``runs_recorded``, ``runs`` (the kept ones), ``totals`` (over all runs
        recorded: wall, node time, overhead and its ``overhead`` split by area, per-node
        ``calls``/``total_s``/``max_s``, supersteps, slowest step) and ``instrumentation``
        (per area: ``available`` and, when not, ``reason``). An area that could not be
        instrumented has ``None`` times.
        """
        with self._lock:
            totals = json.loads(json.dumps(self._totals))
            return {
                "runs_recorded": self._count,
                "totals": totals,
                "instrumentation": {
                    area: {"available": reason is None, "reason": reason}
                    for area, reason in sorted(self._availability.items())
                },
                "runs": [_expand_steps(r) for r in json.loads(json.dumps(list(self._runs)))],
            }

    def report(self, max_runs: int = 10) -> str:
        """The terminal report as a string (see :meth:`print_report`)."""
        data = self.to_dict()
        t = data["totals"]
        n = data["runs_recorded"]
        if n == 0:
            return "GraphProfiler: no LangGraph run recorded (was it inside profile_run()?)"
        wall = t["wall_s"]

        def share(label: str, seconds: Optional[float]) -> str:
            if seconds is None:
                return "%-40s %12s" % (label, "n/a")
            return "%-40s %12s %12s %9s" % (label, _ms(seconds), _ms(seconds / n), _pct(seconds, wall))

        entries = ", ".join("%d %s" % (c, e) for e, c in sorted(t["entries"].items()))
        failed = ", %d failed" % t["errors"] if t["errors"] else ""
        lines = [
            "GraphProfiler: %d run%s (%s), %s ms wall, %d supersteps%s"
            % (n, "" if n == 1 else "s", entries, _ms(wall), t["supersteps"], failed),
            "",
            "%-40s %12s %12s %9s" % ("where the time went", "total ms", "per run ms", "of wall"),
            share("nodes running", t["node_time_s"]),
            share("framework overhead", t["overhead_s"]),
        ]
        lines += [share("  " + _LABELS[area], t["overhead"][area]) for area in AREAS]
        if t["consumer_s"] > 0:
            lines.append(share("stream consumer (between chunks)", t["consumer_s"]))

        lines += ["", "%-32s %8s %12s %12s %12s %9s" % ("node", "calls", "total ms", "mean ms", "max ms", "of wall")]
        for name, s in sorted(t["nodes"].items(), key=lambda kv: -kv[1]["total_s"]):
            mean = s["total_s"] / s["calls"]
            lines.append(
                "%-32s %8d %12s %12s %12s %9s"
                % (name[:32], s["calls"], _ms(s["total_s"]), _ms(mean), _ms(s["max_s"]), _pct(s["total_s"], wall))
            )
        if t["supersteps"]:
            slow = t["slowest_step"]
            lines += [
                "",
                "supersteps: %d (%.1f per run), mean %s ms, slowest %s ms (run %d, step %s)"
                % (t["supersteps"], t["supersteps"] / n, _ms(t["step_time_s"] / t["supersteps"]),
                   _ms(slow["duration_s"]), slow["run"], slow["step"]),
            ]

        kept = data["runs"][-max_runs:]
        lines += [
            "",
            "runs%s:" % ("" if len(kept) == n else " (last %d of %d)" % (len(kept), n)),
            "%5s  %-20s %-6s %-8s %10s %6s %9s %9s  %s"
            % ("#", "graph", "mode", "entry", "wall ms", "steps", "nodes", "overhead", "error"),
        ]
        for r in kept:
            lines.append(
                "%5d  %-20s %-6s %-8s %10s %6d %9s %9s  %s"
                % (r["index"], r["graph"][:20], r["mode"], r["entry"], _ms(r["wall_s"]), r["supersteps"],
                   _pct(r["node_time_s"], r["wall_s"]), _pct(r["overhead_s"], r["wall_s"]), r["error"] or "")
            )
        unavailable = {a: r["reason"] for a, r in data["instrumentation"].items() if not r["available"]}
        if unavailable:
            lines += ["", "not instrumented on this LangGraph (its time counts as scheduling):"]
            lines += ["  %s: %s" % (area, reason) for area, reason in sorted(unavailable.items())]
        return "\n".join(lines)

    def print_report(self, file: Optional[IO[str]] = None, max_runs: int = 10) -> None:
        """Print the terminal table: totals, the overhead split by area, nodes, supersteps, recent runs."""
        print(self.report(max_runs=max_runs), file=file if file is not None else sys.stdout)

    def to_html(self, path: str, max_runs: Optional[int] = None) -> None:
        """Write a self-contained HTML timeline (no script, no external file) of the recent runs."""
        with self._lock:
            timelines = list(self._timelines)
        if max_runs is not None:
            timelines = timelines[-max_runs:]
        with open(path, "w", encoding="utf-8") as out:
            out.write(_render_html(self.report(), timelines))


# ---------------------------------------------------------------- HTML timeline

_COLORS = {
    "step": "#e8e8e8",
    "node": "#4c72b0",
    "checkpoint_serialization": "#dd8452",
    "saver_io": "#c44e52",
    "channel_updates": "#55a868",
    "consumer": "#bbbbbb",
}


def _render_html(report: str, timelines: List[Tuple[Dict[str, Any], _Run]]) -> str:
    width, row_h, label_w = 1100, 18, 230
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>fast_langgraph profile</title><style>",
        "body{font:13px system-ui,sans-serif;margin:20px;color:#222}pre{background:#f6f6f6;padding:10px;overflow:auto}",
        "svg{display:block;margin:6px 0 24px}text{font:11px system-ui,sans-serif}.lg span{display:inline-block;",
        "width:12px;height:12px;margin:0 4px 0 14px;vertical-align:middle}",
        "</style></head><body><h1>fast_langgraph profile</h1>",
        "<div class='lg'>",
    ]
    for key, label in (("node", "node"), ("checkpoint_serialization", "serialization"), ("saver_io", "saver I/O"),
                       ("channel_updates", "channel updates"), ("consumer", "stream consumer")):
        parts.append("<span style='background:%s'></span>%s" % (_COLORS[key], label))
    parts.append("</div><p>Hover a bar for its duration. Unshaded time in a run is scheduling.</p>")
    for summary, run in reversed(timelines):
        wall = max(run.end - run.start, 1e-9)
        scale = (width - label_w) / wall
        node_names: List[str] = []
        for name in run.nodes[0::4]:
            if name not in node_names:
                node_names.append(name)
        rows = ["supersteps"] + ["node: " + n for n in node_names]
        rows += ["serialization", "saver I/O", "channel updates"] + (["stream consumer"] if run.gaps else [])
        height = row_h * len(rows) + 24
        parts.append(
            "<h3>run %d: %s (%s, %s) &middot; %.3f ms &middot; %d supersteps%s</h3>"
            % (summary["index"], html.escape(summary["graph"]), summary["mode"], summary["entry"], wall * 1e3,
               summary["supersteps"], " &middot; " + html.escape(summary["error"]) if summary["error"] else "")
        )
        parts.append("<svg width='%d' height='%d' xmlns='http://www.w3.org/2000/svg'>" % (width, height))
        for i, label in enumerate(rows):
            parts.append("<text x='0' y='%d'>%s</text>" % (i * row_h + 13, html.escape(label[:34])))
            y = (i + 1) * row_h
            parts.append("<line x1='%d' x2='%d' y1='%d' y2='%d' stroke='#eee'/>" % (label_w, width, y, y))

        def bar(row: int, a: float, b: float, color: str, title: str) -> None:
            x = label_w + (a - run.start) * scale
            w = max((b - a) * scale, 0.6)
            parts.append(
                "<rect x='%.1f' y='%d' width='%.1f' height='%d' fill='%s'><title>%s</title></rect>"
                % (x, row * row_h + 2, w, row_h - 4, color, html.escape(title))
            )

        flat = summary["steps"]
        for step, offset, duration in zip(flat[0::5], flat[1::5], flat[2::5]):
            a = run.start + offset
            color = _COLORS["step"] if step % 2 == 0 else "#d0d0d0"
            bar(0, a, a + duration, color, "step %d: %.3f ms" % (step, duration * 1e3))
        nodes = run.nodes
        for name, step_no, a, b in zip(nodes[0::4], nodes[1::4], nodes[2::4], nodes[3::4]):
            title = "%s (step %s): %.3f ms" % (name, step_no, (b - a) * 1e3)
            bar(1 + node_names.index(name), a, b, _COLORS["node"], title)
        base = 1 + len(node_names)
        for kind, a, b in zip(run.spans[0::3], run.spans[1::3], run.spans[2::3]):
            area = _KIND_AREA[kind]
            bar(base + kind, a, b, _COLORS[area], "%s: %.3f ms" % (_LABELS[area], (b - a) * 1e3))
        for a, b, inner in zip(run.saver[0::3], run.saver[1::3], run.saver[2::3]):
            bar(base + _SAVER, a, b, _COLORS["saver_io"], "%s: %.3f ms" % (_LABELS["saver_io"], (b - a) * 1e3))
            if inner > 0:  # serialization inside this checkpointer call (shown at its end)
                title = "serialization in a saver call: %.3f ms" % (inner * 1e3)
                bar(base + _SERDE, b - inner, b, _COLORS["checkpoint_serialization"], title)
        for a, b in zip(run.gaps[0::2], run.gaps[1::2]):
            bar(base + 3, a, b, _COLORS["consumer"], "stream consumer: %.3f ms" % ((b - a) * 1e3))
        span_px = width - label_w - 30  # the last tick label needs room
        for k in range(6):
            at = span_px * k / 5
            parts.append(
                "<text x='%.0f' y='%d' fill='#888'>%.2f ms</text>" % (label_w + at, height - 6, at / scale * 1e3)
            )
        parts.append("</svg>")
    parts.append("<h2>Report</h2><pre>%s</pre></body></html>" % html.escape(report))
    return "".join(parts)

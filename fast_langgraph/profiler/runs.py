"""Run accounting: what one profiled LangGraph run recorded, and its summary.

A :class:`_Run` collects flat lists of timestamps while the run executes (appended
to from several threads); :func:`_summarize` turns them into the JSON-safe record
the report shows, attributing every instant of the run once. :class:`Session`
holds what is shared between runs: which profilers are listening, what is
instrumented on this LangGraph.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set, Tuple

if TYPE_CHECKING:
    from fast_langgraph.profiler.graph_profiler import GraphProfiler

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
            from fast_langgraph import _switches

            if _switches.strict():
                raise
            logging.getLogger("fast_langgraph").warning("GraphProfiler could not record a run", exc_info=True)


class _Frame:
    """Stands for the run inside a saver call: adds up the serialization done within it."""

    __slots__ = ("serde",)

    def __init__(self) -> None:
        self.serde = 0.0


# id(task) -> (task, run): tasks run in a worker thread, whose commit callback runs outside
# the task's context (concurrent.futures done-callbacks get the worker thread's own).
_orphan_tasks: Dict[int, Tuple[Any, _Run]] = {}


class Session:
    """What every open ``profile_run()`` shares: the wrapped functions and who listens."""

    lock = threading.RLock()
    depth = 0  # open profile_run() blocks, all threads
    restores: List[Callable[[], None]] = []
    availability: Dict[str, Optional[str]] = {}  # area -> None when instrumented, else why not
    saver_classes: Set[type] = set()
    global_profilers: Tuple["GraphProfiler", ...] = ()  # profile_run(all_threads=True), with repeats


def _profilers_now() -> Tuple["GraphProfiler", ...]:
    local, shared = _context_profilers.get(), Session.global_profilers
    if not shared:
        return local
    out = list(local)
    for p in shared:
        if p not in out:
            out.append(p)
    return tuple(out)


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
        for step, start, duration, node_time, overhead in zip(*(flat[i::5] for i in range(5)))
    ]
    return out

"""The :class:`GraphProfiler` itself: profile_run(), the callback handler, totals and reports."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections import deque
from typing import IO, TYPE_CHECKING, Any, Deque, Dict, Iterator, List, Optional, Tuple

from fast_langgraph.profiler.instrument import install, uninstall
from fast_langgraph.profiler.report import render_html, render_text
from fast_langgraph.profiler.runs import (
    _NESTED,
    AREAS,
    Session,
    _context_profilers,
    _current,
    _expand_steps,
    _perf,
    _Run,
)

if TYPE_CHECKING:
    from langchain_core.callbacks.base import BaseCallbackHandler as _CallbackBase
else:
    try:
        from langchain_core.callbacks.base import BaseCallbackHandler as _CallbackBase
    except ImportError:  # LangGraph absent: the profiler then has nothing to record
        _CallbackBase = object


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
    ignore_llm = ignore_retry = ignore_agent = ignore_retriever = ignore_chat_model = ignore_custom_event = True

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
        install()
        self._availability = dict(Session.availability)
        if all_threads:
            with Session.lock:
                Session.global_profilers = Session.global_profilers + (self,)
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
                with Session.lock:
                    shared = list(Session.global_profilers)
                    shared.remove(self)
                    Session.global_profilers = tuple(shared)
            uninstall()

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
                    t["slowest_step"] = {
                        "run": self._count,
                        "graph": summary["graph"],
                        "step": step,
                        "duration_s": longest,
                    }

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
        return render_text(self.to_dict(), max_runs=max_runs)

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
            out.write(render_html(self.report(), timelines))

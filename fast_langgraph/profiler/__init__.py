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
The package, by concern: :mod:`~fast_langgraph.profiler.runs` (run accounting and
attribution), :mod:`~fast_langgraph.profiler.wrappers` (the timing wrappers),
:mod:`~fast_langgraph.profiler.instrument` (what is wrapped per LangGraph version, found
and swapped through :mod:`fast_langgraph._patching`), :mod:`~fast_langgraph.profiler.report`
(text and HTML), :mod:`~fast_langgraph.profiler.graph_profiler` (the class), and
``python -m fast_langgraph.profiler`` (:mod:`~fast_langgraph.profiler.__main__`: run a script under it).
"""

from fast_langgraph.profiler.graph_profiler import GraphProfiler
from fast_langgraph.profiler.runs import AREAS

__all__ = ["GraphProfiler", "AREAS"]

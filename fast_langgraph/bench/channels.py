"""Channel-update benchmarks: ``python -m fast_langgraph.bench channels``.

Side by side in one process, same inputs, results checked equal:

* ``apply_writes`` (LangGraph's vs the ``channels`` patch's WritesApplier) on one
  superstep over 10 and 100 mixed built-in channels (LastValue, reducers,
  EphemeralValue, Topic), two tasks writing four of them;
* ``add_messages`` (LangGraph's reducer vs the Rust ``MessageMerger`` the
  ``add_messages`` patch installs) on histories of 100, 1,000 and 10,000 messages
  with tool calls, appending one message per call (what an agent step does);
* ``deep_merge`` and ``langgraph_state_update`` against their plain-Python
  equivalents, on tiny and on large inputs (tiny ones are where CPython wins).

End to end (a 200-step graph with a growing ``messages`` list) is the
``messages_200_steps`` workload of ``python -m fast_langgraph.bench``.
"""

import argparse
import functools
import json
import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Tuple


def _per_call_us(fn: Callable[[], Any], budget: float) -> float:
    fn()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget / 10:
        fn()
        calls += 1
    per_sample = max(1, calls)
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(per_sample):
            fn()
        samples.append((time.perf_counter() - start) / per_sample * 1e6)
    return statistics.median(samples)


def history(n: int) -> List[Any]:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    out: List[Any] = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            out.append(HumanMessage(content="question %d" % i, id="h%d" % i))
        elif kind == 1:
            call = {"name": "search", "args": {"q": i}, "id": "call%d" % i}
            out.append(AIMessage(content="", tool_calls=[call], id="a%d" % i))
        else:
            out.append(ToolMessage(content="result %d" % i, tool_call_id="call%d" % (i - 1), id="t%d" % i))
    return out


def _digest(messages: List[Any]) -> List[Any]:
    return [(type(m).__name__, m.id, m.content) for m in messages]


def add_messages_cases(sizes: List[int], budget: float) -> List[Dict[str, Any]]:
    from langchain_core.messages import AIMessage
    from langgraph.graph import message as module

    from fast_langgraph.patches.messages import make_merger

    closure: Any = module.add_messages.__closure__
    cell = closure[0].cell_contents
    original = getattr(cell, "__wrapped__", cell)
    impls: Dict[str, Callable[..., Any]] = {
        "langgraph add_messages": original,
        "fast_langgraph MessageMerger": make_merger(module, original),
    }
    rows = []
    for n in sizes:
        left = history(n)
        right = [AIMessage(content="new", id="new")]
        outputs = {name: _digest(fn(left, right)) for name, fn in impls.items()}
        assert len({json.dumps(v) for v in outputs.values()}) == 1, "results differ at %d messages" % n
        for name, fn in impls.items():
            rows.append(
                {
                    "case": "add_messages, %d messages + 1" % n,
                    "impl": name,
                    "us_per_call": _per_call_us(functools.partial(fn, left, right), budget),
                }
            )
    return rows


def _step_inputs(n_channels: int) -> Tuple[Dict[str, Any], Dict[str, Any], List[Any]]:
    """A superstep over ``n_channels`` mixed built-in channels: two tasks, four writes."""
    import operator

    from langgraph.channels.binop import BinaryOperatorAggregate
    from langgraph.channels.ephemeral_value import EphemeralValue
    from langgraph.channels.last_value import LastValue
    from langgraph.channels.topic import Topic
    from langgraph.pregel._algo import PregelTaskWrites

    kinds: List[Callable[[], Any]] = [
        lambda: LastValue(int),
        lambda: BinaryOperatorAggregate(int, operator.add),
        lambda: EphemeralValue(int),
        lambda: Topic(int),
        lambda: LastValue(int),
    ]
    channels: Dict[str, Any] = {}
    for i in range(n_channels):
        ch = kinds[i % len(kinds)]()
        ch.key = "c%d" % i
        ch.update([i] if i % 5 != 3 else [[i]])
        channels[ch.key] = ch
    versions = {name: 1 for name in channels}
    checkpoint = {"v": 4, "id": "x", "ts": "t", "channel_values": {}, "channel_versions": versions, "versions_seen": {}}
    tasks = [
        PregelTaskWrites(("__pregel_pull", "a"), "a", [("c0", 1), ("c1", 2)], ["c4"]),
        PregelTaskWrites(("__pregel_pull", "b"), "b", [("c5", 3), ("c6", 4)], ["c9"]),
    ]
    return checkpoint, channels, tasks


def apply_writes_cases(sizes: List[int], budget: float) -> List[Dict[str, Any]]:
    from langgraph.pregel import _algo

    from fast_langgraph.patches.channels import make_writes_applier

    original = getattr(_algo.apply_writes, "__wrapped__", _algo.apply_writes)
    impls: Dict[str, Callable[..., Any]] = {
        "langgraph apply_writes": original,
        "fast_langgraph WritesApplier": make_writes_applier(_algo, original),
    }

    def next_version(current: Any, channel: Any) -> int:
        return (current or 0) + 1

    rows = []
    for n in sizes:
        outcomes = []
        for fn in impls.values():
            checkpoint, channels, tasks = _step_inputs(n)
            updated = fn(checkpoint, channels, tasks, next_version, {"c0": ["a"]})
            outcomes.append(
                (sorted(updated), checkpoint["channel_versions"], {k: c.checkpoint() for k, c in channels.items()})
            )
        assert outcomes[0] == outcomes[1], "apply_writes results differ at %d channels" % n
        for name, fn in impls.items():
            checkpoint, channels, tasks = _step_inputs(n)
            call = functools.partial(fn, checkpoint, channels, tasks, next_version, {"c0": ["a"]})
            rows.append(
                {"case": "apply_writes, %d channels" % n, "impl": name, "us_per_call": _per_call_us(call, budget)}
            )
    return rows


def _nested(depth: int, width: int, tag: str) -> Dict[str, Any]:
    if depth == 0:
        return {"k%d" % i: "%s%d" % (tag, i) for i in range(width)}
    return {"k%d" % i: _nested(depth - 1, width, tag) for i in range(width)}


def merge_cases(budget: float) -> List[Dict[str, Any]]:
    from fast_langgraph.merge import deep_merge, langgraph_state_update, python_deep_merge, python_state_update

    small_state = {"messages": [1, 2, 3], "step": 1, "a": "x", "b": "y", "c": "z"}
    small_update = {"messages": [4], "step": 2}
    big_state: Dict[str, Any] = {"k%d" % i: i for i in range(200)}
    big_state["messages"] = list(range(1000))
    big_update: Dict[str, Any] = {"k%d" % i: -i for i in range(0, 200, 2)}
    big_update["messages"] = list(range(10))
    cases: List[Tuple[str, Callable[..., Any], Callable[..., Any], Tuple[Any, ...]]] = [
        ("deep_merge, 5 flat keys", python_deep_merge, deep_merge, ({"a": 1, "b": 2, "c": 3}, {"b": 4, "d": 5})),
        ("deep_merge, 4 levels x 6 keys", python_deep_merge, deep_merge, (_nested(3, 6, "a"), _nested(3, 6, "b"))),
        (
            "state_update, 5 keys",
            python_state_update,
            langgraph_state_update,
            (small_state, small_update, ["messages"]),
        ),
        (
            "state_update, 200 keys + 1000-item list",
            python_state_update,
            langgraph_state_update,
            (big_state, big_update, ["messages"]),
        ),
    ]
    rows = []
    for label, python_fn, rust_fn, args in cases:
        assert python_fn(*args) == rust_fn(*args), label
        for name, fn in (("plain Python", python_fn), ("fast_langgraph (Rust)", rust_fn)):
            rows.append(
                {"case": label, "impl": name, "us_per_call": _per_call_us(functools.partial(fn, *args), budget)}
            )
    return rows


def render(rows: List[Dict[str, Any]]) -> str:
    lines = ["%-42s %-30s %12s %8s" % ("case", "implementation", "time", "ratio")]
    baseline: Dict[str, float] = {}
    for row in rows:
        base = baseline.setdefault(row["case"], row["us_per_call"])
        lines.append(
            "%-42s %-30s %9.2f µs %7.2fx" % (row["case"], row["impl"], row["us_per_call"], base / row["us_per_call"])
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fast_langgraph.bench channels", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 10000])
    parser.add_argument("--budget", type=float, default=0.5, help="seconds per measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = add_messages_cases(args.sizes, args.budget) + merge_cases(args.budget)
    try:
        rows += apply_writes_cases([10, 100], args.budget)
    except ImportError as exc:  # LangGraph < 0.6: no pregel._algo, the channels patch does not apply
        print("apply_writes: skipped (%s)" % exc)
    print(json.dumps(rows, indent=2) if args.json else render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

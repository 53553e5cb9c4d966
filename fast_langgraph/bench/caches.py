"""Cache benchmarks: ``python -m fast_langgraph.bench caches``.

Side by side in one process, same keys, results checked equal:

* ``@cached`` hit and miss paths against ``functools.lru_cache`` and ``cachetools``
  (``LRUCache``; ``TTLCache`` for the TTL path);
* ``RustNodeCache`` against LangGraph's ``InMemoryCache`` inside a real graph.
"""

import argparse
import functools
import json
import statistics
import time
from typing import Any, Callable, Dict, List, Optional


def _per_call_ns(fn: Callable[[int], Any], n: int, repeat: int = 7) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for i in range(n):
            fn(i)
        samples.append((time.perf_counter() - start) / n * 1e9)
    return statistics.median(samples)


def _decorated(max_size: int, ttl: Optional[float]) -> Dict[str, Callable[..., Any]]:
    from fast_langgraph.cache import cached

    def work(prompt: str, temperature: float = 0.0) -> str:
        return prompt + str(temperature)

    variants: Dict[str, Callable[..., Any]] = {}
    if ttl is None:
        variants["functools.lru_cache"] = functools.lru_cache(maxsize=max_size)(work)
    try:
        import cachetools

        store: Any = cachetools.TTLCache(max_size, ttl) if ttl is not None else cachetools.LRUCache(max_size)
        variants["cachetools.%s" % type(store).__name__] = cachetools.cached(store)(work)
    except ImportError:
        pass
    variants["fast_langgraph.cached"] = cached(max_size=max_size, ttl=ttl)(work)
    return variants


def decorator_cases(n: int) -> List[Dict[str, Any]]:
    rows = []
    for ttl in (None, 600.0):
        for path in ("hit", "miss"):
            variants = _decorated(max_size=n * 2, ttl=ttl)
            prompts = ["prompt %d" % i for i in range(n)]
            results = {}
            for name, fn in variants.items():
                if path == "hit":
                    fn(prompts[0])

                    def same_key(i: int, fn: Callable[..., Any] = fn) -> Any:
                        return fn(prompts[0])

                    ns = _per_call_ns(same_key, n)
                    results[name] = fn(prompts[0])
                else:

                    def new_key(i: int, fn: Callable[..., Any] = fn) -> Any:
                        return fn(prompts[i], temperature=float(i))

                    ns = _per_call_ns(new_key, n, repeat=1)
                    results[name] = fn(prompts[-1], temperature=float(n - 1))
                rows.append({"case": "%s path%s" % (path, ", ttl" if ttl else ""), "impl": name, "ns_per_call": ns})
            assert len(set(results.values())) == 1, results
    return rows


def node_cache_case(invokes: int) -> List[Dict[str, Any]]:
    from importlib.metadata import version

    from fast_langgraph.patches._spec import version_in_range

    if not version_in_range(version("langgraph"), ">=0.4"):
        return []  # node caching arrived in LangGraph 0.4
    from langgraph.cache.memory import InMemoryCache
    from langgraph.types import CachePolicy
    import operator
    from typing import Annotated, TypedDict

    from langgraph.graph import END, START, StateGraph

    from fast_langgraph.node_cache import RustNodeCache

    class State(TypedDict):
        x: int
        log: Annotated[list, operator.add]

    def expensive(state: State) -> Dict[str, Any]:
        return {"log": ["computed %d" % state["x"]]}

    rows, outputs = [], {}
    for name, cache in (
        ("langgraph InMemoryCache", InMemoryCache()),
        ("fast_langgraph RustNodeCache", RustNodeCache()),
    ):
        builder = StateGraph(State)
        builder.add_node("expensive", expensive, cache_policy=CachePolicy(ttl=600))
        builder.add_edge(START, "expensive")
        builder.add_edge("expensive", END)
        graph = builder.compile(cache=cache)
        for i in range(10):
            graph.invoke({"x": i % 10, "log": []})
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            for i in range(invokes):
                outputs[name] = graph.invoke({"x": i % 10, "log": []})
            samples.append((time.perf_counter() - start) / invokes * 1e6)
        rows.append(
            {"case": "graph invoke, cached node hit", "impl": name, "us_per_invoke": statistics.median(samples)}
        )
    assert len({json.dumps(v, sort_keys=True) for v in outputs.values()}) == 1, outputs
    return rows


def render(rows: List[Dict[str, Any]]) -> str:
    lines = ["%-32s %-30s %14s" % ("case", "implementation", "time")]
    for row in rows:
        if "ns_per_call" in row:
            value = "%9.0f ns" % row["ns_per_call"]
        else:
            value = "%9.0f µs" % row["us_per_invoke"]
        lines.append("%-32s %-30s %14s" % (row["case"], row["impl"], value))
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fast_langgraph.bench caches", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--invokes", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = decorator_cases(args.calls) + node_cache_case(args.invokes)
    print(json.dumps(rows, indent=2) if args.json else render(rows))
    return 0

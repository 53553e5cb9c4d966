"""Checkpoint serialization benchmark: ``python -m fast_langgraph.bench serde``.

``JsonPlusSerializer().dumps_typed`` and ``loads_typed`` with the ``serde`` patch
(Rust msgpack encoder and decoder) against the same calls unpatched (ormsgpack +
LangGraph's Python ``_msgpack_default`` and ext hook), side by side in one process;
encoded bytes checked equal, decoded values checked equal:

* (a) a checkpoint-like state holding 100 and 1,000 LangChain messages with tool calls;
* (b) a ~1 MB nested JSON-like dict (plain data: ormsgpack's own fast path);
* (c) a pydantic model state; (d) a dataclass state.

Both columns construct objects through LangGraph's own ext hook (pydantic
validation, dataclass ``__init__``...): on message states that is most of the load.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import statistics
import time
import uuid
from typing import Any, Callable, Dict, List, Optional


def _time_us(fn: Callable[[], Any], budget_s: float = 0.6, repeat: int = 7) -> float:
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    loops = max(1, int(budget_s / repeat / once))
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - start) / loops * 1e6)
    return statistics.median(samples)


def messages_state(n: int) -> Dict[str, Any]:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    messages: List[Any] = []
    for i in range(n // 4 + 1):
        messages.append(HumanMessage(content="question %d: what is the weather in Paris?" % i, id="h-%d" % i))
        messages.append(
            AIMessage(
                content="",
                id="ai-%d" % i,
                tool_calls=[{"name": "get_weather", "args": {"city": "Paris", "unit": "C"}, "id": "call-%d" % i}],
                response_metadata={"model_name": "m", "finish_reason": "tool_calls"},
                usage_metadata={"input_tokens": 120, "output_tokens": 12, "total_tokens": 132},
            )
        )
        messages.append(ToolMessage(content='{"temp": 21, "sky": "clear"}', tool_call_id="call-%d" % i, id="t-%d" % i))
        messages.append(AIMessage(content="It is 21C and clear in Paris.", id="a-%d" % i))
    return {"messages": messages[:n], "step": n, "thread": str(uuid.UUID(int=n))}


def json_like(target_bytes: int = 1_000_000) -> Dict[str, Any]:
    doc: Dict[str, Any] = {}
    i = 0
    while len(json.dumps(doc)) < target_bytes:
        doc["record-%d" % i] = {
            "id": i,
            "name": "item number %d" % i,
            "score": i * 0.25,
            "active": i % 2 == 0,
            "tags": ["alpha", "beta", "gamma"][: i % 4],
            "nested": {"a": [1, 2, {"b": "c" * (i % 17)}], "none": None},
        }
        i += 1
    return doc


def pydantic_state() -> Any:
    import pydantic

    class Address(pydantic.BaseModel):
        street: str
        city: str
        zip: str

    class Customer(pydantic.BaseModel):
        id: int
        name: str
        email: str
        created: dt.datetime
        addresses: List[Address]
        notes: Optional[str] = None

    class AgentState(pydantic.BaseModel):
        customers: List[Customer]
        cursor: int
        query: str

    customers = [
        Customer(
            id=i,
            name="customer %d" % i,
            email="c%d@example.com" % i,
            created=dt.datetime(2024, 1, 1) + dt.timedelta(minutes=i),
            addresses=[Address(street="%d Main St" % i, city="Springfield", zip="%05d" % i)],
        )
        for i in range(200)
    ]
    return {"state": AgentState(customers=customers, cursor=3, query="find"), "models": customers[:50]}


@dataclasses.dataclass
class Step:
    name: str
    started: dt.datetime
    duration: dt.timedelta
    inputs: Dict[str, Any]
    outputs: List[Any]
    run_id: uuid.UUID


@dataclasses.dataclass
class DataclassState:
    steps: List[Step]
    seen: set
    label: str


def dataclass_state() -> Any:
    steps = [
        Step(
            name="step-%d" % i,
            started=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=i),
            duration=dt.timedelta(milliseconds=i),
            inputs={"i": i, "query": "q%d" % i},
            outputs=[i, "out", None],
            run_id=uuid.UUID(int=i),
        )
        for i in range(300)
    ]
    return {"state": DataclassState(steps=steps, seen={"a", "b"}, label="run")}


CASES: Dict[str, Callable[[], Any]] = {
    "messages-100": lambda: messages_state(100),
    "messages-1000": lambda: messages_state(1000),
    "json-1MB": json_like,
    "pydantic-state": pydantic_state,
    "dataclass-state": dataclass_state,
}


def run(budget_s: float, rounds: int = 3) -> List[Dict[str, Any]]:
    import fast_langgraph
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    serde = JsonPlusSerializer()
    rows = []
    was_applied = {p["name"]: p for p in fast_langgraph.patch_status()}["serde"]["status"] == "applied"
    for name, build in CASES.items():
        value = build()
        fast_langgraph.patch(serde=True)
        status = {p["name"]: p for p in fast_langgraph.patch_status()}["serde"]["status"]
        patched_out = serde.dumps_typed(value)
        patched_back = serde.loads_typed(patched_out)
        fast_langgraph.unpatch("serde")
        vanilla_out = serde.dumps_typed(value)
        vanilla_back = serde.loads_typed(vanilla_out)
        # Patched and unpatched alternate, round after round: a neighbour's load on the
        # machine or the heap's state then weighs on both sides alike.
        times: Dict[str, List[float]] = {"p_dumps": [], "p_loads": [], "v_dumps": [], "v_loads": []}
        for _ in range(rounds):
            fast_langgraph.patch(serde=True)
            times["p_dumps"].append(_time_us(lambda: serde.dumps_typed(value), budget_s / rounds))
            times["p_loads"].append(_time_us(lambda: serde.loads_typed(patched_out), budget_s / rounds))
            fast_langgraph.unpatch("serde")
            times["v_dumps"].append(_time_us(lambda: serde.dumps_typed(value), budget_s / rounds))
            times["v_loads"].append(_time_us(lambda: serde.loads_typed(vanilla_out), budget_s / rounds))
        p_dumps, p_loads, v_dumps, v_loads = (statistics.median(times[k]) for k in ("p_dumps", "p_loads", "v_dumps", "v_loads"))
        if was_applied:
            fast_langgraph.patch(serde=True)
        rows.append(
            {
                "case": name,
                "bytes": len(vanilla_out[1]),
                "unpatched_dumps_us": round(v_dumps, 1),
                "patched_dumps_us": round(p_dumps, 1),
                "unpatched_loads_us": round(v_loads, 1),
                "patched_loads_us": round(p_loads, 1),
                "dumps_speedup": round(v_dumps / p_dumps, 2),
                "loads_speedup": round(v_loads / p_loads, 2),
                "speedup": round((v_dumps + v_loads) / (p_dumps + p_loads), 2),
                "equal": patched_out == vanilla_out and patched_back == vanilla_back,
                "patch": status,
            }
        )
    return rows


def render(rows: List[Dict[str, Any]]) -> str:
    lines = [
        "dumps_typed / loads_typed, median us per call (patch status: %s)" % rows[0]["patch"],
        "%-16s %8s %20s %20s %9s %6s"
        % ("case", "bytes", "dumps unp/patched", "loads unp/patched", "dumps+loads", "equal"),
    ]
    for r in rows:
        lines.append(
            "%-16s %8d %9.1f/%9.1f %9.1f/%9.1f %8.2fx %6s"
            % (
                r["case"],
                r["bytes"],
                r["unpatched_dumps_us"],
                r["patched_dumps_us"],
                r["unpatched_loads_us"],
                r["patched_loads_us"],
                r["speedup"],
                r["equal"],
            )
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fast_langgraph.bench serde", description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=1.2, help="seconds per measurement, over all rounds")
    parser.add_argument("--rounds", type=int, default=3, help="patched/unpatched alternations per case")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = run(args.budget, args.rounds)
    print(json.dumps(rows, indent=2) if args.json else render(rows))
    return 0 if all(r["equal"] for r in rows) else 1

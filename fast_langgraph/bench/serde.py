"""Checkpoint serialization benchmark: ``python -m fast_langgraph.bench serde``.

``JsonPlusSerializer().dumps_typed`` and ``loads_typed`` with the ``serde`` patch
(Rust msgpack encoder; large blobs decoded by ormsgpack with the GC paused) against the same calls unpatched (ormsgpack +
LangGraph's Python ``_msgpack_default`` and ext hook), side by side in one process;
encoded bytes checked equal, decoded values checked equal:

* (a) a checkpoint-like state holding 100 and 1,000 LangChain messages with tool calls;
* (b) a ~1 MB nested JSON-like dict (plain data: ormsgpack's own fast path);
* (c) a pydantic model state; (d) a dataclass state;
* (e) a ~6.5 MB list of 1,900 small dicts, the shape of the ``messages`` channel of
  LangGraph's own ``pydantic_state``/``wide_state`` checkpoint benchmarks (one output
  far above the encoder's 1 MiB spare buffer). Results are dropped at once here, so
  whether a side's multi-MB output lands on fresh pages depends on the heap's state
  (glibc's dynamic mmap threshold), which either side can shift for the other: compare
  builds on the patched column; ``bench langgraph-programs`` measures the real case.

Both columns construct objects through LangGraph's own ext hook (pydantic
validation, dataclass ``__init__``...): on message states that is most of the load.

``--corrupt``: failing ``loads_typed`` of large (>= 128 KiB) corrupt blobs (truncated,
reserved bytes, byte flips, hostile headers), patched against unpatched in fresh
interpreters, alternating; the errors (class and message) checked equal.

``--parts``: where a load's time goes; its Rust reader vs ormsgpack line needs a core
built with the Cargo feature ``native-decoder`` (see :data:`NATIVE_DECODER_MISSING`).
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

#: Why the Rust msgpack reader's benchmark and tests are skipped in a default build.
NATIVE_DECODER_MISSING = (
    "the Rust msgpack reader is not in this build of the core (off by default); "
    "build it with: maturin develop --release --features native-decoder"
)


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


def mixed_messages_state(n: int) -> Dict[str, Any]:
    """``n`` messages of every common kind: human (text and image blocks), AI with tool
    calls, usage details and nested response metadata, reasoning blocks, tool results
    with artifacts, system, chat, and streamed chunks."""
    from langchain_core import messages as m

    out: List[Any] = []
    i = 0
    while len(out) < n:
        call = {
            "name": "search",
            "args": {"query": "weather %d" % i, "filters": {"days": 3, "units": ["C"]}},
            "id": "call-%d" % i,
            "type": "tool_call",
        }
        out.extend(
            [
                m.SystemMessage(content="You are a helpful assistant.", id="s-%d" % i),
                m.HumanMessage(
                    content=[
                        {"type": "text", "text": "what is this? %d" % i},
                        {"type": "image_url", "image_url": {"url": "https://example.com/%d.png" % i}},
                    ],
                    id="h-%d" % i,
                ),
                m.AIMessage(
                    content=[
                        {"type": "reasoning", "reasoning": "look it up", "extras": {"signature": "sig"}},
                        {"type": "text", "text": "Let me search."},
                    ],
                    id="ai-%d" % i,
                    tool_calls=[call],
                    response_metadata={
                        "model_name": "m-1",
                        "finish_reason": "tool_calls",
                        "logprobs": None,
                        "system_fingerprint": "fp",
                        "token_usage": {"prompt": 120, "completion": 12},
                    },
                    usage_metadata={
                        "input_tokens": 120,
                        "output_tokens": 12,
                        "total_tokens": 132,
                        "input_token_details": {"cache_read": 100},
                        "output_token_details": {"reasoning": 5},
                    },
                ),
                m.ToolMessage(
                    content='{"temp": 21, "sky": "clear"}',
                    tool_call_id="call-%d" % i,
                    id="t-%d" % i,
                    artifact={"raw": [21, "clear"]},
                    name="search",
                ),
                m.AIMessage(content="It is 21C and clear.", id="a-%d" % i, response_metadata={"finish_reason": "stop"}),
                m.ChatMessage(content="noted", role="critic", id="c-%d" % i),
                m.AIMessageChunk(content="partial answer", id="chunk-%d" % i),
                m.HumanMessage(content="thanks %d" % i, id="h2-%d" % i, name="user"),
            ]
        )
        i += 1
    return {"messages": out[:n], "step": n}


def json_like(target_bytes: int = 1_000_000) -> Dict[str, Any]:
    doc: Dict[str, Any] = {}
    i = 0
    # len(json.dumps(doc)), kept up to date per record (re-encoding the whole doc after
    # every record made building it quadratic: a minute on a busy machine).
    size = len("{}")
    while size < target_bytes:
        key = "record-%d" % i
        doc[key] = {
            "id": i,
            "name": "item number %d" % i,
            "score": i * 0.25,
            "active": i % 2 == 0,
            "tags": ["alpha", "beta", "gamma"][: i % 4],
            "nested": {"a": [1, 2, {"b": "c" * (i % 17)}], "none": None},
        }
        size += len(json.dumps(key)) + len(": ") + len(json.dumps(doc[key])) + (len(", ") if i else 0)
        i += 1
    return doc


def checkpoint_lists(n: int = 1900) -> Dict[str, Any]:
    # The input of LangGraph's bench/__main__.py pydantic_state cases, accumulated n times
    # by the ``operator.add`` reducer (the same dict object repeated, as there).
    msg = {
        str(i) * 10: {str(j) * 10: ["hi?" * 10, True, 1, 6327816386138, None] * 5 for j in range(5)} for i in range(3)
    }
    return {"messages": [msg] * n}


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
    "messages-200-mixed": lambda: mixed_messages_state(200),
    "messages-200-mixed-again": lambda: mixed_messages_state(200),
    "messages-100": lambda: messages_state(100),
    "messages-1000": lambda: messages_state(1000),
    "json-1MB": json_like,
    "checkpoint-lists-6MB": checkpoint_lists,
    "pydantic-state": pydantic_state,
    "dataclass-state": dataclass_state,
}


# Encoded again, unchanged: what a checkpointer does with a conversation's history at
# every step; the encoder answers from its cache of encoded messages. Every other case
# empties that cache before each patched ``dumps_typed`` (charged to the patched side),
# so that it times a first encode.
AGAIN = {"messages-200-mixed-again"}


def run(budget_s: float, rounds: int = 3) -> List[Dict[str, Any]]:
    import fast_langgraph
    from fast_langgraph._rust import message_cache_clear
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

        def patched_dumps(value: Any = value, again: bool = name in AGAIN) -> Any:
            if not again:
                message_cache_clear()
            return serde.dumps_typed(value)

        for _ in range(rounds):
            fast_langgraph.patch(serde=True)
            times["p_dumps"].append(_time_us(patched_dumps, budget_s / rounds))
            times["p_loads"].append(_time_us(lambda: serde.loads_typed(patched_out), budget_s / rounds))
            fast_langgraph.unpatch("serde")
            times["v_dumps"].append(_time_us(lambda: serde.dumps_typed(value), budget_s / rounds))
            times["v_loads"].append(_time_us(lambda: serde.loads_typed(vanilla_out), budget_s / rounds))
        p_dumps, p_loads, v_dumps, v_loads = (
            statistics.median(times[k]) for k in ("p_dumps", "p_loads", "v_dumps", "v_loads")
        )
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
        "%-18s %8s %20s %20s %7s %7s %9s %6s"
        % ("case", "bytes", "dumps unp/patched", "loads unp/patched", "dumps", "loads", "dumps+loads", "equal"),
    ]
    for r in rows:
        lines.append(
            "%-18s %8d %9.1f/%9.1f %9.1f/%9.1f %6.2fx %6.2fx %8.2fx %6s"
            % (
                r["case"],
                r["bytes"],
                r["unpatched_dumps_us"],
                r["patched_dumps_us"],
                r["unpatched_loads_us"],
                r["patched_loads_us"],
                r["dumps_speedup"],
                r["loads_speedup"],
                r["speedup"],
                r["equal"],
            )
        )
    return "\n".join(lines)


def parts(budget_s: float) -> Dict[str, Any]:
    """Where a load's time goes: the figures behind the README's explanations.

    * per message class: LangGraph's whole ext hook vs its pieces (unpacking the payload,
      the class's constructor) and the encoder's pieces (``model_dump``, ``_msgpack_enc``);
    * tiny values: ``loads_typed`` patched vs unpatched (the wrapper's one extra call);
    * object building: the Rust reader vs ormsgpack on the 1 MB dict, GC off on both sides
      (needs a core built with the Rust reader; skipped, saying so, without it).
    Every pair is timed in this process with the same input; decoded values checked equal.
    """
    import gc
    import importlib

    import ormsgpack

    import fast_langgraph
    from fast_langgraph._rust import require_core
    from langgraph.checkpoint.serde import jsonplus
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    _core = require_core()

    serde = JsonPlusSerializer()
    hook = serde._unpack_ext_hook
    opt = ormsgpack.OPT_NON_STR_KEYS
    per_class = []
    for message in messages_state(4)["messages"]:
        code, payload = ormsgpack.unpackb(jsonplus._msgpack_enc(message), ext_hook=lambda c, d: (c, d))
        module, name, kwargs = ormsgpack.unpackb(payload, ext_hook=hook, option=opt)[:3]
        cls = getattr(importlib.import_module(module), name)
        per_class.append(
            {
                "class": type(message).__name__,
                "hook_us": round(_time_us(lambda: hook(code, payload), budget_s), 2),
                "unpack_us": round(
                    _time_us(lambda: ormsgpack.unpackb(payload, ext_hook=hook, option=opt), budget_s), 2
                ),
                "constructor_us": round(_time_us(lambda: cls(**kwargs), budget_s), 2),
                "model_dump_us": round(_time_us(message.model_dump, budget_s), 2),
                "encode_us": round(_time_us(lambda: jsonplus._msgpack_enc(message), budget_s), 2),
            }
        )
    tiny = []
    for label, value in (("int", 5), ("str", "hello world"), ("3 messages", messages_state(3)["messages"])):
        typed = serde.dumps_typed(value)
        fast_langgraph.patch(serde=True)
        on = _time_us(lambda: serde.loads_typed(typed), budget_s)
        fast_langgraph.unpatch("serde")
        off = _time_us(lambda: serde.loads_typed(typed), budget_s)
        fast_langgraph.patch(serde=None)
        tiny.append({"value": label, "unpatched_us": round(off, 3), "patched_us": round(on, 3)})
    # The Rust reader exists only in a core built with the Cargo feature (off by default).
    decode_native = getattr(_core, "msgpack_decode_native", None)
    if decode_native is None:
        return {
            "per_message_class": per_class,
            "tiny_loads": tiny,
            "object_building_gc_off": {"skipped": NATIVE_DECODER_MISSING},
        }
    blob = ormsgpack.packb(json_like(), option=opt)
    # Every input through the Rust reader.
    previous = (decode_native(True), _core.msgpack_gc_pause_min_input(0))
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        rust_value = _core.msgpack_unpackb(blob, ext_hook=hook, option=opt)
        equal = rust_value == ormsgpack.unpackb(blob, ext_hook=hook, option=opt)
        rust = _time_us(lambda: _core.msgpack_unpackb(blob, ext_hook=hook, option=opt), budget_s)
        orm = _time_us(lambda: ormsgpack.unpackb(blob, ext_hook=hook, option=opt), budget_s)
    finally:
        if was_enabled:
            gc.enable()
        decode_native(previous[0])
        _core.msgpack_gc_pause_min_input(previous[1])
    building = {"bytes": len(blob), "rust_reader_us": round(rust, 1), "ormsgpack_us": round(orm, 1), "equal": equal}
    return {"per_message_class": per_class, "tiny_loads": tiny, "object_building_gc_off": building}


def corrupt_blobs() -> Dict[str, bytes]:
    """Large (>= 128 KiB) corrupt msgpack checkpoints, the same in every process."""
    import random

    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    serde = JsonPlusSerializer()
    plain = serde.dumps_typed(json_like(400_000))[1]
    messages = serde.dumps_typed(messages_state(800))[1]
    mixed = serde.dumps_typed({"doc": json_like(300_000), "messages": messages_state(60)["messages"]})[1]

    def flipped(blob: bytes, n: int, seed: int) -> bytes:
        rng, out = random.Random(seed), bytearray(blob)
        for _ in range(n):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)

    def reserved_at(blob: bytes, share: float) -> bytes:
        at = int(len(blob) * share)
        return blob[:at] + b"\xc1" + blob[at + 1 :]

    pad = b"\x00" * 200_000
    blobs = {
        "plain cut 60%": plain[: int(len(plain) * 0.6)],
        "plain cut 95%": plain[: int(len(plain) * 0.95)],
        "plain 0xc1 at 5%": reserved_at(plain, 0.05),
        "plain 0xc1 at 50%": reserved_at(plain, 0.5),
        "plain 0xc1 at 95%": reserved_at(plain, 0.95),
        "plain 5 flips": flipped(plain, 5, 3),
        "messages cut 95%": messages[: int(len(messages) * 0.95)],
        "messages 0xc1 at 50%": reserved_at(messages, 0.5),
        "mixed cut 95%": mixed[: int(len(mixed) * 0.95)],
        "mixed 0xc1 at 50%": reserved_at(mixed, 0.5),
        "mixed 5 flips": flipped(mixed, 5, 3),
        "map32 past the end": b"\xdf\xff\xff\xff\xff" + pad,
        "deep arrays": b"\x91" * 200_000,
        "bad ext values": b"\xdd\x00\x01\x00\x00" + b"\xd4\x05\x00" * 65536,
    }
    return blobs


CORRUPT_CHILD = r"""
import json, logging, sys, time, warnings
logging.disable(logging.CRITICAL)  # LangGraph's hook logs flipped class names
warnings.simplefilter("ignore")
import fast_langgraph
from fast_langgraph.bench.serde import corrupt_blobs
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

n = int(sys.argv[1])
serde = JsonPlusSerializer()
out = {}
for name, blob in corrupt_blobs().items():
    def once():
        try:
            serde.loads_typed(("msgpack", blob))
            return None
        except Exception as exc:
            return "%s.%s: %s" % (type(exc).__module__, type(exc).__qualname__, exc)
    error = once()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        once()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    out[name] = {"bytes": len(blob), "cpu_us": cpu / n * 1e6, "wall_us": wall / n * 1e6, "error": error}
status = {p["name"]: p["status"] for p in fast_langgraph.patch_status()}["serde"]
json.dump({"cases": out, "serde": status}, sys.stdout)
"""


def corrupt(rounds: int, n: int) -> Dict[str, Any]:
    """Failing decodes of :func:`corrupt_blobs`, patched vs unpatched: every sample a fresh
    interpreter (``FAST_LANGGRAPH=0`` on the unpatched side), the two alternating; CPU time
    per decode (less exposed to a busy machine than wall time), errors checked equal."""
    from fast_langgraph.bench.suite import run_child

    samples: Dict[bool, List[Dict[str, Any]]] = {True: [], False: []}
    for r in range(rounds):
        for patched in (True, False) if r % 2 == 0 else (False, True):
            result = run_child(CORRUPT_CHILD, [str(n)], patched)
            if "error" in result:
                raise RuntimeError("benchmark child failed: %s" % result["error"])
            samples[patched].append(result)
    statuses = {s["serde"] for s in samples[True]} | {"unpatched side: " + s["serde"] for s in samples[False]}
    rows = []
    for name in samples[True][0]["cases"]:
        p = [s["cases"][name] for s in samples[True]]
        v = [s["cases"][name] for s in samples[False]]
        ratios = [a["cpu_us"] / b["cpu_us"] for a, b in zip(p, v)]
        rows.append(
            {
                "case": name,
                "bytes": p[0]["bytes"],
                "unpatched_cpu_us": round(statistics.median(x["cpu_us"] for x in v), 1),
                "patched_cpu_us": round(statistics.median(x["cpu_us"] for x in p), 1),
                "ratio": round(statistics.median(ratios), 2),
                "ratio_min": round(min(ratios), 2),
                "ratio_max": round(max(ratios), 2),
                "error": v[0]["error"],
                "equal": len({x["error"] for x in p + v}) == 1,
            }
        )
    total_p = [sum(c["cpu_us"] for c in s["cases"].values()) for s in samples[True]]
    total_v = [sum(c["cpu_us"] for c in s["cases"].values()) for s in samples[False]]
    totals = [a / b for a, b in zip(total_p, total_v)]
    return {
        "rounds": rounds,
        "decodes_per_case": n,
        "serde": sorted(statuses),
        "rows": rows,
        "total_ratio": round(statistics.median(totals), 2),
        "total_ratio_min": round(min(totals), 2),
        "total_ratio_max": round(max(totals), 2),
    }


def render_corrupt(result: Dict[str, Any]) -> str:
    lines = [
        "failing loads_typed of corrupt blobs: median CPU us per decode over %d fresh-interpreter rounds "
        "each side, alternating (%d decodes per case; serde patch: %s)"
        % (result["rounds"], result["decodes_per_case"], ", ".join(result["serde"])),
        "%-22s %8s %11s %11s %17s %6s  %s"
        % ("case", "bytes", "unpatched", "patched", "ratio (min-max)", "equal", "error"),
    ]
    for r in result["rows"]:
        lines.append(
            "%-22s %8d %11.1f %11.1f %6.2f (%.2f-%.2f) %6s  %s"
            % (
                r["case"],
                r["bytes"],
                r["unpatched_cpu_us"],
                r["patched_cpu_us"],
                r["ratio"],
                r["ratio_min"],
                r["ratio_max"],
                r["equal"],
                (r["error"] or "(decodes)")[-60:],
            )
        )
    lines.append(
        "all cases, patched/unpatched CPU time: %.2f (per-round min-max %.2f-%.2f)"
        % (result["total_ratio"], result["total_ratio_min"], result["total_ratio_max"])
    )
    return "\n".join(lines)


def render_parts(result: Dict[str, Any]) -> str:
    lines = [
        "per message, median us: LangGraph's ext hook = unpack + checks + constructor; encode = model_dump + framing"
    ]
    lines.append("%-14s %8s %8s %12s %11s %8s" % ("class", "hook", "unpack", "constructor", "model_dump", "encode"))
    for r in result["per_message_class"]:
        lines.append(
            "%-14s %8.2f %8.2f %12.2f %11.2f %8.2f"
            % (r["class"], r["hook_us"], r["unpack_us"], r["constructor_us"], r["model_dump_us"], r["encode_us"])
        )
    lines.append("tiny values, loads_typed median us (unpatched -> patched):")
    for r in result["tiny_loads"]:
        lines.append("  %-12s %8.3f -> %8.3f" % (r["value"], r["unpatched_us"], r["patched_us"]))
    b = result["object_building_gc_off"]
    if "skipped" in b:
        lines.append("building a plain blob with the GC off, Rust reader vs ormsgpack: skipped, %s" % b["skipped"])
    else:
        lines.append(
            "building a %d-byte plain blob with the GC off: Rust reader %.1f us, ormsgpack %.1f us (equal: %s)"
            % (b["bytes"], b["rust_reader_us"], b["ormsgpack_us"], b["equal"])
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fast_langgraph.bench serde", description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=1.2, help="seconds per measurement, over all rounds")
    parser.add_argument("--rounds", type=int, default=3, help="patched/unpatched alternations per case")
    parser.add_argument("--parts", action="store_true", help="where a load's time goes (see parts())")
    parser.add_argument("--corrupt", action="store_true", help="failing decodes of large corrupt blobs (see corrupt())")
    parser.add_argument("--decodes", type=int, default=20, help="--corrupt: decodes per case per interpreter")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.corrupt:
        result = corrupt(max(2, args.rounds), args.decodes)
        print(json.dumps(result, indent=2) if args.json else render_corrupt(result))
        return 0 if all(r["equal"] for r in result["rows"]) else 1
    if args.parts:
        result = parts(args.budget / 4)
        print(json.dumps(result, indent=2) if args.json else render_parts(result))
        return 0 if result["object_building_gc_off"].get("equal", True) else 1
    rows = run(args.budget, args.rounds)
    print(json.dumps(rows, indent=2) if args.json else render(rows))
    return 0 if all(r["equal"] for r in rows) else 1

"""The Rust msgpack encoder writes exactly what LangGraph's ormsgpack call writes.

Every comparison runs the unpatched side with the ``serde`` patch reverted (so that
``_msgpack_default``'s nested ``_msgpack_enc`` calls are ormsgpack's too) and
compares bytes, or the exception class when both refuse the input.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import pathlib
import re
import sys
import uuid
from typing import Any, List, Optional

import pytest

pytest.importorskip("langgraph.checkpoint.serde.jsonplus")
pytest.importorskip("ormsgpack")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fast_langgraph  # noqa: E402
from fast_langgraph._core import msgpack_encode  # noqa: E402
from langgraph.checkpoint.serde import jsonplus  # noqa: E402

serde_state = {p["name"]: p for p in fast_langgraph.patch_status()}.get("serde")
if serde_state is None or not serde_state["in_range"]:
    pytest.skip("serde patch not applicable here: %s" % (serde_state,), allow_module_level=True)


@pytest.fixture(autouse=True, scope="module")
def serde_enabled():
    # On by default; on here even if an environment switch turned it off, then handed back.
    fast_langgraph.patch(serde=True)
    yield
    fast_langgraph.patch(serde=None)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@contextlib.contextmanager
def unpatched():
    fast_langgraph.unpatch("serde")
    try:
        yield
    finally:
        fast_langgraph.patch(serde=True)


@pytest.fixture(autouse=True, scope="module")
def serde_patched():
    fast_langgraph.patch(serde=True)
    assert jsonplus._msgpack_enc.__doc__ and "fast_langgraph" in jsonplus._msgpack_enc.__doc__
    yield


def outcome(fn, *args):
    try:
        return fn(*args)
    except TypeError as exc:  # ormsgpack.MsgpackEncodeError is a TypeError
        return ("raised", type(exc))


def vanilla_packb(obj):
    import ormsgpack

    with unpatched():
        return outcome(lambda o: ormsgpack.packb(o, default=jsonplus._msgpack_default, option=jsonplus._option), obj)


def vanilla_dumps(obj):
    with unpatched():
        return outcome(jsonplus.JsonPlusSerializer().dumps_typed, obj)


def assert_identical(obj):
    expected = vanilla_packb(obj)
    assert outcome(msgpack_encode, obj, jsonplus._msgpack_default, True) == expected
    assert outcome(msgpack_encode, obj, jsonplus._msgpack_default, False) == expected
    assert outcome(jsonplus._msgpack_enc, obj) == expected
    assert outcome(jsonplus.JsonPlusSerializer().dumps_typed, obj) == vanilla_dumps(obj)


# --- value zoo -------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    PAIR = (1, 2)


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mode(str, enum.Enum):
    A = "a"


Point = collections.namedtuple("Point", "x y")


@dataclasses.dataclass
class Item:
    name: str
    tags: List[str] = dataclasses.field(default_factory=list)
    parent: Optional["Item"] = None


@dataclasses.dataclass(frozen=True)
class Frozen:
    when: dt.datetime
    amount: decimal.Decimal


def _pydantic_models():
    import pydantic

    class Inner(pydantic.BaseModel):
        x: int
        when: Optional[dt.datetime] = None

    class Outer(pydantic.BaseModel):
        name: str
        inner: Inner
        items: List[Inner] = []
        extra: Any = None

    models = [Inner, Outer]
    try:
        from pydantic import v1 as pydantic_v1

        class V1(pydantic_v1.BaseModel):
            a: int
            b: str = "x"

        models.append(V1)
    except ImportError:  # pragma: no cover
        pass
    return models


MODELS = _pydantic_models()
Inner, Outer = MODELS[0], MODELS[1]
V1 = MODELS[2] if len(MODELS) > 2 else None

# Module-level so their __module__/__name__ are stable.
Inner.__module__ = Outer.__module__ = __name__
if V1 is not None:
    V1.__module__ = __name__


def message_zoo():
    from langchain_core import messages as m

    tool_calls = [{"name": "search", "args": {"q": "x", "n": 3}, "id": "call_1", "type": "tool_call"}]
    out = [
        m.HumanMessage(content="hi", id="1", additional_kwargs={"k": [1, 2]}),
        m.HumanMessage(content=[{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "u"}}]),
        m.AIMessage(
            content="",
            tool_calls=tool_calls,
            response_metadata={"model": "m"},
            usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
        ),
        m.AIMessageChunk(content="par", id="c"),
        m.SystemMessage(content="sys"),
        m.ToolMessage(content="result", tool_call_id="call_1", artifact={"a": 1}),
        m.FunctionMessage(content="f", name="fn"),
        m.ChatMessage(content="c", role="critic"),
        m.HumanMessageChunk(content="h"),
        m.SystemMessageChunk(content="s"),
        m.ToolMessageChunk(content="t", tool_call_id="1"),
        m.RemoveMessage(id="gone"),
    ]
    try:
        from langchain_core.documents import Document

        out.append(Document(page_content="doc", metadata={"source": "s"}))
    except ImportError:  # pragma: no cover
        pass
    return out


def langgraph_zoo():
    from langgraph.types import Command, Interrupt, Send

    out = [
        Send("node", {"x": 1}),
        Command(goto="a", update={"k": [1, 2]}, resume={"r": 1}),
        Command(goto=[Send("b", 1)]),
        Interrupt(value={"q": "?"}, id="int-1"),
    ]
    try:
        from langgraph.types import TimeoutPolicy  # noqa: F401

        out.append(Send("node", 1, timeout=5))  # type: ignore[call-arg]
    except (ImportError, TypeError):
        pass
    try:
        from langgraph.checkpoint.serde.types import _DeltaSnapshot

        out.append(_DeltaSnapshot([1, {"a": (2,)}]))
    except ImportError:  # pragma: no cover
        pass
    return out


FIXED = [
    None,
    True,
    False,
    0,
    127,
    128,
    -32,
    -33,
    255,
    256,
    65535,
    65536,
    2**32,
    2**63 - 1,
    2**63,
    2**64 - 1,
    -(2**63),
    2**64,
    -(2**63) - 1,
    10**30,
    1.5,
    -0.0,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    "x" * 31,
    "x" * 32,
    "x" * 255,
    "x" * 256,
    "x" * 65536,
    "é✓😀",
    "a\ud800b",
    "\udfff",
    "\ud83d\ude00",
    b"",
    b"\x00" * 300,
    bytearray(b"ab"),
    memoryview(b"abcd"),
    memoryview(b"abcd")[::2],
    [],
    (),
    {},
    [1, (2, [3])],
    (1,),
    {"a": 1, 1: "b", None: 0, 1.5: 2, True: 3, b"k": 4, (1, (2, "x")): 5},  # noqa: F601 (True == 1: the key 1 ends with 3)
    {"a\ud800": 1},
    {("a\ud800",): 1},
    dt.datetime(2024, 1, 2, 3, 4, 5, 6),
    dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc),
    dt.datetime(2024, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30), "X")),
    dt.date(2024, 1, 2),
    dt.time(1, 2, 3, 4),
    dt.time(1, 2, tzinfo=dt.timezone.utc),
    dt.timedelta(days=-1, seconds=5, microseconds=7),
    dt.timezone.utc,
    uuid.UUID(int=12345),
    decimal.Decimal("1.10"),
    decimal.Decimal("NaN"),
    decimal.Decimal("-1E+3"),
    Color.RED,
    Color.PAIR,
    Level.HIGH,
    Mode.A,
    {1, 2, 3},
    frozenset({"a"}),
    collections.deque([1, "x"]),
    pathlib.Path("/a/b"),
    pathlib.PurePosixPath("x/y"),
    re.compile(r"a+b", re.I | re.M),
    Point(1, [2]),
    Item("a", ["t"], Item("p")),
    Frozen(dt.datetime(2020, 1, 1), decimal.Decimal("3")),
    ValueError("boom"),
    object(),
    type,
    lambda: 1,
    {uuid.UUID(int=1): 1, dt.date(2020, 1, 1): 2, dt.datetime(2020, 1, 1, 1): 3, Color.RED: 4, Level.LOW: 5, Mode.A: 6},
    {frozenset(): 1},
    {Point(1, 2): 1},
]


def _zoneinfo_values():
    try:
        from zoneinfo import ZoneInfo

        tz = ZoneInfo("Europe/Paris")
    except Exception:  # pragma: no cover - no tz database
        return []
    return [tz, dt.datetime(2024, 7, 1, 12, tzinfo=tz), dt.time(1, tzinfo=tz), {dt.datetime(2024, 1, 1, tzinfo=tz): 1}]


def _numpy_values():
    np = pytest.importorskip("numpy") if False else sys.modules.get("numpy")
    if np is None:
        try:
            import numpy as np
        except ImportError:
            return []
    return [
        np.arange(6, dtype="int16").reshape(2, 3),
        np.asfortranarray(np.arange(6, dtype="float32").reshape(2, 3)),
        np.arange(10)[::2],
        np.array(["a", "bc"]),
        np.zeros((0,)),
        np.float64(1.5),
        np.int64(3),
        memoryview(np.arange(3, dtype="int16")),
    ]


def _pydantic_values():
    values = [
        Inner(x=1),
        Outer(name="o", inner=Inner(x=2, when=dt.datetime(2020, 1, 1)), items=[Inner(x=3)], extra={1, 2}),
    ]
    if V1 is not None:
        values.append(V1(a=1))
    try:
        import pydantic

        values.append(pydantic.SecretStr("hidden"))
    except Exception:  # pragma: no cover
        pass
    return values


ZOO = FIXED + _zoneinfo_values() + _numpy_values() + _pydantic_values() + message_zoo() + langgraph_zoo()


@pytest.mark.parametrize("value", ZOO, ids=lambda v: type(v).__name__)
def test_fixed_values_identical(value):
    assert_identical(value)
    assert_identical([value, {"k": value}])


def test_the_whole_zoo_in_one_state():
    state = {"messages": message_zoo(), "values": [v for v in ZOO if not callable(v)]}
    assert_identical(state)


# --- property tests ----------------------------------------------------------

SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])
texts = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(st.text(max_size=3), SURROGATES), max_size=5).map("".join),
    st.text(min_size=250, max_size=300),
)
aware = st.datetimes(
    timezones=st.one_of(
        st.none(),
        st.just(dt.timezone.utc),
        st.builds(lambda m: dt.timezone(dt.timedelta(minutes=m)), st.integers(-1439, 1439)),
        st.timezones(),
    )
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
    st.binary(max_size=300),
    aware,
    st.dates(),
    st.times(timezones=st.one_of(st.none(), st.just(dt.timezone.utc), st.timezones())),
    st.timedeltas(),
    st.uuids(),
    st.decimals(allow_nan=True),
    st.sampled_from([Color.RED, Color.PAIR, Level.LOW, Mode.A]),
    st.builds(pathlib.Path, st.text(alphabet="ab/.", max_size=8)),
    st.builds(Point, st.integers(), st.text(max_size=5)),
    st.sampled_from(message_zoo() + langgraph_zoo() + _pydantic_values()),
)
hashable = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    texts,
    st.binary(max_size=8),
    st.uuids(),
    st.dates(),
    st.sampled_from([Color.RED, Level.LOW, Mode.A]),
    st.tuples(st.integers(), st.text(max_size=3)),
)


def containers(children):
    return st.one_of(
        st.lists(children, max_size=6),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(hashable, children, max_size=6),
        st.sets(hashable, max_size=4),
        st.frozensets(st.integers(), max_size=3),
        st.builds(lambda x, y: Item(str(x), [str(y)]), st.integers(), st.text(max_size=5)),
        st.builds(lambda v: collections.deque(v), st.lists(children, max_size=3)),
    )


values = st.recursive(scalars, containers, max_leaves=40)


@SETTINGS
@given(values)
def test_property_identical(value):
    assert_identical(value)


@SETTINGS
@given(st.dictionaries(hashable, values, max_size=8))
def test_property_dict_keys(value):
    assert_identical(value)


# --- large outputs (the encoder's spare and large buffers) -------------------

MiB = 1 << 20


def sized(total):
    """A list whose msgpack is exactly ``total`` bytes (an ext value via ``default`` included)."""
    head = [dt.date(2024, 1, 2), {"k": [1, None, True]}]
    base = len(vanilla_packb([*head, ""]))  # "" is 1 byte; a str > 65535 bytes has a 5-byte header
    if total < MiB:
        return [*head, "x" * total]
    value = [*head, "x" * (total - base - 4)]
    assert len(vanilla_packb(value)) == total
    return value


# Outputs around the 1 MiB spare-buffer limit, the 8 MiB doubling step and the 16 MiB
# large-buffer limit, in an order where the kept large buffer is too small, large enough,
# and used for a small output.
LARGE_SIZES = [
    MiB - 1,
    MiB,
    MiB + 1,
    8 * MiB - 1,
    8 * MiB,
    8 * MiB + 1,
    2 * MiB,
    9 * MiB,
    100,
    3 * MiB,
    16 * MiB + 1,
    5 * MiB,
]


def test_large_outputs_identical_across_buffer_thresholds():
    for total in LARGE_SIZES:
        assert_identical(sized(total))


def test_large_output_then_error_then_small():
    assert_identical(sized(9 * MiB))
    assert_identical([sized(2 * MiB), object()])  # fails late, after writing 2 MiB
    assert_identical({"a": 1})
    assert_identical(sized(MiB + 1))


def test_large_outputs_after_the_window_ends():
    # 32 small outputs after a large one end the thread's use of (and free) the large buffer.
    big = sized(3 * MiB)
    for _ in range(2):
        assert_identical(big)
        for i in range(40):
            # A date first: the Rust walk writes it (plain data would go to ormsgpack).
            small = {"d": dt.date(2024, 1, 1 + i % 28), "i": i}
            assert msgpack_encode(small, jsonplus._msgpack_default, True) == vanilla_packb(small)
    assert_identical(big)


def test_large_checkpoint_like_lists_identical():
    # The shape of LangGraph's wide/pydantic-state checkpoints: thousands of small dicts.
    msg = {
        str(i) * 10: {str(j) * 10: ["hi?" * 10, True, 1, 6327816386138, None] * 5 for j in range(5)} for i in range(3)
    }
    for n in (300, 1900, 2600):  # ~1 MB, ~6.5 MB, ~8.9 MB
        assert_identical([msg] * n)
        assert_identical([dict(msg, n=i) for i in range(n)])


def test_large_outputs_in_threads():
    import concurrent.futures

    sizes = [MiB + 7, 3 * MiB, 100, 8 * MiB + 1, 2 * MiB]
    values = [sized(n) for n in sizes]
    expected = [vanilla_packb(v) for v in values]

    def run(k):
        return [msgpack_encode(values[(i + k) % len(values)], jsonplus._msgpack_default, True) for i in range(10)]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for k, got in enumerate(pool.map(run, range(4))):
            assert got == [expected[(i + k) % len(values)] for i in range(10)]


# --- plain data goes to ormsgpack ---------------------------------------------


def recording_default():
    """LangGraph's default, recording what it was called with."""
    seen = []

    def default(obj):
        seen.append(type(obj).__name__)
        return jsonplus._msgpack_default(obj)

    return default, seen


def test_data_that_looks_plain_is_written_by_ormsgpack():
    from langchain_core.messages import AIMessage

    message = AIMessage("hi", id="a1")
    plain = [{"a": [1, 2.5, None, "x", b"y", True]}] * 50
    # Past the probe (a middle item, the 33rd entry of a dict): ormsgpack's call, as
    # LangGraph's _msgpack_enc makes it, with the message handed to LangGraph's default.
    for value, expected in (
        (plain, []),
        ([{"a": 1}, message, {"b": 2}], ["AIMessage"]),
        ({**{"k%d" % i: i for i in range(40)}, "m": message}, ["AIMessage"]),
        ([], []),
    ):
        default, seen = recording_default()
        assert msgpack_encode(value, default, True) == vanilla_packb(value)
        assert seen == expected


def test_data_the_probe_finds_not_plain_is_walked_in_rust():
    from langchain_core.messages import AIMessage

    message = AIMessage("hi", id="a1")
    checkpoint_like = {"v": 4, "id": "x", "channel_values": {"count": 3, "messages": [message] * 3}}
    for value in (
        [message, {"a": 1}],
        [{"a": 1}, message],
        {"n": 1, "m": [message]},
        checkpoint_like,
        [dt.date(2024, 1, 2), 1],
        {1: "int key"},
        "text",
        5,
    ):
        default, seen = recording_default()
        # Written natively: LangGraph's default is not called for the message or the date.
        assert msgpack_encode(value, default, True) == vanilla_packb(value)
        assert seen == []


def test_plain_start_with_errors_later_raises_what_ormsgpack_raises():
    for value in ([{"a": 1}, 2**70], {"a": 1, "b": object()}, [1, {"k": {1, 2}}]):
        assert_identical(value)


@SETTINGS
@given(value=st.lists(st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=5)), max_size=5))
def test_plain_lists_identical(value):
    assert_identical(value)


# --- limits and errors -------------------------------------------------------


def nested_lists(n, leaf=None):
    value = [] if leaf is None else [leaf]
    for _ in range(n - 1):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [254, 255, 256, 300])
def test_container_depth_limit(depth):
    assert_identical(nested_lists(depth))
    assert_identical({"a": nested_lists(depth - 1)})


@pytest.mark.parametrize("depth", [250, 253, 254, 255])
def test_depth_restarts_inside_each_ext_payload(depth):
    # Each nested _msgpack_enc call starts from depth 0: a set/model payload adds 1-2 levels.
    assert_identical(nested_lists(200, leaf={frozenset([1])}))
    assert_identical([{1, 2}, nested_lists(depth, leaf=Item("x", nested_lists(depth - 3)))])
    assert_identical(Outer(name="n", inner=Inner(x=1), extra=nested_lists(depth - 3)))


@pytest.mark.parametrize("levels", [50, 10_000])
def test_deeply_nested_ext_objects(levels):
    value: Any = 1
    for i in range(levels):
        value = Item(str(i), [], value)
    assert_identical(value)


def test_default_hook_recursion_limit():
    class Chain:
        def __init__(self, n):
            self.n = n

    def default(obj):
        return Chain(obj.n - 1) if obj.n else "end"

    import ormsgpack

    for n in (10, 254, 255, 300):
        expected = outcome(lambda o: ormsgpack.packb(o, default=default, option=jsonplus._option), Chain(n))
        assert outcome(msgpack_encode, Chain(n), default) == expected


def test_error_class_is_msgpack_encode_error():
    import ormsgpack

    for bad in (2**64, -(2**63) - 1, object(), {"a\ud800": 1}, nested_lists(300)):
        with pytest.raises(ormsgpack.MsgpackEncodeError):
            jsonplus._msgpack_enc(bad)
        with pytest.raises(ormsgpack.MsgpackEncodeError):
            jsonplus.JsonPlusSerializer().dumps_typed(bad)


def test_pickle_fallback_still_triggers():
    serde = jsonplus.JsonPlusSerializer(pickle_fallback=True)
    assert serde.dumps_typed(2**70)[0] == "pickle"


def test_default_exceptions_become_encode_errors():
    def default(obj):
        raise ValueError("nope")

    assert outcome(msgpack_encode, object(), default)[0] == "raised"
    with pytest.raises(TypeError):
        msgpack_encode(object(), default)


def test_callbacks_mutating_the_container_do_not_crash():
    data: list = []

    def clear_list(obj):
        data.clear()
        return 1

    data.extend([object(), 1, 2, 3] * 10)
    outcome(msgpack_encode, data, clear_list)

    grow: dict = {}

    def grow_dict(obj):
        for i in range(100):
            grow[("k", i)] = i
        return 1

    grow.update({"a": object(), "b": 2})
    outcome(msgpack_encode, grow, grow_dict)

    # Same size, every value replaced (the old ones freed) while the walk is midway:
    # values the encoder has not reached yet must be read afresh, never from a stale pointer.
    swap: dict = {}

    def swap_values(obj):
        for k in list(swap):
            swap[k] = "fresh-" + str(k) * 50
        return 1

    swap.update({"a": object(), **{"k%d" % i: "old-%d" % i * 40 for i in range(20)}})
    outcome(msgpack_encode, swap, swap_values)
    shrink: list = []

    def pop_all(obj):
        del shrink[1:]
        return 1

    shrink.extend([object()] + ["s%d" % i * 30 for i in range(50)])
    outcome(msgpack_encode, shrink, pop_all)

    class Model:
        def __init__(self, payload):
            self.payload = payload

        def model_dump(self):
            self.payload.clear()
            return {"p": self.payload}

    def state():
        shared: list = [1, 2]
        return [shared, Model(shared), shared]

    assert outcome(msgpack_encode, state(), jsonplus._msgpack_default, True) == vanilla_packb(state())


def test_duck_typing_order_matches():
    class DumpAndDict:
        def model_dump(self):
            return {"a": 1}

        def dict(self):
            return {"b": 2}

    class NotCallable:
        model_dump = 3

        def dict(self):
            return {"c": 3}

    class Sendish:
        node = "n"
        arg = 1

    @dataclasses.dataclass
    class DataSend:
        node: str
        arg: int

    class EnumWithDump(enum.Enum):
        A = 1

        def model_dump(self):
            return {"enum": True}

    for value in (DumpAndDict(), NotCallable(), Sendish(), DataSend("n", 1), EnumWithDump.A):
        type(value).__module__ = __name__
        assert_identical(value)


def test_replaced_default_is_respected():
    calls = []

    def custom(obj):
        calls.append(obj)
        return "custom"

    original = jsonplus._msgpack_default
    jsonplus._msgpack_default = custom
    try:
        assert jsonplus._msgpack_enc({1, 2}) == msgpack_encode({1, 2}, custom)
        assert calls
    finally:
        jsonplus._msgpack_default = original


def test_serializer_class_identity_kept():
    serde = jsonplus.JsonPlusSerializer()
    assert type(serde) is jsonplus.JsonPlusSerializer
    assert jsonplus.JsonPlusSerializer.dumps_typed.__module__ == jsonplus.__name__
    assert serde.dumps_typed(None) == ("null", b"")
    assert serde.dumps_typed(b"x") == ("bytes", b"x")


def test_roundtrip_through_unpatched_loads():
    serde = jsonplus.JsonPlusSerializer()
    state = {"messages": message_zoo()[:4], "when": dt.datetime(2024, 1, 1), "tags": {"a"}}
    assert serde.loads_typed(serde.dumps_typed(state)) == serde.loads_typed(vanilla_dumps(state))


# --- a real graph ------------------------------------------------------------


def _run_graph():
    from langchain_core.messages import AIMessage, HumanMessage
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, MessagesState, StateGraph
    from langgraph.types import Send

    class State(MessagesState):
        when: dt.datetime
        item: Item
        tags: set

    def plan(state):
        return {
            "messages": [
                AIMessage(
                    content="",
                    id="ai-1",
                    tool_calls=[{"name": "t", "args": {"i": i}, "id": "c%d" % i} for i in range(3)],
                )
            ],
            "when": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
            "item": Item("x", ["a"]),
            "tags": {"t"},
        }

    def fan(state):
        return [Send("work", {"messages": [HumanMessage(content=str(i), id="h%d" % i)]}) for i in range(3)]

    def work(state):
        return {
            "messages": [AIMessage(content="done " + state["messages"][-1].content, id="w" + state["messages"][-1].id)]
        }

    builder = StateGraph(State)
    builder.add_node("plan", plan)
    builder.add_node("work", work)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", fan, ["work"])
    builder.add_edge("work", END)
    saver = InMemorySaver()
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"messages": [HumanMessage(content="go", id="h")]}, config)
    checkpoints = []
    for tup in saver.list(config):
        # ids, timestamps and channel versions are random or time-based: compare the values.
        checkpoints.append(
            (
                tup.checkpoint["channel_values"],
                tup.metadata.get("step"),
                [(w[1], w[2]) for w in tup.pending_writes or []],
            )
        )
    blobs: dict = {}
    for (_, ns, channel, _version), typed in saver.blobs.items():
        blobs.setdefault((ns, channel), []).append(typed)
    return checkpoints, {k: sorted(v) for k, v in blobs.items()}


def test_compiled_graph_checkpoints_equal():
    patched = _run_graph()
    with unpatched():
        vanilla = _run_graph()
    assert patched[0] == vanilla[0]
    assert patched[1] == vanilla[1]  # the stored (type, bytes) blobs, byte for byte


def test_encoding_imports_what_unpatched_encoding_imports(py):
    # The encoder must not import anything LangGraph's own encoder would not (e.g.
    # langgraph.types, which pulls in langchain-core's tracers: ~0.2 s on a first put).
    code = """
        import sys, uuid, datetime, json
        from langchain_core.messages import HumanMessage
        from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
        before = set(sys.modules)
        JsonPlusSerializer().dumps_typed({"m": [HumanMessage("x", id="1")], "u": uuid.UUID(int=1),
                                          "t": datetime.datetime(2020, 1, 1), "s": {1, 2}})
        print(json.dumps(sorted(set(sys.modules) - before)))
        import fast_langgraph
        print({p["name"]: p["status"] for p in fast_langgraph.patch_status()}["serde"])
    """
    on = py(code).stdout.strip().splitlines()
    off = py(code, FAST_LANGGRAPH="0").stdout.strip().splitlines()
    assert on[-1] == "applied" and off[-1] != "applied"
    assert on[-2] == off[-2]

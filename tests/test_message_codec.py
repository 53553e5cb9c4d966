"""The message codec (part of the ``serde`` patch) against LangGraph unpatched.

Random messages of every verified class, alone and nested in state: the bytes
``dumps_typed`` writes equal the unpatched ones; the objects ``loads_typed`` returns
equal the unpatched hook's in type, ``__dict__`` (order included), fields set,
extras, private attributes, ``model_dump()``, ``repr`` and ``==``. A legacy corpus
(payloads as older langchain-core wrote them) takes LangGraph's own path, with the
same warnings and serde events, in every allowlist mode.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
import datetime as dt
import uuid
import warnings
from typing import Any, List

import pytest

pytest.importorskip("langgraph.checkpoint.serde.jsonplus")
ormsgpack = pytest.importorskip("ormsgpack")
pytest.importorskip("langchain_core.messages")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fast_langgraph  # noqa: E402
from fast_langgraph.patches import message_codec  # noqa: E402
from langchain_core import messages as m  # noqa: E402
from langgraph.checkpoint.serde import jsonplus  # noqa: E402

serde_state = {p["name"]: p for p in fast_langgraph.patch_status()}.get("serde")
if serde_state is None or not serde_state["in_range"]:
    pytest.skip("serde patch not applicable here: %s" % (serde_state,), allow_module_level=True)

import test_serde_decode as dec  # noqa: E402  (observed(): warnings and serde events)

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
OPT = ormsgpack.OPT_NON_STR_KEYS


@pytest.fixture(autouse=True, scope="module")
def serde_patched():
    fast_langgraph.patch(serde=True)
    assert "fast_langgraph" in (jsonplus.JsonPlusSerializer.loads_typed.__doc__ or "")
    yield
    fast_langgraph.unpatch("serde")


@contextlib.contextmanager
def unpatched():
    fast_langgraph.unpatch("serde")
    try:
        assert "fast_langgraph" not in (jsonplus.JsonPlusSerializer.loads_typed.__doc__ or "")
        yield
    finally:
        fast_langgraph.patch(serde=True)


def test_codec_is_on_for_the_verified_release():
    status = message_codec.status()
    if not status.enabled:
        pytest.skip(status.reason)
    assert set(status.classes) == {name for _, name, _, _ in message_codec.MESSAGE_CLASSES}


# --- comparing -------------------------------------------------------------------


def assert_same(got: Any, expected: Any, path: str = "$") -> None:
    """Same types and values everywhere, dict order included; messages field by field."""
    assert type(got) is type(expected), (path, got, expected)
    if isinstance(expected, m.BaseMessage):
        assert_same(got.__dict__, expected.__dict__, path + ".__dict__")
        assert got.model_fields_set == expected.model_fields_set, path
        # Built the same way: the same iteration order (pydantic adds field by field).
        assert type(got.model_fields_set) is type(expected.model_fields_set), path
        assert list(got.model_fields_set) == list(expected.model_fields_set), path
        assert got.__pydantic_extra__ == expected.__pydantic_extra__, path
        assert type(got.__pydantic_extra__) is type(expected.__pydantic_extra__), path
        assert got.__pydantic_private__ == expected.__pydantic_private__, path
        assert_same(got.model_dump(), expected.model_dump(), path + ".model_dump()")
        assert repr(got) == repr(expected), path
        if not has_nan(expected.__dict__):  # a NaN inside: equal values, never ==
            assert got == expected, path
    elif isinstance(expected, dict):
        assert list(got) == list(expected), path
        for k in expected:
            assert_same(got[k], expected[k], "%s[%r]" % (path, k))
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), path
        for i, (a, b) in enumerate(zip(got, expected)):
            assert_same(a, b, "%s[%d]" % (path, i))
    elif type(expected).__name__ == "Send":
        assert got.node == expected.node
        assert_same(got.arg, expected.arg, path + ".arg")
    elif isinstance(expected, float) and expected != expected:
        assert got != got
    else:
        assert got == expected, (path, got, expected)


def has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return value != value
    if isinstance(value, dict):
        return any(has_nan(k) or has_nan(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(has_nan(v) for v in value)
    return False


def vanilla_dumps(serde: Any, value: Any) -> Any:
    with unpatched():
        return serde.dumps_typed(value)


def assert_roundtrip_identical(value: Any, serde: Any = None) -> None:
    serde = serde or jsonplus.JsonPlusSerializer()
    typed = serde.dumps_typed(value)
    assert typed == vanilla_dumps(serde, value)
    dec.assert_loads_identical(serde, typed)
    got = serde.loads_typed(typed)
    with unpatched():
        expected = serde.loads_typed(typed)
    assert_same(got, expected)


# --- strategies ------------------------------------------------------------------

text = st.text(max_size=12)
opt_text = st.none() | text
leaf = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | text
tree = st.recursive(leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3), max_leaves=8)
# Values the codec must leave to model_dump(): not plain builtin trees.
odd_leaf = st.sampled_from(
    [
        (1, 2),
        dt.datetime(2024, 1, 2, 3, 4, 5),
        uuid.UUID(int=7),
        b"raw",
        {1, 2},
        frozenset(),
        2.5j if False else 3,
        {1: "int key"},
    ]
)
any_tree = st.one_of(
    tree, st.recursive(odd_leaf, lambda c: st.lists(c, max_size=2) | st.dictionaries(text, c, max_size=2), max_leaves=3)
)
args = st.dictionaries(text, any_tree, max_size=3)

block = st.one_of(
    text,
    st.builds(lambda t: {"type": "text", "text": t}, text),
    st.builds(lambda u: {"type": "image_url", "image_url": {"url": u, "detail": "auto"}}, text),
    st.builds(lambda d: {"type": "image", "source_type": "base64", "data": d, "mime_type": "image/png"}, text),
    st.builds(lambda i, n, a: {"type": "tool_use", "id": i, "name": n, "input": a}, text, text, args),
    st.builds(lambda r, s: {"type": "reasoning", "reasoning": r, "extras": {"signature": s}}, text, text),
    st.dictionaries(text, any_tree, max_size=3),
)
content = text | st.lists(block, max_size=4)
tool_call = st.builds(lambda n, a, i: {"name": n, "args": a, "id": i, "type": "tool_call"}, text, args, opt_text)
invalid_tool_call = st.builds(
    lambda n, a, i, e: {"type": "invalid_tool_call", "id": i, "name": n, "args": a, "error": e},
    opt_text,
    opt_text,
    opt_text,
    opt_text,
)
counts = st.integers(0, 10**6)
details_in = st.fixed_dictionaries({}, optional={"audio": counts, "cache_creation": counts, "cache_read": counts})
details_out = st.fixed_dictionaries({}, optional={"audio": counts, "reasoning": counts})
usage = st.none() | st.fixed_dictionaries(
    {"input_tokens": counts, "output_tokens": counts, "total_tokens": counts},
    optional={"input_token_details": details_in, "output_token_details": details_out},
)
metadata = st.dictionaries(text, any_tree, max_size=3)
common = {"additional_kwargs": metadata, "response_metadata": metadata, "name": opt_text, "id": opt_text}
tool_call_chunk = st.builds(
    lambda n, a, i, x: {"name": n, "args": a, "id": i, "index": x, "type": "tool_call_chunk"},
    opt_text,
    opt_text,
    opt_text,
    st.none() | st.integers(0, 5),
)


CLASSES = [
    m.HumanMessage,
    m.SystemMessage,
    m.AIMessage,
    m.ToolMessage,
    m.ChatMessage,
    m.FunctionMessage,
    m.RemoveMessage,
    m.HumanMessageChunk,
    m.SystemMessageChunk,
    m.ChatMessageChunk,
    m.FunctionMessageChunk,
    m.ToolMessageChunk,
    m.AIMessageChunk,
]


@st.composite
def message(draw: Any) -> Any:
    """A message of any verified class (a composite: small reprs, fast shrinking)."""
    cls = draw(st.sampled_from(CLASSES))
    if cls is m.RemoveMessage:
        return cls(id=draw(text))
    kwargs = {
        "content": draw(content),
        "additional_kwargs": draw(metadata),
        "response_metadata": draw(metadata),
        "id": draw(opt_text),
    }
    kwargs["name"] = draw(text if cls in (m.FunctionMessage, m.FunctionMessageChunk) else opt_text)
    if cls in (m.AIMessage, m.AIMessageChunk):
        kwargs["tool_calls"] = draw(st.lists(tool_call, max_size=3))
        kwargs["invalid_tool_calls"] = draw(st.lists(invalid_tool_call, max_size=2))
        kwargs["usage_metadata"] = draw(usage)
    if cls is m.AIMessageChunk:
        # Its validator json.dumps() the tool call args: JSON data only.
        kwargs["tool_calls"] = draw(
            st.lists(
                st.builds(
                    lambda n, a, i: {"name": n, "args": a, "id": i, "type": "tool_call"},
                    text,
                    st.dictionaries(text, tree, max_size=3),
                    opt_text,
                ),
                max_size=2,
            )
        )
        if draw(st.booleans()):
            kwargs = {k: v for k, v in kwargs.items() if k not in ("tool_calls", "invalid_tool_calls")}
            kwargs["tool_call_chunks"] = draw(st.lists(tool_call_chunk, max_size=2))
        kwargs["chunk_position"] = draw(st.sampled_from([None, "last"]))
    if cls in (m.ToolMessage, m.ToolMessageChunk):
        kwargs["tool_call_id"] = draw(text)
        kwargs["artifact"] = draw(any_tree)
        kwargs["status"] = draw(st.sampled_from(["success", "error"]))
    if cls in (m.ChatMessage, m.ChatMessageChunk):
        kwargs["role"] = draw(text)
    for key in list(kwargs):
        # Unset fields: constructed without them (fields set differs, defaults apply).
        if (
            key not in ("content", "tool_call_id", "role")
            and not (key == "name" and cls in (m.FunctionMessage, m.FunctionMessageChunk))
            and draw(st.booleans())
        ):
            del kwargs[key]
    return cls(**kwargs)


# --- property tests --------------------------------------------------------------


@SETTINGS
@given(message())
def test_message_alone(msg):
    assert_roundtrip_identical(msg)


@SETTINGS
@given(st.lists(message(), max_size=5), message())
def test_messages_nested_in_state(msgs, one):
    from langgraph.types import Send

    state = {
        "messages": msgs,
        "deep": {"by_id": {"x": [one, {"again": [one]}]}},
        "send": [Send("node", {"messages": msgs})],
        "tuple": (one,),
    }
    assert_roundtrip_identical(state)


# A value of the wrong type makes model_dump warn, on both sides alike (filterwarnings = error).
@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
@SETTINGS
@given(message(), st.sampled_from(["extra", "tuple", "datetime", "str_subclass", "bad_type", "reorder", "delete"]))
def test_instances_changed_after_construction(msg, change):
    """Instances the codec must not trust (assigned extras, odd values, edited __dict__)."""

    class Str(str):
        pass

    if change == "extra":
        msg.some_extra = [1, "x"]
    elif change == "tuple":
        msg.additional_kwargs["t"] = (1, 2)
    elif change == "datetime":
        msg.response_metadata["at"] = dt.datetime(2024, 1, 1)
    elif change == "str_subclass":
        msg.__dict__["content"] = Str("sub")
    elif change == "bad_type":
        msg.__dict__["id"] = 12
    elif change == "reorder":
        msg.__dict__["content"] = msg.__dict__.pop("content")
    elif change == "delete":
        del msg.__dict__["name"]
    # Some changes make model_dump() warn (a str field holding an int): pytest makes
    # that warning an error, and then both sides fail alike.
    got = outcome(lambda: jsonplus.JsonPlusSerializer().dumps_typed([msg]))
    expected = outcome(lambda: vanilla_dumps(jsonplus.JsonPlusSerializer(), [msg]))
    assert got == expected


def outcome(fn: Any) -> Any:
    """What ``fn()`` returns, or the class and text of what it raises."""
    try:
        return ("ok", fn())
    except Exception as exc:
        return ("raised", type(exc), str(exc))


# --- which path: the hook's class lookup counts LangGraph's constructions --------


@contextlib.contextmanager
def counting_imports():
    real = jsonplus.importlib
    calls: List[str] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def import_module(self, name: str, *a: Any) -> Any:
            calls.append(name)
            return real.import_module(name, *a)

    jsonplus.importlib = Counting()
    try:
        yield calls
    finally:
        jsonplus.importlib = real


def test_canonical_messages_are_built_by_the_codec():
    if not message_codec.status().enabled:
        pytest.skip(message_codec.status().reason)
    from fast_langgraph.bench.serde import messages_state

    serde = jsonplus.JsonPlusSerializer()
    typed = serde.dumps_typed(messages_state(40))
    with counting_imports() as calls:
        serde.loads_typed(typed)
    assert calls == []


# --- the legacy corpus -----------------------------------------------------------


def payload(module: str, name: str, fields: Any, method: Any = "model_validate_json", extra: tuple = ()) -> bytes:
    inner = ormsgpack.packb((module, name, fields, method) + extra, option=OPT)
    return ormsgpack.packb({"messages": [ormsgpack.Ext(5, inner)]}, option=OPT)


AI = ("langchain_core.messages.ai", "AIMessage")
HUMAN = ("langchain_core.messages.human", "HumanMessage")
BASE = {"additional_kwargs": {}, "response_metadata": {}}
OPENAI_CALLS = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]

LEGACY = [
    # Tool calls only in additional_kwargs (langchain-core 0.1 / early 0.2).
    payload(
        *AI,
        {
            "content": "",
            "additional_kwargs": {"tool_calls": OPENAI_CALLS},
            "response_metadata": {},
            "type": "ai",
            "name": None,
            "id": None,
            "tool_calls": [],
            "invalid_tool_calls": [],
            "usage_metadata": None,
        },
    ),
    payload(*AI, {"content": "", "additional_kwargs": {"tool_calls": OPENAI_CALLS}, "type": "ai"}),
    # Missing fields, extra keys, the old `example` field (0.2-0.3).
    payload(*HUMAN, {"content": "hi", "type": "human"}),
    payload(*HUMAN, {"content": "hi", **BASE, "type": "human", "name": None, "id": None, "example": False}),
    payload(
        *AI,
        {
            "content": "x",
            **BASE,
            "type": "ai",
            "name": None,
            "id": None,
            "example": False,
            "tool_calls": [],
            "invalid_tool_calls": [],
            "usage_metadata": None,
        },
    ),
    # Tool calls without "type" (0.2), with extras, usage as floats.
    payload(
        *AI,
        {
            "content": "",
            **BASE,
            "type": "ai",
            "name": None,
            "id": "1",
            "tool_calls": [{"name": "f", "args": {"a": 1}, "id": "c"}],
            "invalid_tool_calls": [],
            "usage_metadata": None,
        },
    ),
    payload(
        *AI,
        {
            "content": "",
            **BASE,
            "type": "ai",
            "name": None,
            "id": "1",
            "tool_calls": [{"name": "f", "args": {"a": 1}, "id": "c", "type": "tool_call", "extras": {}}],
            "invalid_tool_calls": [],
            "usage_metadata": None,
        },
    ),
    payload(
        *AI,
        {
            "content": "",
            **BASE,
            "type": "ai",
            "name": None,
            "id": None,
            "tool_calls": [],
            "invalid_tool_calls": [],
            "usage_metadata": {"input_tokens": 1.0, "output_tokens": 2, "total_tokens": 3},
        },
    ),
    payload(
        *AI,
        {
            "content": "",
            **BASE,
            "type": "ai",
            "name": None,
            "id": None,
            "tool_calls": [],
            "invalid_tool_calls": [],
            "usage_metadata": {"total_tokens": 3, "input_tokens": 1, "output_tokens": 2},
        },
    ),
    # Values validation changes or refuses.
    payload(*HUMAN, {"content": None, **BASE, "type": "human", "name": None, "id": None}),
    payload(*HUMAN, {"content": "x", **BASE, "type": "human", "name": None, "id": 12}),
    payload(*HUMAN, {"content": "x", **BASE, "type": "ai", "name": None, "id": None}),
    payload(*HUMAN, {"content": [1, "a"], **BASE, "type": "human", "name": None, "id": None}),
    payload(
        "langchain_core.messages.tool",
        "ToolMessage",
        {
            "content": "x",
            **BASE,
            "type": "tool",
            "name": None,
            "id": None,
            "tool_call_id": 7,
            "artifact": None,
            "status": "success",
        },
    ),
    payload(
        "langchain_core.messages.modifier",
        "RemoveMessage",
        {"content": "not empty", **BASE, "type": "remove", "name": None, "id": "x"},
    ),
    # Keys out of order; a tuple payload of 3; an unknown method; no payload dict.
    payload(*HUMAN, {"type": "human", "content": "hi", **BASE, "name": None, "id": None}),
    payload(*HUMAN, {"content": "hi", **BASE, "type": "human", "name": None, "id": None}, method="other"),
    payload(*HUMAN, "not a dict"),
    # Classes the codec does not own: base classes, old module paths, unknown modules.
    payload(
        "langchain_core.messages.base",
        "BaseMessage",
        {"content": "x", **BASE, "type": "human", "name": None, "id": None},
    ),
    payload(
        "langchain.schema.messages", "HumanMessage", {"content": "x", **BASE, "type": "human", "name": None, "id": None}
    ),
    payload("no.such.module", "HumanMessage", {"content": "x"}),
    # An ext value inside the fields.
    payload(
        *HUMAN,
        {
            "content": "x",
            "additional_kwargs": {"at": ormsgpack.Ext(0, ormsgpack.packb(("uuid", "UUID", "0" * 32)))},
            "response_metadata": {},
            "type": "human",
            "name": None,
            "id": None,
        },
    ),
]


def _serializers() -> List[Any]:
    out = [
        jsonplus.JsonPlusSerializer(),
        jsonplus.JsonPlusSerializer(allowed_msgpack_modules=None),
        jsonplus.JsonPlusSerializer(allowed_msgpack_modules=[("uuid", "UUID")]),
    ]
    out.append(out[1].with_msgpack_allowlist([("langchain.schema.messages", "HumanMessage")]))
    return out


# model_dump() of the objects LangGraph builds with model_construct() warns (both sides).
@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
@pytest.mark.parametrize("blob", LEGACY)
@pytest.mark.parametrize("mode", range(4))
def test_legacy_payloads_take_langgraphs_path(blob, mode):
    serde = _serializers()[mode]
    dec.assert_loads_identical(serde, ("msgpack", blob))
    got = serde.loads_typed(("msgpack", blob))
    with unpatched():
        expected = serde.loads_typed(("msgpack", blob))
    assert_same(got, expected)


def test_canonical_payload_counterpart_is_fast():
    """The fully canonical form of the corpus' messages does skip LangGraph's construction."""
    if not message_codec.status().enabled:
        pytest.skip(message_codec.status().reason)
    blob = payload(*HUMAN, {"content": "hi", **BASE, "type": "human", "name": None, "id": None})
    with counting_imports() as calls:
        jsonplus.JsonPlusSerializer().loads_typed(("msgpack", blob))
    assert calls == []
    for legacy in LEGACY[:3]:
        with counting_imports() as calls:
            jsonplus.JsonPlusSerializer().loads_typed(("msgpack", legacy))
        assert calls, legacy


def test_a_custom_ext_hook_is_left_alone():
    seen: List[Any] = []

    def hook(code: int, data: bytes) -> Any:
        seen.append(code)
        return "custom"

    serde = jsonplus.JsonPlusSerializer(__unpack_ext_hook__=hook)
    typed = serde.dumps_typed([m.HumanMessage("x")])
    assert serde.loads_typed(typed) == ["custom"]
    assert seen == [5]


def test_safe_types_changed_at_run_time_falls_back(monkeypatch):
    from langgraph.checkpoint.serde import _msgpack as lg_msgpack

    smaller = frozenset(k for k in lg_msgpack.SAFE_MSGPACK_TYPES if k != HUMAN)
    monkeypatch.setattr(lg_msgpack, "SAFE_MSGPACK_TYPES", smaller)
    blob = payload(*HUMAN, {"content": "hi", **BASE, "type": "human", "name": None, "id": None})
    for serde in _serializers():
        dec.assert_loads_identical(serde, ("msgpack", blob))


@pytest.mark.parametrize("attr", ["__module__", "__name__"])
@pytest.mark.parametrize("value", ["renamed.module", "equal but another str"])
def test_class_names_changed_at_run_time(attr, value):
    """The encoder writes the names the class has when the message is written, as
    LangGraph's default does, not the ones it had when it was verified."""
    cls = m.HumanMessage
    old = getattr(cls, attr)
    # An equal str that is another object, or a different name altogether.
    new = "".join(list(old)) if value == "equal but another str" else value
    assert new is not old or value != "equal but another str"
    msg = m.HumanMessage("hi", id="1")
    setattr(cls, attr, new)
    try:
        got = jsonplus.JsonPlusSerializer().dumps_typed([msg])
        assert got == vanilla_dumps(jsonplus.JsonPlusSerializer(), [msg])
    finally:
        setattr(cls, attr, old)
    assert jsonplus.JsonPlusSerializer().dumps_typed([msg]) == vanilla_dumps(jsonplus.JsonPlusSerializer(), [msg])


def test_classes_overriding_attribute_lookup_are_not_verified(monkeypatch):
    """The encoder reads `__dict__`/`__pydantic_extra__` with object's own lookup and
    takes type(obj) for obj.__class__: a class overriding either is left to LangGraph."""

    class OwnClass(m.HumanMessage):
        __class__ = property(lambda self: m.AIMessage)  # type: ignore[assignment]

    assert message_codec.plain_attribute_lookup(m.HumanMessage)
    assert not message_codec.plain_attribute_lookup(OwnClass)
    cls = m.ToolMessage
    monkeypatch.setattr(cls, "__getattribute__", lambda self, name: object.__getattribute__(self, name), raising=False)
    assert not message_codec.plain_attribute_lookup(cls)
    fast_langgraph.unpatch("serde")
    fast_langgraph.patch(serde=True)
    try:
        status = message_codec.status()
        assert status.enabled and "ToolMessage" not in status.classes and "HumanMessage" in status.classes
    finally:
        monkeypatch.undo()
        fast_langgraph.unpatch("serde")
        fast_langgraph.patch(serde=True)
    assert "ToolMessage" in message_codec.status().classes


def test_encrypted_serializer():
    pytest.importorskip("Crypto.Cipher")
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    from fast_langgraph.bench.serde import messages_state

    serde = EncryptedSerializer.from_pycryptodome_aes(key=b"k" * 16)
    state = messages_state(12)
    typed = serde.dumps_typed(state)
    got = serde.loads_typed(typed)
    with unpatched():
        expected = serde.loads_typed(typed)
    assert_same(got, expected)


def test_doctor_shows_the_codec():
    from fast_langgraph import doctor

    report = doctor.collect()
    serde = {p["name"]: p for p in report["patches"]}["serde"]
    codec = serde["message_codec"]
    assert codec["enabled"] == message_codec.status().enabled
    assert codec["verified_langchain_core"] == message_codec.VERIFIED_LANGCHAIN_CORE
    assert "message codec" in doctor.render(report)


def test_outside_the_verified_range_messages_take_langgraphs_path(monkeypatch):
    from fast_langgraph import doctor
    from fast_langgraph.bench.serde import messages_state

    enabled_before = message_codec.status().enabled  # off where langchain-core is outside the range
    monkeypatch.setattr(message_codec, "VERIFIED_LANGCHAIN_CORE", ">=0.0.1,<0.0.2")
    fast_langgraph.unpatch("serde")
    fast_langgraph.patch(serde=True)
    try:
        assert not message_codec.status().enabled
        assert "outside the verified" in message_codec.status().reason
        serde = {p["name"]: p for p in doctor.collect()["patches"]}["serde"]
        assert serde["status"] == "applied" and not serde["message_codec"]["enabled"]
        state = messages_state(8)
        typed = jsonplus.JsonPlusSerializer().dumps_typed(state)
        assert typed == vanilla_dumps(jsonplus.JsonPlusSerializer(), state)
        with counting_imports() as calls:
            got = jsonplus.JsonPlusSerializer().loads_typed(typed)
        assert len(calls) == 8
        with unpatched():
            assert_same(got, jsonplus.JsonPlusSerializer().loads_typed(typed))
    finally:
        monkeypatch.undo()
        fast_langgraph.unpatch("serde")
        fast_langgraph.patch(serde=True)
    assert message_codec.status().enabled == enabled_before


# --- the payload builder: the codec's own decode of a message payload ------------
#
# A verified message's EXT_PYDANTIC_V2 payload is decoded by the crate's msgpack
# reader with a builder making the objects ormsgpack makes; it declines (ormsgpack
# then decodes) on ext values, non-str keys and malformed bytes. Whatever it builds
# must equal ormsgpack's result, types and dict order included.

decode_payload = fast_langgraph._rust.require_core().message_codec_decode_payload


def message_payload(msg: Any) -> bytes:
    """The EXT_PYDANTIC_V2 payload LangGraph writes for ``msg``."""
    code, data = ormsgpack.unpackb(jsonplus._msgpack_enc(msg), ext_hook=lambda c, d: (c, d))
    assert code == 5
    return data


def corrupt(data: bytes, how: str, at: int, byte: int) -> bytes:
    if not data:
        return data
    at %= len(data)
    if how == "truncate":
        return data[:at]
    if how == "flip":
        return data[:at] + bytes([byte]) + data[at + 1 :]
    if how == "insert":
        return data[:at] + bytes([byte]) + data[at:]
    if how == "delete":
        return data[:at] + data[at + 1 :]
    return data


def ormsgpack_outcome(data: bytes) -> Any:
    try:
        return ("ok", ormsgpack.unpackb(data, option=OPT))
    except Exception as exc:
        return ("raised", type(exc), str(exc))


def assert_builder_agrees(data: bytes, must_build: bool = False) -> None:
    built = decode_payload(data)
    expected = ormsgpack_outcome(data)
    if built is None:
        assert not must_build, (data, expected)
        return
    assert expected[0] == "ok", (data, built, expected)
    assert_same(built[0], expected[1])


# Values with what the builder declines (ext, non-str keys) and what it builds.
key = st.one_of(
    text, st.integers(-5, 5), st.none(), st.booleans(), st.binary(max_size=3), st.tuples(st.integers(0, 3), text)
)
wild_leaf = st.one_of(
    leaf, st.binary(max_size=4), st.builds(lambda c, d: ormsgpack.Ext(c, d), st.integers(0, 127), st.binary(max_size=4))
)
wild = st.recursive(wild_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(key, c, max_size=3), max_leaves=10)


@SETTINGS
@given(
    message(),
    st.sampled_from(["none", "truncate", "flip", "insert", "delete"]),
    st.integers(0, 10**6),
    st.integers(0, 255),
)
def test_payload_builder_matches_ormsgpack_on_message_payloads(msg, how, at, byte):
    data = message_payload(msg)
    if how == "none":
        # A payload as LangGraph writes it (str keys, no ext inside) is always built here.
        plain = ormsgpack.unpackb(data, ext_hook=lambda c, d: ormsgpack.Ext(c, d), option=OPT)
        assert_builder_agrees(data, must_build=not has_ext_or_odd_key(plain))
    else:
        assert_builder_agrees(corrupt(data, how, at, byte))


def has_ext_or_odd_key(value: Any) -> bool:
    if isinstance(value, ormsgpack.Ext):
        return True
    if isinstance(value, dict):
        return any(type(k) is not str or has_ext_or_odd_key(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_ext_or_odd_key(v) for v in value)
    return False


@SETTINGS
@given(wild, st.sampled_from(["none", "truncate", "flip"]), st.integers(0, 10**6), st.integers(0, 255))
def test_payload_builder_matches_ormsgpack_on_any_msgpack(value, how, at, byte):
    data = ormsgpack.packb(value, option=OPT)
    assert_builder_agrees(corrupt(data, how, at, byte))


@SETTINGS
@given(st.binary(max_size=64))
def test_payload_builder_matches_ormsgpack_on_random_bytes(data):
    assert_builder_agrees(data)


def test_payload_builder_edge_cases():
    cases = [
        b"\x83\xa1a\x01\xa1b\x02\xa1a\x03",  # a duplicate key: the later value, in the first place
        b"\x82\xa1b\x01\xa1a\x02",
        b"\xca\x3f\xc0\x00\x00",  # float32
        b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff",  # u64 max
        b"\xd3\x80\x00\x00\x00\x00\x00\x00\x00",  # i64 min
        b"\xc4\x02ab",  # bin
        b"\xa3\xed\xa0\x80",  # a surrogate: invalid UTF-8 for both
        b"\x81\x01\x02",  # an int key: declined
        b"\x81\x91\x01\x02",  # a tuple key: declined
        b"\xd4\x05\x00",  # an ext value: declined
        b"\x94\xa1m\xa1n\x80\xb3model_validate_json",
    ]
    for data in cases:
        assert_builder_agrees(data)
    # The deepest nesting ormsgpack accepts, and one more (refused by both).
    deep = b"\x91" * 1022 + b"\xc0"
    got, expected, depth = decode_payload(deep)[0], ormsgpack.unpackb(deep, option=OPT), 0
    while type(expected) is list:  # compared level by level (== would hit the recursion limit)
        assert type(got) is list and len(got) == len(expected) == 1
        got, expected, depth = got[0], expected[0], depth + 1
    assert (got, expected, depth) == (None, None, 1022)
    too_deep = b"\x91" * 1023 + b"\xc0"
    assert decode_payload(too_deep) is None
    assert ormsgpack_outcome(too_deep)[0] == "raised"
    dup = decode_payload(b"\x83\xa1a\x01\xa1b\x02\xa1a\x03")
    assert dup == ({"a": 3, "b": 2},) and list(dup[0]) == ["a", "b"]
    assert decode_payload(b"\x81\x01\x02") is None
    assert decode_payload(b"\xd4\x05\x00") is None


@SETTINGS
@given(
    message(),
    st.sampled_from(["none", "truncate", "flip", "insert", "delete"]),
    st.integers(0, 10**6),
    st.integers(0, 255),
)
def test_hook_on_corrupted_payloads_matches_langgraphs(msg, how, at, byte):
    """The codec's hook against LangGraph's on intact and damaged payloads: the same
    object (or None / the field dict LangGraph returns when it cannot construct)."""
    data = corrupt(message_payload(msg), how, at, byte)
    inner = jsonplus.JsonPlusSerializer()._unpack_ext_hook
    hook = fast_langgraph._rust.require_core().MessageExtHook(inner)
    with dec.observed() as seen_got:
        got = outcome(lambda: hook(5, data))
    with unpatched(), dec.observed() as seen_expected:
        expected = outcome(lambda: inner(5, data))
    assert seen_got == seen_expected
    assert got[0] == expected[0], (got, expected)
    if got[0] == "ok":
        # LangGraph's model_construct() fallback can leave a field of the wrong type:
        # its model_dump() then warns (an error under pytest), on both sides alike.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_same(got[1], expected[1])
    else:
        assert got == expected


# --- the cyclic GC during decodes through the codec's hook ---------------------------
# A decode called with a MessageExtHook keeps the collector paused while only the codec
# builds (no Python code runs), resumes it around every call of the wrapped hook, and
# keeps what that hook returned alive until the end: as the large-blob pause
# (test_serde_decode.py's GC tests), observable only in when collections happen.

core = fast_langgraph._rust.require_core()


def messages_blob(n: int = 300, others: int = 0, duplicates: int = 0) -> bytes:
    """A map of ``n`` messages as LangGraph writes them, ``others`` ext values of code 1,
    and ``duplicates`` ext values of code 1 under one repeated key."""
    if not message_codec.status().enabled:
        pytest.skip(message_codec.status().reason)
    msgs = [ormsgpack.Ext(5, message_payload(m.HumanMessage(content="hi %d" % i, id=str(i)))) for i in range(n)]
    body = ormsgpack.packb({"messages": msgs, "others": [ormsgpack.Ext(1, b"%d" % i) for i in range(others)]})
    if not duplicates:
        return body
    # {"dup": ext, "dup": ext, ...} in front: each duplicate drops the previous hook result.
    return b"\xde" + (duplicates + 1).to_bytes(2, "big") + b"\xa3dup\xd4\x01\x00" * duplicates + b"\xa4rest" + body


@contextlib.contextmanager
def collections_started() -> Any:
    """The ``inside`` flag (a one-item list) of every collection started meanwhile."""
    inside = [False]
    starts: List[bool] = []

    def callback(phase: str, info: Any) -> None:
        if phase == "start":
            starts.append(inside[0])

    gc.callbacks.append(callback)
    try:
        yield inside, starts
    finally:
        gc.callbacks.remove(callback)


def test_codec_decodes_run_with_the_gc_paused():
    blob = messages_blob(400)
    hook = core.MessageExtHook(lambda c, d: pytest.fail("every message is the codec's"))
    for pause in (False, True):
        previous = core.msgpack_decode_gc_pause(pause)
        try:
            with collections_started() as (inside, starts):
                inside[0] = True
                got = core.msgpack_unpackb(blob, ext_hook=hook, option=OPT)
                inside[0] = False
        finally:
            core.msgpack_decode_gc_pause(previous)
        assert gc.isenabled()
        assert any(starts) is not pause, starts  # 400 messages make 2,000+ tracked objects
        assert [msg.content for msg in got["messages"]] == ["hi %d" % i for i in range(400)]


def recording_gc_state(seen: List[bool]) -> Any:
    """A hook returning ``(code, data)`` that notes whether the collector was on."""

    def hook(code: int, data: bytes) -> Any:
        seen.append(gc.isenabled())
        return (code, data)

    return hook


def test_the_wrapped_hook_runs_with_the_gc_on():
    blob = messages_blob(300, others=40)
    seen: List[bool] = []
    inner = recording_gc_state(seen)
    got = core.msgpack_unpackb(blob, ext_hook=core.MessageExtHook(inner), option=OPT)
    assert gc.isenabled() and seen == [True] * 40
    previous = core.msgpack_decode_gc_pause(False)
    try:
        assert_same(got, core.msgpack_unpackb(blob, ext_hook=core.MessageExtHook(inner), option=OPT))
    finally:
        core.msgpack_decode_gc_pause(previous)
    gc.disable()
    try:
        seen.clear()
        core.msgpack_unpackb(blob, ext_hook=core.MessageExtHook(inner), option=OPT)
        assert not gc.isenabled() and seen == [False] * 40
    finally:
        gc.enable()


def test_gc_switched_by_the_wrapped_hook_stays_switched():
    blob = messages_blob(100, others=1)
    try:
        core.msgpack_unpackb(blob, ext_hook=core.MessageExtHook(lambda c, d: gc.disable()), option=OPT)
        assert not gc.isenabled()
        core.msgpack_unpackb(blob, ext_hook=core.MessageExtHook(lambda c, d: gc.enable()), option=OPT)
        assert gc.isenabled()
    finally:
        gc.enable()


def test_finalizers_of_the_wrapped_hooks_values_run_with_the_gc_on():
    states: List[bool] = []

    class Tracked:
        def __del__(self) -> None:
            states.append(gc.isenabled())

    blob = messages_blob(200, duplicates=50)
    got = core.msgpack_unpackb(blob, ext_hook=core.MessageExtHook(lambda c, d: Tracked()), option=OPT)
    assert len(got["rest"]["messages"]) == 200
    del got
    gc.collect()
    assert len(states) == 50 and all(states)


def test_decodes_nested_in_the_wrapped_hook():
    inner_blob = messages_blob(150, others=2)
    seen: List[bool] = []
    leaf = recording_gc_state(seen)

    def nested(code: int, data: bytes) -> Any:
        # LangGraph's hook decodes again for every payload.
        seen.append(gc.isenabled())
        return core.msgpack_unpackb(inner_blob, ext_hook=core.MessageExtHook(leaf), option=OPT)

    blob = messages_blob(150, others=3)
    got = core.msgpack_unpackb(blob, ext_hook=core.MessageExtHook(nested), option=OPT)
    assert gc.isenabled() and seen and all(seen) and len(seen) == 3 + 3 * 2
    previous = core.msgpack_decode_gc_pause(False)
    try:
        assert_same(got, core.msgpack_unpackb(blob, ext_hook=core.MessageExtHook(nested), option=OPT))
    finally:
        core.msgpack_decode_gc_pause(previous)


def test_codec_gc_pause_invisible_to_other_threads():
    blob = messages_blob(300, others=20)
    stop = threading.Event()
    observed_disabled: List[bool] = []

    def watch() -> None:
        while not stop.is_set():
            if not gc.isenabled():
                observed_disabled.append(True)

    def inner(code: int, data: bytes) -> Any:
        time.sleep(0)  # lets the watcher run while the wrapped hook runs
        return (code, data)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(20):
            core.msgpack_unpackb(blob, ext_hook=core.MessageExtHook(inner), option=OPT)
    finally:
        stop.set()
        watcher.join()
    assert not observed_disabled

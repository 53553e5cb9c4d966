"""The Rust msgpack decoder gives exactly what LangGraph's unpatched ``loads_typed`` gives.

Two levels: ``msgpack_unpackb`` against ``ormsgpack.unpackb`` itself (same value,
same hook calls in the same order, same exception class and message), then
``JsonPlusSerializer.loads_typed`` with the ``serde`` patch against it reverted, in
every allowlist mode, with warnings and serde events recorded on both sides.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import math
import sys
import threading
from typing import Any, List

import pytest

pytest.importorskip("langgraph.checkpoint.serde.jsonplus")
ormsgpack = pytest.importorskip("ormsgpack")

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fast_langgraph  # noqa: E402
from fast_langgraph import _core  # noqa: E402
from fast_langgraph._core import msgpack_decode_gc_pause, msgpack_gc_pause_min_input, msgpack_unpackb  # noqa: E402
from fast_langgraph.bench.serde import NATIVE_DECODER_MISSING  # noqa: E402
from langgraph.checkpoint.serde import jsonplus  # noqa: E402

serde_state = {p["name"]: p for p in fast_langgraph.patch_status()}.get("serde")
if serde_state is None or not serde_state["in_range"]:
    pytest.skip("serde patch not applicable here: %s" % (serde_state,), allow_module_level=True)

from langgraph.checkpoint.serde import _msgpack as lg_msgpack  # noqa: E402  (4.0.1+)

import test_serde_encode as enc  # noqa: E402  (the value zoo and strategies)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
OPT = ormsgpack.OPT_NON_STR_KEYS


@pytest.fixture(autouse=True, scope="module", params=["rust-only", "paused-ormsgpack", "default-split"])
def serde_enabled(request):
    # Blobs below a size threshold, and ext-heavy ones, go to ormsgpack itself; larger
    # ones to ormsgpack with the GC paused. "rust-only" sends every blob through the
    # Rust reader (a core built with --features native-decoder), "paused-ormsgpack"
    # every non-ext-heavy blob through the paused ormsgpack path, "default-split"
    # tests the shipped threshold.
    decode_native = getattr(_core, "msgpack_decode_native", None)
    if request.param == "rust-only" and decode_native is None:
        pytest.skip(NATIVE_DECODER_MISSING)
    minimum = {"rust-only": 0, "paused-ormsgpack": 1}.get(request.param)
    previous = msgpack_gc_pause_min_input(minimum) if minimum is not None else None
    previous_native = decode_native(True) if request.param == "rust-only" else None
    fast_langgraph.patch(serde=True)
    assert "fast_langgraph" in (jsonplus.JsonPlusSerializer.loads_typed.__doc__ or "")
    yield
    fast_langgraph.unpatch("serde")
    if previous is not None:
        msgpack_gc_pause_min_input(previous)
    if previous_native is not None:
        decode_native(previous_native)


@contextlib.contextmanager
def unpatched():
    fast_langgraph.unpatch("serde")
    try:
        assert "fast_langgraph" not in (jsonplus.JsonPlusSerializer.loads_typed.__doc__ or "")
        yield
    finally:
        fast_langgraph.patch(serde=True)


# --- comparing outcomes ---------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, NaN equal to NaN, dict order included (iterative: inputs nest deep)."""
    todo = [(a, b)]
    while todo:
        x, y = todo.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, float):
            if not ((math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) == math.copysign(1, y))):
                return False
        elif isinstance(x, (list, tuple)):
            if len(x) != len(y):
                return False
            todo.extend(zip(x, y))
        elif isinstance(x, dict):
            if len(x) != len(y):
                return False
            for (k1, v1), (k2, v2) in zip(x.items(), y.items()):
                todo.append((k1, k2))
                todo.append((v1, v2))
        elif isinstance(x, (set, frozenset)):
            if x != y:
                return False
        else:
            try:
                if x == y:
                    continue
            except Exception:
                pass
            if repr(x) != repr(y):
                return False
    return True


def recording_hook(calls: List[Any], fail_on=(99,)):
    def hook(code, data):
        calls.append((code, bytes(data)))
        if code in fail_on:
            raise KeyError("refused")
        return ("ext", code, bytes(data))

    return hook


def outcome(fn, blob):
    calls: List[Any] = []
    try:
        return ("ok", fn(blob, ext_hook=recording_hook(calls), option=OPT), calls)
    except Exception as exc:
        return ("raised", type(exc), str(exc), calls)


def assert_core_identical(blob):
    expected = outcome(ormsgpack.unpackb, blob)
    got = outcome(msgpack_unpackb, blob)
    assert got[0] == expected[0], (got, expected)
    if expected[0] == "ok":
        assert same(got[1], expected[1]), (got, expected)
        assert got[2] == expected[2]
    else:
        assert got[1:] == expected[1:]


# --- the core decoder against ormsgpack ----------------------------------------

HOSTILE = [
    b"",
    b"\xc1",
    b"\x92\x01",
    b"\x01\x02",  # trailing bytes
    b"\xa2\xff\xfe",
    b"\xa3\xed\xa0\x80",  # a surrogate encoded as UTF-8
    b"\xdd\xff\xff\xff\xff",  # 4 billion items, no body
    b"\xdf\xff\xff\xff\xff",
    b"\xdb\xff\xff\xff\xff",
    b"\xc6\xff\xff\xff\xff",
    b"\xc9\xff\xff\xff\xff\x05",
    b"\xdd\xff\xff\xff\xff" + b"\xd4\x05\x00" * 3,  # hooks run before the EOF
    b"\x81\x81\x01\x01\x02",
    b"\x81\xd4\x05\x01\x02",
    b"\x81\xd6\x05\x01\x02\x03\x04\x02",
    b"\x81\xc7\x01\x05\x01\x02",
    b"\x81\x91\x80\x02",
    b"\x81\xa1a\x01\x81",
    b"\x82\xa1a\x01\xa1a\x02",  # duplicate key
    b"\x81\xcb" + b"\x7f\xf8" + b"\x00" * 6 + b"\x01",  # NaN key
    b"\xd4\x63\x00",  # the hook raises
    b"\x92\xd4\x01\x00\xd4\x63\x00",
    b"\xd6\xff\x00\x00\x00\x01",  # timestamp ext: LangGraph does not enable it
    b"\xca\x3f\xc0\x00\x00",
    b"\x91" * 1022 + b"\xc0",
    b"\x91" * 1023 + b"\xc0",
    b"\x91" * 100_000,
    b"\x81\xa1a" * 1021 + b"\xc0",
    b"\x81\xa1a" * 1023 + b"\xc0",
    b"\x81" + b"\x91" * 1022 + b"\xc0\xc0",
    b"\x81" + b"\x91" * 1021 + b"\xc0\xc0",
]


@pytest.mark.parametrize("blob", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_core(blob):
    assert_core_identical(blob)


def test_non_bytes_inputs_behave_as_ormsgpack():
    for obj in (bytearray(b"\x01"), memoryview(b"\x92\x01\x02"), "x", 1, None):
        for kwargs in ({"ext_hook": lambda c, d: None, "option": OPT}, {}, {"option": OPT}):
            try:
                expected = ("ok", ormsgpack.unpackb(obj, **kwargs))
            except Exception as exc:
                expected = ("raised", type(exc), str(exc))
            try:
                got = ("ok", msgpack_unpackb(obj, **kwargs))
            except Exception as exc:
                got = ("raised", type(exc), str(exc))
            assert got == expected
    with pytest.raises(TypeError):
        msgpack_unpackb(b"\x01", b"\x02")
    with pytest.raises(TypeError):
        msgpack_unpackb(b"\x01", nope=1)


def test_hook_errors_become_value_errors_like_ormsgpack():
    def hook(code, data):
        raise KeyboardInterrupt

    for fn in (ormsgpack.unpackb, msgpack_unpackb):
        with pytest.raises(ValueError, match="ext_hook failed"):
            fn(b"\xd4\x05\x00", ext_hook=hook, option=OPT)


def _valid_blobs():
    return st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(min_value=-(2**63), max_value=2**64 - 1),
            st.floats(allow_nan=True),
            st.text(max_size=20),
            st.binary(max_size=20),
            st.builds(lambda c, d: ormsgpack.Ext(c, d), st.integers(0, 127), st.binary(max_size=20)),
        ),
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(
                st.one_of(
                    st.text(max_size=8),
                    st.integers(-(2**63), 2**63 - 1),
                    st.binary(max_size=4),
                    st.tuples(st.integers(-5, 5), st.text(max_size=3)),
                ),
                children,
                max_size=5,
            ),
        ),
        max_leaves=30,
    ).map(lambda v: ormsgpack.packb(v, option=OPT))


@SETTINGS
@given(_valid_blobs())
def test_property_valid_blobs_core(blob):
    assert_core_identical(blob)


@SETTINGS
@given(_valid_blobs(), st.data())
def test_property_mutated_blobs_core(blob, data):
    # Truncate, flip bytes, splice hostile headers: same value or same error.
    cut = data.draw(st.integers(0, len(blob)))
    mutated = bytearray(blob[:cut] if data.draw(st.booleans()) else blob)
    for _ in range(data.draw(st.integers(0, 3))):
        if mutated:
            mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(mutated)))
        mutated[at:at] = data.draw(
            st.sampled_from([b"\xc1", b"\xdd\xff\xff\xff\xff", b"\xc7\xff\x05", b"\xa3\xed\xa0\x80", b"\x91" * 1100])
        )
    assert_core_identical(bytes(mutated))


@SETTINGS
@given(st.binary(max_size=64))
def test_property_random_bytes_core(blob):
    assert_core_identical(blob)


# --- loads_typed: patched against unpatched --------------------------------------


class Recorder(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: List[str] = []

    def emit(self, record):
        self.records.append(record.getMessage())


@contextlib.contextmanager
def observed():
    """Warnings of jsonplus's logger and serde events, with the warn-once state reset."""
    from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener

    for name in ("_warned_unregistered_types", "_warned_blocked_types", "_warned_unreconstructable_types"):
        getattr(jsonplus, name, set()).clear()
    events: List[Any] = []
    handler = Recorder()
    jsonplus.logger.addHandler(handler)
    unregister = register_serde_event_listener(lambda e: events.append(dict(e)))
    try:
        yield handler.records, events
    finally:
        unregister()
        jsonplus.logger.removeHandler(handler)


def load(serde, typed):
    with observed() as (warnings, events):
        try:
            value = ("ok", serde.loads_typed(typed))
        except Exception as exc:
            value = ("raised", type(exc), str(exc))
    return value, warnings, events


def assert_loads_identical(serde, typed):
    got = load(serde, typed)
    with unpatched():
        expected = load(serde, typed)
    assert got[0][0] == expected[0][0], (got, expected)
    if expected[0][0] == "ok":
        assert same(got[0][1], expected[0][1]), (got[0][1], expected[0][1])
    else:
        assert got[0][1:] == expected[0][1:]
    assert got[1] == expected[1]  # warnings, in order
    assert got[2] == expected[2]  # serde events, in order


def vanilla_dumps(value):
    with unpatched():
        return jsonplus.JsonPlusSerializer().dumps_typed(value)


def encodable(value):
    """The unpatched serializer's output, or skip the example (it refuses the value)."""
    try:
        return vanilla_dumps(value)
    except TypeError:
        assume(False)


def serializers():
    """Every mode: default (permissive), strict, explicit allowlists, custom hook."""
    out = {"default": jsonplus.JsonPlusSerializer()}
    previous = lg_msgpack.STRICT_MSGPACK_ENABLED
    lg_msgpack.STRICT_MSGPACK_ENABLED = True
    try:
        out["strict"] = jsonplus.JsonPlusSerializer()
        out["strict+allowlist"] = out["strict"].with_msgpack_allowlist([enc.Item, ("test_serde_encode", "Color")])
    finally:
        lg_msgpack.STRICT_MSGPACK_ENABLED = previous
    out["allowlist"] = jsonplus.JsonPlusSerializer(allowed_msgpack_modules=[enc.Item, enc.Inner])
    out["none-allowed"] = jsonplus.JsonPlusSerializer(allowed_msgpack_modules=None)
    out["custom-hook"] = jsonplus.JsonPlusSerializer(__unpack_ext_hook__=lambda code, data: ("custom", code, len(data)))
    return out


SERIALIZERS = serializers()
ZOO = [v for v in enc.ZOO if not callable(v) or isinstance(v, type)]


def _loadable_zoo():
    out = []
    for value in ZOO:
        typed = vanilla_dumps(value) if _dumps_ok(value) else None
        if typed is not None:
            out.append(typed)
    return out


def _dumps_ok(value):
    try:
        vanilla_dumps(value)
        return True
    except Exception:
        return False


TYPED_ZOO = _loadable_zoo()


@pytest.mark.parametrize("mode", sorted(SERIALIZERS))
def test_zoo_every_mode(mode):
    serde = SERIALIZERS[mode]
    for typed in TYPED_ZOO:
        assert_loads_identical(serde, typed)
    assert_loads_identical(
        serde, vanilla_dumps({"messages": enc.message_zoo(), "values": [v for v in ZOO if _dumps_ok(v)]})
    )


@pytest.mark.parametrize("mode", sorted(SERIALIZERS))
def test_hostile_loads_every_mode(mode):
    for blob in HOSTILE:
        assert_loads_identical(SERIALIZERS[mode], ("msgpack", blob))


def _ext(code, payload):
    n = len(payload)
    if n <= 255:
        return bytes([0xC7, n, code]) + payload
    if n <= 65535:
        return bytes([0xC8]) + n.to_bytes(2, "big") + bytes([code]) + payload
    return bytes([0xC9]) + n.to_bytes(4, "big") + bytes([code]) + payload


def crafted_exts():
    """Ext payloads LangGraph itself never writes: wrong shapes, unknown codes, bad bodies."""
    p = lambda v: ormsgpack.packb(v, option=OPT)  # noqa: E731
    return [
        _ext(0, p(["builtins", "set", [1, 2]])),
        _ext(0, p(["os", "fspath", "x"])),  # blocked in strict mode, imported and called otherwise
        _ext(0, p(["no.such.module", "X", 1])),
        _ext(0, p(["builtins", "nope", 1])),
        _ext(0, p(["builtins"])),
        _ext(0, p(42)),
        _ext(0, b"\xc1"),
        _ext(0, b""),
        _ext(1, p(["datetime", "date", [2024, 1, 2]])),
        _ext(1, p(["langgraph.types", "Send", ["n", {"x": 1}]])),
        _ext(1, p(["langgraph.types", "Send", ["n", 1, 5]])),
        _ext(2, p(["test_serde_encode", "Item", {"name": "x"}])),
        _ext(2, p(["test_serde_encode", "Item", {"bad": 1}])),
        _ext(3, p(["datetime", "datetime", "2024-01-01T00:00:00", "fromisoformat"])),
        _ext(3, p(["builtins", "eval", "1+1", "__call__"])),
        _ext(4, p(["test_serde_encode", "V1", {"a": "not an int"}])),
        _ext(5, p(["test_serde_encode", "Inner", {"x": "zz"}])),
        _ext(
            5,
            p(
                [
                    "langchain_core.messages.ai",
                    "AIMessage",
                    {"content": "c", "tool_calls": [{"name": "t", "args": {}, "id": "1"}]},
                    "model_validate_json",
                ]
            ),
        ),
        _ext(6, p(["<i2", [2], "C", b"\x01\x00\x02\x00"])),
        _ext(6, p(["bogus"])),
        _ext(7, p([1, 2])),
        _ext(7, b"\xc1"),  # no try/except around code 7: the error escapes the hook
        _ext(8, p(1)),
        bytes([0xD4, 0xFF, 0x00]),  # negative code
        _ext(0, _ext(0, p(["builtins", "set", [1]]))),
        b"\x92" + _ext(0, p(["builtins", "frozenset", [1]])) + _ext(7, b""),
    ]


@pytest.mark.parametrize("mode", sorted(SERIALIZERS))
def test_crafted_exts_every_mode(mode):
    for blob in crafted_exts():
        assert_loads_identical(SERIALIZERS[mode], ("msgpack", blob))


def test_nothing_is_imported_unless_langgraph_would(tmp_path, monkeypatch):
    (tmp_path / "flg_canary_mod.py").write_text(
        "class C:\n    def __init__(self, x):\n        self.x = x\n\n    def __eq__(self, other):\n        return type(other) is C and other.x == self.x\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    blob = ("msgpack", _ext(0, ormsgpack.packb(["flg_canary_mod", "C", 1])))
    for mode in ("strict", "none-allowed", "allowlist", "custom-hook"):
        sys.modules.pop("flg_canary_mod", None)
        SERIALIZERS[mode].loads_typed(blob)
        assert "flg_canary_mod" not in sys.modules, mode
    # Permissive default: LangGraph imports it (with a warning), and so do we.
    sys.modules.pop("flg_canary_mod", None)
    assert_loads_identical(SERIALIZERS["default"], blob)
    assert "flg_canary_mod" in sys.modules
    sys.modules.pop("flg_canary_mod", None)


def test_deeply_nested_exts_truncate_where_langgraph_does():
    # 50,000 nested constructor exts: LangGraph's hook recursion hits Python's limit and
    # the innermost levels fall back; same value, no crash. Compared at the same stack depth.
    payload = b"\xc0"
    for _ in range(50_000):
        payload = _ext(0, ormsgpack.packb(["builtins", "list", None])[:-1] + b"\x91" + payload)
    serde = SERIALIZERS["default"]

    def depth(value):
        n = 0
        while isinstance(value, list) and value:
            value, n = value[0], n + 1
        return n, value

    # load() resets LangGraph's warn-once state: a warning logged at the deepest level
    # takes stack too. One load first, unmeasured: the first fallback in a process
    # imports and caches things at the deepest level, which costs stack once (the
    # side that ran first used to truncate two levels earlier when this test ran alone).
    load(serde, ("msgpack", payload))
    got = load(serde, ("msgpack", payload))
    with unpatched():
        expected = load(serde, ("msgpack", payload))
    assert depth(got[0][1]) == depth(expected[0][1])
    assert got[1:] == expected[1:]


def test_deep_arrays_inside_ext_payloads():
    # The nesting limit restarts in every ext payload, as each hook unpacks it afresh.
    inner = b"\x91" * 1000 + b"\xc0"
    blob = b"\x91" * 1000 + _ext(0, b"\x93\xa8builtins\xa5tuple" + inner)
    assert_loads_identical(SERIALIZERS["default"], ("msgpack", blob))


# --- round trips, both directions ----------------------------------------------


@SETTINGS
@given(enc.values)
def test_property_roundtrips_both_directions(value):
    serde = SERIALIZERS["default"]
    vanilla_typed = encodable(value)
    assert serde.dumps_typed(value) == vanilla_typed
    assert_loads_identical(serde, vanilla_typed)


@SETTINGS
@given(st.dictionaries(enc.hashable, enc.values, max_size=8))
def test_property_dict_keys_roundtrip(value):
    assert_loads_identical(SERIALIZERS["default"], encodable(value))


@SETTINGS
@given(enc.values)
def test_property_strict_and_allowlist_modes(value):
    typed = encodable(value)
    for mode in ("strict", "strict+allowlist", "allowlist"):
        assert_loads_identical(SERIALIZERS[mode], typed)


def test_other_tags_untouched():
    serde = SERIALIZERS["default"]
    for typed in (("null", b""), ("bytes", b"x"), ("bytearray", b"y"), ("json", b'{"a": 1}')):
        assert_loads_identical(serde, typed)
    with pytest.raises(NotImplementedError):
        serde.loads_typed(("pickle", b""))
    assert type(serde) is jsonplus.JsonPlusSerializer
    assert jsonplus.JsonPlusSerializer.loads_typed.__module__ == jsonplus.__name__


def test_encrypted_serializer_roundtrip():
    pytest.importorskip("Crypto")
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    serde = EncryptedSerializer.from_pycryptodome_aes(key=b"1" * 16)
    state = {"messages": enc.message_zoo()[:4], "when": dt.datetime(2024, 1, 1), "tags": {"a"}}
    typed = serde.dumps_typed(state)
    got = serde.loads_typed(typed)
    with unpatched():
        assert same(got, serde.loads_typed(typed))


# --- the cyclic GC ---------------------------------------------------------------

BIG = ormsgpack.packb({"k%d" % i: [i, {"a": "x" * (i % 7)}, [None, 1.5]] for i in range(20_000)}, option=OPT)


def test_gc_state_restored_and_never_seen_paused():
    seen = []
    hook = lambda code, data: seen.append(gc.isenabled())  # noqa: E731
    blob = ormsgpack.packb(
        [{"a": list(range(300))}, ormsgpack.Ext(1, b""), list(range(300)), ormsgpack.Ext(2, b"")], option=OPT
    )
    assert gc.isenabled()
    msgpack_unpackb(blob, ext_hook=hook, option=OPT)
    msgpack_unpackb(BIG, ext_hook=hook, option=OPT)
    assert gc.isenabled() and seen == [True, True]
    gc.disable()
    try:
        seen.clear()
        msgpack_unpackb(blob, ext_hook=hook, option=OPT)
        assert not gc.isenabled() and seen == [False, False]
    finally:
        gc.enable()


def test_gc_switched_by_the_hook_stays_switched():
    blob = ormsgpack.packb([list(range(400)), ormsgpack.Ext(1, b""), list(range(400))], option=OPT)
    msgpack_unpackb(blob, ext_hook=lambda c, d: gc.disable(), option=OPT)
    assert not gc.isenabled()
    msgpack_unpackb(blob, ext_hook=lambda c, d: gc.enable(), option=OPT)
    assert gc.isenabled()


def test_gc_pause_invisible_to_other_threads():
    stop = threading.Event()
    observed_disabled = []

    def watch():
        while not stop.is_set():
            if not gc.isenabled():
                observed_disabled.append(True)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(20):
            msgpack_unpackb(BIG, ext_hook=lambda c, d: None, option=OPT)
    finally:
        stop.set()
        watcher.join()
    assert not observed_disabled


def test_gc_pause_switch_changes_nothing_but_timing():
    previous = msgpack_decode_gc_pause(False)
    try:
        off = msgpack_unpackb(BIG, ext_hook=lambda c, d: None, option=OPT)
    finally:
        msgpack_decode_gc_pause(previous)
    assert same(off, msgpack_unpackb(BIG, ext_hook=lambda c, d: None, option=OPT))


def test_finalizers_of_replaced_duplicates_run_with_gc_on():
    states = []

    class Tracked:
        def __del__(self):
            states.append(gc.isenabled())

    def hook(code, data):
        return Tracked()

    # {"a": ext, "a": ext, ...}: each duplicate drops the previous hook result.
    blob = b"\xde\x01\x00" + (b"\xa1a\xd4\x05\x00" * 256) + b"\x00" * 2000
    msgpack_unpackb(blob, ext_hook=hook, option=OPT)
    gc.collect()
    assert states and all(states)


def test_hook_errors_and_reentry_are_ormsgpacks():
    # A blob mostly of plain values with a few exts (not ext-heavy): the paused path.
    blob = ormsgpack.packb(
        {"rows": [list(range(50))] * 40, "x": ormsgpack.Ext(3, b"\x01"), "y": ormsgpack.Ext(4, b"")}, option=OPT
    )

    def failing(code, data):
        raise KeyError("nope")

    with pytest.raises(Exception) as ours:
        msgpack_unpackb(blob, ext_hook=failing, option=OPT)
    with pytest.raises(Exception) as theirs:
        ormsgpack.unpackb(blob, ext_hook=failing, option=OPT)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)
    assert gc.isenabled()

    inner = ormsgpack.packb({"deep": [list(range(30))] * 10, "e": ormsgpack.Ext(5, b"")}, option=OPT)

    def nested(code, data):
        # A hook that decodes again (LangGraph's does, for every payload).
        return msgpack_unpackb(inner, ext_hook=lambda c, d: (c, d), option=OPT) if code == 3 else (code, data)

    assert same(
        msgpack_unpackb(blob, ext_hook=nested, option=OPT), ormsgpack.unpackb(blob, ext_hook=nested, option=OPT)
    )
    assert gc.isenabled()


def test_ext_heavy_blobs_decode_the_same_on_every_path():
    # ~1/3 of the values are exts: routed to ormsgpack unpaused; same values either way.
    blob = ormsgpack.packb([[i, ormsgpack.Ext(1, bytes([i % 256]))] for i in range(3000)], option=OPT)
    hook = lambda c, d: (c, d)  # noqa: E731
    assert same(msgpack_unpackb(blob, ext_hook=hook, option=OPT), ormsgpack.unpackb(blob, ext_hook=hook, option=OPT))


# --- a real graph -------------------------------------------------------------------


def test_compiled_graph_state_loads_identically():
    checkpoints, blobs = enc._run_graph()
    serde = SERIALIZERS["default"]
    for typed_list in blobs.values():
        for typed in typed_list:
            assert_loads_identical(serde, typed)


def test_only_the_method_is_replaced():
    method = jsonplus.JsonPlusSerializer.loads_typed
    assert method.__module__ == jsonplus.__name__ and method.__qualname__ == "JsonPlusSerializer.loads_typed"
    assert jsonplus.ormsgpack is ormsgpack
    assert type(SERIALIZERS["default"]) is jsonplus.JsonPlusSerializer


def test_unverified_versions_are_left_alone(monkeypatch):
    import types

    from fast_langgraph.patches import PatchSkipped
    from fast_langgraph.patches import serde as serde_patch

    original = jsonplus.JsonPlusSerializer.loads_typed.__wrapped__
    fake = types.ModuleType("ormsgpack")
    fake.__dict__.update(ormsgpack.__dict__)
    fake.__version__ = "2.0.0"
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "ormsgpack", fake)
        m.setattr(jsonplus, "ormsgpack", fake)
        with pytest.raises(PatchSkipped, match="verified against"):
            serde_patch._replace_loads_typed(jsonplus, original)

    def loads_typed(self, data):  # not LangGraph's source
        return None

    with pytest.raises(PatchSkipped, match="not a verified version"):
        serde_patch._replace_loads_typed(jsonplus, loads_typed)


def test_odd_tags_go_to_the_original():
    class Tag(str):
        pass

    serde = SERIALIZERS["default"]
    assert_loads_identical(serde, (Tag("msgpack"), b"\x01"))
    for bad in ((), ("msgpack",), ("msgpack", b"\x01", 3), None):
        assert_loads_identical(serde, bad)

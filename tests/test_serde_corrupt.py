"""Large (>= 128 KiB) corrupt blobs: the patched decoder fails exactly as ormsgpack does
(same class, same message) on every route it may take, and leaves the GC on.

Speed of this error path: ``python -m fast_langgraph.bench serde --corrupt``.
"""

import gc
import warnings

import pytest

ormsgpack = pytest.importorskip("ormsgpack")
pytest.importorskip("langgraph.checkpoint.serde.jsonplus")

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer  # noqa: E402

from fast_langgraph import _core  # noqa: E402
from fast_langgraph.bench.serde import NATIVE_DECODER_MISSING, corrupt_blobs  # noqa: E402

OPT = ormsgpack.OPT_NON_STR_KEYS
PAD = b"\x00" * 200_000
BLOBS = dict(
    corrupt_blobs(),
    **{
        # Malformed within the routing scan's window: sent to ormsgpack as it is.
        "reserved early": b"\xdc\xff\xff" + b"\x01" * 10 + b"\xc1" + PAD,
        "str32 past the end": b"\xdb\x7f\xff\xff\xff" + PAD,
        "ext32 past the end": b"\xdc\x00\x05" + b"\xd4\x05\x00" * 3 + b"\xc9\x7f\xff\xff\xff\x05" + PAD,
        "exts then reserved": b"\xdd\x00\x01\x00\x00" + b"\xd4\x05\x00" * 300 + b"\xc1" + PAD,
    },
)


def _outcome(fn, blob, hook):
    try:
        return ("ok", fn(blob, ext_hook=hook, option=OPT))
    except Exception as exc:
        return ("raised", type(exc), str(exc))


@pytest.fixture(scope="module")
def hook():
    return JsonPlusSerializer()._unpack_ext_hook


@pytest.mark.parametrize("route", ["default", "native", "no-gc-pause"])
@pytest.mark.parametrize("name", sorted(BLOBS))
def test_corrupt_blob_fails_as_ormsgpack(name, route, hook):
    blob = BLOBS[name]
    assert len(blob) >= 128 * 1024
    # The Rust reader is only in a core built with --features native-decoder.
    decode_native = getattr(_core, "msgpack_decode_native", None)
    if route == "native" and decode_native is None:
        pytest.skip(NATIVE_DECODER_MISSING)
    previous_native = decode_native(route == "native") if decode_native else None
    previous_pause = _core.msgpack_decode_gc_pause(route != "no-gc-pause")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # LangGraph's hook on flipped class names
            expected = _outcome(ormsgpack.unpackb, blob, hook)
            got = _outcome(_core.msgpack_unpackb, blob, hook)
    finally:
        if decode_native:
            decode_native(previous_native)
        _core.msgpack_decode_gc_pause(previous_pause)
    if expected[0] == "ok":
        assert got[0] == "ok" and got[1] == expected[1]
    else:
        assert got == expected
    assert gc.isenabled()


def test_failing_decodes_leak_nothing(hook):
    import sys

    blobs = [
        BLOBS[n] for n in ("plain cut 95%", "mixed 0xc1 at 50%", "messages cut 95%", "reserved early", "deep arrays")
    ]

    def growth(fn):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for blob in blobs:
                    assert _outcome(fn, blob, hook)[0] == "raised"

        run()
        gc.collect()
        before = sys.getallocatedblocks()
        for _ in range(5):
            run()
        gc.collect()
        return sys.getallocatedblocks() - before

    # ormsgpack < 1.12 (LangGraph 0.2-0.4's lines) itself keeps the partial object tree of
    # a failing decode (~60,000 blocks per round here): count only what ours adds to that.
    # A partial object tree left behind would be thousands of blocks per decode.
    assert growth(_core.msgpack_unpackb) - max(0, growth(ormsgpack.unpackb)) < 500

"""Patch ``langgraph.checkpoint.base.id.uuid6``: checkpoint ids without the generic UUID constructor.

Every checkpoint LangGraph creates (one per superstep, saver or not) gets
``str(uuid6(clock_seq=step))``. The original spends about half its time in
``UUID.__init__`` (argument checks, version bits, then ``uuid.UUID.__init__``'s own
checks). :func:`make_uuid6` computes the same 128-bit value with the same reads and
writes of the id module's globals (``time.time_ns()``, ``_last_v6_timestamp`` for
monotonicity, ``random.getrandbits`` for clock_seq and node, in that order) and sets
the instance's two slots as ``uuid.UUID.__init__`` does. Non-int arguments, or a
``UUID`` class swapped in the module, go through the module's ``UUID(int=..., version=6)``.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable

from fast_langgraph.patches._source import require_source
from fast_langgraph.patches._spec import PatchSkipped, Target

ID_MODULE = "langgraph.checkpoint.base.id"

#: Source digests of id.uuid6 and id.UUID.__init__ (langgraph-checkpoint 2.1.2-4.3.2, all equal).
VERIFIED_UUID6 = ("76a91f9203e7d4ca",)
VERIFIED_UUID_INIT = ("26b15ce00ced62a8",)

_made: dict = {}


def make_uuid6(g: dict, original: Callable[..., Any]) -> Callable[..., Any]:
    """A ``uuid6`` over the id module's globals ``g``, same values and side effects as ``original``."""
    verified_cls = g["UUID"]
    new = object.__new__
    setattr_ = object.__setattr__
    unknown = uuid.SafeUUID.unknown

    def uuid6(node: Any = None, clock_seq: Any = None) -> Any:
        nanoseconds = g["time"].time_ns()
        timestamp = nanoseconds // 100 + 0x01B21DD213814000
        last = g["_last_v6_timestamp"]
        if last is not None and timestamp <= last:
            timestamp = last + 1
        g["_last_v6_timestamp"] = timestamp
        if clock_seq is None:
            clock_seq = g["random"].getrandbits(14)
        if node is None:
            node = g["random"].getrandbits(48)
        uuid_int = ((timestamp >> 12) & 0xFFFFFFFFFFFF) << 80
        uuid_int |= (timestamp & 0x0FFF) << 64
        uuid_int |= (clock_seq & 0x3FFF) << 48
        uuid_int |= node & 0xFFFFFFFFFFFF
        cls = g["UUID"]
        if cls is not verified_cls or type(uuid_int) is not int:
            return cls(int=uuid_int, version=6)
        # Every part is masked, so the value is in [0, 2**128): UUID.__init__'s range check passes.
        uuid_int = (uuid_int & ~(0xC000 << 48)) | (0x8000 << 48)
        uuid_int = (uuid_int & ~(0xF000 << 64)) | (6 << 76)
        u = new(cls)
        setattr_(u, "int", uuid_int)
        setattr_(u, "is_safe", unknown)
        return u

    uuid6.__wrapped__ = original  # type: ignore[attr-defined]
    uuid6.__doc__ = original.__doc__
    return uuid6


def replacement(target: Target, original: Any) -> Any:
    made = _made.get("uuid6")
    if made is not None and original is made:
        return original  # this importer bound the name after the id module was patched
    if made is not None and original is _made["original"]:
        return made
    if getattr(original, "__module__", None) != ID_MODULE or getattr(original, "__name__", None) != "uuid6":
        raise PatchSkipped("%s is %r, not %s.uuid6; left alone" % (target.qualname, original, ID_MODULE))
    g = original.__globals__  # the id module's namespace: its time, random, UUID and _last_v6_timestamp
    require_source(original, VERIFIED_UUID6, ID_MODULE + ".uuid6")
    require_source(g["UUID"].__init__, VERIFIED_UUID_INIT, ID_MODULE + ".UUID.__init__")
    if getattr(uuid.UUID, "__slots__", None) != ("int", "is_safe", "__weakref__"):
        raise PatchSkipped(
            "uuid.UUID's slots are %r here, not the verified ones" % (getattr(uuid.UUID, "__slots__", None),)
        )
    _made["original"] = original
    made = _made["uuid6"] = make_uuid6(g, original)
    return made

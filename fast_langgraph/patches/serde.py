"""Patch ``langgraph.checkpoint.serde.jsonplus._msgpack_enc`` (encode side only).

``JsonPlusSerializer.dumps_typed`` and ``_msgpack_default``'s own recursion read
this module global at call time, so rebinding it routes every ``msgpack``-tagged
checkpoint write through :func:`fast_langgraph._core.msgpack_encode`, which
writes the same bytes as ``ormsgpack.packb(obj, default=_msgpack_default,
option=_option)``. The serializer class, its ``json``/``pickle``/``bytes``/``null``
tags and all of decoding stay LangGraph's own.
"""

from __future__ import annotations

import sys
from typing import Any

from fast_langgraph.patches._spec import PatchSkipped, Target

# OPT_NON_STR_KEYS | PASSTHROUGH_DATACLASS | PASSTHROUGH_DATETIME | PASSTHROUGH_UUID
# | PASSTHROUGH_ENUM | REPLACE_SURROGATES: the option set the Rust encoder implements.
LANGGRAPH_OPTION = 2 | 16 | 32 | 4096 | 8192 | 32768


def make_msgpack_enc(module: Any) -> Any:
    """A drop-in ``_msgpack_enc`` for ``module`` (a loaded ``jsonplus``)."""
    from fast_langgraph._core import msgpack_encode

    namespace = module.__dict__
    langgraph_default = namespace["_msgpack_default"]

    def _msgpack_enc(data: Any) -> bytes:
        # Read at call time, like the original; the native fast paths are used
        # only while the default is still LangGraph's own function.
        default = namespace["_msgpack_default"]
        return msgpack_encode(data, default, default is langgraph_default)

    _msgpack_enc.__module__ = module.__name__
    _msgpack_enc.__qualname__ = "_msgpack_enc"
    _msgpack_enc.__doc__ = "fast_langgraph: Rust msgpack encoder, byte-identical to ormsgpack.packb."
    _msgpack_enc.__wrapped__ = namespace["_msgpack_enc"]  # type: ignore[attr-defined]
    return _msgpack_enc


def replacement(target: Target, original: object) -> object:
    module = sys.modules[target.module]
    if getattr(original, "__module__", None) != module.__name__ or getattr(original, "__name__", None) != "_msgpack_enc":
        raise PatchSkipped("%s is %r, not langgraph's own _msgpack_enc; left alone" % (target.qualname, original))
    option = getattr(module, "_option", None)
    if option != LANGGRAPH_OPTION:
        raise PatchSkipped("jsonplus._option is %r, not the verified option set %d" % (option, LANGGRAPH_OPTION))
    if not callable(getattr(module, "_msgpack_default", None)):
        raise PatchSkipped("jsonplus has no _msgpack_default")
    return make_msgpack_enc(module)

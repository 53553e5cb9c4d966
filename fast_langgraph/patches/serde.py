"""Patch two module globals of ``langgraph.checkpoint.serde.jsonplus``.

* ``_msgpack_enc`` (encode): ``JsonPlusSerializer.dumps_typed`` and
  ``_msgpack_default``'s own recursion read it at call time, so rebinding it routes
  every ``msgpack``-tagged checkpoint write through
  :func:`fast_langgraph._core.msgpack_encode`, which writes the same bytes as
  ``ormsgpack.packb(obj, default=_msgpack_default, option=_option)``.
* ``ormsgpack`` (decode): a copy of the ormsgpack module whose ``unpackb`` is
  :func:`fast_langgraph._core.msgpack_unpackb`. ``loads_typed``'s msgpack branch and
  LangGraph's ext hook both call ``ormsgpack.unpackb(data, ext_hook=...,
  option=OPT_NON_STR_KEYS)`` through this global, so top-level blobs and ext payloads
  are decoded in Rust while the hook (allow/deny, events, warnings, construction)
  is LangGraph's own function, called with the same arguments in the same order as
  ormsgpack calls it.

The serializer class and its methods are untouched (``with_allowlist`` and strict
mode see a plain ``JsonPlusSerializer``); its ``json``/``pickle``/``bytes``/``null``
tags never reach Rust.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from fast_langgraph.patches._spec import PatchSkipped, Target, version_in_range

# The ormsgpack releases whose unpackb the Rust decoder was checked against
# (values, errors, nesting limit; tests/test_serde_decode.py).
VERIFIED_ORMSGPACK = ">=1.13,<1.14"

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


def _replace_msgpack_enc(module: Any, target: Target, original: object) -> object:
    if getattr(original, "__module__", None) != module.__name__ or getattr(original, "__name__", None) != "_msgpack_enc":
        raise PatchSkipped("%s is %r, not langgraph's own _msgpack_enc; left alone" % (target.qualname, original))
    option = getattr(module, "_option", None)
    if option != LANGGRAPH_OPTION:
        raise PatchSkipped("jsonplus._option is %r, not the verified option set %d" % (option, LANGGRAPH_OPTION))
    if not callable(getattr(module, "_msgpack_default", None)):
        raise PatchSkipped("jsonplus has no _msgpack_default")
    return make_msgpack_enc(module)


def make_ormsgpack_shim(real: types.ModuleType) -> types.ModuleType:
    """A stand-in for the ``ormsgpack`` module: the same objects, ``unpackb`` in Rust."""
    from fast_langgraph._core import msgpack_unpackb

    def __getattr__(name: str) -> Any:  # attributes added to ormsgpack later
        return getattr(real, name)

    shim = types.ModuleType(real.__name__, real.__doc__)
    namespace = shim.__dict__
    namespace.update(real.__dict__)
    # Attribute lookups on jsonplus's `ormsgpack` global find these first.
    namespace.update(unpackb=msgpack_unpackb, __getattr__=__getattr__, __fast_langgraph__=True)
    return shim


def _replace_ormsgpack(module: Any, original: Any) -> Any:
    real = sys.modules.get("ormsgpack")
    if original is not real or real is None:
        raise PatchSkipped("jsonplus.ormsgpack is %r, not the ormsgpack module; left alone" % (original,))
    version = str(getattr(real, "__version__", "0"))
    if not version_in_range(version, VERIFIED_ORMSGPACK):
        raise PatchSkipped("ormsgpack %s: the decoder is verified against %s only" % (version, VERIFIED_ORMSGPACK))
    if type(getattr(real, "OPT_NON_STR_KEYS", None)) is not int or not callable(getattr(real, "unpackb", None)):
        raise PatchSkipped("ormsgpack has no unpackb/OPT_NON_STR_KEYS")
    return make_ormsgpack_shim(real)


def replacement(target: Target, original: object) -> object:
    module = sys.modules[target.module]
    if target.attribute == "ormsgpack":
        return _replace_ormsgpack(module, original)
    return _replace_msgpack_enc(module, target, original)

"""Patch ``langgraph.checkpoint.serde.jsonplus``: encoding and decoding of the msgpack tag.

* ``_msgpack_enc`` (a module global read at call time by ``JsonPlusSerializer.dumps_typed``
  and ``_msgpack_default``'s own recursion): every ``msgpack``-tagged checkpoint write goes
  through :func:`fast_langgraph._core.msgpack_encode`, which writes the same bytes as
  ``ormsgpack.packb(obj, default=_msgpack_default, option=_option)`` (and makes that very
  call for a blob a bounded probe finds plain: ormsgpack writes plain data faster).
* ``JsonPlusSerializer.loads_typed`` (a method: the class itself is untouched, so
  ``with_allowlist`` and strict mode see a plain ``JsonPlusSerializer``): the ``msgpack``
  tag calls :func:`fast_langgraph._core.msgpack_unpackb` with exactly the arguments the
  original passes to ``ormsgpack.unpackb``; every other tag is the original method. That
  function runs ormsgpack itself, pausing the cyclic GC for large blobs of plain data. Ext
  values still go to the serializer's own ext hook (allowlist, events, warnings,
  construction are LangGraph's), which unpacks its payloads with ormsgpack as before.
* The message codec (:mod:`fast_langgraph.patches.message_codec`, configured here):
  verified LangChain messages are written from their ``__dict__`` instead of
  ``model_dump()``, and read back without re-validation when LangGraph's own hook
  would allow them and their payload is canonical; the serializer's hook is wrapped
  in a ``MessageExtHook`` for that, and handles everything else as before.
"""

from __future__ import annotations

import sys
from typing import Any

from fast_langgraph.patches._source import require_source
from fast_langgraph.patches._spec import PatchSkipped, Target, require_version

# The ormsgpack releases whose unpackb the Rust decoder was checked against
# (values, errors, nesting limit; tests/test_serde_decode.py).
VERIFIED_ORMSGPACK = ">=1.13,<1.14"

# Source digest (patches._source) of ``JsonPlusSerializer.loads_typed``, identical in
# langgraph-checkpoint 4.1.0-4.3.2: its msgpack branch is
# ``ormsgpack.unpackb(data_, ext_hook=self._unpack_ext_hook, option=ormsgpack.OPT_NON_STR_KEYS)``.
VERIFIED_LOADS_TYPED = ("9df1ae9e6a3492c6",)

# OPT_NON_STR_KEYS | PASSTHROUGH_DATACLASS | PASSTHROUGH_DATETIME | PASSTHROUGH_UUID
# | PASSTHROUGH_ENUM | REPLACE_SURROGATES: the option set the Rust encoder implements.
LANGGRAPH_OPTION = 2 | 16 | 32 | 4096 | 8192 | 32768


def make_msgpack_enc(module: Any) -> Any:
    """A drop-in ``_msgpack_enc`` for ``module`` (a loaded ``jsonplus``)."""
    from fast_langgraph._rust import msgpack_encode
    from fast_langgraph.patches import message_codec

    # Messages written from their fields where verified (see message_codec).
    message_codec.configure(module)
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
    if (
        getattr(original, "__module__", None) != module.__name__
        or getattr(original, "__name__", None) != "_msgpack_enc"
    ):
        raise PatchSkipped("%s is %r, not langgraph's own _msgpack_enc; left alone" % (target.qualname, original))
    option = getattr(module, "_option", None)
    if option != LANGGRAPH_OPTION:
        raise PatchSkipped("jsonplus._option is %r, not the verified option set %d" % (option, LANGGRAPH_OPTION))
    if not callable(getattr(module, "_msgpack_default", None)):
        raise PatchSkipped("jsonplus has no _msgpack_default")
    return make_msgpack_enc(module)


def make_loads_typed(module: Any, original: Any) -> Any:
    """A drop-in ``JsonPlusSerializer.loads_typed``: the msgpack tag through ``msgpack_unpackb``."""
    from fast_langgraph._rust import MessageExtHook, msgpack_unpackb
    from fast_langgraph.patches import message_codec

    namespace = module.__dict__
    real = sys.modules["ormsgpack"]
    option = real.OPT_NON_STR_KEYS
    codec_on = message_codec.configure(module).enabled
    hook_code = message_codec.langgraph_hook_code(module) if codec_on else None

    def loads_typed(self: Any, data: Any) -> Any:
        type_, data_ = data
        # An exact "msgpack" str cannot equal the tags the original tests first; the
        # module's ormsgpack global is read at call time, as the original does.
        if type(type_) is str and type_ == "msgpack" and namespace["ormsgpack"] is real:
            hook = self._unpack_ext_hook
            # LangGraph's own hook (not a custom __unpack_ext_hook__): verified
            # messages are built by the codec, everything else by this hook.
            if hook_code is not None and getattr(hook, "__code__", None) is hook_code:
                hook = MessageExtHook(hook)
            return msgpack_unpackb(data_, ext_hook=hook, option=option)
        return original(self, data)

    loads_typed.__module__ = module.__name__
    loads_typed.__qualname__ = original.__qualname__
    loads_typed.__doc__ = (
        "fast_langgraph: msgpack-tagged checkpoints decoded by ormsgpack, the GC paused for large plain blobs."
    )
    loads_typed.__wrapped__ = original  # type: ignore[attr-defined]
    return loads_typed


def _replace_loads_typed(module: Any, original: Any) -> Any:
    real = sys.modules.get("ormsgpack")
    if real is None or module.__dict__.get("ormsgpack") is not real:
        raise PatchSkipped("jsonplus.ormsgpack is not the ormsgpack module; loading left alone")
    # The decoder is verified against these ormsgpack releases only.
    require_version("ormsgpack", str(getattr(real, "__version__", "0")), VERIFIED_ORMSGPACK)
    require_source(original, VERIFIED_LOADS_TYPED, "JsonPlusSerializer.loads_typed")
    return make_loads_typed(module, original)


def replacement(target: Target, original: object) -> object:
    module = sys.modules[target.module]
    if target.attribute == "JsonPlusSerializer.loads_typed":
        return _replace_loads_typed(module, original)
    return _replace_msgpack_enc(module, target, original)

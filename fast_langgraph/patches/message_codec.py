"""The message codec, part of the ``serde`` patch: LangChain messages checkpointed
without pydantic's generic ``model_dump()`` and re-validation.

What a user can rely on: the bytes written are those ``model_dump()`` would give, and
a message read back equals the one LangGraph's ext hook builds (type, ``__dict__``,
fields set, extras, private attributes, ``==``, ``repr``). The codec is configured
only for the message classes of a verified langchain-core release (each class's
fields, validators, serializers, ``__init__`` chain and config are fingerprinted
here and compared with the fingerprints recorded for that release) and a verified
pydantic; anything else keeps LangGraph's path, and the doctor says which.

* Encode: an instance of exactly a verified class whose ``__dict__`` holds exactly
  its fields in order, each of the type the schema declares (``Any`` values: plain
  trees of dict/list/str/int/float/bool/None), without extras, is written from its
  ``__dict__`` (Rust, ``src/py/message_codec.rs``). Otherwise ``model_dump()``.
* Decode: ``loads_typed`` hands the Rust decoder a :class:`MessageExtHook` wrapping
  the serializer's own hook, when that hook is LangGraph's (``_create_msgpack_ext_hook``).
  It builds an ``EXT_PYDANTIC_V2`` payload directly only when the class is verified,
  in LangGraph's ``SAFE_MSGPACK_TYPES`` (which LangGraph's ``_check_allowed`` allows
  in every mode without an event or warning), resolves to the verified class, and
  its field dict is canonical (exactly the keys the dump writes, in order, values of
  the types validation returns unchanged; e.g. not an ``AIMessage`` whose tool calls
  are only in ``additional_kwargs``). Everything else is LangGraph's hook's.
  Messages nested in another ext value (a ``Send`` argument, a pydantic state) are
  decoded by LangGraph's hook, which calls itself for them: correct, not faster.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import linecache
import types
import typing
from typing import Any, Dict, List, Optional, Tuple

from fast_langgraph.patches._spec import version_in_range

# The releases the fingerprints below were taken from and the differential tests
# (tests/test_message_codec.py) were run against.
VERIFIED_LANGCHAIN_CORE = ">=1.8.3,<1.9"
VERIFIED_PYDANTIC = ">=2.14,<2.15"

# (module, class, decoded here, validation rule). AIMessageChunk: its after-validators
# rebuild tool calls from chunks and rewrite content blocks, so only chunks without
# tool calls of any kind and without a chunk position are decoded here.
MESSAGE_CLASSES: Tuple[Tuple[str, str, bool, str], ...] = (
    ("langchain_core.messages.human", "HumanMessage", True, "plain"),
    ("langchain_core.messages.ai", "AIMessage", True, "ai_message"),
    ("langchain_core.messages.tool", "ToolMessage", True, "plain"),
    ("langchain_core.messages.system", "SystemMessage", True, "plain"),
    ("langchain_core.messages.chat", "ChatMessage", True, "plain"),
    ("langchain_core.messages.function", "FunctionMessage", True, "plain"),
    ("langchain_core.messages.modifier", "RemoveMessage", True, "remove_message"),
    ("langchain_core.messages.human", "HumanMessageChunk", True, "plain"),
    ("langchain_core.messages.system", "SystemMessageChunk", True, "plain"),
    ("langchain_core.messages.chat", "ChatMessageChunk", True, "plain"),
    ("langchain_core.messages.function", "FunctionMessageChunk", True, "plain"),
    ("langchain_core.messages.tool", "ToolMessageChunk", True, "plain"),
    ("langchain_core.messages.ai", "AIMessageChunk", True, "ai_message_chunk"),
)

# class_fingerprint() of each class in langchain-core 1.8.3 with pydantic 2.14.4 (taken where the
# earlier fingerprint, over each function's source text, matched the one the codec was verified with).
VERIFIED_FINGERPRINTS: Dict[str, Tuple[str, ...]] = {
    "HumanMessage": ("dacebba11e71ba8b",),
    "AIMessage": ("2ffb201ea4fa4c55",),
    "ToolMessage": ("83dca6ac4c97772f",),
    "SystemMessage": ("5a179052b791badc",),
    "ChatMessage": ("f877cefbe9780b68",),
    "FunctionMessage": ("d45127e82f9b381c",),
    "RemoveMessage": ("7ffb297d8706b57c",),
    "HumanMessageChunk": ("3622e6502d3dd5bf",),
    "SystemMessageChunk": ("70576fe17ad51f37",),
    "ChatMessageChunk": ("3562d3d311b6fc67",),
    "FunctionMessageChunk": ("1eaaefa511536694",),
    "ToolMessageChunk": ("9b79a8b33daff4ff",),
    "AIMessageChunk": ("bec5eef2adb807cd",),
}

# The TypedDicts whose key order the Rust side checks (validation writes schema order).
TYPED_DICTS = (
    ("langchain_core.messages.tool", "ToolCall"),
    ("langchain_core.messages.tool", "InvalidToolCall"),
    ("langchain_core.messages.tool", "ToolCallChunk"),
    ("langchain_core.messages.ai", "UsageMetadata"),
    ("langchain_core.messages.ai", "InputTokenDetails"),
    ("langchain_core.messages.ai", "OutputTokenDetails"),
)


class CodecStatus(typing.NamedTuple):
    enabled: bool
    reason: str
    langchain_core: Optional[str]
    classes: Tuple[str, ...]


_status = CodecStatus(False, "not configured (the serde patch has not run)", None, ())


def status() -> CodecStatus:
    """Whether the codec is on, for the doctor."""
    return _status


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_file_digests: Dict[str, str] = {}


def _located(obj: Any) -> str:
    """A function's code as its file's digest, first line and name. The file's text
    and the line fix the source ``inspect.getsource`` reads (after the same unwrapping)
    without tokenizing each function at patch time: the fingerprints cost a few
    milliseconds of the first ``import langgraph``, not tens."""
    obj = getattr(obj, "__func__", obj)  # classmethod, staticmethod
    try:
        obj = inspect.unwrap(obj)
    except ValueError:  # a __wrapped__ cycle
        pass
    code = getattr(obj, "__code__", None)
    if code is None:
        return "<no code: %r>" % (obj,)
    filename = code.co_filename
    digest = _file_digests.get(filename)
    if digest is None:
        # What inspect.getsource reads the source from.
        text = "".join(linecache.getlines(filename))
        digest = _file_digests[filename] = _digest(text) if text else "<no source file>"
    return "%s:%d:%s" % (digest, code.co_firstlineno, code.co_name)


_fingerprints: Dict[Any, str] = {}


def class_fingerprint(cls: Any) -> str:
    """A digest of everything that decides what ``cls(**d)`` and ``model_dump()`` do
    (memoized per class object: re-applying the patch re-reads no source)."""
    digest = _fingerprints.get(cls)
    if digest is None:
        digest = _fingerprints[cls] = _class_fingerprint(cls)
    return digest


def _class_fingerprint(cls: Any) -> str:
    from pydantic import BaseModel

    parts: List[str] = [cls.__module__, cls.__qualname__, repr(sorted(cls.model_config.items()))]
    for name, field in cls.model_fields.items():
        parts.append("%s=%r" % (name, field))
    decorators = cls.__pydantic_decorators__
    for group in (
        "validators",
        "field_validators",
        "root_validators",
        "field_serializers",
        "model_serializers",
        "model_validators",
        "computed_fields",
    ):
        for name, dec in sorted(getattr(decorators, group).items()):
            parts.append("%s:%s:%r:%s" % (group, name, dec.info, _located(dec.func)))
    for klass in cls.__mro__:
        if klass is BaseModel:
            break
        for attr in (
            "__init__",
            "model_post_init",
            "__new__",
            "model_dump",
            "__getattr__",
            "__setattr__",
            "__get_pydantic_core_schema__",
        ):
            if attr in klass.__dict__:
                parts.append("%s.%s:%s" % (klass.__qualname__, attr, _located(klass.__dict__[attr])))
    parts.append(repr(cls.__private_attributes__))
    parts.append(repr(cls.__pydantic_post_init__))
    parts.append(repr(cls.__pydantic_computed_fields__))
    # The helpers AIMessage's before-validator rebuilds tool calls with.
    tool = importlib.import_module("langchain_core.messages.tool")
    for helper in ("tool_call", "invalid_tool_call", "tool_call_chunk"):
        parts.append(_located(getattr(tool, helper, None)))
    for module, name in TYPED_DICTS:
        td = getattr(importlib.import_module(module), name, None)
        parts.append(
            "%s:%r:%r:%r"
            % (
                name,
                getattr(td, "__annotations__", None),
                getattr(td, "__total__", None),
                sorted(getattr(td, "__required_keys__", ())),
            )
        )
    return _digest("\n".join(parts))


_UNIONS = (typing.Union, getattr(types, "UnionType", typing.Union))


def _normal(annotation: Any) -> Any:
    """``X | Y`` and ``Union[X, Y]`` (and ``List``/``list``) as one comparable form."""
    origin = typing.get_origin(annotation)
    if origin is None:
        return annotation
    args = tuple(_normal(a) for a in typing.get_args(annotation))
    if origin in _UNIONS:
        return ("union", frozenset(args))
    return (origin, args)


_known_kinds: List[Tuple[Any, str]] = []


def _field_kind(annotation: Any) -> Tuple[str, Tuple[str, ...]]:
    """The Rust-side kind for a field annotation (ValueError if not one we verified)."""
    if not _known_kinds:  # built once: typing's subscriptions are slow
        from langchain_core.messages.ai import UsageMetadata
        from langchain_core.messages.tool import InvalidToolCall, ToolCall, ToolCallChunk

        known: List[Tuple[Any, str]] = [
            (typing.Union[str, List[typing.Union[str, Dict[Any, Any]]]], "content"),
            (Dict[Any, Any], "any_dict"),
            (Optional[str], "opt_str"),
            (str, "str"),
            (List[ToolCall], "tool_calls"),
            (List[InvalidToolCall], "invalid_tool_calls"),
            (List[ToolCallChunk], "tool_call_chunks"),
            (Optional[UsageMetadata], "usage"),
        ]
        _known_kinds[:] = [(_normal(ann), kind) for ann, kind in known]  # all or nothing
    if annotation is Any:
        return "any", ()
    normal = _normal(annotation)
    for known_normal, kind in _known_kinds:
        if normal == known_normal:
            return kind, ()
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal and all(type(a) is str for a in args):
        return "literal", tuple(args)
    if origin in _UNIONS and len(args) == 2 and type(None) in args:
        inner = [a for a in args if a is not type(None)][0]
        if typing.get_origin(inner) is typing.Literal and all(type(a) is str for a in typing.get_args(inner)):
            return "opt_literal", tuple(typing.get_args(inner))
    raise ValueError("unverified field annotation %r" % (annotation,))


def plain_attribute_lookup(cls: Any) -> bool:
    """Whether ``cls`` keeps object's ``__getattribute__`` and ``__class__``: the encoder
    reads ``__dict__``/``__pydantic_extra__`` with object's own lookup and takes
    ``type(obj)`` for ``obj.__class__``."""
    return not any("__getattribute__" in k.__dict__ or "__class__" in k.__dict__ for k in cls.__mro__[:-1])


def _installed(name: str) -> Optional[str]:
    try:
        from fast_langgraph._patching import installed_version  # cached, no importlib.metadata

        return installed_version(name)
    except Exception:
        return None


def configure(jsonplus: Any) -> CodecStatus:
    """Turn the codec on for the verified classes of the installed langchain-core, or
    leave it off (with the reason). Called by the ``serde`` patch; never raises."""
    global _status
    try:
        _status = _configure(jsonplus)
    except Exception as exc:  # never break the host: today's path, and say why
        _status = CodecStatus(
            False, "not enabled: %s: %s" % (type(exc).__name__, exc), _installed("langchain-core"), ()
        )
        _turn_off()
    return _status


def _turn_off() -> None:
    try:
        from fast_langgraph._rust import message_codec_configure

        message_codec_configure(None)
    except Exception:
        pass


def _configure(jsonplus: Any) -> CodecStatus:
    from fast_langgraph._rust import message_codec_configure

    core_version = _installed("langchain-core")
    pydantic_version = _installed("pydantic")
    if core_version is None or not version_in_range(core_version, VERIFIED_LANGCHAIN_CORE):
        _turn_off()
        return CodecStatus(
            False,
            "off: langchain-core %s is outside the verified %s" % (core_version, VERIFIED_LANGCHAIN_CORE),
            core_version,
            (),
        )
    if pydantic_version is None or not version_in_range(pydantic_version, VERIFIED_PYDANTIC):
        _turn_off()
        return CodecStatus(
            False,
            "off: pydantic %s is outside the verified %s" % (pydantic_version, VERIFIED_PYDANTIC),
            core_version,
            (),
        )
    safe_module = jsonplus.__dict__.get("_lg_msgpack")
    safe_types = getattr(safe_module, "SAFE_MSGPACK_TYPES", None)
    decode_allowed = type(safe_types) is frozenset
    entries = []
    verified = []
    skipped = []
    for module_name, name, decode, rule in MESSAGE_CLASSES:
        cls = getattr(importlib.import_module(module_name), name)
        # Instances are allocated as object.__new__(cls) does (the Rust side calls the
        # type's tp_alloc): only for a class using object.__new__, with no abstract methods.
        if (
            cls.__module__ != module_name
            or cls.__name__ != name
            or cls.__new__ is not object.__new__
            or getattr(cls, "__abstractmethods__", None)
            or not plain_attribute_lookup(cls)
        ):
            skipped.append(name)
            continue
        fingerprint = class_fingerprint(cls)
        if fingerprint not in VERIFIED_FINGERPRINTS.get(name, ()):
            skipped.append("%s (fingerprint %s)" % (name, fingerprint))
            continue
        fields = []
        for field_name, field in cls.model_fields.items():
            kind, literals = _field_kind(field.annotation)
            fields.append((field_name, kind, list(literals)))
        decode = decode and decode_allowed and safe_types is not None and (module_name, name) in safe_types
        entries.append((cls, decode, rule, fields))
        verified.append(name)
    typed_keys = {}
    for module_name, name in TYPED_DICTS:
        td = getattr(importlib.import_module(module_name), name)
        typed_keys[name] = list(td.__annotations__)
    if not entries:
        _turn_off()
        return CodecStatus(
            False, "off: no message class matches its verified fingerprint (%s)" % ", ".join(skipped), core_version, ()
        )
    message_codec_configure(entries, typed_keys, safe_module, jsonplus)
    reason = "on for %d message classes (langchain-core %s)" % (len(verified), core_version)
    if skipped:
        reason += "; today's path for %s" % ", ".join(skipped)
    return CodecStatus(True, reason, core_version, tuple(verified))


def langgraph_hook_code(jsonplus: Any) -> Any:
    """The code object of LangGraph's own ext hook (what ``_create_msgpack_ext_hook`` returns)."""
    return jsonplus._create_msgpack_ext_hook(None).__code__

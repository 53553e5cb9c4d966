"""Patch ``dataclasses.replace`` where ``langgraph.runtime`` looks it up.

``Runtime.override``, ``Runtime.patch_execution_info`` and ``ExecutionInfo.patch``
copy a frozen dataclass for every task of every superstep. ``dataclasses.replace``
walks the field list, builds keyword arguments and calls the generated ``__init__``,
which sets each field with ``object.__setattr__``. For a class where that is all
``__init__`` does, :func:`replace` below does exactly those ``object.__setattr__``
calls on a fresh ``object.__new__(cls)`` instance, from a field list computed once
per class. For a slotted class (LangGraph's ``Runtime`` and ``ExecutionInfo``) that
per-class copy is generated code that stores through the slots' own descriptors.
Anything else (non-frozen classes, ``__post_init__``, ``InitVar``,
``init=False`` fields, a custom ``__new__`` or ``__init__``, or a change naming a
field it does not plan for) goes to ``dataclasses.replace`` itself.
"""

from __future__ import annotations

import dataclasses
import keyword
import types
from typing import Any, Callable, Dict, Optional, Tuple

from fast_langgraph.patches._spec import PatchSkipped, Target

_replace = dataclasses.replace
_new = object.__new__
_setattr = object.__setattr__

#: A per-class copy: (obj, changes) -> new instance.
Copier = Callable[[Any, Dict[str, Any]], Any]

#: class -> its copier, or None: use dataclasses.replace.
_copiers: Dict[type, Optional[Copier]] = {}


def plan_for(cls: type) -> Optional[Tuple[Tuple[str, ...], frozenset]]:
    """The fields ``replace`` would pass to ``cls(...)``, if ``cls(...)`` only sets them."""
    params = getattr(cls, "__dataclass_params__", None)
    fields = getattr(cls, "__dataclass_fields__", None)
    if params is None or fields is None or not params.frozen or not params.init:
        return None
    if hasattr(cls, "__post_init__") or cls.__new__ is not object.__new__:
        return None
    init: Any = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    # The generated __init__ of this very class (a subclass without @dataclass inherits
    # its parent's, and would need the parent's field list: leave it to replace()).
    if code is None or code.co_filename != "<string>" or init.__qualname__ != cls.__qualname__ + ".__init__":
        return None
    names = []
    for f in fields.values():
        kind = getattr(f, "_field_type", None)
        if kind is dataclasses._FIELD_CLASSVAR:  # type: ignore[attr-defined]
            continue
        if kind is not dataclasses._FIELD or not f.init:  # type: ignore[attr-defined]
            return None  # InitVar, init=False: replace() has rules for those
        names.append(f.name)
    return tuple(names), frozenset(names)


def _generic_copier(cls: type, names: Tuple[str, ...], allowed: frozenset) -> Copier:
    def copy(obj: Any, changes: Dict[str, Any]) -> Any:
        if not allowed.issuperset(changes):
            return _replace(obj, **changes)
        new: Any = _new(cls)
        for name in names:
            _setattr(new, name, changes[name] if name in changes else getattr(obj, name))
        return new

    return copy


def _slots_copier(cls: type, names: Tuple[str, ...], allowed: frozenset) -> Optional[Copier]:
    """Straight-line code storing through the slot descriptors, or None if not all slots.

    Every field is read, changed or not (``changes.get(name, obj.name)``). That is only
    equal to dataclasses.replace, which reads the unchanged ones, if a read runs no code:
    no ``__getattribute__`` of the class's own, and no ``__getattr__`` (it would run for a
    slot left unset, on an instance made without ``__init__``). Without one, an unset slot
    raises AttributeError, on which dataclasses.replace itself decides what happens.
    """
    if cls.__getattribute__ is not object.__getattribute__ or hasattr(cls, "__getattr__"):
        return None
    for name in names:
        if type(cls.__dict__.get(name)) is not types.MemberDescriptorType:
            return None
        if not name.isidentifier() or keyword.iskeyword(name):
            return None
    body = "".join("        set_%d(new, get(%r, obj.%s))\n" % (i, n, n) for i, n in enumerate(names))
    source = (
        "def copy(obj, changes):\n"
        "    if not allowed.issuperset(changes):\n"
        "        return _replace(obj, **changes)\n"
        "    get = changes.get\n"
        "    new = _new(cls)\n"
        "    try:\n" + body + "    except AttributeError:\n"
        "        return _replace(obj, **changes)\n"
        "    return new\n"
    )
    namespace: Dict[str, Any] = {"_replace": _replace, "_new": _new, "cls": cls, "allowed": allowed}
    namespace.update(("set_%d" % i, cls.__dict__[n].__set__) for i, n in enumerate(names))
    exec(compile(source, "<fast_langgraph replace for %s>" % cls.__qualname__, "exec"), namespace)
    return namespace["copy"]


def copier_for(cls: type) -> Optional[Copier]:
    plan = plan_for(cls)
    if plan is None:
        return None
    return _slots_copier(cls, *plan) or _generic_copier(cls, *plan)


def replace(obj: Any, /, **changes: Any) -> Any:
    """``dataclasses.replace``, without its generic walk for plain frozen dataclasses."""
    cls = type(obj)
    try:
        copy = _copiers[cls]
    except KeyError:
        copy = _copiers[cls] = copier_for(cls)
    if copy is None:
        return _replace(obj, **changes)
    return copy(obj, changes)


replace.__wrapped__ = _replace  # type: ignore[attr-defined]


def replacement(target: Target, original: object) -> object:
    if original is not _replace:
        raise PatchSkipped("%s is %r, not dataclasses.replace; left alone" % (target.qualname, original))
    return replace

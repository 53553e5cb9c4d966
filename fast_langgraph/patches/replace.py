"""Patch ``dataclasses.replace`` where ``langgraph.runtime`` looks it up.

``Runtime.override``, ``Runtime.patch_execution_info`` and ``ExecutionInfo.patch``
copy a frozen dataclass for every task of every superstep. ``dataclasses.replace``
walks the field list, builds keyword arguments and calls the generated ``__init__``,
which sets each field with ``object.__setattr__``. For a class where that is all
``__init__`` does, :func:`replace` below does exactly those ``object.__setattr__``
calls on a fresh ``object.__new__(cls)`` instance, from a field list computed once
per class. Anything else (non-frozen classes, ``__post_init__``, ``InitVar``,
``init=False`` fields, a custom ``__new__`` or ``__init__``, or a change naming a
field it does not plan for) goes to ``dataclasses.replace`` itself.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Tuple

from fast_langgraph.patches._spec import PatchSkipped, Target

_replace = dataclasses.replace
_new = object.__new__
_setattr = object.__setattr__

#: class -> (field names, as a frozenset) in __init__ order, or None: use dataclasses.replace.
_plans: Dict[type, Optional[Tuple[Tuple[str, ...], frozenset]]] = {}


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


def replace(obj: Any, /, **changes: Any) -> Any:
    """``dataclasses.replace``, without its generic walk for plain frozen dataclasses."""
    cls = type(obj)
    try:
        plan = _plans[cls]
    except KeyError:
        plan = _plans[cls] = plan_for(cls)
    if plan is None or not plan[1].issuperset(changes):
        return _replace(obj, **changes)
    new = _new(cls)
    for name in plan[0]:
        _setattr(new, name, changes[name] if name in changes else getattr(obj, name))
    return new


replace.__wrapped__ = _replace  # type: ignore[attr-defined]


def replacement(target: Target, original: object) -> object:
    if original is not _replace:
        raise PatchSkipped("%s is %r, not dataclasses.replace; left alone" % (target.qualname, original))
    return replace

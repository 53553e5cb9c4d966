"""The environment switches, parsed here and nowhere else (stdlib only).

Precedence, lowest to highest:

1. the registry's default for the patch (``PatchSpec.default``);
2. ``FAST_LANGGRAPH_DISABLE=a,b`` turns the named patches off, and
   ``FAST_LANGGRAPH_ENABLE=a,b`` turns the named default-off patches on
   (both accept ``*`` or ``all``; a patch named in both is off);
3. ``FAST_LANGGRAPH=0`` (or ``false``/``off``/``no``) turns every patch off and the
   autoload does nothing; ``1``/``true``/``on``/``yes`` or unset leave the patches on;
4. an explicit ``fast_langgraph.patch(name=True/False)`` in the program.

``FAST_LANGGRAPH_STRICT=1`` (``true``/``on``/``yes``) makes our own internal errors raise
instead of being logged, for CI.

Names are compared without case and surrounding blanks. A patch name that is not in
the registry, or a ``FAST_LANGGRAPH`` value that is neither on nor off, is a mistake the
program cannot see: :func:`problems` lists it, the activation logs it once as a warning,
and the doctor reports it (exit 1). An unrecognised ``FAST_LANGGRAPH`` value counts as on,
as before.

The ``.pth`` line carries its own inline copy of the ``FAST_LANGGRAPH`` off test (a module
import there would cost every interpreter start ~1 ms); ``tests/test_bootstrap.py``
checks that it uses :data:`OFF_VALUES`.
"""

from __future__ import annotations

import os
from typing import Iterable, List, Mapping, NamedTuple, Optional, Tuple

#: Values of ``FAST_LANGGRAPH`` that turn every patch off (and of ``FAST_LANGGRAPH_STRICT`` that mean no).
OFF_VALUES = ("0", "false", "off", "no")
#: Values that mean yes.
ON_VALUES = ("1", "true", "on", "yes")
#: Entries of a name list that stand for every patch.
EVERY = ("*", "all")

MASTER = "FAST_LANGGRAPH"
DISABLE = "FAST_LANGGRAPH_DISABLE"
ENABLE = "FAST_LANGGRAPH_ENABLE"
STRICT = "FAST_LANGGRAPH_STRICT"
SQLITE_FORK_TIMEOUT = "FAST_LANGGRAPH_SQLITE_FORK_TIMEOUT"
#: Every switch the package reads, in the order the doctor shows them.
VARIABLES = (MASTER, DISABLE, ENABLE, STRICT, SQLITE_FORK_TIMEOUT)
#: Default of :func:`sqlite_fork_timeout`, in seconds.
SQLITE_FORK_TIMEOUT_DEFAULT = 5.0


class Switches(NamedTuple):
    """One reading of the environment."""

    master: str  # FAST_LANGGRAPH, stripped and lower-cased ("" when unset)
    disable: Tuple[str, ...]  # FAST_LANGGRAPH_DISABLE's names, lower-cased
    enable: Tuple[str, ...]  # FAST_LANGGRAPH_ENABLE's names, lower-cased
    strict: bool
    raw: Tuple[Tuple[str, Optional[str]], ...]  # (variable, value as set or None), for messages

    @property
    def off(self) -> bool:
        """``FAST_LANGGRAPH`` turns everything off."""
        return self.master in OFF_VALUES

    def value(self, variable: str) -> Optional[str]:
        return dict(self.raw).get(variable)


def _names(text: str) -> Tuple[str, ...]:
    return tuple(part for part in (p.strip().lower() for p in text.split(",")) if part)


def read(environ: Mapping[str, str] = os.environ) -> Switches:
    """Parse every switch from ``environ``."""
    return Switches(
        master=environ.get(MASTER, "").strip().lower(),
        disable=_names(environ.get(DISABLE, "")),
        enable=_names(environ.get(ENABLE, "")),
        strict=environ.get(STRICT, "").strip().lower() in ON_VALUES,
        raw=tuple((v, environ.get(v)) for v in VARIABLES),
    )


def disabled(environ: Mapping[str, str] = os.environ) -> bool:
    """True when ``FAST_LANGGRAPH`` is 0/false/off/no (any case, surrounding blanks ignored)."""
    return environ.get(MASTER, "").strip().lower() in OFF_VALUES


def strict(environ: Mapping[str, str] = os.environ) -> bool:
    """``FAST_LANGGRAPH_STRICT=1``: our own internal errors raise instead of being logged."""
    return environ.get(STRICT, "").strip().lower() in ON_VALUES


def sqlite_fork_timeout(environ: Mapping[str, str] = os.environ) -> float:
    """``FAST_LANGGRAPH_SQLITE_FORK_TIMEOUT``: seconds ``os.fork()`` waits for the SQLite work
    of ``RustSqliteSaver``s in flight (a number >= 0; the default, 5, for anything else)."""
    try:
        value = float(environ.get(SQLITE_FORK_TIMEOUT, ""))
    except ValueError:
        return SQLITE_FORK_TIMEOUT_DEFAULT
    return value if value >= 0 else SQLITE_FORK_TIMEOUT_DEFAULT


def _lists(names: Tuple[str, ...], name: str) -> bool:
    return name.lower() in names or any(e in names for e in EVERY)


def decide(name: str, default: bool, override: Optional[bool], switches: Switches) -> Tuple[bool, str]:
    """Whether patch ``name`` is on, and which switch decided (``""`` when nothing turned it off)."""
    if override is not None:
        return override, "fast_langgraph.patch(%s=%s)" % (name, override)
    if switches.off:
        return False, "%s=%s" % (MASTER, (switches.value(MASTER) or "").strip())
    if _lists(switches.disable, name):
        return False, "%s=%s" % (DISABLE, switches.value(DISABLE))
    if not default and not _lists(switches.enable, name):
        return False, "off by default; enable with %s=%s or fast_langgraph.patch(%s=True)" % (ENABLE, name, name)
    return True, ""


def problems(known: Iterable[str], switches: Optional[Switches] = None) -> List[str]:
    """Mistakes in the switches: unknown patch names, an unrecognised ``FAST_LANGGRAPH``."""
    s = read() if switches is None else switches
    out: List[str] = []
    if s.master and s.master not in OFF_VALUES + ON_VALUES:
        out.append(
            "%s=%r is not a recognised value (off: %s; on: %s, or unset); taken as on"
            % (MASTER, s.value(MASTER), "/".join(OFF_VALUES), "/".join(ON_VALUES))
        )
    valid = {n.lower() for n in known}
    for variable, names in ((DISABLE, s.disable), (ENABLE, s.enable)):
        unknown = [n for n in names if n not in valid and n not in EVERY]
        if unknown:
            out.append(
                "%s names no known patch: %s (known: %s, or * / all)"
                % (variable, ", ".join(unknown), ", ".join(sorted(valid)))
            )
    return out

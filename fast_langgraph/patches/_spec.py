"""The record every patch is described by, and version-range helpers (stdlib only)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Tuple


class PatchSkipped(Exception):
    """Raised by a patch that cannot apply here; the message says why."""


@dataclass(frozen=True)
class Target:
    """One place a patch rebinds: ``module.attribute`` (a dotted attribute for class members).

    ``versions`` limits the target to the LangGraph releases where it exists there;
    an optional (``required=False``) target that is absent does not fail the patch.
    """

    module: str
    attribute: str
    versions: str = ""
    required: bool = True

    @property
    def qualname(self) -> str:
        return "%s.%s" % (self.module, self.attribute)


@dataclass(frozen=True)
class PatchSpec:
    """One registry row: what a patch replaces, for which versions, and where its code is.

    ``implementation`` names a module with ``replacement(target, original)`` returning
    the object to install (or raising :class:`PatchSkipped`).
    """

    name: str
    summary: str
    distribution: str
    supported: str
    targets: Tuple[Target, ...]
    implementation: str
    needs_core: bool = False
    default: bool = True
    notes: str = field(default="", compare=False)


_RELEASE = re.compile(r"\s*v?(\d+(?:\.\d+)*)")
_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*([0-9][0-9.]*)\s*$")


def parse_version(text: str) -> Tuple[int, ...]:
    """The release part of a version string: ``"1.2.24"`` -> ``(1, 2, 24)``, ``"1.0.0a1"`` -> ``(1, 0, 0)``."""
    match = _RELEASE.match(text)
    if not match:
        raise ValueError("not a version: %r" % (text,))
    return tuple(int(part) for part in match.group(1).split("."))


def _compare(left: Tuple[int, ...], right: Tuple[int, ...]) -> int:
    width = max(len(left), len(right))
    a = left + (0,) * (width - len(left))
    b = right + (0,) * (width - len(right))
    return (a > b) - (a < b)


def version_in_range(version: str, spec: str) -> bool:
    """Whether ``version`` satisfies every comma-separated clause of ``spec`` (``""`` matches all)."""
    have = parse_version(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        match = _CLAUSE.match(clause)
        if not match:
            raise ValueError("not a version clause: %r" % (clause,))
        op, bound = match.groups()
        cmp = _compare(have, parse_version(bound))
        ok = {
            ">=": cmp >= 0,
            "<=": cmp <= 0,
            "==": cmp == 0,
            "!=": cmp != 0,
            ">": cmp > 0,
            "<": cmp < 0,
        }[op]
        if not ok:
            return False
    return True

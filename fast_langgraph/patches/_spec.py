"""The record every patch is described by, and version-range helpers (stdlib only)."""

from __future__ import annotations

from typing import NamedTuple, Tuple


class PatchSkipped(Exception):
    """Raised by a patch that cannot apply here; the message says why."""


# NamedTuples, not dataclasses: this module loads while LangGraph is being
# imported, and each dataclass costs ~1 ms to create.
class Target(NamedTuple):
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


class PatchSpec(NamedTuple):
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
    notes: str = ""


_OPERATORS = (">=", "<=", "==", "!=", ">", "<")


def parse_version(text: str) -> Tuple[int, ...]:
    """The release part of a version string: ``"1.2.24"`` -> ``(1, 2, 24)``, ``"1.0.0a1"`` -> ``(1, 0, 0)``."""
    parts = []
    for piece in text.strip().lstrip("v").split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) < len(piece):
            break  # a pre/post/dev suffix ends the release part
    if not parts:
        raise ValueError("not a version: %r" % (text,))
    return tuple(parts)


def _compare(left: Tuple[int, ...], right: Tuple[int, ...]) -> int:
    width = max(len(left), len(right))
    a = left + (0,) * (width - len(left))
    b = right + (0,) * (width - len(right))
    return (a > b) - (a < b)


def version_in_range(version: str, spec: str) -> bool:
    """Whether ``version`` satisfies every comma-separated clause of ``spec`` (``""`` matches all)."""
    have = parse_version(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        op = next((o for o in _OPERATORS if clause.startswith(o)), None)
        bound = clause[len(op) :].strip() if op else ""
        if op is None or not bound[:1].isdigit():
            raise ValueError("not a version clause: %r" % (clause,))
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


def require_version(what: str, version: str, spec: str) -> None:
    """Raise :class:`PatchSkipped` unless ``version`` (of ``what``) satisfies ``spec``.

    A version that cannot be parsed is a reason to skip too, never an error.
    """
    try:
        ok = version_in_range(version, spec)
    except ValueError:
        raise PatchSkipped(
            "%s's version %r cannot be parsed; verified against %s only" % (what, version, spec)
        ) from None
    if not ok:
        raise PatchSkipped("%s %s: verified against %s only" % (what, version, spec))

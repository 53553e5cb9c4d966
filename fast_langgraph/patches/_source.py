"""Guards for patches that re-implement a function: apply only over the exact source verified."""

from __future__ import annotations

import hashlib
import inspect
from typing import Any, Iterable

from fast_langgraph.patches._spec import PatchSkipped


def source_digest(func: Any) -> str:
    """A short digest of a function's source text (independent of the Python version)."""
    return hashlib.sha256(inspect.getsource(func).encode()).hexdigest()[:16]


def require_source(func: Any, verified: Iterable[str], what: str) -> None:
    """Raise :class:`PatchSkipped` unless ``func``'s source is one of the ``verified`` digests."""
    try:
        digest = source_digest(func)
    except (OSError, TypeError) as exc:
        raise PatchSkipped("cannot read the source of %s (%s); left alone" % (what, exc)) from None
    if digest not in set(verified):
        raise PatchSkipped(
            "%s is not a verified version (source %s is not the code this patch was verified against); left alone"
            % (what, digest)
        )

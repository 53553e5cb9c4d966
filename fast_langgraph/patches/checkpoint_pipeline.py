"""Patch ``SyncPregelLoop._checkpointer_put_after_previous`` (LangGraph 1.2): on
``RustSqliteSaver``, a checkpoint save queues behind the previous one instead of waiting
for its commit.

LangGraph's sync loop saves each checkpoint in the background, after the save before it
has returned: one transaction (one fsync) per checkpoint, one after another, each handed
from thread to thread through the GIL. The replacement hands the save to
``RustSqliteSaver._put_after``, which waits only until the save before it is queued, so
saves that queue up while another commits go in the next transaction together. Rows, their
order, what a failed save stops and raises, and when the run returns are the loop's own.
Any other saver, and a save that waits for delta-channel writes, runs LangGraph's method.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from fast_langgraph.patches._source import require_source
from fast_langgraph.patches._spec import PatchSkipped, Target

LOOP = "langgraph.pregel._loop"
SAVER_MODULE = "fast_langgraph.sqlite_saver"

#: Source digests of SyncPregelLoop._checkpointer_put_after_previous as verified (LangGraph 1.2.24).
VERIFIED = ("48e963eb32f32061",)


def make_put_after_previous(original: Callable[..., Any]) -> Callable[..., Any]:
    def _checkpointer_put_after_previous(
        self: Any,
        prev: Any,
        delta_write_futs: Any,
        config: Any,
        checkpoint: Any,
        metadata: Any,
        new_versions: Any,
    ) -> Any:
        saver = self.checkpointer
        # The saver module is loaded whenever one of its savers exists.
        module = sys.modules.get(SAVER_MODULE)
        if delta_write_futs or module is None or not module.takes_queued_saves(saver):
            return original(self, prev, delta_write_futs, config, checkpoint, metadata, new_versions)
        saver._put_after(prev, config, checkpoint, metadata)

    _checkpointer_put_after_previous.__wrapped__ = original  # type: ignore[attr-defined]
    _checkpointer_put_after_previous.__doc__ = original.__doc__
    return _checkpointer_put_after_previous


_made: dict = {}


def replacement(target: Target, original: Any) -> Any:
    if getattr(original, "__module__", None) != LOOP or getattr(original, "__qualname__", None) != (
        "SyncPregelLoop._checkpointer_put_after_previous"
    ):
        raise PatchSkipped("%s is %r, not LangGraph's own; left alone" % (target.qualname, original))
    require_source(original, VERIFIED, target.qualname)
    if id(original) not in _made:
        _made[id(original)] = make_put_after_previous(original)
    return _made[id(original)]

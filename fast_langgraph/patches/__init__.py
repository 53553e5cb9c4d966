"""The patch registry: one row per patch, data only.

The autoloader, :func:`fast_langgraph.patch`, the doctor, the docs and the tests
all read this one table. Each implementation module is imported only when its
target module is.
"""

from fast_langgraph.patches._spec import PatchSkipped, PatchSpec, Target

REGISTRY = (
    PatchSpec(
        name="executor",
        summary="sync invoke/stream reuse pooled worker threads instead of a new thread pool per call",
        distribution="langgraph",
        supported=">=0.2,<1.3",
        targets=(
            # BackgroundExecutor reads this name from its own module globals at call time.
            Target("langgraph.pregel.executor", "get_executor_for_config", versions="<0.6"),
            Target("langgraph.pregel._executor", "get_executor_for_config", versions=">=0.6"),
            # ToolNode runs parallel tool calls through it (bundled in langgraph 0.2, langgraph-prebuilt after).
            Target("langgraph.prebuilt.tool_node", "get_executor_for_config", required=False),
            Target("langgraph.prebuilt.tool_validator", "get_executor_for_config", required=False),
        ),
        implementation="fast_langgraph.patches.executor",
        needs_core=False,
        notes="Pure Python on purpose: the gain is thread reuse, and the nodes hold the GIL anyway.",
    ),
    PatchSpec(
        name="serde",
        summary="checkpoint msgpack encoding (encode side only) in Rust, byte-identical to ormsgpack",
        distribution="langgraph-checkpoint",
        # Verified: 4.1.0-4.3.x share _msgpack_default's layout (ext 7, Send timeout) and
        # the option set; older lines differ (and 2.0.0-2.0.21 used the msgpack library).
        supported=">=4.1.0,<4.4",
        targets=(
            # Read at call time by JsonPlusSerializer.dumps_typed and _msgpack_default.
            Target("langgraph.checkpoint.serde.jsonplus", "_msgpack_enc"),
            # Read at call time by loads_typed and LangGraph's ext hook (ormsgpack.unpackb).
            Target("langgraph.checkpoint.serde.jsonplus", "ormsgpack"),
        ),
        implementation="fast_langgraph.patches.serde",
        needs_core=True,
        # Opt-in until the decode side lands: byte-identical, ~1.2x on message states, but a
        # ~1 MB plain dict encodes ~6% slower than ormsgpack (see the README).
        default=False,
        notes="Encode side only: loads_typed, the ext hook and the allowlist stay LangGraph's. "
        "Falls back to LangGraph's _msgpack_default for every type it does not write natively.",
    ),
)

__all__ = ["REGISTRY", "PatchSkipped", "PatchSpec", "Target"]

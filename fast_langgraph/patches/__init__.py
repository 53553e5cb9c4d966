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
        summary="checkpoint msgpack encoding in Rust; large plain blobs decoded with the GC paused; byte- and value-identical",
        distribution="langgraph-checkpoint",
        # Verified: 4.1.0-4.3.x share _msgpack_default's layout (ext 7, Send timeout), the
        # option set, and loads_typed / the ext hook calling ormsgpack.unpackb(data,
        # ext_hook=..., option=OPT_NON_STR_KEYS); older lines differ (2.0.0-2.0.21 used msgpack).
        supported=">=4.1.0,<4.4",
        targets=(
            # Read at call time by JsonPlusSerializer.dumps_typed and _msgpack_default.
            Target("langgraph.checkpoint.serde.jsonplus", "_msgpack_enc"),
            # A method, not the class (with_allowlist checks the class). Optional: with an
            # unverified ormsgpack or loads_typed, decoding stays LangGraph's, encoding still applies.
            Target("langgraph.checkpoint.serde.jsonplus", "JsonPlusSerializer.loads_typed", required=False),
        ),
        implementation="fast_langgraph.patches.serde",
        needs_core=True,
        # On by default: identical bytes and values; blobs that look plain are written by
        # ormsgpack itself (faster than the Rust walk there), the rest gains; decoding
        # gains only on large blobs of plain data (README, "Checkpoint serialization").
        notes="Encode: Rust walk, LangGraph's _msgpack_default for every type not written natively; "
        "a blob a bounded probe finds plain (builtin containers and scalars) goes to LangGraph's own ormsgpack call. "
        "Decode: loads_typed's msgpack tag hands blobs of 128 KiB or more of mostly plain data to "
        "ormsgpack with the cyclic GC paused except while LangGraph's ext hook runs; smaller or "
        "ext-heavy blobs go to ormsgpack's own C function as before. Ext values always go to "
        "LangGraph's own ext hook (allowlist, strict mode, events, warnings, construction unchanged).",
    ),
    PatchSpec(
        name="add_messages",
        summary="the add_messages reducer merges message lists in one Rust pass",
        distribution="langgraph",
        supported=">=0.2,<1.3",
        targets=(
            # The wrapper's closure cell: MessagesState, AgentState and users' Annotated
            # types hold the wrapper, so this reaches them all; the wrapper keeps its identity.
            Target("langgraph.graph.message", "add_messages.__closure__[0].cell_contents"),
        ),
        implementation="fast_langgraph.patches.messages",
        needs_core=True,
        notes="Same reads, writes, ids, errors and call order as LangGraph's reducer; coercion "
        "of dicts/tuples/strings/chunks, format= and list subclasses run LangGraph's own code.",
    ),
    PatchSpec(
        name="channels",
        summary="apply_writes in Rust: the per-step channel bookkeeping without a Python call per channel",
        distribution="langgraph",
        # 0.6.11-1.2.x share apply_writes (bar the sort key and ERROR_SOURCE_NODE, both
        # read from the installed code) and the built-in channels' no-op paths.
        supported=">=0.6,<1.3",
        targets=(
            Target("langgraph.pregel._algo", "apply_writes"),
            # The loop and main import it by name.
            Target("langgraph.pregel._loop", "apply_writes"),
            Target("langgraph.pregel.main", "apply_writes"),
            Target("langgraph.pregel._draw", "apply_writes", required=False),
        ),
        implementation="fast_langgraph.patches.channels",
        needs_core=True,
        notes="Reducers, update() with values, custom channels and subclasses run LangGraph's own "
        "code; 0.2-0.5 have a different apply_writes (other return types and version calls).",
    ),
    PatchSpec(
        name="replace",
        summary="Runtime/ExecutionInfo copies per task without dataclasses.replace's generic walk",
        distribution="langgraph",
        supported=">=0.6,<1.3",
        targets=(
            # Runtime.override / patch_execution_info and ExecutionInfo.patch read it here.
            Target("langgraph.runtime", "replace"),
        ),
        implementation="fast_langgraph.patches.replace",
        needs_core=False,
        notes="Plain Python: the same object.__setattr__ calls the generated __init__ makes; "
        "classes with __post_init__, InitVar, init=False fields or custom __new__/__init__ use dataclasses.replace.",
    ),
    PatchSpec(
        name="callbacks",
        summary="child callback managers and metadata merges per task without the no-op calls and ABC checks",
        distribution="langchain-core",
        # Verified: _merge_metadata_dicts, BaseCallbackManager.__init__/add_metadata/add_tags/
        # set_handlers/add_handler, both get_child and handle_event are the same code in 1.7.7
        # and 1.8.0-1.8.3.
        supported=">=1.7.7,<=1.8.3",
        targets=(
            # Read at call time by add_metadata (a function-level import) and merge_configs.
            Target("langchain_core.runnables.config", "_merge_metadata_dicts"),
            # Class attributes: every manager class inherits them, whatever imported what.
            Target("langchain_core.callbacks.base", "BaseCallbackManager.add_metadata"),
            Target("langchain_core.callbacks.manager", "ParentRunManager.get_child"),
            Target("langchain_core.callbacks.manager", "AsyncParentRunManager.get_child"),
            # Read at call time by every CallbackManager / run-manager event method.
            Target("langchain_core.callbacks.manager", "handle_event"),
        ),
        implementation="fast_langgraph.patches.callbacks",
        needs_core=False,
        notes="Plain Python: the same managers, lists and dicts, built without the calls that do "
        "nothing when there are no handlers, tags or lc_versions; anything else runs langchain-core's code.",
    ),
    PatchSpec(
        name="async_callbacks",
        summary="async graphs: a node's on_chain_end (and the other shielded events) without a Task and shield when no callback is set",
        distribution="langchain-core",
        # Verified on 1.8.3: shielded, ahandle_event and the six shielded methods' bodies;
        # each is checked against its source digest, so a release that changed one is left alone.
        supported=">=1.7.7,<=1.8.3",
        targets=(
            # Read at call time by every AsyncCallbackManager / async run-manager event method.
            Target("langchain_core.callbacks.manager", "ahandle_event"),
            # LangGraph's graph lifecycle callbacks import it by name.
            Target("langgraph.callbacks", "ahandle_event", required=False),
            # Class attributes, found through the class by every caller.
            Target("langchain_core.callbacks.manager", "AsyncCallbackManagerForChainRun.on_chain_end"),
            Target("langchain_core.callbacks.manager", "AsyncCallbackManagerForChainRun.on_chain_error"),
            Target("langchain_core.callbacks.manager", "AsyncCallbackManagerForLLMRun.on_llm_end", required=False),
            Target("langchain_core.callbacks.manager", "AsyncCallbackManagerForLLMRun.on_llm_error", required=False),
            Target(
                "langchain_core.callbacks.manager",
                "AsyncCallbackManagerForRetrieverRun.on_retriever_end",
                required=False,
            ),
            Target(
                "langchain_core.callbacks.manager",
                "AsyncCallbackManagerForRetrieverRun.on_retriever_error",
                required=False,
            ),
        ),
        implementation="fast_langgraph.patches.async_callbacks",
        needs_core=False,
        # Opt-in (FAST_LANGGRAPH_ENABLE=async_callbacks): fewer asyncio Tasks exist, which
        # asyncio.all_tasks() and the numbers of later unnamed "Task-N" names can show.
        default=False,
        notes="Opt-in: asyncio.all_tasks() and later auto-generated Task-N names see fewer Tasks. Plain Python: with no handler the caller waits the same three event-loop iterations at the "
        "same places in the ready queue (other tasks run in the same order; cancellation lands on the same "
        "await), without the Task, context copy and shield; with handlers, langchain-core's own code.",
    ),
    PatchSpec(
        name="merge_metadata",
        summary="per-task metadata merges in merge_configs without an ABC check per plain value",
        distribution="langgraph",
        # _merge_metadata is 1.2's (1.0/1.1 merge metadata inline). The patch also checks the
        # source of _merge_metadata and _copy_mapping_value against the digests verified (1.2.24).
        supported=">=1.2,<1.3",
        targets=(
            # merge_configs reads it from its module globals at call time.
            Target("langgraph._internal._config", "_merge_metadata"),
        ),
        implementation="fast_langgraph.patches.merge_metadata",
        needs_core=False,
        notes="Plain Python: the same loop; str/int/float/bool/None/tuple/bytes values are kept "
        "without isinstance(value, Mapping); other values and lc_versions use LangGraph's own rule.",
    ),
    PatchSpec(
        name="checkpoint_pipeline",
        summary="sync graphs' checkpoint saves: on RustSqliteSaver queued behind each other (shared transactions) "
        "instead of waiting for each other's commit; on InMemorySaver run as the loop submits them",
        distribution="langgraph",
        # Both methods are 1.2's; the patch also checks their source against the digests
        # verified (1.2.24), so another release is left alone.
        supported=">=1.2,<1.3",
        targets=(
            # Class attributes: every sync loop and background executor finds them through the class.
            Target("langgraph.pregel._loop", "SyncPregelLoop._checkpointer_put_after_previous"),
            # Optional: without it, RustSqliteSaver's saves are still queued.
            Target("langgraph.pregel._executor", "BackgroundExecutor.submit", required=False),
        ),
        implementation="fast_langgraph.patches.checkpoint_pipeline",
        needs_core=True,
        notes="Only for RustSqliteSaver/AsyncRustSqliteSaver and InMemorySaver themselves (not subclasses, "
        "not with put/put_writes replaced, InMemorySaver only with LangGraph's serializer). A queued save "
        "is attempted only if the one before it was written, raises that one's error otherwise, and is "
        "reported once committed. An InMemorySaver save or writes run in the submitting thread and "
        "complete the executor's future with the same result or error. Anything else, and saves "
        "waiting for delta-channel writes, run LangGraph's code.",
    ),
    PatchSpec(
        name="postgres_inline_serde",
        summary="AsyncPostgresSaver's checkpoint encoding and decoding run on the event loop's thread "
        "instead of a to_thread hop each",
        distribution="langgraph-checkpoint-postgres",
        # The three functions run inline are checked against the digests verified (2.0.24-3.2.0).
        supported=">=2.0.24,<3.3",
        targets=(
            # The aio module's own asyncio global: its to_thread calls read it at call time.
            Target("langgraph.checkpoint.postgres.aio", "asyncio"),
        ),
        implementation="fast_langgraph.patches.postgres_inline_serde",
        needs_core=False,
        notes="Only AsyncPostgresSaver itself with its own _dump_blobs/_dump_writes/_load_writes and LangGraph's "
        "JsonPlusSerializer, the stdlib to_thread, on asyncio's loops with their default executor, not in debug "
        "mode: the call runs at "
        "once in a copied context and the caller resumes two loop iterations later with the same result or "
        "error, as after a worker that finished at once. A call over 2 ms sends that function's next 2-64 "
        "calls to a thread again. Everything else is asyncio.to_thread.",
    ),
    PatchSpec(
        name="postgres_cursor",
        summary="AsyncPostgresSaver enters its lock, pooled connection, pipeline and cursor without two async "
        "generators per database call",
        distribution="langgraph-checkpoint-postgres",
        # _cursor and _ainternal.get_connection are checked against the digests verified (2.0.24-3.2.0).
        supported=">=2.0.24,<3.3",
        targets=(Target("langgraph.checkpoint.postgres.aio", "AsyncPostgresSaver._cursor"),),
        implementation="fast_langgraph.patches.postgres_cursor",
        needs_core=False,
        notes="The same managers entered and left in the same order with the same arguments and loop "
        "iterations; when anything raises, the managers still to leave are left by generators shaped as "
        "LangGraph's, so which exit sees what, suppression and chaining are Python's. Only with LangGraph's "
        "get_connection and psycopg's AsyncConnection/AsyncConnectionPool; anything else is LangGraph's _cursor.",
    ),
    PatchSpec(
        name="uuid6",
        summary="checkpoint ids (uuid6) without the generic UUID constructor; same values, same monotonic clock",
        distribution="langgraph-checkpoint",
        # uuid6 and UUID.__init__ are the same source in 2.1.2, 3.0.1, 4.0.0, 4.1.0, 4.2.0 and
        # 4.3.2; the patch checks both digests, so a release that changed them is left alone.
        supported=">=2.1.2,<4.4",
        targets=(
            Target("langgraph.checkpoint.base.id", "uuid6"),
            # Importers holding a from-import binding (create_checkpoint, empty_checkpoint).
            Target("langgraph.checkpoint.base", "uuid6", required=False),
            Target("langgraph.pregel._checkpoint", "uuid6", required=False),
            Target("langgraph.pregel.checkpoint", "uuid6", required=False),
        ),
        implementation="fast_langgraph.patches.uuid6",
        needs_core=False,
        notes="Plain Python: time.time_ns, _last_v6_timestamp and random.getrandbits are read and "
        "written as the original does (same order); only the UUID object is built directly.",
    ),
)

__all__ = ["REGISTRY", "PatchSkipped", "PatchSpec", "Target"]

import asyncio
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# `python -m pytest` from the checkout puts the source tree first on sys.path; unless
# it was built in place (editable install), it has no Rust core: test the installed package.
if not any(
    n.startswith("_core") and n.endswith((".so", ".pyd")) for n in os.listdir(os.path.join(REPO, "fast_langgraph"))
):
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != REPO]

from fast_langgraph._switches import VARIABLES as SWITCHES  # noqa: E402  (after the sys.path fix above)


def _executor_module_name():
    """Where the installed LangGraph's BackgroundExecutor looks up get_executor_for_config."""
    from importlib.metadata import version

    from fast_langgraph.patches._spec import version_in_range

    return (
        "langgraph.pregel._executor" if version_in_range(version("langgraph"), ">=0.6") else "langgraph.pregel.executor"
    )


def _langgraph_at_least(bound):
    from importlib.metadata import version

    from fast_langgraph.patches._spec import version_in_range

    return version_in_range(version("langgraph"), ">=" + bound)


#: Node caching (``compile(cache=...)``, ``CachePolicy(ttl=...)``) arrived in LangGraph 0.4.
needs_node_cache = pytest.mark.skipif(not _langgraph_at_least("0.4"), reason="node caching needs LangGraph >= 0.4")


def patch_out_of_range(name):
    """Why the registry's patch ``name`` cannot apply to the installed packages, or None."""
    import fast_langgraph

    state = {p["name"]: p for p in fast_langgraph.patch_status()}[name]
    if state["in_range"]:
        return None
    return "%s patch supports %s %s; %s is installed" % (
        name,
        state["distribution"],
        state["supported"],
        state["installed"] or "none",
    )


def needs_patch(name):
    """Skip marker for tests of what the patch ``name`` does (they mean nothing where it is out of range)."""
    reason = patch_out_of_range(name)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def postgres_aio_for(name):
    """``langgraph.checkpoint.postgres.aio``, for the module testing the patch ``name``: skips
    the whole module when psycopg or the saver is not installed (fails instead under
    ``FAST_LANGGRAPH_REQUIRE_POSTGRES=1``, as CI's PostgreSQL step sets) or the patch is out of range."""
    if os.environ.get("FAST_LANGGRAPH_REQUIRE_POSTGRES") == "1":
        import langgraph.checkpoint.postgres.aio as aio
    else:
        pytest.importorskip("psycopg", reason="langgraph-checkpoint-postgres needs psycopg")
        aio = pytest.importorskip(
            "langgraph.checkpoint.postgres.aio", reason="langgraph-checkpoint-postgres not installed"
        )
    reason = patch_out_of_range(name)
    if reason is not None:
        pytest.skip(reason, allow_module_level=True)
    return aio


def rust_sqlite_saver_unsupported():
    """Why RustSqliteSaver does not support the installed langgraph-checkpoint (its verified
    range), or None."""
    from fast_langgraph.sqlite_saver import check_supported_checkpoint_version

    try:
        check_supported_checkpoint_version()
    except RuntimeError as exc:
        return str(exc)
    return None


def skip_module_unless_rust_sqlite_saver_supported():
    """Skip the test module calling this where RustSqliteSaver is not supported."""
    reason = rust_sqlite_saver_unsupported()
    if reason is not None:
        pytest.skip(reason, allow_module_level=True)


#: ``langgraph.pregel._executor`` (LangGraph >= 0.6) or ``langgraph.pregel.executor`` (0.2-0.5).
EXECUTOR_MODULE = _executor_module_name()


def pytest_report_header(config):
    import fast_langgraph

    return "fast_langgraph under test: %s" % os.path.dirname(fast_langgraph.__file__)


def clean_env(**overrides):
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES}
    env.update({k: v for k, v in overrides.items() if v is not None})
    return env


# An empty directory of our own: `python -c` puts the cwd first on sys.path, and the shared
# temp dir may hold anyone's types.py or json.py.
_CHILD_CWD = tempfile.mkdtemp(prefix="flg-tests-cwd-")
atexit.register(shutil.rmtree, _CHILD_CWD, True)


def run_python(code, *args, python=None, check=True, timeout=120, **env):
    """Run ``code`` in a fresh interpreter outside the source tree; returns the CompletedProcess."""
    proc = subprocess.run(
        [python or sys.executable, *args, "-c", textwrap.dedent(code)],
        env=clean_env(**env),
        cwd=_CHILD_CWD,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError("child failed (%d):\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr))
    return proc


@pytest.fixture
def py():
    return run_python


async def cancel_after(call, after, log):
    """Run ``await call()`` in a task, let ``after`` loop iterations pass (logging whether it is
    done), cancel it and wait for it; ``log`` gets what it returned or where it was cancelled."""

    async def victim():
        try:
            log.append(("returned", await call()))
        except asyncio.CancelledError:
            log.append("cancelled in victim")
            raise

    task = asyncio.ensure_future(victim())
    for _ in range(after):
        await asyncio.sleep(0)
        log.append(("tick", task.done()))
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        log.append("cancelled")


def run_in_threads(target, args_list, timeout=None):
    """Run ``target(*args)`` in a thread per ``args`` tuple, all started before any is
    waited for (each join up to ``timeout``); the threads, to check none is left alive."""
    threads = [threading.Thread(target=target, args=args) for args in args_list]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return threads

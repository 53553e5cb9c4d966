"""The .pth autoload: nearly free, silent, switchable, and unable to break the host program."""

import json
import sys
from pathlib import Path

import pytest

from conftest import EXECUTOR_MODULE

REPO = Path(__file__).resolve().parent.parent
PATCHED = "import %s as m; print(m.get_executor_for_config.__module__)" % EXECUTOR_MODULE


def test_pth_source_is_what_the_wheel_ships():
    shipped = REPO / "wheel_data" / "purelib" / "fast_langgraph_autoload.pth"
    if not shipped.exists():
        pytest.skip("not a source checkout")
    assert shipped.read_text() == (REPO / "fast_langgraph.pth").read_text()
    lines = [line for line in shipped.read_text().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("import ")


def test_nothing_heavy_is_imported_until_langgraph_is(py):
    out = py(
        """
        import sys
        print(type(sys.meta_path[0]).__name__)
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('fast_langgraph', 'wrapt', 'langgraph', 'langchain_core')))
        """
    ).stdout.split("\n")
    assert out[0] == "FastLangGraphAutoload"
    assert out[1] == "[]"


def test_first_langgraph_import_patches(py):
    proc = py(PATCHED)
    assert proc.stdout.strip() == "fast_langgraph.executor_pool"
    # Silent on success: nothing beyond what LangGraph itself prints on import (some
    # checkpoint/langchain-core pairs emit a LangChainPendingDeprecationWarning).
    assert proc.stderr == py(PATCHED, FAST_LANGGRAPH="0").stderr


@pytest.mark.parametrize("value", ["0", "false", "OFF", " no ", "False"])
def test_kill_switch_values(py, value):
    out = py(
        "import sys\n"
        "print(any(type(f).__name__ == 'FastLangGraphAutoload' for f in sys.meta_path))\n"
        + PATCHED.replace("; ", "\n"),
        FAST_LANGGRAPH=value,
    ).stdout.split()
    assert out == ["False", "langchain_core.runnables.config"]


@pytest.mark.parametrize("value", ["1", "yes", "", "anything"])
def test_other_values_keep_it_on(py, value):
    assert py(PATCHED, FAST_LANGGRAPH=value).stdout.strip() == "fast_langgraph.executor_pool"


def _no_site_prelude():
    # python -S skips .pth files; give the child our import path by hand.
    return "import sys; sys.path[:0] = %s\n" % json.dumps([p for p in sys.path if p])


def test_explicit_patch_without_site(py):
    out = py(
        _no_site_prelude() + "import fast_langgraph; fast_langgraph.patch()\n" + PATCHED.replace("; ", "\n"),
        "-S",
    )
    assert out.stdout.strip() == "fast_langgraph.executor_pool"


def test_explicit_patch_after_langgraph_was_imported(py):
    out = py(
        _no_site_prelude()
        + "import langgraph.graph, %s as m\n" % EXECUTOR_MODULE
        + "assert m.get_executor_for_config.__module__ == 'langchain_core.runnables.config'\n"
        + "import fast_langgraph; fast_langgraph.patch()\n"
        + "print(m.get_executor_for_config.__module__)\n"
        + "fast_langgraph.unpatch(); print(m.get_executor_for_config.__module__)\n",
        "-S",
    )
    assert out.stdout.split() == ["fast_langgraph.executor_pool", "langchain_core.runnables.config"]


def test_autoload_is_a_zero_argument_entry_point(py):
    # What a PEP 829 .start entry (fast_langgraph._bootstrap:autoload) does.
    out = py(
        _no_site_prelude()
        + "from fast_langgraph._bootstrap import autoload; autoload()\n"
        + PATCHED.replace("; ", "\n"),
        "-S",
    )
    assert out.stdout.strip() == "fast_langgraph.executor_pool"


def test_pth_line_survives_a_missing_package(py):
    line = (REPO / "fast_langgraph.pth").read_text()
    out = py(
        _no_site_prelude()
        + "sys.modules['fast_langgraph'] = None  # as if uninstalled with the .pth left behind\n"
        + "exec(%r)\n" % line
        + "import langgraph.graph; print('ran on')\n",
        "-S",
    )
    assert out.stdout.strip() == "ran on"


def test_activation_failure_never_reaches_the_program(py):
    proc = py(
        """
        import sys
        sys.modules['fast_langgraph._import_hooks'] = None  # make activation fail
        import langgraph.graph, %s as m
        from fast_langgraph import _bootstrap
        print(_bootstrap.state.split(':')[0], m.get_executor_for_config.__module__)
        """
        % EXECUTOR_MODULE
    )
    assert proc.stdout.split() == ["failed", "langchain_core.runnables.config"]
    assert proc.stderr.count("fast_langgraph could not activate") == 1


def test_strict_mode_raises_our_errors(py):
    proc = py(
        """
        import sys
        sys.modules['fast_langgraph._import_hooks'] = None
        import langgraph.graph
        """,
        check=False,
        FAST_LANGGRAPH_STRICT="1",
    )
    assert proc.returncode != 0 and "_import_hooks" in proc.stderr


def test_disable_list_turns_off_named_patches(py):
    for value in ("executor", "serde, executor", "*", "all"):
        assert py(PATCHED, FAST_LANGGRAPH_DISABLE=value).stdout.strip() == "langchain_core.runnables.config"
    assert py(PATCHED, FAST_LANGGRAPH_DISABLE="serde").stdout.strip() == "fast_langgraph.executor_pool"


def test_explicit_switch_beats_the_environment(py):
    out = py(
        "import fast_langgraph; fast_langgraph.patch(executor=True)\n" + PATCHED.replace("; ", "\n"),
        FAST_LANGGRAPH_DISABLE="executor",
    )
    assert out.stdout.strip() == "fast_langgraph.executor_pool"

"""Real compiled LangGraph graphs, run vanilla (FAST_LANGGRAPH=0) and accelerated: identical results."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import clean_env

GRAPHS = Path(__file__).with_name("graphs.py")


def run_workload(name, **env):
    proc = subprocess.run(
        [sys.executable, str(GRAPHS), name],
        env=clean_env(**env),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("workload", ["fanout", "nested", "send", "tools"])
def test_patched_equals_unpatched(workload):
    assert run_workload(workload) == run_workload(workload, FAST_LANGGRAPH="0")


def test_nodes_see_the_callers_context_variables():
    out = run_workload("fanout")
    assert all(entry.endswith(":acme") for entry in out["results"][0]["log"])


def test_no_threads_pile_up_across_invokes():
    assert run_workload("threads")["extra_threads_alive"] <= 8

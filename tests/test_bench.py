"""The benchmark commands run and check that vanilla and accelerated results are equal (no timing asserted)."""

import json

import pytest


def test_suite_quick_subset(py):
    proc = py(
        "import sys; from fast_langgraph.bench.suite import main; "
        "sys.exit(main(['--quick', '--rounds', '1', '--json', '--only', 'linear10_sync', 'fanout4_memory', 'agent_memory_50_turns']))",
        timeout=300,
    )
    rows = json.loads(proc.stdout)
    assert [r["workload"] for r in rows] == ["linear10_sync", "fanout4_memory", "agent_memory_50_turns"]
    for row in rows:
        assert "error" not in row, row
        assert row["same_result"] and row["accelerated_was_patched"] and row["vanilla_was_unpatched"]


def test_cache_bench_checks_results(py):
    proc = py("from fast_langgraph.bench.caches import main; main(['--calls', '2000', '--invokes', '5', '--json'])", timeout=300)
    impls = {r["impl"] for r in json.loads(proc.stdout)}
    assert "fast_langgraph.cached" in impls and "functools.lru_cache" in impls


def test_demo_runs(py):
    proc = py("import sys; from fast_langgraph.demo import main; sys.exit(main(['--rounds', '1']))", timeout=300)
    assert "fanout4_memory" in proc.stdout and "DIFFERENT" not in proc.stdout

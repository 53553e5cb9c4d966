"""``python -m fast_langgraph.bench --help``: every case, one aligned line each."""

import re

from fast_langgraph.bench import __main__ as bench_main


def test_help_lists_every_case_on_one_aligned_line(py):
    proc = py("import sys; from fast_langgraph.bench.__main__ import main; sys.exit(main(['--help']))")
    rows = [line for line in proc.stdout.splitlines() if line.startswith("  ")]
    assert [row.split()[0] for row in rows] == list(bench_main.CASES)
    columns = {re.match(r"  \S+\s+", row).end() for row in rows}
    assert len(columns) == 1, "descriptions do not start in one column:\n" + proc.stdout
    for row in rows:
        text = row[next(iter(columns)) :]
        assert text.endswith(".") and "``" not in text and len(text) > 10, row


def test_a_new_case_gets_its_line_from_the_module_docstring(monkeypatch):
    monkeypatch.setitem(bench_main.CASES, "a-very-long-case-name", "fast_langgraph.bench.caches")
    assert bench_main.describe("a-very-long-case-name") == "Cache benchmarks."
    lines = bench_main.usage().splitlines()
    assert "  a-very-long-case-name  Cache benchmarks." in lines
    assert "  suite                  LangGraph workloads" in "\n".join(lines)


def test_unknown_case_exits_2_with_the_list(py):
    proc = py("import sys; from fast_langgraph.bench.__main__ import main; sys.exit(main(['nope']))", check=False)
    assert proc.returncode == 2 and "unknown case 'nope'" in proc.stderr and "suite" in proc.stderr

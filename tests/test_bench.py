"""The benchmark commands run and check that vanilla and accelerated results are equal (no timing asserted)."""

import json

import pytest

from conftest import patch_out_of_range, rust_sqlite_saver_unsupported


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


@pytest.mark.parametrize(
    "workload",
    [
        "agent_sqlite_50_turns",
        pytest.param(
            "agent_sqlite_50_turns_rust_saver",
            marks=pytest.mark.skipif(rust_sqlite_saver_unsupported() is not None, reason="RustSqliteSaver unsupported"),
        ),
    ],
)
def test_sqlite_workloads_remove_their_database(py, tmp_path, workload):
    # Each suite sample is a process with its own database (tens of MB): gone when it exits.
    proc = py(
        "import glob, os, tempfile; from fast_langgraph.bench import workloads; "
        "op = workloads.WORKLOADS[%r][0](); op(); "
        "print(len(glob.glob(os.path.join(tempfile.gettempdir(), 'flg-bench-*', 'agent.db'))))" % workload,
        TMPDIR=str(tmp_path),
        timeout=300,
    )
    assert proc.stdout.split() == ["1"]
    assert list(tmp_path.glob("flg-bench-*")) == []


def test_cache_bench_checks_results(py):
    proc = py(
        "from fast_langgraph.bench.caches import main; main(['--calls', '2000', '--invokes', '5', '--json'])",
        timeout=300,
    )
    impls = {r["impl"] for r in json.loads(proc.stdout)}
    assert "fast_langgraph.cached" in impls and "functools.lru_cache" in impls


def test_floor_replays_an_operations_writes_on_both_sides(py):
    from fast_langgraph.sqlite_saver import check_supported_checkpoint_version

    try:
        check_supported_checkpoint_version()
    except RuntimeError as exc:  # the workload swaps in RustSqliteSaver
        pytest.skip(str(exc))
    proc = py(
        "from fast_langgraph.bench.floor import main; "
        "main(['--workloads', 'agent_sqlite_50_turns_rust_saver', '--rounds', '1', '--ops', '1', '--json'])",
        timeout=300,
    )
    [row] = json.loads(proc.stdout)
    assert "error" not in row, row
    assert row["same_result"] and row["replays_complete"]
    # ~100 checkpoints and ~100 sets of writes per 50-turn conversation, on either saver
    assert row["vanilla_calls"] == row["accelerated_calls"] > 200
    assert row["accelerated_writes_ms"] > row["accelerated_writes_nosync_ms"] > 0
    # SqliteSaver commits each write alone; RustSqliteSaver's group commit may join some
    assert row["vanilla_transactions"] == row["vanilla_calls"] >= row["accelerated_transactions"] > 0
    assert row["bound"] == row["vanilla_op_ms"] / row["accelerated_fsync_ms"]


def test_demo_runs(py):
    proc = py("import sys; from fast_langgraph.demo import main; sys.exit(main(['--rounds', '1']))", timeout=300)
    assert "fanout4_memory" in proc.stdout and "DIFFERENT" not in proc.stdout


def _row(name, vanilla, accelerated, **extra):
    row = {
        "workload": name,
        "vanilla_us": vanilla[1],
        "accelerated_us": accelerated[1],
        "vanilla_spread": [vanilla[0], vanilla[2]],
        "accelerated_spread": [accelerated[0], accelerated[2]],
        "ratio": vanilla[1] / accelerated[1],
        "same_result": True,
        "accelerated_was_patched": True,
        "vanilla_was_unpatched": True,
    }
    row.update(extra)
    return row


MACHINE = {
    "cpu": "Test CPU @ 1 GHz",
    "logical_cpus": 4,
    "usable_cpus": 2,
    "os": "Linux-6.1",
    "date": "2026-01-02 03:04 UTC",
    "vanilla": {
        "python": "3.11.7",
        "implementation": "CPython",
        "langgraph": "1.2.24",
        "langchain-core": "1.8.3",
        "langgraph-checkpoint": "4.3.2",
        "fast-langgraph": "0.1.0",
        "rust_core": "release",
    },
}


def test_markdown_table_states_machine_versions_command_and_spread():
    from fast_langgraph.bench.suite import render_markdown

    machine = dict(MACHINE, accelerated=MACHINE["vanilla"])
    rows = [
        _row("fanout4_memory", (3000.0, 3200.0, 3400.0), (2000.0, 2100.0, 2200.0)),
        _row("linear10_sync", (60.0, 66.0, 70.0), (64.0, 66.0, 80.0), same_result=False),
        {
            "workload": "agent_sqlite_50_turns",
            "error": "vanilla: ModuleNotFoundError: No module named 'langgraph.checkpoint.sqlite'",
        },
    ]
    text = render_markdown(rows, machine, "python -m fast_langgraph.bench --rounds 3", 3)
    assert "`python -m fast_langgraph.bench --rounds 3`" in text
    for fact in (
        "Test CPU @ 1 GHz",
        "4 logical CPUs (2 usable)",
        "2026-01-02 03:04 UTC",
        "Python 3.11.7",
        "LangGraph 1.2.24",
        "(release Rust core)",
        "3 rounds",
    ):
        assert fact in text, fact
    lines = text.splitlines()
    assert "| `fanout4_memory` | 3200 (3000–3400) | 2100 (2000–2200) | 1.52× (1.36–1.70) | equal |" in lines
    assert "| `linear10_sync` | 66.0 (60.0–70.0) | 66.0 (64.0–80.0) | 1.00× (0.75–1.09) | **different** |" in lines
    assert any(
        line.startswith("| `agent_sqlite_50_turns` |") and "skipped: vanilla: ModuleNotFoundError" in line
        for line in lines
    )
    # every table row has the header's five columns
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 5 and {line.count("|") - line.count("\\|") for line in table} == {6}


def test_markdown_names_both_sides_under_compare():
    from fast_langgraph.bench.suite import render_markdown

    other = dict(MACHINE["vanilla"], python="3.12.1", **{"fast-langgraph": None})
    text = render_markdown(
        [], dict(MACHINE, accelerated=other), "python -m fast_langgraph.bench --compare /x/python", 5
    )
    assert "vanilla: Python 3.11.7" in text and "accelerated: Python 3.12.1" in text


def test_readme_block_replaced_between_markers_only():
    from fast_langgraph.bench.suite import README_END, README_START, replace_block

    text = "# Title\n\nbefore\n%s\nold table\n%s\nafter\n" % (README_START, README_END)
    once = replace_block(text, "new table\n")
    assert once == "# Title\n\nbefore\n%s\nnew table\n\n%s\nafter\n" % (README_START, README_END)
    assert replace_block(once, "new table\n") == once
    for broken in ("no markers", README_END + README_START, README_START + README_START + README_END):
        with pytest.raises(ValueError):
            replace_block(broken, "x")


def test_suite_writes_markdown_and_readme(py, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- bench:start -->\nstale\n<!-- bench:end -->\nkept\n", encoding="utf-8")
    fragment = tmp_path / "bench.md"
    py(
        "import sys; from fast_langgraph.bench.suite import main; "
        "sys.exit(main(['--quick', '--rounds', '1', '--only', 'linear3_memory', '--markdown', %r, '--readme', %r]))"
        % (str(fragment), str(readme)),
        timeout=300,
    )
    table = fragment.read_text(encoding="utf-8")
    assert "`python -m fast_langgraph.bench --quick --rounds 1 --only linear3_memory`" in table
    assert "| `linear3_memory` |" in table and "| equal |" in table
    text = readme.read_text(encoding="utf-8")
    assert "stale" not in text and table.strip() in text and text.endswith("<!-- bench:end -->\nkept\n")


def test_readme_without_markers_fails_before_running(py, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n", encoding="utf-8")
    proc = py(
        "from fast_langgraph.bench.suite import main; main(['--only', 'linear3_memory', '--readme', %r])" % str(readme),
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2 and "expected one <!-- bench:start -->" in proc.stderr
    assert readme.read_text(encoding="utf-8") == "# no markers\n"


def test_channels_bench_checks_results(py):
    out = py("from fast_langgraph.bench.channels import main; main(['--sizes', '10', '--budget', '0.01'])").stdout
    assert "add_messages, 10 messages + 1" in out and "deep_merge" in out


def test_overhead_fit_and_breakdown(py):
    from fast_langgraph.bench.overhead import fit

    intercept, slope = fit({1: 12.0, 2: 14.0, 4: 18.0})
    assert abs(intercept - 10.0) < 1e-9 and abs(slope - 2.0) < 1e-9
    out = py(
        "from fast_langgraph.bench.overhead import main; "
        "main(['--sizes', '1,2', '--invokes', '2', '--rounds', '1', '--profile-invokes', '2', '--without', 'callbacks'])"
    ).stdout
    assert "per superstep" in out and "loop and the rest" in out
    assert "without callbacks" in out and "callbacks: per invoke" in out


def test_breakdown_splits_shared_callees_by_caller():
    from fast_langgraph.bench.overhead import attribute

    # "Context.run" is called from the loop (no area) and from the executor: its
    # own time is split 3:1 as cProfile recorded it, not booked to the first caller.
    rows = [
        ["x/_executor.py", "__exit__", 1.0, []],
        ["x/main.py", "stream", 0.0, []],
        ["~", "run", 4.0, [["x/_executor.py", "__exit__", 1.0], ["x/main.py", "stream", 3.0]]],
    ]
    shares = attribute(rows)
    assert abs(shares["executor"] - 0.4) < 1e-9 and abs(shares["loop and the rest"] - 0.6) < 1e-9


def test_ceilings_reports_a_share_per_function(py):
    proc = py(
        "import sys; from fast_langgraph.bench.ceilings import main; sys.exit(main(['--workloads', 'linear10_sync', '--ops', '3', '--json']))",
        timeout=300,
    )
    rows = {r["label"]: r for r in json.loads(proc.stdout)["linear10_sync"]}
    assert all("error" not in r or "AttributeError" in r["error"] or "KeyError" in r["error"] for r in rows.values()), (
        rows
    )
    tick = rows["phase: loop.tick (prepare tasks, emit checkpoint)"]
    assert tick["calls_per_op"] == 12 and 0 < tick["share"] < 1 and tick["ceiling"] > 1
    assert rows["saver: InMemorySaver.put (its thread)"]["calls_per_op"] == 0  # no saver on this graph


def test_serde_parts_runs_and_checks_equal(py):
    proc = py(
        "import sys; from fast_langgraph.bench.serde import main; sys.exit(main(['--parts', '--budget', '0.02', '--json']))",
        timeout=300,
    )
    result = json.loads(proc.stdout)
    assert [r["class"] for r in result["per_message_class"]] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
    ]
    building = result["object_building_gc_off"]
    from fast_langgraph._rust import require_core

    if hasattr(require_core(), "msgpack_decode_native"):
        assert building["equal"]
    else:  # a default build: the Rust reader's line says how to get it, and is skipped
        assert "--features native-decoder" in building["skipped"]


def test_serde_corrupt_runs_and_checks_errors_equal(py):
    proc = py(
        "import sys; from fast_langgraph.bench.serde import main; sys.exit(main(['--corrupt', '--rounds', '2', '--decodes', '1', '--json']))",
        timeout=300,
    )
    result = json.loads(proc.stdout)
    # Out of the serde patch's range both sides decode with LangGraph's own code: there this
    # checks only that the benchmark runs and reports the patch as skipped.
    assert result["serde"] == ["skipped" if patch_out_of_range("serde") else "applied", "unpatched side: disabled"]
    assert len(result["rows"]) == 14 and all(r["equal"] for r in result["rows"])


def test_production_bench_sqlite_cases_check_results(py, tmp_path):
    """The production shapes on the two SQLite savers (no server needed); a Postgres case too
    when a server is given (``.ci/with-postgres``)."""
    import os

    from fast_langgraph.sqlite_saver import check_supported_checkpoint_version

    cases = ["agent_async_sqlite"]
    try:
        check_supported_checkpoint_version()
        cases.append("agent_async_rust_sqlite")
    except RuntimeError:  # RustSqliteSaver needs langgraph-checkpoint >= 4.1 (LangGraph >= 1.0)
        pass
    dsn = os.environ.get("FAST_LANGGRAPH_POSTGRES_DSN")
    if dsn:
        cases.append("concurrent_async_postgres")
    out = tmp_path / "rows.json"
    py(
        "import sys; from fast_langgraph.bench.production import main; "
        "sys.exit(main(%r))"
        % (
            [
                "--rounds",
                "1",
                "--turns",
                "2",
                "--threads",
                "3",
                "--concurrent-turns",
                "1",
                "--json",
                str(out),
                "--cases",
            ]
            + cases
        ),
        timeout=300,
        FAST_LANGGRAPH_POSTGRES_DSN=dsn,
    )
    rows = json.loads(out.read_text())["rows"]
    assert [r["case"] for r in rows] == cases
    for row in rows:
        assert "error" not in row, row
        assert row["same_result"] and row["accelerated_was_patched"] and row["vanilla_was_unpatched"], row


def test_saver_vs_vanilla_checks_values_equal(py):
    proc = py(
        "import sys; from fast_langgraph.bench.sqlite_saver import main; "
        "sys.exit(main(['--vs-vanilla', '--rounds', '1', '--messages', '5', '--json']))",
        timeout=300,
    )
    rows = json.loads(proc.stdout)
    assert [r["case"].split(".")[0] for r in rows] == ["RustSqliteSaver", "SqliteSaver"]
    for row in rows:
        if "error" in row:  # RustSqliteSaver on langgraph-checkpoint < 4.1
            assert "langgraph-checkpoint" in row["error"], row
            continue
        assert row["equal"] and row["serde"]["vanilla"] == "disabled", row


FAKE_VALGRIND = """#!%s
# Runs the command as valgrind would and reports a made-up count: 1e9 at start-up,
# 3e6 per operation vanilla and 2e6 accelerated (and the hash seed it saw).
import os, subprocess, sys
args = sys.argv[1:]
log = next(a.split("=", 1)[1] for a in args if a.startswith("--log-file="))
cmd = [a for a in args if not a.startswith("--")]
proc = subprocess.run(cmd)
per_op = 3_000_000 if os.environ.get("FAST_LANGGRAPH") == "0" else 2_000_000
seed = int(os.environ["PYTHONHASHSEED"])
with open(log, "w") as f:
    f.write("==7== Callgrind\\n==7== Collected : %%d\\n" %% (1_000_000_000 + seed + per_op * int(cmd[-1])))
sys.exit(proc.returncode)
"""


def test_instruction_counts_per_operation(py, tmp_path):
    """`--instructions`: (count after N ops - count after the warm-up) / N on each side,
    results compared, from valgrind's own report (a stand-in valgrind here)."""
    import sys

    fake = tmp_path / "valgrind"
    fake.write_text(FAKE_VALGRIND % sys.executable, encoding="utf-8")
    fake.chmod(0o755)
    proc = py(
        "import sys; from fast_langgraph.bench.suite import main; "
        "sys.exit(main(['--instructions', '--json', '--ops', '3', '--valgrind', %r, '--only', 'linear3_memory']))"
        % str(fake),
        timeout=120,
    )
    (row,) = json.loads(proc.stdout)
    assert row == {
        "workload": "linear3_memory",
        "ops": 3,
        "vanilla_instructions": 3e6,
        "accelerated_instructions": 2e6,
        "ratio": 1.5,
        "same_result": True,
    }


def test_instruction_counts_need_valgrind(py, tmp_path):
    proc = py(
        "from fast_langgraph.bench.suite import main; main(['--instructions', '--valgrind', ''])",
        check=False,
        timeout=60,
        PATH=str(tmp_path),
    )
    assert proc.returncode == 2 and "--instructions needs valgrind" in proc.stderr


def test_text_table_aligns_on_the_longest_name():
    from fast_langgraph.bench.suite import render

    rows = [
        _row("linear3_memory", (10.0, 10.0, 10.0), (5.0, 5.0, 5.0)),
        _row("agent_memory_50_turns_stream_updates", (10.0, 10.0, 10.0), (5.0, 5.0, 5.0)),
    ]
    lines = render(rows).splitlines()
    assert len({line.index(" µs") for line in lines[1:]}) == 1
    assert lines[0].index("vanilla") < lines[1].index(" µs")

"""python -m fast_langgraph.doctor: the real state of the environment, and an exit code to gate on."""

import json
import re

import pytest

from fast_langgraph import doctor as doctor_module


def doctor(py, *args, **env):
    return py("import sys, fast_langgraph.doctor as d; sys.exit(d.main(%r))" % (list(args),), check=False, **env)


def test_json_report_with_everything_applied(py):
    proc = doctor(py, "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, report["problems"]
    assert report["ok"] and report["rust_core"]["loaded"]
    assert report["foreign_package"] is None
    assert report["rust_core"]["build"]["version"] == report["fast_langgraph"]
    assert report["versions"]["langgraph"]
    assert report["autoload"]["active"] and report["autoload"]["pth_files"]
    executor = {p["name"]: p for p in report["patches"]}["executor"]
    assert executor["status"] == "applied"
    assert any(t["state"] == "patched" for t in executor["targets"] if t["required"])


def test_text_report(py):
    proc = doctor(py)
    assert proc.returncode == 0
    assert "Rust core: loaded" in proc.stdout
    assert re.search(r"^executor +applied ", proc.stdout, re.M)
    assert proc.stdout.rstrip().endswith("OK: everything that should apply is applied.")


def test_kill_switch_is_reported_and_intended(py):
    proc = doctor(py, "--json", FAST_LANGGRAPH="0")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0
    assert report["autoload"]["disabled_by_env"]
    assert {p["name"]: p for p in report["patches"]}["executor"]["status"] == "disabled"


def test_disable_list_is_reported(py):
    report = json.loads(doctor(py, "--json", FAST_LANGGRAPH_DISABLE="executor").stdout)
    executor = {p["name"]: p for p in report["patches"]}["executor"]
    assert executor["status"] == "disabled" and "FAST_LANGGRAPH_DISABLE" in executor["reason"]


def test_inactive_autoload_fails_the_gate(py):
    import sys

    proc = py(
        "import sys; sys.path[:0] = %r\n"
        "import fast_langgraph.doctor as d; sys.exit(d.main(['--json']))" % ([p for p in sys.path if p],),
        "-S",
        check=False,
    )
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert any("autoload is not active" in p for p in report["problems"])


def test_module_entry_point(py):
    proc = py("import runpy; runpy.run_module('fast_langgraph.doctor', run_name='__main__')", check=False)
    assert proc.returncode == 0 and "fast_langgraph" in proc.stdout


# What fast-langgraph 0.1.15 (the unrelated project of the same name on the public PyPI
# index) installs, from its wheel's RECORD; our own distribution shares __init__.py,
# profiler.py and py.typed with it.
FOREIGN_RECORD = [
    "fast_langgraph/__init__.py",
    "fast_langgraph/accelerator.py",
    "fast_langgraph/algo_shims.py",
    "fast_langgraph/cache_decorator.py",
    "fast_langgraph/checkpoint_wrapper.py",
    "fast_langgraph/executor_cache.py",
    "fast_langgraph/fast_langgraph.abi3.so",
    "fast_langgraph/optimizations.py",
    "fast_langgraph/profiler.py",
    "fast_langgraph/py.typed",
    "fast_langgraph/shim.py",
    "fast_langgraph-0.1.15.dist-info/METADATA",
    "fast_langgraph-0.1.15.dist-info/RECORD",
]
OWN_RECORD = [
    "fast_langgraph/__init__.py",
    "fast_langgraph/_bootstrap.py",
    "fast_langgraph/doctor.py",
    "fast_langgraph-0.1.0.dist-info/RECORD",
]


def _site(tmp_path, *records):
    site = tmp_path / "site-packages"
    for record in records:
        for name in record:
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            if not name.endswith("RECORD"):
                (site / name).touch()
        dist_info = next(n for n in record if n.endswith("RECORD")).split("/")[0]
        (site / dist_info / "RECORD").write_text("".join("%s,," % n + "\n" for n in record))
    return site


def test_no_foreign_package_next_to_ours(tmp_path):
    site = _site(tmp_path, OWN_RECORD)
    assert doctor_module._foreign_package_report(str(site / "fast_langgraph")) is None


@pytest.mark.parametrize("leftover", ["files and metadata", "files", "metadata"])
def test_foreign_package_in_our_folder_is_a_problem(tmp_path, leftover):
    foreign = FOREIGN_RECORD if leftover != "metadata" else [n for n in FOREIGN_RECORD if "dist-info" in n]
    site = _site(tmp_path, foreign, OWN_RECORD)
    if leftover == "files":
        for f in (site / "fast_langgraph-0.1.15.dist-info").iterdir():
            f.unlink()
        (site / "fast_langgraph-0.1.15.dist-info").rmdir()
    elif leftover == "metadata":  # the files are gone, pip's record of them is not
        (site / "fast_langgraph-0.1.15.dist-info" / "RECORD").write_text("".join("%s,,\n" % n for n in FOREIGN_RECORD))
    report = doctor_module._foreign_package_report(str(site / "fast_langgraph"))
    expected_files = (
        []
        if leftover == "metadata"
        else [
            "accelerator.py",
            "algo_shims.py",
            "cache_decorator.py",
            "checkpoint_wrapper.py",
            "executor_cache.py",
            "fast_langgraph.abi3.so",
            "optimizations.py",
            "shim.py",
        ]
    )
    assert report["files"] == expected_files
    assert report["metadata"] == ([] if leftover == "files" else [str(site / "fast_langgraph-0.1.15.dist-info")])
    problem = doctor_module._foreign_package_problem(report)
    assert "pip uninstall -y fast-langgraph" in problem and "docs/install.md" in problem

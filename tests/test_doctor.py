"""python -m fast_langgraph.doctor: the real state of the environment, and an exit code to gate on."""

import json
import re


def doctor(py, *args, **env):
    return py("import sys, fast_langgraph.doctor as d; sys.exit(d.main(%r))" % (list(args),), check=False, **env)


def test_json_report_with_everything_applied(py):
    proc = doctor(py, "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, report["problems"]
    assert report["ok"] and report["rust_core"]["loaded"]
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

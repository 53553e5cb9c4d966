"""The shipped type stubs match the compiled Rust core (mypy's stubtest)."""

import subprocess
import sys
import tempfile

import pytest

from conftest import clean_env


def test_core_stub_matches_module():
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "fast_langgraph._core", "--ignore-missing-stub"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        env=clean_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_package_is_typed():
    import importlib.resources

    assert importlib.resources.files("fast_langgraph").joinpath("py.typed").is_file()


def test_package_type_checks():
    pytest.importorskip("mypy")
    from importlib.metadata import version

    from fast_langgraph.patches._spec import version_in_range

    if not version_in_range(version("langgraph"), ">=1.2"):
        pytest.skip("type-checked against the newest LangGraph line only (older lines ship other annotations)")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "-p", "fast_langgraph", "--ignore-missing-imports", "--no-incremental"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        env=clean_env(),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

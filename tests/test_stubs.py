"""The shipped type stubs match the compiled Rust core (mypy's stubtest)."""

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import REPO, clean_env

ALLOWLIST = Path(REPO) / "tests" / "stubtest_allowlist.txt"
# The names a core built with `--features native-decoder` adds (the stub is the default build's).
NATIVE_DECODER_ALLOWLIST = Path(REPO) / "tests" / "stubtest_allowlist_native_decoder.txt"


def _allowlists():
    from fast_langgraph._rust import require_core

    extra = [NATIVE_DECODER_ALLOWLIST] if hasattr(require_core(), "msgpack_decode_native") else []
    return [arg for path in [ALLOWLIST, *extra] for arg in ("--allowlist", str(path))]


def test_core_stub_matches_module():
    pytest.importorskip("mypy")
    proc = subprocess.run(
        # No --ignore-missing-stub: every name of the core needs a stub, or a reasoned allowlist line.
        [sys.executable, "-m", "mypy.stubtest", "fast_langgraph._core", *_allowlists()],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        env=clean_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("allowlist", [ALLOWLIST, NATIVE_DECODER_ALLOWLIST], ids=lambda p: p.name)
def test_allowlist_lines_have_reasons(allowlist):
    entry_has_reason = False
    for line in allowlist.read_text().splitlines():
        if line.startswith("#"):
            entry_has_reason = True
        elif line.strip():
            assert entry_has_reason, "allowlist entry without a reason above it: %s" % line
            entry_has_reason = False
        else:  # a blank line: the reason must sit right above its entry
            entry_has_reason = False


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
        # The repository's [tool.mypy] settings, applied to the installed package.
        [
            sys.executable,
            "-m",
            "mypy",
            "-p",
            "fast_langgraph",
            "--config-file",
            str(Path(REPO) / "pyproject.toml"),
            "--no-incremental",
        ],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        env=clean_env(),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

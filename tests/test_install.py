"""Wheel and editable installs both put the autoload at the root of site-packages.

Each test installs fast_langgraph into a throw-away virtualenv and checks that a
child interpreter is patched although its code never imports fast_langgraph.
LangGraph comes from this environment's site-packages, listed after the new
venv's own. Set FAST_LANGGRAPH_WHEEL to a built wheel to skip building one.
"""

import os
import shutil
import subprocess
import sysconfig
import tempfile
import venv
from pathlib import Path

import pytest

from conftest import EXECUTOR_MODULE, clean_env

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
PROBE = (
    "import langgraph.graph, %s as m, sys; "
    "print(m.get_executor_for_config.__module__); "
    "print(getattr(sys.modules.get('fast_langgraph'), '__file__', 'not-imported'))" % EXECUTOR_MODULE
)


def make_venv(path):
    venv.EnvBuilder(with_pip=True).create(path)
    python = path / "bin" / "python"
    purelib = subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
    # This environment's packages (LangGraph, maturin), after the venv's own.
    (Path(purelib) / "zz_outer_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, Path(purelib)


def pip(python, *args):
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", *args], check=True, env=clean_env(), timeout=900)


def probe(python, **env):
    proc = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True, cwd=tempfile.gettempdir(), env=clean_env(**env), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    given = os.environ.get("FAST_LANGGRAPH_WHEEL")
    if given:
        return Path(given)
    if not shutil.which("maturin"):
        pytest.skip("maturin not installed and FAST_LANGGRAPH_WHEEL not set")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(["maturin", "build", "--release", "-o", str(out)], cwd=REPO, check=True, capture_output=True)
    return next(out.glob("*.whl"))


def test_wheel_install_autoloads(tmp_path, wheel):
    python, purelib = make_venv(tmp_path / "venv")
    pip(python, str(wheel))
    assert (purelib / "fast_langgraph_autoload.pth").read_text() == (REPO / "fast_langgraph.pth").read_text()
    factory, location = probe(python)
    assert factory == "fast_langgraph.executor_pool"
    assert location.startswith(str(purelib))
    assert probe(python, FAST_LANGGRAPH="0") == ["langchain_core.runnables.config", "not-imported"]


def test_editable_install_autoloads(tmp_path):
    if not (REPO / "Cargo.toml").exists():
        pytest.skip("not a source checkout")
    python, purelib = make_venv(tmp_path / "venv")
    # The editable build copies the Rust core into REPO/fast_langgraph/; remove a copy we made,
    # or every later `pytest` run here would test the source tree instead of the installed package.
    cores_before = set((REPO / "fast_langgraph").glob("_core*.so"))
    try:
        pip(python, "--no-build-isolation", "-e", str(REPO))
        # maturin's own path file and our autoload live side by side.
        assert (purelib / "fast_langgraph.pth").read_text().strip() == str(REPO)
        assert (purelib / "fast_langgraph_autoload.pth").exists()
        factory, location = probe(python)
        assert factory == "fast_langgraph.executor_pool"
        assert location.startswith(str(REPO))
    finally:
        for made in set((REPO / "fast_langgraph").glob("_core*.so")) - cores_before:
            made.unlink()

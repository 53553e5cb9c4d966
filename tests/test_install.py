"""Installs as users make them: wheel, editable, sdist, and a wheel on a machine without Rust.

Each test installs fast_langgraph into a throw-away virtualenv. The autoload tests check
that a child interpreter is patched although its code never imports fast_langgraph; there
LangGraph comes from this environment's site-packages, listed after the new venv's own.
The user-install test takes nothing from this environment: LangGraph from the index,
binaries only, no Rust toolchain on PATH. Set FAST_LANGGRAPH_WHEEL to a built wheel to
skip building one.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import venv
import zipfile
from importlib.metadata import version
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
    purelib = subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip()
    # This environment's packages (LangGraph, maturin), after the venv's own.
    (Path(purelib) / "zz_outer_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, Path(purelib)


def pip(python, *args):
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", *args],
        check=True,
        env=clean_env(),
        timeout=900,
    )


def probe(python, **env):
    proc = subprocess.run(
        [str(python), "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        env=clean_env(**env),
        timeout=120,
    )
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


def test_wheel_is_for_an_index(tmp_path, wheel):
    """abi3 for CPython >= 3.9, the manylinux tag maturin's auditwheel check granted, nothing vendored."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the Linux wheel; the release workflow smoke-tests the others")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        wheel_file = zf.read(next(n for n in names if n.endswith(".dist-info/WHEEL"))).decode()
        core = tmp_path / "core.so"
        core.write_bytes(zf.read(next(n for n in names if re.fullmatch(r"fast_langgraph/_core[.].*so", n))))
    tags = [line.split(": ", 1)[1] for line in wheel_file.splitlines() if line.startswith("Tag: ")]
    assert tags and all(re.fullmatch(r"cp39-abi3-(manylinux|musllinux)_\d+_\d+_\w+", t) for t in tags), tags
    assert not [n for n in names if ".libs/" in n], "vendored libraries"
    assert_links_no_sqlite(core)


def assert_links_no_sqlite(core):
    """No SQLite linked (the core uses the copy Python's sqlite3 loaded: src/checkpoint/sqlite_api.rs),
    and nothing beyond what every manylinux/musllinux system has."""
    needed = re.findall(
        r"\(NEEDED\)\s+Shared library: \[(.+?)\]", subprocess.check_output(["readelf", "-d", str(core)], text=True)
    )
    assert not [lib for lib in needed if "sqlite" in lib], needed
    assert set(needed) <= {
        "libc.so.6",
        "libm.so.6",
        "libgcc_s.so.1",
        "libpthread.so.0",
        "libdl.so.2",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
        "libc.musl-x86_64.so.1",
        "libc.musl-aarch64.so.1",
    }, needed


def _path_without_rust():
    """PATH less every folder that holds cargo or rustc."""
    return os.pathsep.join(
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not any(os.path.exists(os.path.join(d, tool)) for tool in ("cargo", "rustc"))
    )


def test_wheel_installs_and_runs_as_a_user_would(tmp_path, wheel):
    """A fresh venv sharing nothing with this one, no cargo/rustc on PATH, only binary
    wheels (so no C compiler, Rust toolchain or SQLite headers can take part), LangGraph
    from the index; then tests/wheel_smoke.py: the doctor, a checkpointed graph on
    RustSqliteSaver, and the lock probe (Python's sqlite3 and the saver share one SQLite)."""
    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    path = str(python.parent) + os.pathsep + _path_without_rust()
    assert shutil.which("cargo", path=path) is None and shutil.which("rustc", path=path) is None
    env = clean_env(PATH=path)
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN"):
        env.pop(name, None)
    lg = version("langgraph")
    constraints = REPO / "compat_matrix" / "constraints" / ("langgraph-%s.txt" % ".".join(lg.split(".")[:2]))
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--only-binary", ":all:", str(wheel), "langgraph==" + lg]
        + (["-c", str(constraints)] if constraints.exists() else []),
        check=True,
        env=env,
        cwd=str(tmp_path),
        timeout=900,
    )

    proc = subprocess.run(
        [str(python), str(REPO / "tests" / "wheel_smoke.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=600,
    )
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("smoke test passed"), proc.stdout + proc.stderr


def test_doctor_flags_the_other_fast_langgraph_in_the_same_folder(tmp_path, wheel):
    """PyPI's unrelated fast-langgraph 0.1.15, then ours over it (pip --ignore-installed keeps
    both in one fast_langgraph/ folder): the doctor fails the gate and says what to do."""
    python, purelib = make_venv(tmp_path / "venv")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--only-binary", ":all:", "fast-langgraph==0.1.15"],
        check=True,
        env=clean_env(),
        timeout=900,
    )
    pip(python, str(wheel))
    proc = subprocess.run(
        [str(python), "-m", "fast_langgraph.doctor"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=str(tmp_path),
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "another project's fast_langgraph" in proc.stdout and "accelerator.py" in proc.stdout, proc.stdout
    assert "fast_langgraph-0.1.15.dist-info" in proc.stdout and "pip uninstall -y fast-langgraph" in proc.stdout


def test_sdist_builds_and_installs(tmp_path):
    """`pip install fast_langgraph-X.tar.gz` on a machine with Rust builds the core (no
    SQLite headers or library needed: rusqlite's prebuilt bindings, nothing linked)."""
    if not (REPO / "Cargo.toml").exists() or not shutil.which("maturin") or not shutil.which("cargo"):
        pytest.skip("needs a source checkout, maturin and cargo")
    out = tmp_path / "sdist"
    subprocess.run(["maturin", "sdist", "-o", str(out)], cwd=REPO, check=True, capture_output=True, timeout=300)
    sdist = next(out.glob("fast_langgraph-*.tar.gz"))
    python, purelib = make_venv(tmp_path / "venv")
    # This checkout's target folder: the crates are built once, not again per test run.
    env = clean_env(CARGO_TARGET_DIR=str(REPO / "target"))
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(sdist)], check=True, env=env, timeout=1800
    )
    assert probe(python)[0] == "fast_langgraph.executor_pool"
    if sys.platform.startswith("linux"):
        assert_links_no_sqlite(next((purelib / "fast_langgraph").glob("_core*.so")))
    proc = subprocess.run(
        [str(python), str(REPO / "tests" / "sqlite_lock_probe.py"), str(tmp_path / "lock.db")],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=str(tmp_path),
        timeout=300,
    )
    assert proc.stdout.strip() == "lock held", proc.stdout + proc.stderr

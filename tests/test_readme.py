"""The README is true: every command in its ``bash`` blocks is run here or by CI, its patch
table is the registry's, and its links (and those of docs/) lead somewhere.

Where each README command runs (``WHERE`` below; a command not listed fails the test):

* here, as written, in a temporary directory with this interpreter's ``python`` first on
  ``PATH``: ``python your_langgraph_app.py`` and ``FAST_LANGGRAPH=0 python your_langgraph_app.py``
  (on a small graph written there), ``python -m fast_langgraph.doctor``, and the two
  ``python -S`` commands;
* in CI (``.ci/run``, checked to still contain them): the install + demo line (CI builds the
  wheel once with maturin, the backend ``pip install .`` uses, installs it with LangGraph, runs
  ``python -m fast_langgraph.demo --rounds 1``), the test command (verbatim), the Redis lines
  (CI installs ``redis-server`` with apt-get and sets ``FAST_LANGGRAPH_REQUIRE_REDIS=1`` for the
  whole test run) and the PostgreSQL lines (CI's PostgreSQL step).
"""

import os
import re
import subprocess
import sys
import sysconfig
import textwrap
from typing import Callable, Dict, List, Tuple

import pytest

from conftest import REPO, clean_env

README = os.path.join(REPO, "README.md")
DOCS = os.path.join(REPO, "docs")

APP = textwrap.dedent(
    """
    import operator
    from typing import Annotated, List, TypedDict

    from langgraph.graph import END, START, StateGraph

    import fast_langgraph


    class State(TypedDict):
        log: Annotated[List[str], operator.add]


    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_node("b", lambda s: {"log": ["b"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    print("result", builder.compile().invoke({"log": []}))
    print("statuses", sorted({p["status"] for p in fast_langgraph.patch_status()}))
    """
)


def bash_commands(text: str) -> List[str]:
    """The command lines of the fenced ``bash`` blocks, trailing comments removed."""
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M):
        for line in block.splitlines():
            line = re.sub(r"\s{2,}#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def run(command: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    """``command`` through bash, as a user would type it, with this interpreter as ``python``."""
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    return subprocess.run(
        ["bash", "-c", command],
        cwd=str(tmp_path),
        env=clean_env(PATH=path, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _statuses(stdout: str) -> set:
    """The patch statuses a command printed (a patch outside its range is ``skipped`` on older lines)."""
    return set(re.findall(r"'(\w+)'", stdout.strip().splitlines()[-1]))


def _app(accelerated: bool) -> Callable[[subprocess.CompletedProcess], None]:
    def check(proc: subprocess.CompletedProcess) -> None:
        assert proc.returncode == 0, proc.stderr
        assert "result {'log': ['a', 'b']}" in proc.stdout
        statuses = _statuses(proc.stdout)
        if accelerated:
            # (on older LangGraph lines some patches are out of range: skipped, or pending a module)
            assert "applied" in statuses and "failed" not in statuses, proc.stdout
        else:
            assert statuses == {"disabled"}, proc.stdout

    return check


def _doctor(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK: everything that should apply is applied." in proc.stdout


def _explicit_patch(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr
    statuses = _statuses(proc.stdout)
    assert "applied" in statuses and "failed" not in statuses, proc.stdout + proc.stderr


def _installed_in_site_packages() -> bool:
    """Whether fast_langgraph is a real install in purelib (a wheel), not an editable one."""
    import fast_langgraph

    purelib = os.path.realpath(sysconfig.get_path("purelib"))
    return os.path.realpath(fast_langgraph.__file__).startswith(purelib + os.sep)


#: README command -> ("here", check of its output) or ("ci", snippets .ci/run must contain).
WHERE: Dict[str, Tuple[str, object]] = {
    'pip install ".[langgraph]" && python -m fast_langgraph.demo': (
        "ci",
        ("maturin build --release", 'python -m pip install -q "$WHEEL" "langgraph==', "python -m fast_langgraph.demo"),
    ),
    "pip install -r tests/requirements.txt && pytest -n auto": (
        "ci",
        ("pip install -r tests/requirements.txt && pytest -n auto",),
    ),
    "python your_langgraph_app.py": ("here", _app(accelerated=True)),
    "FAST_LANGGRAPH=0 python your_langgraph_app.py": ("here", _app(accelerated=False)),
    "python -m fast_langgraph.doctor": ("here", _doctor),
    'python -S -c "import site; site.main(); from fast_langgraph.doctor import main; raise SystemExit(main())"': (
        "here",
        _doctor,
    ),
    'PYTHONPATH="$(python -c \'import sysconfig; print(sysconfig.get_path("purelib"))\')" python -S -c '
    '"import fast_langgraph; fast_langgraph.patch(); import langgraph.graph; '
    "print(sorted({p['status'] for p in fast_langgraph.patch_status()}))\"": ("here", _explicit_patch),
    "sudo apt-get install -y redis-server": ("ci", ("apt-get install", "redis-server")),
    "FAST_LANGGRAPH_REQUIRE_REDIS=1 pytest tests/test_redis_cache.py": (
        "ci",
        ("export FAST_LANGGRAPH_REQUIRE_REDIS=1", "pytest -n auto"),
    ),
    'pip install langgraph-checkpoint-postgres "psycopg[binary]" psycopg-pool': (
        "ci",
        ('python -m pip install -q langgraph-checkpoint-postgres "psycopg[binary]" psycopg-pool',),
    ),
    "FAST_LANGGRAPH_REQUIRE_POSTGRES=1 .ci/with-postgres pytest -p no:xdist tests/test_postgres_saver.py": (
        "ci",
        ("FAST_LANGGRAPH_REQUIRE_POSTGRES=1 .ci/with-postgres", "pytest -q -p no:xdist tests/test_postgres_saver.py"),
    ),
}


def readme() -> str:
    with open(README, encoding="utf-8") as f:
        return f.read()


def test_every_readme_command_is_accounted_for():
    commands = bash_commands(readme())
    assert len(commands) == len(set(commands))
    assert set(commands) == set(WHERE), (
        "README commands not in tests/test_readme.py's WHERE: %s; listed there but gone from the README: %s"
        % (sorted(set(commands) - set(WHERE)), sorted(set(WHERE) - set(commands)))
    )
    # The first two commands stay at the top: install + demo, then the tests.
    assert commands[:2] == list(WHERE)[:2]


@pytest.mark.parametrize("command", [c for c, (where, _) in WHERE.items() if where == "ci"])
def test_command_runs_in_ci(command):
    with open(os.path.join(REPO, ".ci", "run"), encoding="utf-8") as f:
        ci = f.read()
    for snippet in WHERE[command][1]:  # type: ignore[union-attr]
        assert snippet in ci, "%r no longer in .ci/run, so the README's %r is not run anywhere" % (snippet, command)


@pytest.mark.parametrize("command", [c for c, (where, _) in WHERE.items() if where == "here"])
def test_command_runs_here(command, tmp_path):
    if command.startswith("PYTHONPATH=") and not _installed_in_site_packages():
        pytest.skip(
            "editable install: fast_langgraph is not in site-packages, so PYTHONPATH=purelib cannot find it "
            "(CI runs the tests against the installed wheel)"
        )
    (tmp_path / "your_langgraph_app.py").write_text(APP, encoding="utf-8")
    check = WHERE[command][1]
    check(run(command, tmp_path))  # type: ignore[operator]


def test_patch_tables_are_current():
    from fast_langgraph.patches import table

    assert table.stale(REPO) == [], "run: python -m fast_langgraph.patches.table"


def test_patch_table_lists_every_registry_row():
    from fast_langgraph.patches import REGISTRY, table

    block = readme().split("<!-- patches:start -->")[1].split("<!-- patches:end -->")[0]
    assert block.strip() == table.markdown().strip()
    assert [line.split("`")[1] for line in block.strip().splitlines()[2:]] == [spec.name for spec in REGISTRY]


def test_replace_block():
    from fast_langgraph.patches.table import replace_block

    text = "a\n<!-- x:start -->\nold\n<!-- x:end -->\nb\n"
    assert replace_block(text, "x", "new\n") == "a\n<!-- x:start -->\nnew\n<!-- x:end -->\nb\n"
    with pytest.raises(ValueError):
        replace_block("no markers", "x", "new\n")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: str) -> set:
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"^```.*?^```", "", f.read(), flags=re.S | re.M)
    return {_slug(h) for h in re.findall(r"^#+ (.*)$", text, flags=re.M)}


def test_links_lead_somewhere():
    pages = [README] + [os.path.join(DOCS, n) for n in sorted(os.listdir(DOCS)) if n.endswith(".md")]
    broken = []
    for page in pages:
        with open(page, encoding="utf-8") as f:
            text = f.read()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+://", target):
                continue
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            if not os.path.exists(full):
                broken.append("%s: %s" % (os.path.relpath(page, REPO), target))
                continue
            if anchor and full.endswith(".md") and anchor not in _anchors(full):
                broken.append("%s: %s (no such heading)" % (os.path.relpath(page, REPO), target))
    assert not broken, broken


def test_readme_first_screen():
    """What it does, how much faster, why it is safe, install and the doctor, before the contents."""
    text = readme()
    first = text.split("## Contents")[0]
    for needed in (
        "How much faster",
        "Why it is safe",
        "FAST_LANGGRAPH=0",
        "byte-identical",
        "pip install",
        "python -m fast_langgraph.doctor",
        "python -m fast_langgraph.bench --rounds 7",
    ):
        assert needed in first, needed
    assert len(text.encode()) < 16_000, "the README grows again: put the detail in docs/"

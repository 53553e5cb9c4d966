"""``fast_langgraph._rust``: the one loader of the Rust core, and the core's names imported from it."""

import ast
import json
from pathlib import Path

import pytest

from fast_langgraph import _rust

# The modules that need the core at import.
COMPONENTS = [
    "fast_langgraph.cache",
    "fast_langgraph.llm_cache",
    "fast_langgraph.node_cache",
    "fast_langgraph.redis_cache",
    "fast_langgraph.sqlite_saver",
    "fast_langgraph.merge",
]


def _served_names():
    """The names ``_rust``'s ``if TYPE_CHECKING:`` block imports from ``_core`` for mypy."""
    tree = ast.parse(Path(_rust.__file__).read_text())
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return [alias.name for stmt in node.body for alias in stmt.names]
    raise AssertionError("no TYPE_CHECKING block in _rust.py")


def test_every_name_typed_for_mypy_is_in_the_core():
    core = _rust.require_core()
    names = _served_names()
    assert names and [n for n in names if not hasattr(core, n)] == []
    for name in names:
        assert getattr(_rust, name) is getattr(core, name)


@pytest.mark.parametrize(
    "setup, reason",
    [
        ('sys.modules["fast_langgraph._core"] = None', "fast_langgraph: Rust core not loadable: ModuleNotFoundError: "),
        (
            'import fast_langgraph._core as core; core.__version__ = "0.0.0-stale"',
            "fast_langgraph: Rust core 0.0.0-stale does not match fast_langgraph ",
        ),
    ],
    ids=["missing", "stale"],
)
def test_components_fail_to_import_saying_why(py, setup, reason):
    out = py(
        """
        import json, sys
        %s
        errors = {}
        for name in %r:
            try:
                __import__(name)
            except ImportError as exc:
                errors[name] = str(exc)
        print(json.dumps(errors))
        """
        % (setup, COMPONENTS)
    ).stdout
    errors = json.loads(out)
    assert sorted(errors) == sorted(COMPONENTS)
    assert all(message.startswith(reason) for message in errors.values()), errors


def test_importing_the_loader_loads_nothing(py):
    out = py(
        """
        import sys
        import fast_langgraph._rust as rust
        print(hasattr(rust, "__path__"), hasattr(rust, "_missing"), "fast_langgraph._core" in sys.modules)
        """
    ).stdout
    assert out.split() == ["False", "False", "False"]


def test_a_name_the_core_lacks_is_an_import_error():
    with pytest.raises(ImportError, match="cannot import name 'no_such_function'"):
        from fast_langgraph._rust import no_such_function  # noqa: F401

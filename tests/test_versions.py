import pytest

from fast_langgraph.patches._spec import parse_version, version_in_range


@pytest.mark.parametrize(
    "text, expected",
    [("1.2.24", (1, 2, 24)), ("0.2", (0, 2)), ("1.0.0a1", (1, 0, 0)), ("v2.1.0.post3", (2, 1, 0))],
)
def test_parse_version(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize(
    "version, spec, inside",
    [
        ("1.2.24", ">=0.2,<1.3", True),
        ("0.2.76", ">=0.2,<1.3", True),
        ("1.3.0", ">=0.2,<1.3", False),
        ("1.3.0rc1", "<1.3", False),
        ("0.1.9", ">=0.2", False),
        ("0.6.0", ">=0.6", True),
        ("0.5.4", "<0.6", True),
        ("1.0", "==1.0.0", True),
        ("1.0.1", "!=1.0.1", False),
        ("9.9", "", True),
    ],
)
def test_version_in_range(version, spec, inside):
    assert version_in_range(version, spec) is inside


def test_bad_clause_is_an_error():
    with pytest.raises(ValueError):
        version_in_range("1.0", "~=1.0")


def _pin_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "compat_matrix" / "pin.py"
    if not path.is_file():
        pytest.skip("not a source checkout")
    spec = importlib.util.spec_from_file_location("compat_matrix_pin", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tox_and_ci_pin_what_pin_py_says():
    # compat_matrix/pin.py's LINES is the one source of the LangGraph versions the matrix runs.
    assert _pin_module().check_tox() == []


def test_a_tox_ini_out_of_step_is_caught(tmp_path):
    pin = _pin_module()
    text = (pin.REPO / "tox.ini").read_text()
    stale = tmp_path / "tox.ini"
    newest = list(pin.LINES)[-1]
    pinned = "%s: langgraph==%s" % (pin.factor(newest), pin.LINES[newest][0])
    stale.write_text(text.replace(pinned, pinned + ".1").replace("py311-lg{", "py311-lg{01,"))
    problems = pin.check_tox(stale)
    assert any(pinned in p for p in problems)
    assert any("env_list" in p for p in problems)

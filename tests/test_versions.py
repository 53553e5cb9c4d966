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

"""The environment switches: one parser, one precedence, mistakes reported (warning, doctor exit 1)."""

import ast
import json
import re
from pathlib import Path

import pytest

import fast_langgraph
from fast_langgraph import _switches
from fast_langgraph.patches import REGISTRY

REPO = Path(__file__).resolve().parent.parent
NAMES = [spec.name for spec in REGISTRY]


def read(**env):
    return _switches.read(env)


def test_pth_line_uses_the_same_off_values():
    # The .pth line keeps an inline copy of the FAST_LANGGRAPH off test (no import at start-up).
    line = (REPO / "fast_langgraph.pth").read_text()
    tuples = [
        node
        for node in ast.walk(ast.parse(line))
        if isinstance(node, ast.Compare) and isinstance(node.comparators[0], ast.Tuple)
    ]
    assert len(tuples) == 1, "expected one `... in (...)` test in the .pth line"
    assert ast.literal_eval(tuples[0].comparators[0]) == _switches.OFF_VALUES
    assert '"%s"' % _switches.MASTER in line and ".strip().lower()" in line


@pytest.mark.parametrize(
    "env, default, override, expected",
    [
        ({}, True, None, True),
        ({}, False, None, False),
        ({"FAST_LANGGRAPH_ENABLE": "x"}, False, None, True),
        ({"FAST_LANGGRAPH_ENABLE": "*"}, False, None, True),
        ({"FAST_LANGGRAPH_DISABLE": " X ,y"}, True, None, False),
        ({"FAST_LANGGRAPH_DISABLE": "all"}, True, None, False),
        ({"FAST_LANGGRAPH_DISABLE": "x", "FAST_LANGGRAPH_ENABLE": "x"}, False, None, False),
        ({"FAST_LANGGRAPH": "Off", "FAST_LANGGRAPH_ENABLE": "x"}, True, None, False),
        ({"FAST_LANGGRAPH": "0"}, True, True, True),
        ({}, True, False, False),
        ({"FAST_LANGGRAPH": "maybe"}, True, None, True),
    ],
)
def test_precedence(env, default, override, expected):
    on, why = _switches.decide("x", default, override, read(**env))
    assert on is expected
    assert (why == "") is (on and override is None)


def test_problems():
    assert _switches.problems(NAMES, read()) == []
    assert _switches.problems(NAMES, read(FAST_LANGGRAPH="yes", FAST_LANGGRAPH_DISABLE="*, serde")) == []
    found = _switches.problems(
        NAMES, read(FAST_LANGGRAPH="maybe", FAST_LANGGRAPH_DISABLE="serdes", FAST_LANGGRAPH_ENABLE="all,nope")
    )
    assert len(found) == 3
    assert "FAST_LANGGRAPH='maybe' is not a recognised value" in found[0]
    assert "FAST_LANGGRAPH_DISABLE names no known patch: serdes" in found[1]
    assert "FAST_LANGGRAPH_ENABLE names no known patch: nope" in found[2]


@pytest.mark.parametrize("value", ["yes", 1, "", 0.0])
def test_patch_takes_booleans_only(value):
    with pytest.raises(TypeError, match=r"True or False.*serde="):
        fast_langgraph.patch(serde=value)


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"FAST_LANGGRAPH_DISABLE": "serdes"}, "FAST_LANGGRAPH_DISABLE names no known patch: serdes"),
        ({"FAST_LANGGRAPH_ENABLE": "exector"}, "FAST_LANGGRAPH_ENABLE names no known patch: exector"),
        ({"FAST_LANGGRAPH": "maybe"}, "FAST_LANGGRAPH='maybe' is not a recognised value"),
    ],
)
def test_a_mistake_warns_once_and_fails_the_doctor(py, env, expected):
    proc = py("import langgraph.graph, langgraph.pregel; import fast_langgraph; fast_langgraph.patch()", **env)
    assert proc.stderr.count(expected) == 1, proc.stderr
    for strict in (None, "1"):
        doc = py(
            "import sys, fast_langgraph.doctor as d; sys.exit(d.main(['--json']))",
            check=False,
            FAST_LANGGRAPH_STRICT=strict,
            **env,
        )
        report = json.loads(doc.stdout)
        assert doc.returncode == 1 and not report["ok"]
        assert any(expected in p for p in report["problems"]), report["problems"]


def test_doctor_shows_every_switch(py):
    out = py(
        "import sys, fast_langgraph.doctor as d; sys.exit(d.main([]))",
        check=False,
        FAST_LANGGRAPH_ENABLE="serde",
        FAST_LANGGRAPH_STRICT="1",
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("switches:"))
    for variable in _switches.VARIABLES:
        assert re.search(r"\b%s=" % variable, line), line
    assert "FAST_LANGGRAPH_ENABLE=serde" in line and "FAST_LANGGRAPH_STRICT=1" in line
    assert "FAST_LANGGRAPH=(unset)" in line

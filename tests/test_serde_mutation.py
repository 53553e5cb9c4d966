"""An encode hook (``model_dump``) that clears or grows the container being encoded.

Patched: ``TypeError: dict changed size during serialization`` (``list ...`` for a list
that shrank), nothing written. Unpatched (ormsgpack): an unreadable checkpoint, a
silently truncated one, or a segfault, so each side runs in its own interpreter.
Documented in docs/robustness.md.
"""

import json
import subprocess
import sys
import tempfile

import pytest

from conftest import clean_env, needs_patch

pytest.importorskip("langgraph.checkpoint.serde.jsonplus")
pytest.importorskip("pydantic")

#: The tests of the patched side; the unpatched side's test runs on every line.
patched_serde = needs_patch("serde")

SCRIPT = r"""
import json, sys
import pydantic
import fast_langgraph
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

case, pickle_fallback = sys.argv[1], sys.argv[2] == "pickle"
TARGET = []


class Hostile(pydantic.BaseModel):
    x: int = 1

    def model_dump(self, *args, **kwargs):
        # LangGraph's encoder calls this while it is inside TARGET[0].
        container = TARGET[0]
        if case.endswith("clear"):
            container.clear()
        elif isinstance(container, dict):
            container.update(("new%d" % i, i) for i in range(100))
        else:
            container.extend(range(100))
        return super().model_dump(*args, **kwargs)


if case.startswith("dict"):
    state = {"evil": Hostile()}
    state.update(("k%d" % i, i) for i in range(100))
else:
    state = [Hostile()] + list(range(100))
TARGET.append(state)
serde = JsonPlusSerializer(pickle_fallback=pickle_fallback)
out = {"serde": {p["name"]: p["status"] for p in fast_langgraph.patch_status()}["serde"]}
try:
    type_, blob = serde.dumps_typed(state)
except Exception as exc:
    out["dumps"] = "%s: %s" % (type(exc).__name__, exc)
    out["is_type_error"] = isinstance(exc, TypeError)
else:
    out["dumps"] = type_
    try:
        back = serde.loads_typed((type_, blob))
        out["loads"] = "%s of %d" % (type(back).__name__, len(back))
    except Exception as exc:
        out["loads"] = "%s: %s" % (type(exc).__name__, exc)
print(json.dumps(out))
"""


def _run(case, patched, pickle_fallback=False):
    env = clean_env() if patched else clean_env(FAST_LANGGRAPH="0")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, case, "pickle" if pickle_fallback else "msgpack"],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        return {"crashed": proc.returncode}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["serde"] == ("applied" if patched else "disabled"), result
    return result


@patched_serde
@pytest.mark.parametrize(
    "case, message",
    [
        ("dict-clear", "dict changed size during serialization"),
        ("dict-grow", "dict changed size during serialization"),
        ("list-clear", "list changed size during serialization"),
    ],
)
def test_a_hook_that_resizes_the_container_raises_patched(case, message):
    result = _run(case, patched=True)
    assert result["dumps"] == "TypeError: " + message, result
    assert result["is_type_error"]  # ormsgpack.MsgpackEncodeError, as LangGraph catches


@patched_serde
def test_a_list_that_grows_keeps_its_items_as_unpatched():
    # Items appended meanwhile are not written, by either side: the same readable bytes.
    patched, unpatched = _run("list-grow", patched=True), _run("list-grow", patched=False)
    assert patched == dict(unpatched, serde="applied")
    assert patched["loads"] == "list of 101"


@pytest.mark.parametrize("case", ["dict-clear", "dict-grow", "list-clear"])
def test_unpatched_writes_no_faithful_checkpoint(case):
    # What the patched error replaces (ormsgpack's own behaviour, pinned loosely: it may
    # improve): a crash, an unreadable checkpoint, or one that lost the hook's changes.
    result = _run(case, patched=False)
    faithful = result.get("dumps") == "msgpack" and result.get("loads") == (
        "dict of 201" if case == "dict-grow" else "dict of 1" if case == "dict-clear" else "list of 1"
    )
    assert not faithful, result


@patched_serde
def test_pickle_fallback_stores_the_container_as_the_hook_left_it():
    result = _run("dict-clear", patched=True, pickle_fallback=True)
    assert result == {"serde": "applied", "dumps": "pickle", "loads": "dict of 0"}, result

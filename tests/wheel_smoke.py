"""``python wheel_smoke.py WORKDIR``: the checks every installed wheel must pass.

The doctor (exit 0), a checkpointed graph on ``RustSqliteSaver`` whose state survives a
reopen, and the lock probe (Python's ``sqlite3`` and the saver share one SQLite: see
``sqlite_lock_probe.py``). On Windows, where the saver is not available, and with a
langgraph-checkpoint outside the saver's range (LangGraph < 1.0), it checks the saver's
error instead of the graph. Run by tests/test_install.py and .github/workflows/release.yml
with the interpreter of the environment the wheel was installed into; prints
``smoke test passed``.
"""

import operator
import os
import subprocess
import sys
from typing import Annotated, TypedDict

HERE = os.path.dirname(os.path.abspath(__file__))


class State(TypedDict):
    n: Annotated[list, operator.add]


def checkpointed_graph(path):
    """Two turns on a thread, then the state and history after a reopen, as LangGraph's in-memory saver has them."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph

    from fast_langgraph import RustSqliteSaver

    builder = StateGraph(State)
    builder.add_node("step", lambda state: {"n": [len(state["n"])]})
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    config = {"configurable": {"thread_id": "smoke"}}

    def two_turns(saver):
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"n": []}, config)
        return graph.invoke({"n": []}, config)["n"]

    memory = InMemorySaver()
    expected = (two_turns(memory), [c.metadata["step"] for c in memory.list(config)])
    assert expected[0] == [0, 1]
    with RustSqliteSaver.from_conn_string(path) as saver:
        result = two_turns(saver)
    with RustSqliteSaver.from_conn_string(path) as saver:  # the state survives a reopen
        state = builder.compile(checkpointer=saver).get_state(config).values["n"]
        assert (result, [c.metadata["step"] for c in saver.list(config)]) == expected
        assert state == expected[0]


def saver_in_range():
    from fast_langgraph.sqlite_saver import check_supported_checkpoint_version

    try:
        check_supported_checkpoint_version()
    except RuntimeError:
        return False
    return True


def main(workdir):
    import fast_langgraph

    source_tree = os.path.dirname(HERE)
    assert not os.path.abspath(fast_langgraph.__file__).startswith(source_tree + os.sep), fast_langgraph.__file__
    doctor = subprocess.run(
        [sys.executable, "-m", "fast_langgraph.doctor"], capture_output=True, text=True, cwd=workdir
    )
    print(doctor.stdout)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    if sys.platform == "win32":
        import sqlite3

        from fast_langgraph import RustSqliteSaver

        try:
            RustSqliteSaver(os.path.join(workdir, "state.db"))
        except sqlite3.NotSupportedError as exc:
            assert "not available on this platform" in str(exc), exc
        else:
            raise AssertionError("RustSqliteSaver opened on Windows: update this test and docs/install.md")
    elif not saver_in_range():
        from fast_langgraph import RustSqliteSaver

        try:
            RustSqliteSaver(os.path.join(workdir, "state.db"))
        except RuntimeError as exc:
            assert "RustSqliteSaver supports langgraph-checkpoint" in str(exc), exc
        else:
            raise AssertionError("RustSqliteSaver opened on a langgraph-checkpoint outside its range")
    else:
        checkpointed_graph(os.path.join(workdir, "state.db"))
    if sys.platform != "win32":
        probe = subprocess.run(
            [sys.executable, os.path.join(HERE, "sqlite_lock_probe.py"), os.path.join(workdir, "lock.db")],
            capture_output=True,
            text=True,
            cwd=workdir,
        )
        assert probe.returncode == 0 and probe.stdout.strip() == "lock held", probe.stdout + probe.stderr
    print("smoke test passed")


if __name__ == "__main__":
    main(sys.argv[1])

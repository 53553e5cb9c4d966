"""RustSqliteSaver across fork(): no connection of ours is open at the fork, so children
write at once, whatever the parent's threads were doing (each scenario runs in a fresh
interpreter, bounded in time)."""

import os
import subprocess
import sys
import tempfile
import warnings

import pytest

from conftest import clean_env, skip_module_unless_rust_sqlite_saver_supported

pytest.importorskip("langgraph.checkpoint.base")

skip_module_unless_rust_sqlite_saver_supported()

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")

COMMON = r"""
import asyncio, logging, os, sqlite3, sys, threading, time
from fast_langgraph import sqlite_saver
from fast_langgraph.sqlite_saver import AsyncRustSqliteSaver, RustSqliteSaver
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.id import uuid6

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)


def checkpoint(i, pad=b""):
    cp = empty_checkpoint()
    cp["id"] = str(uuid6())
    cp["channel_values"] = {"i": i, "pad": pad}
    return cp


def config(thread_id):
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


class Writer(threading.Thread):
    # Puts of ~300 KB (one fsync each) back to back: most of the time inside a transaction.
    def __init__(self, saver, use_async=False):
        super().__init__(daemon=True)
        self.saver, self.use_async = saver, use_async
        self.stop, self.done, self.error = threading.Event(), 0, None

    def run(self):
        pad = b"x" * 300_000
        try:
            if self.use_async:
                asyncio.run(self._arun(pad))
            else:
                while not self.stop.is_set():
                    self.saver.put(config("parent"), checkpoint(self.done, pad), {}, {})
                    self.done += 1
        except BaseException as exc:
            self.error = exc

    async def _arun(self, pad):
        while not self.stop.is_set():
            await self.saver.aput(config("parent"), checkpoint(self.done, pad), {}, {})
            self.done += 1

    def wait_busy(self):
        while self.done < 3:
            time.sleep(0.001)

    def finish(self):
        self.stop.set()
        self.join(30)
        assert not self.is_alive() and self.error is None, self.error


def child_write(path, name):
    # A brand-new saver on the same file, writing at once (a short busy timeout: a lock
    # left behind by the fork would show as 'database is locked' within it).
    saver = RustSqliteSaver(path, busy_timeout=3.0)
    saver.put(config(name), checkpoint(0), {}, {})
    assert saver.get_tuple(config(name)) is not None
    saver.close()


def check(path, names, expect_parent=True):
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    threads = {row[0] for row in conn.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    conn.close()
    missing = set(names) - threads
    assert not missing, sorted(missing)
    assert ("parent" in threads) == expect_parent
"""

FORK_MID_WRITE = (
    COMMON
    + r"""
path, children, use_async = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "async"
saver = (AsyncRustSqliteSaver if use_async else RustSqliteSaver)(path)
writer = Writer(saver, use_async)
writer.start()
writer.wait_busy()
pids = []
for n in range(children):
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            child_write(path, "fresh-%d" % n)
            # The saver object inherited from the parent works too (its own connection).
            saver.put(config("inherited-%d" % n), checkpoint(n), {}, {})
            code = 0
        except BaseException as exc:
            print("child %d: %r" % (n, exc), file=sys.stderr, flush=True)
        finally:
            os._exit(code)
    pids.append(pid)
    time.sleep(0.02)  # the writer is back inside a transaction by the next fork
writer.finish()
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
assert codes == [0] * children, codes
check(path, ["fresh-%d" % n for n in range(children)] + ["inherited-%d" % n for n in range(children)])
print("ok", writer.done)
"""
)

MULTIPROCESSING = (
    COMMON
    + r"""
import multiprocessing


def child(path, n):
    child_write(path, "mp-%d" % n)


if __name__ == "__main__":
    path, method, children = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ctx = multiprocessing.get_context(method)
    saver = RustSqliteSaver(path)
    writer = Writer(saver)
    writer.start()
    writer.wait_busy()
    procs = [ctx.Process(target=child, args=(path, n)) for n in range(children)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    writer.finish()
    assert [p.exitcode for p in procs] == [0] * children, [p.exitcode for p in procs]
    check(path, ["mp-%d" % n for n in range(children)])
    print("ok")
"""
)

# The parent closes its saver while the child still writes: the child's later commits
# must stay in the database (with a connection open across the fork, the child held no
# real lock, so the parent's close checkpointed and deleted the WAL under it).
PARENT_CLOSES_FIRST = (
    COMMON
    + r"""
path = sys.argv[1]
saver = RustSqliteSaver(path)
saver.put(config("parent"), checkpoint(0), {}, {})
r1, w1 = os.pipe()
r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    code = 1
    try:
        child = RustSqliteSaver(path, busy_timeout=3.0)
        child.put(config("child-a"), checkpoint(1), {}, {})
        os.write(w1, b"a")
        os.read(r2, 1)  # the parent has closed its saver
        child.put(config("child-b"), checkpoint(2), {}, {})
        code = 0
    except BaseException as exc:
        print("child: %r" % (exc,), file=sys.stderr, flush=True)
    finally:
        os._exit(code)
os.read(r1, 1)
saver.put(config("parent-after"), checkpoint(3), {}, {})
saver.close()
os.write(w2, b"b")
assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
check(path, ["parent-after", "child-a", "child-b"])
print("ok")
"""
)

# A write that cannot finish (another process holds the write lock): the fork waits
# sqlite_saver.fork_timeout, then forks anyway and says so.
FORK_TIMEOUT = (
    COMMON
    + r"""
path, holder_code = sys.argv[1], sys.argv[2]
RustSqliteSaver(path).close()
holder = __import__("subprocess").Popen([sys.executable, "-c", holder_code, path], stdout=-1, text=True)
assert holder.stdout.readline().strip() == "locked"
saver = RustSqliteSaver(path, busy_timeout=10.0)
sqlite_saver.fork_timeout = 0.3
blocked = threading.Thread(target=lambda: saver.put(config("parent"), checkpoint(0), {}, {}))
blocked.start()
time.sleep(0.2)  # inside put(), waiting for the lock
start = time.monotonic()
pid = os.fork()
if pid == 0:
    os._exit(0)
waited = time.monotonic() - start
assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
assert 0.25 <= waited < 2.0, waited
holder.stdout.close()  # the holder rolls back and exits
holder.wait(30)
blocked.join(30)
assert not blocked.is_alive()
check(path, [])
print("ok")
"""
)

HOLDER = r"""
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(1.5)
conn.execute("ROLLBACK")
"""


def _run(tmp_path, script, *args, timeout=120, **env):
    file = tmp_path / "script.py"
    file.write_text(script)
    return subprocess.run(
        [sys.executable, str(file), *map(str, args)],
        env=clean_env(**env),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_children_forked_during_a_write_can_write_at_once(tmp_path, mode):
    proc = _run(tmp_path, FORK_MID_WRITE, tmp_path / "f.db", 6, mode)
    assert proc.returncode == 0 and proc.stdout.startswith("ok"), proc.stdout + proc.stderr
    assert "forked anyway" not in proc.stderr


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_multiprocessing_children_write_while_the_parent_writes(tmp_path, method):
    import multiprocessing

    if method not in multiprocessing.get_all_start_methods():
        pytest.skip("no %s start method here" % method)
    proc = _run(tmp_path, MULTIPROCESSING, tmp_path / "m.db", method, 4)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr


def test_parent_closing_first_loses_none_of_the_childs_writes(tmp_path):
    proc = _run(tmp_path, PARENT_CLOSES_FIRST, tmp_path / "c.db")
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr


def test_fork_waits_at_most_the_timeout_and_warns(tmp_path):
    proc = _run(tmp_path, FORK_TIMEOUT, tmp_path / "t.db", HOLDER)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr
    assert proc.stderr.count("forked anyway") == 1, proc.stderr
    assert "1 SQLite operation(s) of RustSqliteSaver still running after 0.3 s" in proc.stderr


def test_fork_timeout_from_the_environment():
    from fast_langgraph._switches import SQLITE_FORK_TIMEOUT_DEFAULT as SQLITE_FORK_TIMEOUT, sqlite_fork_timeout

    assert sqlite_fork_timeout({}) == SQLITE_FORK_TIMEOUT == 5.0
    assert sqlite_fork_timeout({"FAST_LANGGRAPH_SQLITE_FORK_TIMEOUT": " 0.5 "}) == 0.5
    assert sqlite_fork_timeout({"FAST_LANGGRAPH_SQLITE_FORK_TIMEOUT": "0"}) == 0.0
    for bad in ("", "soon", "-1", "nan"):
        assert sqlite_fork_timeout({"FAST_LANGGRAPH_SQLITE_FORK_TIMEOUT": bad}) == SQLITE_FORK_TIMEOUT


def test_memory_database_survives_a_fork_in_the_parent():
    from fast_langgraph.sqlite_saver import RustSqliteSaver
    from langgraph.checkpoint.base import empty_checkpoint

    saver = RustSqliteSaver(":memory:")
    cp = empty_checkpoint()
    config = saver.put({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, cp, {}, {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() of a threaded process (3.12+)
        pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert saver.get_tuple(config) is not None

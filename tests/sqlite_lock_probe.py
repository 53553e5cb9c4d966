"""``python sqlite_lock_probe.py DB``: RustSqliteSaver and Python's sqlite3 share one SQLite.

Two SQLite copies in one process break POSIX advisory locks: the locks belong to the
process, and closing any descriptor of the file drops all of them, so a copy that does
not know about the other's locks silently releases them. Here Python's ``sqlite3``
holds the write lock of a database in rollback-journal mode while ``RustSqliteSaver``
opens, reads and closes the same file in the same process; another process must then
still find the database locked (with a langgraph-checkpoint outside the saver's range,
the Rust store under it, which opens SQLite the same way). Exit status 0 and ``lock held``
on success.

Run by tests/test_sqlite_saver.py (the tree under test) and tests/test_install.py
(a wheel installed into a fresh virtualenv), with the interpreter to check.
"""

import sqlite3
import subprocess
import sys

TRY_WRITE = (
    "import sqlite3, sys; sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None).execute('BEGIN IMMEDIATE')"
)


def other_process_can_write(path):
    proc = subprocess.run([sys.executable, "-c", TRY_WRITE, path], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 and "locked" not in proc.stderr:
        raise RuntimeError("unexpected failure in the other process: " + proc.stderr)
    return proc.returncode == 0


class _Store:
    """The Rust store under RustSqliteSaver, for a langgraph-checkpoint outside the saver's
    range (LangGraph < 1.0): the same SQLite connection code, without the LangGraph-level API."""

    def __init__(self, path, journal_mode, busy_timeout=5.0):
        from fast_langgraph.sqlite_saver import SqliteCheckpointStore

        self._store = SqliteCheckpointStore(
            path, journal_mode=journal_mode, synchronous="FULL", busy_timeout=busy_timeout
        )

    def get_tuple(self, config):
        return self._store.get(config["configurable"]["thread_id"], config["configurable"]["checkpoint_ns"], None)

    def list(self, config):
        return self._store.list_keys()

    def close(self):
        self._store.close()


def open_saver(path, **options):
    from fast_langgraph import RustSqliteSaver
    from fast_langgraph.sqlite_saver import check_supported_checkpoint_version

    try:
        check_supported_checkpoint_version()
    except RuntimeError:
        return _Store(path, **options)
    return RustSqliteSaver(path, **options)


def main(path):
    open_saver(
        path, journal_mode="DELETE"
    ).close()  # the schema, in rollback-journal mode (file locks, no shared memory)
    holder = sqlite3.connect(path, isolation_level=None)
    assert other_process_can_write(path), "the probe cannot see a free database"
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert not other_process_can_write(path), "the probe cannot see a held lock"
        saver = open_saver(path, journal_mode="DELETE", busy_timeout=0)
        config = {"configurable": {"thread_id": "probe", "checkpoint_ns": ""}}
        assert saver.get_tuple(config) is None
        assert list(saver.list(None)) == []
        saver.close()
        if other_process_can_write(path):
            print("lock LOST: RustSqliteSaver's close() released Python's sqlite3 lock (two SQLite copies)")
            return 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    print("lock held")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""RustSqliteSaver: file compatibility with SqliteSaver, conformance, concurrency, crashes, bad input."""

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import uuid

import pytest

from conftest import clean_env, skip_module_unless_rust_sqlite_saver_supported, run_in_threads

pytest.importorskip("langgraph.checkpoint.base")
SqliteSaver = pytest.importorskip("langgraph.checkpoint.sqlite").SqliteSaver

from langgraph.checkpoint.base import empty_checkpoint  # noqa: E402

from fast_langgraph.sqlite_saver import (  # noqa: E402
    AsyncRustSqliteSaver,
    CorruptCheckpointError,
    RustSqliteSaver,
)

skip_module_unless_rust_sqlite_saver_supported()


def _id():
    # uuid6-like ordering is what LangGraph relies on; uuid1-based ids sort by time too.
    from langgraph.checkpoint.base.id import uuid6

    return str(uuid6())


def _checkpoint(values):
    cp = empty_checkpoint()
    cp["id"] = _id()
    cp["channel_values"] = values
    cp["channel_versions"] = {k: "%032d.0" % i for i, k in enumerate(values)}
    return cp


def _messages(n):
    from langchain_core.messages import AIMessage, HumanMessage

    return [
        (HumanMessage if i % 2 == 0 else AIMessage)(content="message %d: %s" % (i, "x" * 40), id=str(i))
        for i in range(n)
    ]


def _populate(saver):
    """A history with namespaces, parents, metadata and every kind of pending write."""
    configs = []
    for thread in ("t1", "t2"):
        for ns in ("", "child:1"):
            config = {"configurable": {"thread_id": thread, "checkpoint_ns": ns}}
            for step in range(4):
                cp = _checkpoint({"messages": _messages(step + 1), "n": step, "blob": b"\x00\x01", "s": {"a", "b"}})
                meta = {"source": "loop" if step else "input", "step": step, "parents": {"": "x"}, "tags": ["a", step]}
                config = saver.put(config, cp, meta, {})
                saver.put_writes(config, [("messages", _messages(1)), ("n", step)], "task-b", "~1, b")
                saver.put_writes(config, [("n", -step), ("extra", None)], "task-a", "~0, a")
                saver.put_writes(config, [("__error__", ValueError("boom")), ("__interrupt__", "stop")], "task-c")
                configs.append(config)
    return configs


def _queries():
    yield {"configurable": {"thread_id": "t1"}}, {}
    yield {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}, {}
    yield {"configurable": {"thread_id": "t2", "checkpoint_ns": "child:1"}}, {"limit": 2}
    yield None, {"filter": {"source": "loop"}}
    yield None, {"filter": {"step": 2, "parents": {"": "x"}}}
    yield None, {"filter": {"tags": ["a", 1]}}
    yield None, {"filter": {"missing": None}, "limit": 3}
    yield {"configurable": {"thread_id": "t1"}}, {"before": None}


def _assert_same(writer, reader, configs):
    for config in configs:
        for query in (config, {"configurable": {**config["configurable"], "checkpoint_id": None}}):
            assert writer.get_tuple(query) == reader.get_tuple(query)
    for config, kwargs in _queries():
        if "before" in kwargs:
            kwargs = {"before": configs[2]}
        ours = list(writer.list(config, **kwargs))
        theirs = list(reader.list(config, **kwargs))
        assert ours == theirs, (config, kwargs)
        assert ours or kwargs.get("filter", {}).get("missing", 0) is not None


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "state.db")


def _upstream(path):
    return SqliteSaver(sqlite3.connect(path, check_same_thread=False))


@pytest.mark.parametrize("direction", ["rust_writes", "upstream_writes"])
def test_files_are_interchangeable(db, direction):
    rust = RustSqliteSaver(db)
    upstream = _upstream(db)
    writer, reader = (rust, upstream) if direction == "rust_writes" else (upstream, rust)
    configs = _populate(writer)
    _assert_same(writer, reader, configs)
    tup = reader.get_tuple(configs[-1])
    assert [w[:2] for w in tup.pending_writes] == [
        ("task-c", "__interrupt__"),  # idx -3
        ("task-c", "__error__"),  # idx -1
        ("task-a", "n"),
        ("task-a", "extra"),
        ("task-b", "messages"),
        ("task-b", "n"),
    ]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM writes").fetchone()[0] == 2 * 2 * 4 * 6


def test_same_bytes_as_upstream(tmp_path):
    """Writing the same objects with either saver stores byte-identical rows."""
    rows = []
    cp = _checkpoint({"messages": _messages(3)})
    cp["id"] = "1ef00000-0000-6000-8000-000000000001"
    for name, make in (("rust", RustSqliteSaver), ("upstream", _upstream)):
        path = str(tmp_path / (name + ".db"))
        saver = make(path)
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        config = saver.put(config, cp, {"source": "input", "step": -1, "ünï": "çødé\x00"}, {})
        saver.put_writes(config, [("a", 1), ("__error__", "x"), ("b", b"raw")], "task", "~0")
        conn = sqlite3.connect(path)
        rows.append(
            (
                conn.execute("SELECT * FROM checkpoints").fetchall(),
                conn.execute("SELECT * FROM writes ORDER BY task_id, idx").fetchall(),
                [conn.execute("PRAGMA table_info(%s)" % t).fetchall() for t in ("checkpoints", "writes")],
                [conn.execute("PRAGMA index_list(%s)" % t).fetchall() for t in ("checkpoints", "writes")],
            )
        )
    assert rows[0] == rows[1]


def test_serde_is_used_encrypted_and_allowlist(db):
    pytest.importorskip("Crypto")
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    serde = EncryptedSerializer.from_pycryptodome_aes(key=b"k" * 16)
    rust = RustSqliteSaver(db, serde=serde)
    configs = _populate(rust)
    upstream = SqliteSaver(sqlite3.connect(db, check_same_thread=False), serde=serde)
    _assert_same(rust, upstream, configs)
    stored_type = sqlite3.connect(db).execute("SELECT type FROM checkpoints LIMIT 1").fetchone()[0]
    assert stored_type == "msgpack+aes"


def test_with_allowlist_returns_a_working_clone(db):
    rust = RustSqliteSaver(db)
    configs = _populate(rust)
    clone = rust.with_allowlist([("collections", "OrderedDict")])
    assert clone.get_tuple(configs[0]) == rust.get_tuple(configs[0])


def test_conformance_suite(tmp_path):
    conformance = pytest.importorskip("langgraph.checkpoint.conformance")
    counter = iter(range(10**6))

    @conformance.checkpointer_test(name="RustSqliteSaver")
    async def factory():
        async with AsyncRustSqliteSaver.from_conn_string(str(tmp_path / ("c%d.db" % next(counter)))) as saver:
            yield saver

    report = asyncio.run(conformance.validate(factory))
    report.print_report()
    assert report.passed_all_base()
    for name, result in report.results.items():
        assert result.passed is not False, name


def test_async_api_matches_sync(db):
    async def main():
        async with AsyncRustSqliteSaver.from_conn_string(db) as saver:
            config = {"configurable": {"thread_id": "a", "checkpoint_ns": ""}}
            configs = await asyncio.gather(
                *[saver.aput(config, _checkpoint({"i": i}), {"step": i}, {}) for i in range(40)]
            )
            await asyncio.gather(*[saver.aput_writes(c, [("x", i)], "task") for i, c in enumerate(configs)])
            listed = [t async for t in saver.alist(config)]
            assert listed == list(saver.list(config))
            assert len(listed) == 40 and all(len(t.pending_writes) == 1 for t in listed)
            assert await saver.aget_tuple(config) == saver.get_tuple(config)
            await saver.adelete_thread("a")
            assert await saver.aget_tuple(config) is None

    asyncio.run(main())


def test_new_file_is_private(tmp_path):
    path = tmp_path / "private.db"
    saver = RustSqliteSaver(path)
    _populate(saver)
    for name in os.listdir(tmp_path):
        assert os.stat(tmp_path / name).st_mode & 0o777 == 0o600, name
    assert saver.pragmas()["journal_mode"] == "wal"
    assert saver.pragmas()["synchronous"] == "2"  # FULL
    normal = RustSqliteSaver(tmp_path / "n.db", synchronous="NORMAL")
    assert normal.pragmas()["synchronous"] == "1"
    with pytest.raises(ValueError):
        RustSqliteSaver(tmp_path / "bad.db", synchronous="FAST")


def test_filter_key_injection_is_refused(db):
    saver = RustSqliteSaver(db)
    _populate(saver)
    with pytest.raises(ValueError, match="Invalid filter key"):
        list(saver.list(None, filter={"x') OR '1'='1": 1}))
    with pytest.raises(ValueError, match="Invalid filter key"):
        list(saver.list(None, filter={"a' OR 1=1 --": "x"}))
    # Values are bound as parameters: a hostile value only matches itself.
    assert list(saver.list(None, filter={"source": "x' OR '1'='1"})) == []


def test_corrupt_rows_raise_a_clear_error(db):
    saver = RustSqliteSaver(db)
    configs = _populate(saver)
    cid = configs[0]["configurable"]["checkpoint_id"]
    conn = sqlite3.connect(db)
    conn.execute("UPDATE checkpoints SET checkpoint = X'C1FFFF' WHERE checkpoint_id = ?", (cid,))
    conn.commit()
    with pytest.raises(CorruptCheckpointError, match=cid):
        saver.get_tuple(configs[0])
    conn.execute("UPDATE checkpoints SET checkpoint = 42 WHERE checkpoint_id = ?", (cid,))
    conn.commit()
    with pytest.raises(ValueError, match="corrupt checkpoint.*" + cid):
        saver.get_tuple(configs[0])
    conn.execute("UPDATE checkpoints SET type = 'nonsense', checkpoint = X'00' WHERE checkpoint_id = ?", (cid,))
    conn.commit()
    with pytest.raises(CorruptCheckpointError, match=cid):
        list(saver.list(configs[0]))
    # The other checkpoints still load.
    assert saver.get_tuple(configs[1]) is not None


def test_writes_are_atomic(db):
    saver = RustSqliteSaver(db)
    config = saver.put({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, _checkpoint({}), {}, {})
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON writes WHEN NEW.channel = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    conn.commit()
    with pytest.raises(sqlite3.IntegrityError):
        saver.put_writes(config, [("a", 1), ("b", 2), ("boom", 3)], "task")
    assert saver.get_tuple(config).pending_writes == []
    saver.put_writes(config, [("a", 1)], "task")
    assert saver.get_tuple(config).pending_writes == [("task", "a", 1)]


def test_put_inside_list_loop_and_half_consumed_list(db):
    saver = RustSqliteSaver(db)
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    for i in range(80):  # more than one page of list()
        config = saver.put(config, _checkpoint({"i": i}), {"step": i}, {})
    seen = 0
    for tup in saver.list({"configurable": {"thread_id": "t"}}):
        saver.put({"configurable": {"thread_id": "other", "checkpoint_ns": ""}}, _checkpoint({}), {}, {})
        saver.put_writes(tup.config, [("x", seen)], "task")
        seen += 1
    assert seen == 80
    half = saver.list({"configurable": {"thread_id": "t"}})
    next(half)
    done = threading.Event()

    def writer():
        saver.put(config, _checkpoint({"late": True}), {}, {})
        RustSqliteSaver(db).put(config, _checkpoint({"other connection": True}), {}, {})
        done.set()

    threading.Thread(target=writer, daemon=True).start()
    assert done.wait(10), "a half-consumed list() blocked a writer"
    assert len(list(half)) == 79


def test_eight_threads_share_one_saver(db):
    saver = RustSqliteSaver(db)
    errors = []

    def work(t):
        try:
            config = {"configurable": {"thread_id": "thread-%d" % t, "checkpoint_ns": ""}}
            for i in range(40):
                config = saver.put(config, _checkpoint({"i": i, "t": t}), {"step": i}, {})
                saver.put_writes(config, [("x", i), ("y", t)], "task-%d" % i)
                assert saver.get_tuple(config).checkpoint["channel_values"] == {"i": i, "t": t}
                if i % 10 == 0:
                    list(saver.list(None, limit=5))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    run_in_threads(work, [(t,) for t in range(8)], timeout=60)
    assert not errors, errors
    for t in range(8):
        tuples = list(saver.list({"configurable": {"thread_id": "thread-%d" % t}}))
        assert [tup.checkpoint["channel_values"]["i"] for tup in tuples] == list(range(39, -1, -1))
        assert all(len(tup.pending_writes) == 2 for tup in tuples)


def test_four_processes_write_one_file(db, py):
    code = """
        import sys
        from fast_langgraph.sqlite_saver import RustSqliteSaver
        from langgraph.checkpoint.base import empty_checkpoint
        from langgraph.checkpoint.base.id import uuid6
        saver = RustSqliteSaver(sys.argv[1], busy_timeout=30)
        config = {"configurable": {"thread_id": sys.argv[2], "checkpoint_ns": ""}}
        for i in range(300):
            cp = empty_checkpoint(); cp["id"] = str(uuid6()); cp["channel_values"] = {"i": i}
            config = saver.put(config, cp, {"step": i}, {})
            if i % 3 == 0:
                saver.put_writes(config, [("x", i)], "task")
        print("ok")
    """
    import subprocess
    import sys
    import tempfile
    import textwrap

    from conftest import clean_env

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), db, "proc-%d" % n],
            cwd=tempfile.gettempdir(),
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and out.strip() == "ok", err
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 1200
    assert conn.execute("SELECT count(*) FROM writes").fetchone()[0] == 400
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_gets_a_fresh_connection(db):
    saver = RustSqliteSaver(db)
    config = saver.put({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, _checkpoint({"parent": 1}), {}, {})
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's connection
        code = 1
        try:
            saver.put({"configurable": {"thread_id": "child", "checkpoint_ns": ""}}, _checkpoint({"child": 1}), {}, {})
            code = 0 if saver.get_tuple(config) is not None else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert saver.get_tuple({"configurable": {"thread_id": "child", "checkpoint_ns": ""}}) is not None
    saver.put(config, _checkpoint({"parent": 2}), {}, {})
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_closed_saver_raises(db):
    with RustSqliteSaver.from_conn_string(db) as saver:
        _populate(saver)
    with pytest.raises(sqlite3.ProgrammingError):
        saver.get_tuple({"configurable": {"thread_id": "t1"}})


CRASH_CHILD = r"""
import json, os, random, signal, sqlite3, sys, time
from fast_langgraph.sqlite_saver import RustSqliteSaver
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.id import uuid6

folder, trials = sys.argv[1], int(sys.argv[2])
rng = random.Random(5)
report = []
for trial in range(trials):
    path = os.path.join(folder, "crash-%d.db" % trial)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        saver = RustSqliteSaver(path)
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        i = 0
        while True:
            cp = empty_checkpoint(); cp["id"] = str(uuid6()); cp["channel_values"] = {"i": i, "pad": "x" * (i % 7) * 3000}
            config = saver.put(config, cp, {"step": i}, {})
            saver.put_writes(config, [("x", i), ("y", "v" * 500)], "task")
            os.write(w, (cp["id"] + "\n").encode())  # reported only once committed
            i += 1
    os.close(w)
    time.sleep(rng.uniform(0.02, 0.25))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    reported = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        reported += chunk
    os.close(r)
    ids = [line for line in reported.decode().split("\n") if line]
    conn = sqlite3.connect(path)
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    saver = RustSqliteSaver(path)
    missing = []
    for cid in ids:
        tup = saver.get_tuple({"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": cid}})
        if tup is None or len(tup.pending_writes) != 2:
            missing.append(cid)
    saver.close()
    report.append({"trial": trial, "committed": len(ids), "integrity": integrity, "missing": missing})
print(json.dumps(report))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_kill_9_loses_nothing_committed(tmp_path, py):
    import json

    proc = py("import sys; sys.argv[1:] = %r\n" % ([str(tmp_path), "25"],) + CRASH_CHILD, timeout=300)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(report) == 25
    for trial in report:
        assert trial["integrity"] == "ok", trial
        assert trial["missing"] == [], trial
    assert sum(t["committed"] for t in report) > 25


def test_thread_ids_are_strings_like_upstream(db):
    rust, upstream = RustSqliteSaver(db), _upstream(db)
    config = rust.put({"configurable": {"thread_id": 7, "checkpoint_ns": ""}}, _checkpoint({"a": 1}), {}, {})
    assert config["configurable"]["thread_id"] == 7
    assert rust.get_tuple({"configurable": {"thread_id": 7}}) == upstream.get_tuple({"configurable": {"thread_id": 7}})
    assert rust.get_next_version(None, None).startswith("0" * 31 + "1.")
    assert rust.get_next_version(rust.get_next_version(None, None), None) > rust.get_next_version(None, None)
    assert uuid.UUID(config["configurable"]["checkpoint_id"])


def test_delta_channel_history_matches_upstream(db):
    rust = RustSqliteSaver(db)
    upstream = _upstream(db)
    if not hasattr(upstream, "get_delta_channel_history"):
        pytest.skip("langgraph-checkpoint-sqlite without get_delta_channel_history")
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    configs = []
    for step in range(8):
        values = {"a": step} if step % 3 == 0 else {}
        if step == 5:
            values["b"] = "seed-b"
        config = rust.put(config, _checkpoint(values), {"step": step}, {})
        rust.put_writes(config, [("a", "a%d" % step), ("b", "b%d" % step)], "task-2", "~2")
        rust.put_writes(config, [("a", "first%d" % step)], "task-1", "~1")
        configs.append(config)
    latest = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": ""}}
    for cfg in configs + [latest, {"configurable": {"thread_id": "none", "checkpoint_ns": ""}}]:
        for channels in (["a"], ["a", "b"], ["b", "missing"], []):
            assert rust.get_delta_channel_history(config=cfg, channels=channels) == upstream.get_delta_channel_history(
                config=cfg, channels=channels
            ), (cfg, channels)
    # A parent chain made into a loop by re-putting an id terminates.
    a = rust.put({"configurable": {"thread_id": "loop", "checkpoint_ns": ""}}, _checkpoint({}), {}, {})
    b = rust.put(a, _checkpoint({}), {}, {})
    again = _checkpoint({})
    again["id"] = a["configurable"]["checkpoint_id"]
    rust.put(b, again, {}, {})
    assert rust.get_delta_channel_history(config=b, channels=["x"]) == {"x": {"writes": []}}
    assert asyncio.run(rust.aget_delta_channel_history(config=configs[-1], channels=["a"])) == (
        upstream.get_delta_channel_history(config=configs[-1], channels=["a"])
    )


def test_random_histories_read_the_same_as_upstream(tmp_path):
    """Property: any sequence of saver calls leaves both savers' files reading identically."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    from hypothesis import HealthCheck, given, settings

    value = st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8) | st.binary(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
        max_leaves=6,
    )
    channel = st.sampled_from(["a", "b", "__error__", "__interrupt__", "__resume__", "__scheduled__"])
    op = st.one_of(
        st.tuples(
            st.just("put"),
            st.sampled_from(["t1", "t2"]),
            st.sampled_from(["", "ns"]),
            value,
            st.dictionaries(st.sampled_from(["source", "step", "x"]), value, max_size=2),
        ),
        st.tuples(
            st.just("put_writes"),
            st.lists(st.tuples(channel, value), min_size=1, max_size=3),
            st.sampled_from(["task-a", "task-b"]),
            st.sampled_from(["", "~1", "~0, a"]),
        ),
        st.tuples(st.just("delete"), st.sampled_from(["t1", "t2"])),
    )
    counter = iter(range(10**6))

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(op, min_size=1, max_size=12))
    def check(ops):
        n = next(counter)
        savers = [RustSqliteSaver(str(tmp_path / ("r%d.db" % n))), _upstream(str(tmp_path / ("u%d.db" % n)))]
        last = None
        for o in ops:
            if o[0] == "put":
                cp = _checkpoint({"v": o[3]})
                config = {"configurable": {"thread_id": o[1], "checkpoint_ns": o[2]}}
                try:
                    results = [s.put(config, cp, o[4], {}) for s in savers]
                except TypeError:  # metadata json.dumps refuses bytes: both must refuse
                    continue
                assert results[0] == results[1]
                last = results[0]
            elif o[0] == "put_writes" and last is not None:
                for s in savers:
                    s.put_writes(last, o[1], o[2], o[3])
            elif o[0] == "delete":
                for s in savers:
                    s.delete_thread(o[1])
        for thread in ("t1", "t2"):
            for config in (
                {"configurable": {"thread_id": thread}},
                {"configurable": {"thread_id": thread, "checkpoint_ns": "ns"}},
            ):
                assert savers[0].get_tuple(config) == savers[1].get_tuple(config)
                assert list(savers[0].list(config)) == list(savers[1].list(config))
        for filt in ({"source": None}, {"step": 1}, {"x": "a"}):
            assert list(savers[0].list(None, filter=filt)) == list(savers[1].list(None, filter=filt))

    check()


def test_group_commit_isolates_a_failing_writer(db):
    """Concurrent writes are committed together; one failing write fails alone."""
    saver = RustSqliteSaver(db)
    config = saver.put({"configurable": {"thread_id": "g", "checkpoint_ns": ""}}, _checkpoint({}), {}, {})
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON writes WHEN NEW.channel = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    conn.commit()
    barrier = threading.Barrier(8)
    outcome = {}

    def work(t):
        barrier.wait()
        for i in range(20):
            channels = [("a", i), ("boom", i)] if t == 3 else [("a", i), ("b", t)]
            try:
                saver.put_writes(config, channels, "task-%d-%d" % (t, i))
                outcome[(t, i)] = "ok"
            except sqlite3.IntegrityError:
                outcome[(t, i)] = "refused"

    run_in_threads(work, [(t,) for t in range(8)], timeout=60)
    assert all(v == ("refused" if t == 3 else "ok") for (t, _), v in outcome.items()) and len(outcome) == 160
    tasks = {w[0] for w in saver.get_tuple(config).pending_writes}
    assert tasks == {"task-%d-%d" % (t, i) for t in range(8) if t != 3 for i in range(20)}
    assert len(saver.get_tuple(config).pending_writes) == 7 * 20 * 2


# -- databases written before `writes.task_path` existed ------------------------------------
# langgraph-checkpoint-sqlite adds the column on setup (`ALTER TABLE ... ADD COLUMN task_path
# TEXT NOT NULL DEFAULT ''`, a "duplicate column" error counting as done); on a read-only file
# it cannot, and reads every write's task_path as ''. Old rows thus sort by (task_id, idx), the
# order the old saver read them in. RustSqliteSaver does the same on open.

LEGACY_WRITES = """
CREATE TABLE writes (
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    channel TEXT NOT NULL,
    type TEXT,
    value BLOB,
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
)"""


def _legacy_database(tmp_path, *names):
    """Identical files on the pre-task_path schema holding `_populate`'s history; its configs.
    In WAL mode, as every SqliteSaver release leaves a file."""
    source = str(tmp_path / "source.db")
    with RustSqliteSaver.from_conn_string(source) as saver:
        configs = _populate(saver)
    paths = []
    for name in names:
        path = str(tmp_path / name)
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(LEGACY_WRITES + ";\nATTACH DATABASE '%s' AS source;" % source)
        schema = conn.execute("SELECT sql FROM source.sqlite_master WHERE name = 'checkpoints'").fetchone()[0]
        conn.execute(schema)
        conn.execute("INSERT INTO checkpoints SELECT * FROM source.checkpoints")
        conn.execute(
            "INSERT INTO writes SELECT thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, value "
            "FROM source.writes"
        )
        conn.commit()
        conn.execute("DETACH DATABASE source")
        conn.close()
        paths.append(path)
    return paths, configs


def _schema(path):
    conn = sqlite3.connect(path)
    try:
        return [conn.execute("PRAGMA table_info(%s)" % t).fetchall() for t in ("checkpoints", "writes")]
    finally:
        conn.close()


def test_legacy_database_is_migrated_like_upstream(tmp_path):
    (ours, theirs), configs = _legacy_database(tmp_path, "ours.db", "theirs.db")
    assert "task_path" not in [c[1] for c in _schema(ours)[1]]
    for _ in range(2):  # opening again finds the column: nothing more to do
        RustSqliteSaver(ours).close()
    upstream = _upstream(theirs)
    upstream.setup()
    assert _schema(ours) == _schema(theirs)
    rust = RustSqliteSaver(ours)
    _assert_same(rust, upstream, configs)
    # Old rows have task_path '': their writes read back in (task_id, idx) order.
    assert [w[:2] for w in rust.get_tuple(configs[-1]).pending_writes] == [
        ("task-a", "n"),
        ("task-a", "extra"),
        ("task-b", "messages"),
        ("task-b", "n"),
        ("task-c", "__interrupt__"),
        ("task-c", "__error__"),
    ]
    # New writes carry their path (and sort after the old ones), in either file.
    for saver in (rust, upstream):
        saver.put_writes(configs[-1], [("late", 1)], "task-0", "~9, z")
    _assert_same(rust, upstream, configs)
    assert sqlite3.connect(ours).execute("SELECT task_path FROM writes WHERE task_id = 'task-0'").fetchall() == [
        ("~9, z",)
    ]
    # The migrated file is an ordinary one for either saver.
    _assert_same(RustSqliteSaver(ours), _upstream(ours), configs)


def test_savers_opening_a_legacy_database_at_once_all_succeed(tmp_path):
    """Each may find the column missing and ALTER; the losers' "duplicate column" counts as done."""
    (path,), configs = _legacy_database(tmp_path, "legacy.db")
    barrier = threading.Barrier(8)
    errors, savers = [], []

    def open_one():
        barrier.wait()
        try:
            savers.append(RustSqliteSaver(path))
        except Exception as exc:  # pragma: no cover - the failure is reported below
            errors.append(exc)

    run_in_threads(open_one, [()] * 8, timeout=60)
    assert errors == [] and len(savers) == 8
    assert [c[1] for c in _schema(path)[1]].count("task_path") == 1
    assert all(s.get_tuple(configs[-1]) == savers[0].get_tuple(configs[-1]) for s in savers)


def test_read_only_legacy_database_reads_like_upstream(tmp_path):
    (path,), configs = _legacy_database(tmp_path, "legacy.db")
    uri = "file:%s?mode=ro" % path
    rust = RustSqliteSaver(uri)
    upstream = SqliteSaver(sqlite3.connect(uri, uri=True, check_same_thread=False))
    _assert_same(rust, upstream, configs)
    assert "task_path" not in [c[1] for c in _schema(path)[1]]
    # Not in WAL mode either (SqliteSaver.setup() raises there: it cannot switch to WAL).
    rollback = str(tmp_path / "rollback.db")
    with sqlite3.connect(rollback) as copy:
        sqlite3.connect(path).backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    _assert_same(RustSqliteSaver("file:%s?mode=ro" % rollback), upstream, configs)
    assert sqlite3.connect(rollback).execute("PRAGMA journal_mode").fetchone() == ("delete",)
    for cfg in configs[:4]:
        for channels in (["n"], ["messages", "extra"]):
            assert rust.get_delta_channel_history(config=cfg, channels=channels) == (
                upstream.get_delta_channel_history(config=cfg, channels=channels)
            )
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        rust.put_writes(configs[0], [("x", 1)], "task-ro", "~0")
    with pytest.raises(sqlite3.OperationalError):  # SqliteSaver: "no column named task_path"
        upstream.put_writes(configs[0], [("x", 1)], "task-ro", "~0")
    assert rust.get_tuple(configs[0]) == upstream.get_tuple(configs[0])


def test_open_does_not_wait_on_another_writer(tmp_path):
    """A database already set up opens (and reads) while another connection holds the write lock."""
    path = str(tmp_path / "busy.db")
    with RustSqliteSaver.from_conn_string(path) as saver:
        configs = _populate(saver)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        saver = RustSqliteSaver(path, busy_timeout=0)
        assert saver.get_tuple(configs[0]) is not None
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            saver.put_writes(configs[0], [("x", 1)], "task-busy")
        saver.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_async_saver_setup_is_awaited_like_async_sqlite_saver(tmp_path):
    (path,), configs = _legacy_database(tmp_path, "legacy.db")

    async def main():
        async with AsyncRustSqliteSaver.from_conn_string(path) as saver:
            assert await saver.setup() is None
            return await saver.aget_tuple(configs[-1])

    assert asyncio.run(main()) == _upstream(path).get_tuple(configs[-1])
    assert RustSqliteSaver(path).setup() is None


def test_one_sqlite_in_the_process_keeps_python_sqlite3_locks(tmp_path):
    """RustSqliteSaver opening and closing a file does not drop Python's sqlite3 lock on it."""
    probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sqlite_lock_probe.py")
    proc = subprocess.run(
        [sys.executable, probe, str(tmp_path / "lock.db")],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        env=clean_env(),
        timeout=120,
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, "lock held"), proc.stderr


def test_saver_uses_python_sqlite3_library():
    assert RustSqliteSaver.sqlite_version() == sqlite3.sqlite_version


def test_no_python_sqlite3_means_a_clear_error_at_construction_only(py):
    """Without Python's sqlite3 the package still imports and patches; the saver says why it cannot open."""
    proc = py(
        """
        import sys
        sys.modules["_sqlite3"] = None  # as on an interpreter built without sqlite3
        import langgraph.graph, fast_langgraph
        from fast_langgraph import RustSqliteSaver
        assert {p["name"]: p["status"] for p in fast_langgraph.patch_status()}["executor"] == "applied"
        try:
            RustSqliteSaver(":memory:")
        except ImportError as exc:
            print(exc)
        """
    )
    assert proc.stdout.startswith(
        "RustSqliteSaver uses the SQLite library of Python's sqlite3 module, which cannot be imported"
    ), proc.stdout


def test_a_sqlite_other_than_python_sqlite3_is_refused(py):
    """The library found must be the one Python's sqlite3 reports; otherwise NotSupportedError, saying where it looked."""
    proc = py(
        """
        import sqlite3
        sqlite3.sqlite_version = "0.0.0"  # as if Python's sqlite3 used another library
        from fast_langgraph import RustSqliteSaver
        for _ in range(2):  # decided once per process, reported every time
            try:
                RustSqliteSaver(":memory:")
            except sqlite3.NotSupportedError as exc:
                print(exc)
        """
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and lines[0] == lines[1]
    assert "could not find it in this process" in lines[0] and "but Python's sqlite3 uses 0.0.0" in lines[0], lines[0]


def test_a_single_writer_seldom_waits_for_company(db):
    """The group-commit window: one thread writing checkpoint after checkpoint (nothing can
    join it) backs off to one window in 65 transactions, so it is not slowed down."""
    saver = RustSqliteSaver(db)  # WAL, synchronous=FULL: commits worth waiting for
    config = {"configurable": {"thread_id": "solo", "checkpoint_ns": ""}}
    for i in range(300):
        config = saver.put(config, _checkpoint({"v": i}), {"step": i}, {})
    stats = saver.write_stats()
    assert stats["writes"] == stats["transactions"] == 300
    assert stats["joined"] == 0 and stats["windows"] <= 6 + 300 // 65 + 1
    assert len(list(saver.list({"configurable": {"thread_id": "solo"}}))) == 300

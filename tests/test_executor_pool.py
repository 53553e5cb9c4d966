"""PooledExecutor keeps ContextThreadPoolExecutor's contract while reusing threads."""

import concurrent.futures
import contextvars
import threading
import time

import pytest

from conftest import run_in_threads

from fast_langgraph.executor_pool import ElasticThreadPool, PooledExecutor, get_executor_for_config

request_id = contextvars.ContextVar("request_id", default=None)


@pytest.fixture
def pool():
    p = ElasticThreadPool(idle_timeout=5.0, name_prefix="test-pool")
    yield p
    p.shutdown()


def test_results_exceptions_and_real_futures(pool):
    with PooledExecutor(4, pool) as ex:
        ok = ex.submit(lambda a, b=0: a + b, 1, b=2)
        bad = ex.submit(lambda: 1 / 0)
        assert isinstance(ok, concurrent.futures.Future)
        done, _ = concurrent.futures.wait([ok, bad], timeout=10)
        assert len(done) == 2
    assert ok.result() == 3
    with pytest.raises(ZeroDivisionError):
        bad.result()


def test_base_exceptions_are_captured_like_thread_pool_executor(pool):
    class Stop(BaseException):
        pass

    def raise_stop():
        raise Stop()

    with PooledExecutor(1, pool) as ex:
        fut = ex.submit(raise_stop)
        after = ex.submit(lambda: "still runs")
    assert isinstance(fut.exception(), Stop)
    assert after.result() == "still runs"


def test_context_is_copied_per_submit(pool):
    seen = []

    def read_and_write():
        seen.append(request_id.get())
        request_id.set("changed inside")

    request_id.set("outer")
    with PooledExecutor(2, pool) as ex:
        ex.submit(read_and_write).result()
        request_id.set("second")
        ex.submit(read_and_write).result()
    assert seen == ["outer", "second"]
    assert request_id.get() == "second"  # writes in a task never leak back


def test_max_workers_limits_concurrency(pool):
    running = 0
    peak = 0
    lock = threading.Lock()

    def task():
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1

    with PooledExecutor(3, pool) as ex:
        futures = [ex.submit(task) for _ in range(20)]
    assert all(f.done() for f in futures)
    assert peak == 3


def test_default_and_invalid_max_workers(pool):

    assert PooledExecutor(None, pool)._max_workers == concurrent.futures.ThreadPoolExecutor()._max_workers
    with pytest.raises(ValueError, match="max_workers must be greater than 0"):
        PooledExecutor(0, pool)
    assert get_executor_for_config({"max_concurrency": 2})._max_workers == 2
    assert get_executor_for_config(None)._max_workers == PooledExecutor(None, pool)._max_workers


def test_exit_waits_for_queued_work(pool):
    order = []
    with PooledExecutor(1, pool) as ex:
        for i in range(5):
            ex.submit(lambda i=i: (time.sleep(0.005), order.append(i)))
    assert order == [0, 1, 2, 3, 4]


def test_submit_after_shutdown_raises(pool):
    ex = PooledExecutor(1, pool)
    ex.shutdown()
    with pytest.raises(RuntimeError, match="after shutdown"):
        ex.submit(print)


def test_cancel_before_start_and_cancel_futures(pool):
    gate = threading.Event()
    ex = PooledExecutor(1, pool)
    blocker = ex.submit(gate.wait)
    queued = ex.submit(lambda: "never")
    also_queued = ex.submit(lambda: "never either")
    assert queued.cancel()
    ex.shutdown(wait=False, cancel_futures=True)
    gate.set()
    ex.shutdown(wait=True)
    assert blocker.result() is True
    assert queued.cancelled() and also_queued.cancelled()


def test_wait_first_completed_and_callbacks(pool):
    gate = threading.Event()
    calls = []
    with PooledExecutor(2, pool) as ex:
        slow = ex.submit(gate.wait, 10)
        fast = ex.submit(lambda: "fast")
        fast.add_done_callback(lambda f: calls.append(f.result()))
        done, pending = concurrent.futures.wait([slow, fast], return_when=concurrent.futures.FIRST_COMPLETED)
        assert fast in done and slow in pending
        gate.set()
    assert calls == ["fast"]


def test_map_matches_thread_pool_executor(pool):
    with PooledExecutor(3, pool) as ex:
        assert list(ex.map(lambda a, b: a * b, range(10), range(10))) == [i * i for i in range(10)]


def test_threads_are_reused_across_executors(pool):
    names = set()
    for _ in range(20):
        with PooledExecutor(2, pool) as ex:
            ex.submit(lambda: names.add(threading.current_thread().name)).result()
    assert len(names) <= 2
    assert pool.thread_count <= 2


def test_nested_executors_never_deadlock(pool):
    # Every level waits inside a worker for work submitted to a fresh executor;
    # a bounded shared pool would starve here.
    def level(depth):
        if depth == 0:
            return 1
        with PooledExecutor(2, pool) as ex:
            futures = [ex.submit(level, depth - 1) for _ in range(2)]
            return sum(f.result() for f in futures)

    with PooledExecutor(1, pool) as ex:
        assert ex.submit(level, 6).result(timeout=60) == 64


def test_idle_workers_retire():
    p = ElasticThreadPool(idle_timeout=0.05)
    with PooledExecutor(4, p) as ex:
        barrier = threading.Barrier(4)
        for _ in range(4):
            ex.submit(barrier.wait, 5)
    assert p.thread_count == 4
    deadline = time.monotonic() + 5
    while p.thread_count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert p.thread_count == 0
    with PooledExecutor(1, p) as ex:  # and the pool still works afterwards
        assert ex.submit(lambda: "back").result() == "back"
    p.shutdown()


def test_many_threads_submitting_at_once(pool):
    results = []
    lock = threading.Lock()

    def client(n):
        with PooledExecutor(2, pool) as ex:
            total = sum(f.result() for f in [ex.submit(pow, i, 2) for i in range(n)])
        with lock:
            results.append(total)

    run_in_threads(client, [(50,) for _ in range(8)], timeout=60)
    assert results == [sum(i * i for i in range(50))] * 8


def test_fork_child_gets_its_own_pool(py):
    proc = py(
        """
        import os, sys
        from fast_langgraph import executor_pool as ep
        with ep.get_executor_for_config({}) as ex:
            parent_pool = ep.shared_pool()
            assert ex.submit(lambda: 1).result() == 1
        pid = os.fork()
        if pid == 0:
            try:
                with ep.get_executor_for_config({}) as ex:
                    ok = ex.submit(lambda: 41 + 1).result(timeout=10) == 42
                os._exit(0 if ok and ep.shared_pool() is not parent_pool else 3)
            except BaseException:
                os._exit(4)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        """,
        timeout=60,
    )
    assert proc.stdout.strip() == "0"


def test_interpreter_exit_joins_workers(py):
    proc = py(
        """
        import time
        from fast_langgraph.executor_pool import get_executor_for_config
        with get_executor_for_config({}) as ex:
            ex.submit(time.sleep, 0.01)
        print("exiting")
        """,
        timeout=30,
    )
    assert proc.stdout.strip() == "exiting" and proc.stderr == ""

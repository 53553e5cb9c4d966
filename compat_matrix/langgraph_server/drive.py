#!/usr/bin/env python3
"""The LangGraph server (``langgraph dev``, langgraph-api's in-memory runtime) serving the
async chat agent of ``python -m fast_langgraph.bench production``, driven with langgraph-sdk
clients, vanilla (``FAST_LANGGRAPH=0``) against accelerated.

Each sample starts a fresh server (a copy of this folder in a temporary directory, 127.0.0.1,
a free port), asks its ``GET /fast_langgraph/doctor`` route (webapp.py) what fast_langgraph
did in the server process, then runs ``--threads`` conversations of ``--turns`` turns at once
(``threads.create``, ``runs.stream(stream_mode="updates")``, ``threads.get_state``), and stops
the server. The modes alternate (ABBA); reported: median wall time per turn (and spread),
the server process's CPU time per turn (``/proc/PID/stat``), and whether the streamed
updates and final states were equal.

Needs, in the interpreter that runs it: ``pip install "langgraph-cli[inmem]" langgraph-sdk``
and fast-langgraph (its autoload active). Run from anywhere::

    python compat_matrix/langgraph_server/drive.py --rounds 3
"""

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


class Server:
    def __init__(self, accelerated: bool, jobs: int) -> None:
        self.dir = tempfile.mkdtemp(prefix="fast_langgraph_server_")
        for name in ("agent.py", "webapp.py", "langgraph.json"):
            shutil.copy(os.path.join(HERE, name), self.dir)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAST_LANGGRAPH")}
        env.update(LANGSMITH_TRACING="false", LANGGRAPH_CLI_NO_ANALYTICS="1")
        if not accelerated:
            env["FAST_LANGGRAPH"] = "0"
        cli = os.path.join(os.path.dirname(sys.executable), "langgraph")
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(
            [
                cli,
                "dev",
                "--no-browser",
                "--no-reload",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n-jobs-per-worker",
                str(jobs),
            ],
            cwd=self.dir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait(self, timeout: float = 60) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited %s: %s" % (self.proc.returncode, self.tail()))
            try:
                get_json(self.url + "/ok")
                return get_json(self.url + "/fast_langgraph/doctor")
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("server not up after %gs: %s" % (timeout, self.tail()))

    def tail(self) -> str:
        self.log.flush()
        with open(os.path.join(self.dir, "server.log"), errors="replace") as f:
            return f.read()[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _scrub(chunk: Any) -> Any:
    """What a streamed update says, without the server's run/thread ids."""
    msgs = (chunk or {}).get("messages") if isinstance(chunk, dict) else None
    if msgs is None:
        return chunk
    return [(m.get("type"), m.get("id"), m.get("content"), m.get("tool_calls")) for m in msgs]


async def conversation(client: Any, turns: int, digest: Any) -> str:
    thread = await client.threads.create()
    for t in range(turns):
        inp = {
            "messages": [{"type": "human", "content": "question %d about the order history" % t, "id": "human-%d" % t}]
        }
        async for part in client.runs.stream(thread["thread_id"], "agent", input=inp, stream_mode="updates"):
            if part.event == "updates":
                digest.update(repr({k: _scrub(v) for k, v in part.data.items()}).encode())
            elif part.event == "error":
                raise RuntimeError("run failed: %r" % (part.data,))
    state = await client.threads.get_state(thread["thread_id"])
    return repr(_scrub(state["values"]))


async def workload(url: str, threads: int, turns: int) -> Dict[str, Any]:
    from langgraph_sdk import get_client

    client = get_client(url=url)
    await conversation(client, 1, hashlib.sha256())  # warm-up: graph import, first run
    digests = [hashlib.sha256() for _ in range(threads)]
    start = time.perf_counter()
    finals = await asyncio.gather(*(conversation(client, turns, digests[i]) for i in range(threads)))
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "result": sorted(d.hexdigest()[:16] for d in digests)
        + [hashlib.sha256("".join(sorted(finals)).encode()).hexdigest()[:16]],
    }


def sample(accelerated: bool, threads: int, turns: int, jobs: int) -> Dict[str, Any]:
    server = Server(accelerated, jobs)
    try:
        doctor = server.wait()
        pid = doctor["pid"]
        cpu0 = cpu_seconds(pid)
        out = asyncio.run(workload(server.url, threads, turns))
        out["server_cpu_s"] = cpu_seconds(pid) - cpu0
        out["doctor"] = doctor
        return out
    finally:
        server.stop()


def main(argv: Any = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=16, help="conversations at once (default 16)")
    p.add_argument("--turns", type=int, default=3, help="turns per conversation (default 3)")
    p.add_argument("--jobs", type=int, default=16, help="langgraph dev --n-jobs-per-worker (default 16)")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    n = args.threads * args.turns
    samples: Dict[str, List[Dict[str, Any]]] = {"vanilla": [], "accelerated": []}
    for r in range(args.rounds):
        for mode in ("vanilla", "accelerated") if r % 2 == 0 else ("accelerated", "vanilla"):
            out = sample(mode == "accelerated", args.threads, args.turns, args.jobs)
            samples[mode].append(out)
            d = out["doctor"]
            applied = sorted(k for k, v in d["patches"].items() if v == "applied")
            print(
                "round %d %-11s %7.2f ms/turn  server CPU %6.2f ms/turn  server pid %d bootstrap=%s applied=%s"
                % (
                    r,
                    mode,
                    out["wall_s"] / n * 1e3,
                    out["server_cpu_s"] / n * 1e3,
                    d["pid"],
                    d["bootstrap"],
                    ",".join(applied) or "-",
                ),
                flush=True,
            )
    row: Dict[str, Any] = {"threads": args.threads, "turns": args.turns, "rounds": args.rounds}
    for mode, s in samples.items():
        wall = [x["wall_s"] / n * 1e3 for x in s]
        cpu = [x["server_cpu_s"] / n * 1e3 for x in s]
        row[mode] = {
            "ms_per_turn": statistics.median(wall),
            "spread": [min(wall), max(wall)],
            "server_cpu_ms_per_turn": statistics.median(cpu),
            "cpu_spread": [min(cpu), max(cpu)],
            "turns_per_s": 1e3 / statistics.median(wall),
        }
    results = {json.dumps(x["result"]) for m in samples for x in samples[m]}
    row["same_result"] = len(results) == 1
    row["ratio"] = row["vanilla"]["ms_per_turn"] / row["accelerated"]["ms_per_turn"]
    row["cpu_ratio"] = row["vanilla"]["server_cpu_ms_per_turn"] / row["accelerated"]["server_cpu_ms_per_turn"]
    row["accelerated_active"] = all(x["doctor"]["bootstrap"] == "activated" for x in samples["accelerated"])
    row["vanilla_inactive"] = all(x["doctor"]["bootstrap"] != "activated" for x in samples["vanilla"])
    v, a = row["vanilla"], row["accelerated"]
    print(
        "\n%d conversations x %d turns at once, %d rounds (median, min-max):" % (args.threads, args.turns, args.rounds)
    )
    print(
        "  vanilla     %7.2f ms/turn (%.2f-%.2f)  %6.1f turns/s  server CPU %.2f ms/turn (%.2f-%.2f)"
        % (v["ms_per_turn"], *v["spread"], v["turns_per_s"], v["server_cpu_ms_per_turn"], *v["cpu_spread"])
    )
    print(
        "  accelerated %7.2f ms/turn (%.2f-%.2f)  %6.1f turns/s  server CPU %.2f ms/turn (%.2f-%.2f)"
        % (a["ms_per_turn"], *a["spread"], a["turns_per_s"], a["server_cpu_ms_per_turn"], *a["cpu_spread"])
    )
    print(
        "  throughput %.2fx, server CPU per turn %.2fx; results %s; accelerator active in the accelerated "
        "servers: %s, inactive in the vanilla ones: %s"
        % (
            row["ratio"],
            row["cpu_ratio"],
            "equal" if row["same_result"] else "DIFFER",
            row["accelerated_active"],
            row["vanilla_inactive"],
        )
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(row, f, indent=2)
    return 0 if row["same_result"] and row["accelerated_active"] and row["vanilla_inactive"] else 1


if __name__ == "__main__":
    sys.exit(main())

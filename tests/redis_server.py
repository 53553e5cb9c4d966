"""A throw-away ``redis-server`` on 127.0.0.1 for the Redis cache tests.

No persistence (``--save "" --appendonly no``), a free port, its own temporary
directory; ``pause``/``resume`` (SIGSTOP/SIGCONT), ``kill`` (SIGKILL) and
``start`` again on the same port simulate a hung, a dead and a restarted Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Optional

BINARY_ENV = "REDIS_SERVER"  # path of redis-server, if not on PATH


def redis_server_binary() -> Optional[str]:
    explicit = os.environ.get(BINARY_ENV)
    candidates = (
        [explicit]
        if explicit
        else [shutil.which("redis-server"), "/usr/bin/redis-server", "/usr/local/bin/redis-server"]
    )
    return next((p for p in candidates if p and os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, binary: Optional[str] = None, port: Optional[int] = None) -> None:
        found = binary or redis_server_binary()
        if found is None:
            raise RuntimeError("redis-server not found")
        self.binary: str = found
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="fast_langgraph_redis_")
        self.log = os.path.join(self.dir, "redis.log")
        self.proc: Optional["subprocess.Popen[bytes]"] = None

    @property
    def url(self) -> str:
        return "redis://127.0.0.1:%d/0" % self.port

    def start(self, timeout: float = 10.0) -> "RedisServer":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.proc = subprocess.Popen(
            [
                self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.dir, "--daemonize", "no", "--loglevel", "warning", "--logfile", self.log,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                try:
                    with open(self.log, errors="replace") as f:
                        tail = f.read()[-2000:]
                except OSError:
                    tail = ""
                raise RuntimeError("redis-server exited (%s): %s" % (self.proc.returncode, tail))
            if self.ping():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis-server did not answer on port %d within %gs" % (self.port, timeout))

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: the port closes at once, connections are reset."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)  # a stopped process would not see SIGTERM
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

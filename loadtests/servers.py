"""Starting and stopping the servers under test: the hub and its peers.

Each server is one process, pinned to the cores given to servers, sharing the
run's own Redis (never the machine's 6379). The uvicorn-served ones (the hub,
the baseline, python-socketio, Django Channels) all use uvicorn's
``websockets-sansio`` implementation, as `homi-hub serve` does, and the same
event loop (uvloop when installed), so they differ only in their own code.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NODE_PEER = HERE / "peers" / "node"

START_TIMEOUT = 30.0


class ServerFailed(RuntimeError):
    """A server did not start, or died while being measured."""


@dataclass(frozen=True)
class ServerSpec:
    name: str
    dialect: str
    label: str
    argv: Callable[[int], list[str]]
    env: Callable[[str], dict[str, str]] = field(default=lambda url: {})
    ready_path: str = "/healthz"

    @property
    def is_hub(self) -> bool:
        """The hub itself, on whichever websocket implementation."""
        return self.dialect == "homi"

    def available(self) -> str | None:
        """None when this server can run here, else why not."""
        if self.name == "node":
            if shutil.which("node") is None:
                return "node is not installed"
            if not (NODE_PEER / "node_modules").is_dir():
                return f"run `npm ci` in {NODE_PEER.relative_to(ROOT)}"
            return None
        module = {"socketio": "socketio", "channels": "channels_redis"}.get(self.name)
        if self.name == "hub-main":
            checkout = os.environ.get("HUB_MAIN_CHECKOUT", "")
            if not checkout or not (Path(checkout) / "hub" / "cli.py").is_file():
                return "set HUB_MAIN_CHECKOUT to a checkout of the hub (git worktree)"
        if self.name == "hub-wsproto":
            module = "wsproto"
        if module is not None:
            import importlib.util

            if importlib.util.find_spec(module) is None:
                return f"no python package for {self.name}: pip install -e '.[bench]'"
        return None


def _uvicorn(target: str) -> Callable[[int], list[str]]:
    def argv(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            "websockets-sansio",
            "--log-level",
            "warning",
            "--no-access-log",
        ]

    return argv


def _hub_on(implementation: str) -> Callable[[int], list[str]]:
    def argv(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "loadtests.peers.hub_ws",
            implementation,
            str(port),
        ]

    return argv


HUB_ENV_FOR_FANOUT = {
    # Let every location frame through: the hub coalesces a caretaker's fixes
    # to one per 0.25 s and rate-limits frames per connection, which would
    # cap the offered load far below what a fan-out benchmark needs.
    "HUB_LOCATION_MIN_INTERVAL": "0",
    "HUB_FRAMES_PER_SECOND": "100000",
    "HUB_FRAME_BURST": "100000",
    "HUB_LOG_LEVEL": "WARNING",
}


def hub_env(redis_url: str, secret: str, prefix: str) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "HUB_SECRET_KEY": secret,
        "HUB_KEY_PREFIX": prefix,
        **HUB_ENV_FOR_FANOUT,
    }


SERVERS: dict[str, ServerSpec] = {
    "hub": ServerSpec(
        name="hub",
        dialect="homi",
        label="Homi hub",
        argv=lambda port: [
            sys.executable,
            "-m",
            "hub.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        ready_path="/readyz",
    ),
    # The hub on uvicorn's other websocket implementations, for side-by-side
    # memory figures (`loadtests.peers.hub_ws`); not in the default suite.
    **{
        f"hub-{short}": ServerSpec(
            name=f"hub-{short}",
            dialect="homi",
            label=f"Homi hub on uvicorn's {implementation}",
            argv=_hub_on(implementation),
            ready_path="/readyz",
        )
        for short, implementation in (
            ("sansio", "websockets-sansio"),
            ("wsproto", "wsproto"),
            ("websockets", "websockets"),
        )
    },
    # The hub from another checkout (HUB_MAIN_CHECKOUT, say a worktree of
    # main), to measure a change beside the code before it in the same run.
    "hub-main": ServerSpec(
        name="hub-main",
        dialect="homi",
        label="Homi hub, main before this round",
        argv=lambda port: [
            sys.executable,
            "-c",
            "import os, sys; sys.path.insert(0, os.environ['HUB_MAIN_CHECKOUT']); "
            "from hub.cli import main; "
            f"main(['serve', '--host', '127.0.0.1', '--port', '{port}'])",
        ],
        ready_path="/readyz",
    ),
    "baseline": ServerSpec(
        name="baseline",
        dialect="plain",
        label="Starlette + redis.asyncio (bare)",
        argv=_uvicorn("loadtests.peers.baseline:app"),
    ),
    "socketio": ServerSpec(
        name="socketio",
        dialect="engineio",
        label="python-socketio + AsyncRedisManager",
        argv=_uvicorn("loadtests.peers.socketio_py:app"),
        ready_path="",  # polling is off, so only the port can be probed
    ),
    "channels": ServerSpec(
        name="channels",
        dialect="plain",
        label="Django Channels + channels_redis",
        argv=_uvicorn("loadtests.peers.django_channels.asgi:application"),
        env=lambda url: {
            "DJANGO_SETTINGS_MODULE": "loadtests.peers.django_channels.settings"
        },
        ready_path="",
    ),
    "node": ServerSpec(
        name="node",
        dialect="engineio",
        label="Node socket.io + redis-adapter",
        argv=lambda port: ["node", str(NODE_PEER / "server.js")],
    ),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pinned(cores: set[int] | None) -> Callable[[], None] | None:
    if not cores:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cores)

    return pin


class RunningServer:
    """One server process; `stop` ends it (and only it)."""

    def __init__(
        self, spec: ServerSpec, env: dict[str, str], cores: set[int] | None, log: Path
    ) -> None:
        self.spec = spec
        self.port = free_port()
        self._log = log.open("wb")
        full_env = {
            **os.environ,
            **env,
            "PORT": str(self.port),
            "PYTHONPATH": str(ROOT),
        }
        self.process = subprocess.Popen(
            spec.argv(self.port),
            cwd=ROOT,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=pinned(cores),
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(
                    f"{self.spec.name} exited with {self.process.returncode}"
                )
            if self._answers():
                return
            time.sleep(0.1)
        raise ServerFailed(f"{self.spec.name} not ready within {timeout:.0f} s")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                pass
        except OSError:
            return False
        if not self.spec.ready_path:
            return True
        url = f"http://127.0.0.1:{self.port}{self.spec.ready_path}"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()


class RedisProcess:
    """The run's own redis-server on a free loopback port, without persistence."""

    def __init__(self, cores: set[int] | None, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerFailed("redis-server is not on the PATH")
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--maxclients",
                "20000",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=pinned(cores),
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise ServerFailed("redis-server did not start")

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

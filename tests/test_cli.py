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
    """The whole of stderr, which must be exactly one line starting "Error: "."""
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {result.stderr!r}"
    assert lines[0].startswith("Error: "), lines[0]
    return lines[0]


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


@pytest.mark.parametrize(
    ("args", "expected", "help_of"),
    [
        (["serve", "--port", "not-a-port"], "Invalid value for '--port'", "serve"),
        (["serve", "--port", "70000"], "Invalid value for '--port'", "serve"),
        (["serve", "--verbose"], "No such option '--verbose'", "serve"),
        (["serve", "extra"], "unexpected extra argument (extra)", "serve"),
        (["launch"], "No such command 'launch'", ""),
        (["users", "add", "--name", "X"], "Missing option '--role'", "users add"),
        (["users", "add", "--role", "boss"], "Invalid value for '--role'", "users add"),
        (["demo", "--duration", "0"], "Invalid value for '--duration'", "demo"),
        (["directory", "load"], "Missing argument 'FILE'", "directory load"),
        (["directory", "load", "/no/such.json"], "does not exist", "directory load"),
    ],
)
def test_bad_flag_or_argument_is_one_line_pointing_to_help(
    args: list[str], expected: str, help_of: str
) -> None:
    result = homi(*args)
    line = one_line_error(result)
    assert result.returncode == 2
    assert expected in line
    command = f"python -m hub.cli {help_of}".strip()
    assert line.endswith(f"; see '{command} --help'")


def test_a_choice_in_a_usage_error_stays_on_one_line() -> None:
    line = one_line_error(homi("users", "add", "--id", "k9", "--name", "Y"))
    assert "Choose from: tenant, caretaker, agent;" in line


def test_a_bare_group_still_shows_its_help() -> None:
    result = homi("users")
    assert result.returncode != 0
    assert "Usage:" in result.stderr + result.stdout
    assert "add" in result.stderr + result.stdout


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

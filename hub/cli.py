"""`homi-hub`: run the hub, run the demo, manage the directory.

Every failure a user can cause (a bad flag, an unreachable Redis, a port in
use, a broken directory file) ends with one line on stderr saying what to do
and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import click
import orjson
import redis
import redis.asyncio
from pydantic import ValidationError
from pydantic_settings import SettingsError

from hub.config import Settings
from hub.logs import configure_logging


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = str(first["loc"][0])
        # REDIS_URL is read under its own name (an alias); the rest by prefix.
        name = field if field.isupper() else "HUB_" + field.upper()
        message = first["msg"].removeprefix("Value error, ")
        raise click.ClickException(f"{name}: {message}") from None
    except SettingsError as exc:
        # A setting that must be JSON (the deadline tables) and is not: the
        # message names the field, e.g. 'error parsing value for field
        # "accept_deadline_hours" from source "EnvSettingsSource"'.
        field = str(exc).split('"')[1] if '"' in str(exc) else "a HUB_ setting"
        raise click.ClickException(
            f"HUB_{field.upper()}: not valid JSON (see docs/configuration.md)"
        ) from None


def listening_socket(host: str, port: int, send_buffer: int) -> socket.socket:
    """The server socket, bound and listening, or a one-line error.

    Connections accepted from it inherit its send buffer size (Linux copies
    SO_SNDBUF to accepted sockets), which bounds what one slow client can
    park in the kernel.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"port {port} on {host} is already in use; choose another with --port"
            ) from None
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror}"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def check_redis(url: str) -> None:
    """Ping the operator's Redis once, or exit with a one-line error."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        raise click.ClickException(
            f"cannot reach Redis at REDIS_URL ({type(exc).__name__}); is it running?"
        ) from None
    finally:
        client.close()


def uvicorn_config(app: Any, settings: Settings, **overrides: Any) -> Any:
    """The uvicorn settings the hub runs with (shared by serve, demo and tests)."""
    import uvicorn

    from hub.ws.server_protocol import LeanWebSocketProtocol

    options: dict[str, Any] = {
        # uvicorn's websockets-sansio, less what it keeps after the handshake.
        "ws": LeanWebSocketProtocol,
        "ws_max_size": settings.max_frame_bytes,
        # Compression would make every frame cost a deflate per connection,
        # undoing "encode once, send the same bytes to everyone".
        "ws_per_message_deflate": False,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "timeout_graceful_shutdown": 10,
        "log_config": None,
        "access_log": False,
        "lifespan": "on",
        **overrides,
    }
    return uvicorn.Config(app, **options)


class _Terminated(Exception):
    """SIGTERM arrived (again) after uvicorn's graceful shutdown."""


def _stopped_by_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated


def run_server(settings: Settings, host: str, port: int) -> None:
    """Serve one hub process until SIGINT/SIGTERM."""
    import uvicorn

    from hub.app import create_app

    sock = listening_socket(host, port, settings.socket_send_buffer)
    if settings.redis_url:
        check_redis(settings.redis_url)
    app = create_app(settings, tune_gc=True)
    server = uvicorn.Server(uvicorn_config(app, settings))
    # uvicorn names no address when handed a socket; the operator wants one.
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    logging.getLogger("hub").info("listening on http://%s:%s", shown, bound_port)
    # uvicorn shuts down gracefully on SIGTERM and then raises the signal
    # again, which by default kills the process with status -15. A stop that
    # was asked for and went cleanly is a success: make that re-raise end here.
    previous = signal.signal(signal.SIGTERM, _stopped_by_sigterm)
    try:
        server.run(sockets=[sock])
    except (KeyboardInterrupt, _Terminated):
        # uvicorn has already shut down cleanly and re-raised the signal.
        return
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not server.started:
        raise click.ClickException("the hub did not start; see the log above")


# Click >= 8.2 raises this for a bare group (`homi-hub`, `homi-hub users`);
# its help text is the right answer there, not a one-line error.
_HELP_INSTEAD = getattr(click.exceptions, "NoArgsIsHelpError", ())


class UsageLine(click.ClickException):
    """A usage error told in one line: what is wrong, and where help is."""

    exit_code = 2


def _one_line(error: click.UsageError) -> UsageLine:
    # Some of Click's messages span lines (a Choice lists one value a line).
    message = " ".join(error.format_message().split()).rstrip(".")
    command = error.ctx.command_path if error.ctx is not None else "homi-hub"
    return UsageLine(f"{message}; see '{command} --help'")


class HubGroup(click.Group):
    """Click's group, but a bad flag or argument gives one line on stderr,
    not the usage block, a "Try" line and the error."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            if isinstance(error, _HELP_INSTEAD):
                raise
            raise _one_line(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            if isinstance(error, _HELP_INSTEAD):
                raise
            raise _one_line(error) from None


@click.group(cls=HubGroup)
@click.version_option(package_name="homi-hub")
def main() -> None:
    """Homi hub: live caretaker presence and tickets for social-housing tenants."""


@main.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    """Run one hub process (configuration from HUB_* variables and REDIS_URL)."""
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    run_server(settings, host, port)


@main.group(cls=HubGroup)
def directory() -> None:
    """Load districts, caretakers, tenants and agents."""


async def _with_store(settings: Settings, work: Any) -> Any:
    from hub.directory.store import DirectoryStore
    from hub.redis_server import start_embedded_redis

    embedded = None
    url = settings.redis_url
    if url is None:
        embedded = await asyncio.to_thread(start_embedded_redis, settings.data_dir)
        url = embedded.url
    else:
        check_redis(url)
    client = redis.asyncio.Redis.from_url(url)
    try:
        return await work(DirectoryStore(client, settings.key_prefix))
    finally:
        await client.aclose()
        if embedded is not None:
            embedded.stop()


@directory.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def directory_load(file: Path) -> None:
    """Add or replace everything in FILE (format: docs/directory-format.md)."""
    from hub.directory.model import DirectoryFile

    settings = _settings()
    try:
        data = orjson.loads(file.read_bytes())
        parsed = DirectoryFile.model_validate(data)
    except orjson.JSONDecodeError as exc:
        raise click.ClickException(f"{file}: not valid JSON ({exc})") from None
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        raise click.ClickException(f"{file}: {where}: {first['msg']}") from None
    counts = asyncio.run(_with_store(settings, lambda store: store.load(parsed)))
    click.echo(
        ", ".join(f"{count} {name}" for name, count in counts.items()) + " loaded"
    )


@main.group(cls=HubGroup)
def users() -> None:
    """Add single users."""


@users.command("add")
@click.option(
    "--role", required=True, type=click.Choice(["tenant", "caretaker", "agent"])
)
@click.option("--id", "user_id", required=True, help="Customer number or employee id.")
@click.option("--name", required=True)
@click.option("--district", "districts", multiple=True, help="Repeat for several.")
def users_add(role: str, user_id: str, name: str, districts: tuple[str, ...]) -> None:
    """Add a user; the password is read from stdin (one line)."""
    from hub.directory.model import ID_RE, Role

    if not ID_RE.match(user_id):
        raise click.BadParameter(
            "lowercase letters, digits, - and _ only", param_hint="--id"
        )
    if role == "agent" and districts:
        raise click.BadParameter("agents have no district", param_hint="--district")
    if role != "agent" and not districts:
        raise click.BadParameter(f"a {role} needs --district", param_hint="--district")
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise click.ClickException("no password on stdin")
    settings = _settings()

    async def add(store: Any) -> None:
        await store.add_user(user_id, Role(role), name, list(districts), password)

    try:
        asyncio.run(_with_store(settings, add))
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{role} {user_id} added")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--duration", type=click.FloatRange(min=1), help="Stop after this many seconds."
)
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.1, 100),
    help="How much faster than real time the demo's world runs.",
)
def demo(host: str, port: int, duration: float | None, speed: float) -> None:
    """Start the hub with a live demo on real Rotterdam data."""
    from hub.demo.runner import run_demo

    settings = _settings()
    configure_logging("WARNING", settings.log_format)
    run_demo(settings, host=host, port=port, duration=duration, speed=speed)


if __name__ == "__main__":
    main()

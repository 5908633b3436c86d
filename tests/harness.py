"""Running real hubs for end-to-end tests.

`running_hub` serves the app with uvicorn in the test's own event loop on a
free port; `HubProcess` starts `homi-hub serve` as a separate process (for
several processes on one Redis, and for killing one with SIGKILL). Both
talk to a real Redis; `load_directory` writes a small directory into it.
`Client` is a thin websocket client that keeps frames in order and waits
for the one a test expects, with the suite's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import msgpack
import orjson
import redis.asyncio
import uvicorn
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from hub.app import create_app
from hub.auth.passwords import hash_password
from hub.cli import listening_socket, uvicorn_config
from hub.config import Settings
from hub.directory.model import DirectoryFile
from hub.directory.store import DirectoryStore
from hub.redis_server import free_port
from tests.conftest import TIMEOUT

SECRET = "test-secret-key-not-for-production"

SMALL_DIRECTORY: dict[str, Any] = {
    "districts": [
        {
            "id": "noord",
            "name": "Noord",
            "number": 6,
            "boundary": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [4.46, 51.93],
                        [4.50, 51.93],
                        [4.50, 51.95],
                        [4.46, 51.95],
                        [4.46, 51.93],
                    ]
                ],
            },
        },
        {"id": "zuid", "name": "Zuid", "number": 10},
    ],
    "caretakers": [
        {
            "id": "w1",
            "name": "Sanne de Vries",
            "password": "beheerder",
            "districts": ["noord"],
            "profile": {
                "age": 44,
                "favourite_dish": "stamppot",
                "hobbies": ["vissen"],
                "work": "rondes door de flats",
                "reachable": "ma-vr 8-16",
            },
        },
        {
            "id": "w2",
            "name": "Ahmed Benali",
            "password": "beheerder",
            "districts": ["zuid"],
        },
    ],
    "tenants": [
        {
            "id": "100001",
            "name": "Mevrouw Jansen",
            "password": "huurder",
            "district": "noord",
        },
        {
            "id": "100002",
            "name": "Meneer Peters",
            "password": "huurder",
            "district": "noord",
        },
        {
            "id": "200001",
            "name": "Mevrouw Öztürk",
            "password": "huurder",
            "district": "zuid",
        },
    ],
    "agents": [
        {"id": "k1", "name": "Klantenservice Kim", "password": "klantenservice"}
    ],
}

PASSWORDS = {
    "w1": "beheerder",
    "w2": "beheerder",
    "100001": "huurder",
    "100002": "huurder",
    "200001": "huurder",
    "k1": "klantenservice",
}


def hub_settings(redis_url: str, prefix: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "REDIS_URL": redis_url,
        "key_prefix": prefix,
        "secret_key": SECRET,
        # Short enough for the deaf-listener tests to be quick, long enough
        # that a busy 2-core machine does not make a healthy listener look
        # deaf (a false alarm resubscribes and sends snapshots mid-test).
        "canary_interval": 0.2,
        "canary_timeout": 3.0,
        **overrides,
    }
    return Settings(**values)


@functools.cache
def _small_directory_hashed() -> DirectoryFile:
    """SMALL_DIRECTORY with passwords hashed once per test run, not per test."""
    hashes = {password: hash_password(password) for password in set(PASSWORDS.values())}
    data = copy.deepcopy(SMALL_DIRECTORY)
    for group in ("caretakers", "tenants", "agents"):
        for user in data[group]:
            user["password_hash"] = hashes[user.pop("password")]
    return DirectoryFile.model_validate(data)


async def stream_entries(
    client: redis.asyncio.Redis, key: str
) -> list[tuple[str, dict[bytes, bytes]]]:
    """Every entry of a Redis stream as (id, fields), read by a client that
    leaves replies as bytes. redis-py types the reply for clients of either
    kind, with None allowed throughout, so it is narrowed here once."""
    entries = []
    for entry_id, fields in await client.xrange(key) or []:
        assert isinstance(entry_id, bytes) and fields is not None
        entries.append((entry_id.decode(), cast("dict[bytes, bytes]", fields)))
    return entries


async def load_directory(
    redis_url: str, prefix: str, data: dict[str, Any] | None = None
) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    directory = (
        DirectoryFile.model_validate(data) if data else _small_directory_hashed()
    )
    try:
        await DirectoryStore(client, prefix).load(directory)
    finally:
        await client.aclose()


@dataclass
class Hub:
    url: str
    settings: Settings
    app: Any = None
    clients: list[Client] = field(default_factory=list)

    async def close_clients(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.connection.close(), 1.0)
            # A client the server stopped talking to may not finish its close
            # handshake: drop its socket so nothing leaks into the next test.
            client.connection.transport.abort()
        self.clients.clear()

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"

    async def token(self, user_id: str, password: str | None = None) -> str:
        async with httpx.AsyncClient(base_url=self.url) as http:
            response = await http.post(
                "/api/login",
                json={"username": user_id, "password": password or PASSWORDS[user_id]},
            )
            response.raise_for_status()
            return str(response.json()["token"])

    async def connect(
        self, user_id: str | None = None, *, msgpack_codec: bool = False, **kwargs: Any
    ) -> Client:
        protocol = "homi.v1.msgpack" if msgpack_codec else "homi.v1.json"
        connection = await websockets.connect(
            self.ws_url,
            subprotocols=[Subprotocol(protocol)],
            open_timeout=TIMEOUT,
            **kwargs,
        )
        client = Client(connection, msgpack_codec)
        self.clients.append(client)
        if user_id is not None:
            welcome = await client.request(
                {"type": "auth", "token": await self.token(user_id)}
            )
            assert welcome["type"] == "welcome", welcome
        return client

    async def connect_slow(self, user_id: str, receive_buffer: int = 2048) -> Client:
        """A client with a tiny receive window (set before connecting, so the
        TCP window stays small) that takes one frame at a time: the hub's
        buffers and then its send queue fill as soon as it stops reading."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.connect(("127.0.0.1", int(self.url.rsplit(":", 1)[1])))
        return await self.connect(user_id, sock=sock, max_queue=1)


@contextlib.asynccontextmanager
async def running_hub(
    settings: Settings,
    ws_max_size: int | None = None,
    wrap: Callable[[Any], Any] | None = None,
    ws: str | None = None,
) -> AsyncIterator[Hub]:
    """The hub app under uvicorn in this event loop, on a free port.

    `wrap` puts ASGI middleware around the app (to watch what it sends);
    `ws` names another of uvicorn's websocket implementations than the hub's.
    """
    app = create_app(settings)
    overrides = {"ws": ws} if ws is not None else {}
    config = uvicorn_config(
        wrap(app) if wrap else app,
        settings,
        **overrides,
        ws_max_size=ws_max_size or settings.max_frame_bytes,
        log_level="warning",
        timeout_graceful_shutdown=TIMEOUT,
    )
    sock = listening_socket("127.0.0.1", 0, settings.socket_send_buffer)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + TIMEOUT
    while not server.started:
        if task.done():
            task.result()
        if time.monotonic() > deadline:
            raise RuntimeError("hub did not start")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    hub = Hub(url=f"http://127.0.0.1:{port}", settings=settings, app=app)
    try:
        yield hub
    finally:
        await hub.close_clients()
        server.should_exit = True
        await asyncio.wait_for(task, TIMEOUT * 4)


class HubProcess:
    """`homi-hub serve` in its own process, for multi-process and crash tests."""

    def __init__(self, redis_url: str | None, prefix: str, **env: str) -> None:
        """With `redis_url` None the process starts its embedded Redis (put
        HUB_DATA_DIR in `env`)."""
        self.port = free_port()
        inherited = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        self.env = {
            **inherited,
            **({"REDIS_URL": redis_url} if redis_url else {}),
            "HUB_KEY_PREFIX": prefix,
            "HUB_SECRET_KEY": SECRET,
            "HUB_CANARY_INTERVAL": "0.2",
            "HUB_CANARY_TIMEOUT": "3.0",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: a chatty hub must never block on a full pipe.
        self.log = tempfile.NamedTemporaryFile(prefix="homi-hub-", suffix=".log")  # noqa: SIM115 (closed in close())
        self.hub = Hub(url=f"http://127.0.0.1:{self.port}", settings=Settings())

    async def start(self) -> HubProcess:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        await wait_ready(self.hub.url, self.process, self.log.name)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(TIMEOUT * 2)

    def stderr(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    async def close(self) -> None:
        await self.hub.close_clients()
        self.kill()
        self.log.close()


async def wait_ready(
    url: str, process: subprocess.Popen[bytes] | None = None, log: str | None = None
) -> None:
    deadline = time.monotonic() + TIMEOUT * 4
    async with httpx.AsyncClient(base_url=url) as http:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                err = Path(log).read_text(errors="replace") if log else ""
                raise RuntimeError(
                    f"hub exited with {process.returncode}: {err[-2000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"hub at {url} not ready in time")


class Client:
    """A websocket client that decodes frames and waits for expected ones."""

    def __init__(
        self, connection: ClientConnection, msgpack_codec: bool = False
    ) -> None:
        self.connection = connection
        self.msgpack = msgpack_codec
        self._ref = 0

    async def send(self, frame: dict[str, Any]) -> None:
        if self.msgpack:
            await self.connection.send(msgpack.packb(frame))
        else:
            await self.connection.send(orjson.dumps(frame).decode())

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), timeout)
        frame = msgpack.unpackb(raw) if isinstance(raw, bytes) else orjson.loads(raw)
        assert isinstance(frame, dict)
        return frame

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send with a fresh ref and return the reply carrying that ref."""
        self._ref += 1
        ref = f"r{self._ref}"
        await self.send({**frame, "ref": ref})
        return await self.expect(lambda f: f.get("ref") == ref)

    async def expect(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        """The next frame matching `predicate`, skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.receive(max(0.0, deadline - time.monotonic()))
            if predicate(frame):
                return frame

    async def closed_with(self, timeout: float = TIMEOUT) -> int | None:
        """Read until the server closes; return its close code."""
        with contextlib.suppress(websockets.ConnectionClosed):
            deadline = time.monotonic() + timeout
            while True:
                await asyncio.wait_for(
                    self.connection.recv(), max(0.01, deadline - time.monotonic())
                )
        return self.connection.close_code

    async def close(self) -> None:
        await self.connection.close()


async def eventually(
    check: Callable[[], Any], timeout: float = TIMEOUT, interval: float = 0.05
) -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)

"""Slow readers, refused handshakes and a deaf listener: bounded, flat, recovered."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgpack
import psutil
import pytest
import redis.asyncio

from hub.channels.streams import pubsub_channel, stream_key
from hub.errors import CloseCode
from tests.conftest import TIMEOUT, RedisServer
from tests.harness import Hub, eventually, hub_settings, load_directory, running_hub


async def test_tenant_that_stops_reading_is_closed_4429_and_others_keep_receiving(
    redis_server: RedisServer, key_prefix: str
) -> None:
    await load_directory(redis_server.url, key_prefix)
    settings = hub_settings(
        redis_server.url,
        key_prefix,
        send_queue_frames=16,
        frames_per_second=10_000,
        frame_burst=10_000,
    )
    async with running_hub(settings) as hub:
        # A tiny receive window and no reading: the server's buffers and then
        # its send queue fill up.
        stuck = await hub.connect_slow("100001")
        await stuck.request({"type": "subscribe", "channel": "district:noord"})
        stuck.connection.transport.pause_reading()

        healthy = await hub.connect("100002")
        await healthy.request({"type": "subscribe", "channel": "district:noord"})
        caretaker = await hub.connect("w1")
        await caretaker.request(
            {"type": "presence", "on_duty": True, "status": "available"}
        )
        await healthy.expect(lambda f: f.get("kind") == "presence")
        padding = "x" * 190  # big frames fill buffers sooner

        async def healthy_reads_everything(count: int) -> None:
            for n in range(count):
                event = await healthy.expect(lambda f: f.get("kind") == "presence")
                assert event["data"]["activity"].startswith(f"{n:05d}")

        count = 2000
        reader = asyncio.create_task(healthy_reads_everything(count))
        for n in range(count):
            await caretaker.send(
                {
                    "type": "presence",
                    "on_duty": True,
                    "status": "busy",
                    "activity": f"{n:05d}{padding}",
                }
            )
        await asyncio.wait_for(reader, TIMEOUT * 4)

        stuck.connection.transport.resume_reading()
        assert await stuck.closed_with() == CloseCode.TOO_SLOW
        metrics = hub.app.state.hub.metrics
        assert metrics.slow_disconnects._value.get() >= 1


async def test_a_thousand_refused_handshakes_leave_redis_clients_and_files_flat(
    hub: Hub, redis_server: RedisServer
) -> None:
    admin = redis.asyncio.Redis.from_url(redis_server.url)
    process = psutil.Process(os.getpid())

    async def refused_batch(count: int) -> None:
        for n in range(count):
            if n % 3 == 0:
                foreign = await hub.connect(origin="https://evil.example")
                assert await foreign.closed_with() == CloseCode.FORBIDDEN
            else:
                client = await hub.connect()
                await client.send({"type": "auth", "token": f"forged-{n}"})
                assert await client.closed_with() == CloseCode.NOT_AUTHENTICATED
        hub.clients.clear()

    await refused_batch(50)  # warm up pools and caches
    clients_before = len(await admin.client_list())
    files_before = process.num_fds()

    await refused_batch(1000)

    assert len(await admin.client_list()) <= clients_before + 1
    assert process.num_fds() <= files_before + 5
    assert not hub.app.state.hub.sessions
    await admin.aclose()


class FreezableProxy:
    """A TCP proxy to Redis that can stop forwarding without closing anything:
    the half-open connection a silently deaf listener would be stuck on.

    With `only_pubsub`, freezing stops only connections that have sent a
    SUBSCRIBE (the broker's listener), while every other connection (PING,
    PUBLISH, presence scripts) keeps working: the failure peer hubs had.
    """

    def __init__(self, target_port: int, *, only_pubsub: bool = False) -> None:
        self.target_port = target_port
        self.only_pubsub = only_pubsub
        self.frozen = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.port = 0
        self.pubsub_connections = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection(
            "127.0.0.1", self.target_port
        )
        pubsub = False

        def swallowing() -> bool:
            return self.frozen.is_set() and (pubsub or not self.only_pubsub)

        async def pipe(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, upstream: bool
        ) -> None:
            nonlocal pubsub
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    if upstream and not pubsub and b"SUBSCRIBE" in data:
                        pubsub = True
                        self.pubsub_connections += 1
                    if swallowing():
                        continue  # the connection stays open but deaf
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(
            pipe(reader, up_writer, upstream=True),
            pipe(up_reader, writer, upstream=False),
        )

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
async def proxy(redis_server: RedisServer) -> AsyncIterator[FreezableProxy]:
    proxy = FreezableProxy(redis_server.port)
    await proxy.start()
    yield proxy
    await proxy.close()


async def test_deaf_listener_reports_not_ready_and_recovers(
    redis_server: RedisServer, key_prefix: str, proxy: FreezableProxy
) -> None:
    await load_directory(redis_server.url, key_prefix)
    settings = hub_settings(f"redis://127.0.0.1:{proxy.port}/0", key_prefix)
    async with (
        running_hub(settings) as hub,
        httpx.AsyncClient(base_url=hub.url) as http,
    ):
        assert (await http.get("/readyz")).status_code == 200

        proxy.frozen.set()

        async def listener_deaf() -> bool:
            body = await _status(http, 503)
            return body is not None and body["checks"]["listener"] is False

        await eventually(listener_deaf, timeout=settings.canary_timeout + TIMEOUT)

        proxy.frozen.clear()
        ready = await eventually(lambda: _status(http, 200), timeout=TIMEOUT * 3)
        assert ready["status"] == "ready"


async def _status(http: httpx.AsyncClient, expected: int) -> dict[str, Any] | None:
    response = await http.get("/readyz")
    if response.status_code != expected:
        return None
    body: dict[str, Any] = response.json()
    return body


async def test_deaf_pubsub_connection_alone_reports_not_ready_and_recovers(
    redis_server: RedisServer, key_prefix: str
) -> None:
    """Only the listener's connection goes silent; PING and publishing still
    work, so only the canary can tell. Fan-out must come back afterwards."""
    import httpx

    proxy = FreezableProxy(redis_server.port, only_pubsub=True)
    await proxy.start()
    await load_directory(redis_server.url, key_prefix)
    settings = hub_settings(f"redis://127.0.0.1:{proxy.port}/0", key_prefix)
    try:
        async with (
            running_hub(settings) as hub,
            httpx.AsyncClient(base_url=hub.url) as http,
        ):
            tenant = await hub.connect("100001")
            await tenant.request({"type": "subscribe", "channel": "district:noord"})
            caretaker = await hub.connect("w1")
            await caretaker.request(
                {"type": "presence", "on_duty": True, "status": "available"}
            )
            await tenant.expect(lambda f: f.get("kind") == "presence")
            connections_before = proxy.pubsub_connections

            proxy.frozen.set()

            async def only_listener_down() -> bool:
                body = await _status(http, 503)
                checks = body["checks"] if body else {}
                return checks == {"accepting": True, "listener": False, "redis": True}

            await eventually(
                only_listener_down, timeout=settings.canary_timeout + TIMEOUT
            )
            # The rest of Redis works: the caretaker's change is stored...
            changed = await caretaker.request(
                {
                    "type": "presence",
                    "on_duty": True,
                    "status": "busy",
                    "activity": "tijdens de stilte",
                }
            )
            assert changed["type"] == "ok"
            # ...and the hub has already tried a fresh listener connection,
            # which is deaf as well (its SUBSCRIBE is swallowed).
            await eventually(
                lambda: proxy.pubsub_connections > connections_before,
                timeout=TIMEOUT * 2,
            )
            assert (await http.get("/readyz")).status_code == 503

            proxy.frozen.clear()

            ready = await eventually(lambda: _status(http, 200), timeout=TIMEOUT * 3)
            assert ready["status"] == "ready"
            # Nothing stale stays on screen: a fresh snapshot with the change
            # made while the listener was deaf, then live events again.
            fresh = await tenant.expect(
                lambda f: f.get("kind") == "snapshot", timeout=TIMEOUT * 2
            )
            presence = fresh["data"]["caretakers"][0]["presence"]
            assert presence["activity"] == "tijdens de stilte"
            await caretaker.request(
                {"type": "presence", "on_duty": True, "status": "break"}
            )
            live = await tenant.expect(lambda f: f.get("kind") == "presence")
            assert live["data"]["status"] == "break"
    finally:
        await proxy.close()


@pytest.mark.parametrize(
    "ws",
    [
        pytest.param(None, id="frames-in-one-write"),
        # uvicorn's own protocol has no SEND_FRAMES: one frame per send.
        pytest.param("websockets-sansio", id="frame-by-frame"),
    ],
)
async def test_resume_longer_than_the_send_queue_keeps_pace_with_a_slow_reader(
    redis_server: RedisServer, key_prefix: str, ws: str | None
) -> None:
    await load_directory(redis_server.url, key_prefix)
    settings = hub_settings(redis_server.url, key_prefix, send_queue_frames=8)
    missed = 300
    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        stream = stream_key(key_prefix, "tickets:mine#100001")
        blob = msgpack.packb({"note": "x" * 2000})
        for _ in range(missed):
            await client.xadd(stream, {"k": "ticket", "d": blob})
    finally:
        await client.aclose()
    async with running_hub(settings, ws=ws) as hub:
        # A small receive window and a client that takes one frame at a time:
        # the replay (about 600 KB) must wait for it, not overflow the queue.
        tenant = await hub.connect_slow("100001", receive_buffer=4096)
        await tenant.send(
            {"type": "subscribe", "channel": "tickets:mine", "since": "0-0"}
        )
        events: list[str] = []
        while len(events) < missed:
            frame = await tenant.receive()
            if frame["type"] == "event":
                events.append(frame["id"])
        assert events == sorted(events, key=lambda i: tuple(map(int, i.split("-"))))
        assert len(set(events)) == missed
        pong = await tenant.request({"type": "ping"})
        assert pong["type"] == "pong"


@pytest.mark.parametrize(
    "ws",
    [
        pytest.param(None, id="frames-in-one-write"),
        pytest.param("websockets-sansio", id="frame-by-frame"),
    ],
)
async def test_burst_of_events_reaches_every_codec_once_each_in_order(
    redis_server: RedisServer, key_prefix: str, ws: str | None
) -> None:
    # Published in one pipeline, the events reach the listener together and
    # go out to each tenant as a batch: nothing may be lost, doubled or
    # reordered on the way, in either codec.
    await load_directory(redis_server.url, key_prefix)
    settings = hub_settings(redis_server.url, key_prefix)
    burst = 200
    async with running_hub(settings, ws=ws) as hub:
        tenants = [
            await hub.connect("100001"),
            await hub.connect("100002", msgpack_codec=True),
        ]
        for tenant in tenants:
            await tenant.request({"type": "subscribe", "channel": "district:noord"})
        [topic] = [
            t
            for t in hub.app.state.hub.broker.topic_counts()
            if t.startswith("district:noord")
        ]
        first_id = 10**12  # past any position the district has had
        client = redis.asyncio.Redis.from_url(redis_server.url)
        try:
            async with client.pipeline(transaction=False) as pipe:
                for number in range(burst):
                    pipe.publish(
                        pubsub_channel(key_prefix, topic),
                        msgpack.packb(
                            {
                                "topic": topic,
                                "id": f"{first_id + number}-0",
                                "kind": "presence",
                                "data": {"number": number},
                            }
                        ),
                    )
                await pipe.execute()
        finally:
            await client.aclose()

        for tenant in tenants:
            numbers: list[int] = []
            while len(numbers) < burst:
                frame = await tenant.expect(lambda f: f.get("kind") == "presence")
                numbers.append(frame["data"]["number"])
            assert numbers == list(range(burst))
            with pytest.raises(TimeoutError):  # and none a second time
                await tenant.expect(lambda f: f.get("kind") == "presence", timeout=0.3)

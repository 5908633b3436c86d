"""The generator's lean reader on a real websocket server.

A `websockets` server plays a Socket.IO peer: it opens the Engine.IO
session, then, once the client's transport has been taken over, sends a
websocket ping, an Engine.IO ping, a location event in three fragments and
a close. The server, not the test, sees whether the answers came back.
"""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.server import ServerConnection, serve

from loadtests.worker import Client, Worker
from tests.conftest import TIMEOUT

EVENT = "42" + json.dumps(
    ["event", {"data": {"caretaker_id": "care1", "ts": 1700000000000}}]
)


async def test_taken_over_connection_answers_pings_and_counts_messages() -> None:
    taken_over = asyncio.Event()
    seen: dict[str, object] = {}

    async def peer(ws: ServerConnection) -> None:
        await ws.send('0{"sid":"s","pingInterval":25000}')
        assert await ws.recv() == "40"
        await ws.send('40{"sid":"n"}')
        await taken_over.wait()
        # The pong comes back for this payload, masked as a client's must be.
        await asyncio.wait_for(await ws.ping(b"still there?"), TIMEOUT)
        await ws.send("2")
        seen["engineio_pong"] = await asyncio.wait_for(ws.recv(), TIMEOUT)
        await ws.send([EVENT[:5], EVENT[5:20], EVENT[20:]])  # fragmented
        await ws.close(1001, "going away")

    async with serve(peer, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        config = {
            "role": "subscribers",
            "channel": "bench",
            "dialect": "engineio",
            "url": f"ws://127.0.0.1:{port}",
            "reader": "lean",
        }
        worker = Worker(config)
        client = Client(config, "200000", "", caretaker=False)
        await client.open()
        assert client.quiet()
        lean = client.take_over(lambda raw: worker.on_message(0, client.dialect, raw))
        taken_over.set()
        code = await asyncio.wait_for(asyncio.shield(lean.closed), TIMEOUT)

    assert seen["engineio_pong"] == "3"
    assert worker.received_total == 1  # the event, joined from its fragments
    assert worker.other_frames == 0
    assert code == 1001
    assert not client.alive


async def test_a_server_that_breaks_framing_is_hung_up_on() -> None:
    taken_over = asyncio.Event()

    async def peer(ws: ServerConnection) -> None:
        await ws.send('0{"sid":"s"}')
        await ws.recv()
        await ws.send('40{"sid":"n"}')
        await taken_over.wait()
        # A masked frame: servers must never mask.
        ws.transport.write(b"\x81\x81abcd" + b"x")
        await ws.wait_closed()

    async with serve(peer, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        config = {
            "role": "subscribers",
            "channel": "bench",
            "dialect": "engineio",
            "url": f"ws://127.0.0.1:{port}",
        }
        worker = Worker(config)
        client = Client(config, "200000", "", caretaker=False)
        await client.open()
        lean = client.take_over(lambda raw: worker.on_message(0, client.dialect, raw))
        taken_over.set()
        code = await asyncio.wait_for(asyncio.shield(lean.closed), TIMEOUT)

    assert code == 1002
    assert worker.received_total == 0

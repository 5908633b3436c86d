"""python-socketio with its Redis manager, served as ASGI by uvicorn.

Rooms are channels; `AsyncRedisManager` carries every emit through Redis
pub/sub, so a process fans out what any process emitted, as the hub does.

Run: ``uvicorn loadtests.peers.socketio_py:app`` with ``BENCH_REDIS_URL`` set.
"""

from __future__ import annotations

import os
from typing import Any

import socketio

manager = socketio.AsyncRedisManager(
    os.environ["BENCH_REDIS_URL"], channel="bench-socketio"
)
sio = socketio.AsyncServer(
    async_mode="asgi", client_manager=manager, transports=["websocket"]
)


@sio.event
async def subscribe(sid: str, channel: str) -> dict[str, str]:
    await sio.enter_room(sid, channel)
    return {"channel": channel}


@sio.event
async def unsubscribe(sid: str, channel: str) -> dict[str, str]:
    await sio.leave_room(sid, channel)
    return {"channel": channel}


@sio.event
async def location(sid: str, message: dict[str, Any]) -> None:
    channel = message["channel"]
    event = {"channel": channel, "kind": "location", "data": message["data"]}
    await sio.emit("event", event, room=channel)


app = socketio.ASGIApp(sio)

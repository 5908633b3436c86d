"""The floor of the stack: a bare Starlette websocket and redis.asyncio pub/sub.

One Redis subscription per channel that has local subscribers, one listener
task, and a plain loop of `send_text` over the local sockets. The event is
encoded once, by the process that publishes it, and the listener forwards
Redis's bytes as they are. Nothing else: no auth, no per-connection queue
(one slow client holds up the loop), no resynchronisation after a Redis
restart. That is what makes it the floor the hub's cost is compared with.

Run: ``uvicorn loadtests.peers.baseline:app`` with ``BENCH_REDIS_URL`` set.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import orjson
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

PREFIX = "bench-baseline:"


class Fanout:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.pubsub = redis.pubsub()
        self.local: dict[str, set[WebSocket]] = {}

    async def join(self, channel: str, websocket: WebSocket) -> None:
        sockets = self.local.setdefault(channel, set())
        if not sockets:
            await self.pubsub.subscribe(PREFIX + channel)
        sockets.add(websocket)

    async def leave(self, channel: str, websocket: WebSocket) -> None:
        sockets = self.local.get(channel)
        if sockets is None or websocket not in sockets:
            return
        sockets.discard(websocket)
        if not sockets:
            del self.local[channel]
            await self.pubsub.unsubscribe(PREFIX + channel)

    async def listen(self) -> None:
        # Subscribe to something at once: get_message returns at once on a
        # pub/sub connection with no subscriptions.
        await self.pubsub.subscribe(PREFIX + "-")
        while True:
            message = await self.pubsub.get_message(
                ignore_subscribe_messages=True, timeout=1.0
            )
            if message is None:
                continue
            channel = message["channel"].decode()[len(PREFIX) :]
            text = message["data"].decode()
            for websocket in tuple(self.local.get(channel, ())):
                with contextlib.suppress(Exception):
                    await websocket.send_text(text)


async def endpoint(websocket: WebSocket) -> None:
    fanout: Fanout = websocket.app.state.fanout
    await websocket.accept()
    joined: set[str] = set()
    try:
        while True:
            frame = orjson.loads(await websocket.receive_text())
            kind, channel = frame.get("type"), str(frame.get("channel", ""))
            if kind == "publish":
                event = {
                    "type": "event",
                    "channel": channel,
                    "kind": "location",
                    "data": frame.get("data"),
                }
                await fanout.redis.publish(PREFIX + channel, orjson.dumps(event))
            elif kind == "subscribe":
                await fanout.join(channel, websocket)
                joined.add(channel)
                await websocket.send_text(
                    orjson.dumps({"type": "subscribed", "channel": channel}).decode()
                )
            elif kind == "unsubscribe":
                await fanout.leave(channel, websocket)
                joined.discard(channel)
                await websocket.send_text(
                    orjson.dumps({"type": "unsubscribed", "channel": channel}).decode()
                )
    except WebSocketDisconnect:
        pass
    finally:
        for channel in joined:
            await fanout.leave(channel, websocket)


async def healthz(request: object) -> PlainTextResponse:
    return PlainTextResponse("ok")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    redis = Redis.from_url(os.environ["BENCH_REDIS_URL"])
    app.state.fanout = Fanout(redis)
    listener = asyncio.create_task(app.state.fanout.listen())
    yield
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
    await app.state.fanout.pubsub.aclose()
    await redis.aclose()


app = Starlette(
    routes=[WebSocketRoute("/ws", endpoint), Route("/healthz", healthz)],
    lifespan=lifespan,
)

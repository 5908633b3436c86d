"""Fan-out encodes a message once per format and hands every local subscriber
the very same bytes; msgpack subscribers get binary frames of the same content."""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.channels.codec import Codec, PreparedFrame
from tests.conftest import TIMEOUT, RedisServer
from tests.harness import Client, hub_settings, load_directory, running_hub


class SentFrames:
    """ASGI middleware keeping every websocket frame the hub hands to uvicorn,
    as the very object the hub passed (so identity shows what was shared)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.payloads: list[str | bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return

        async def keep(message: Message) -> None:
            if message["type"] == "websocket.send":
                text = message.get("text")
                self.payloads.append(text if text is not None else message["bytes"])
            await send(message)

        await self.app(scope, receive, keep)


async def raw_event(client: Client, kind: str) -> str | bytes:
    """The next event frame of `kind` exactly as it came off the wire."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            raw = await client.connection.recv()
            frame = (
                msgpack.unpackb(raw) if isinstance(raw, bytes) else orjson.loads(raw)
            )
            if frame.get("type") == "event" and frame.get("kind") == kind:
                return raw


def test_a_prepared_frame_is_encoded_once_per_codec() -> None:
    frame = PreparedFrame({"type": "event", "kind": "presence", "data": {"x": 1}})
    assert frame.encoded(Codec.JSON) is frame.encoded(Codec.JSON)
    assert frame.encoded(Codec.MSGPACK) is frame.encoded(Codec.MSGPACK)
    assert orjson.loads(frame.encoded(Codec.JSON)) == msgpack.unpackb(
        frame.encoded(Codec.MSGPACK)
    )


async def test_one_presence_change_is_the_same_bytes_for_every_subscriber(
    redis_server: RedisServer, key_prefix: str
) -> None:
    await load_directory(redis_server.url, key_prefix)
    recorder: SentFrames | None = None

    def wrap(app: ASGIApp) -> ASGIApp:
        nonlocal recorder
        recorder = SentFrames(app)
        return recorder

    settings = hub_settings(redis_server.url, key_prefix)
    async with running_hub(settings, wrap=wrap) as hub:
        assert recorder is not None
        json_tenants = [await hub.connect("100001") for _ in range(3)]
        msgpack_tenants = [
            await hub.connect("100002", msgpack_codec=True) for _ in range(2)
        ]
        for tenant in json_tenants + msgpack_tenants:
            await tenant.request({"type": "subscribe", "channel": "district:noord"})
        caretaker = await hub.connect("w1")
        marker = "encoded-once-7f3a"
        await caretaker.request(
            {
                "type": "presence",
                "on_duty": True,
                "status": "busy",
                "activity": marker,
            }
        )

        received = [await raw_event(t, "presence") for t in json_tenants]
        received_binary = [await raw_event(t, "presence") for t in msgpack_tenants]

        # What the subscribers see: text for JSON, binary for msgpack, and
        # the same event either way.
        assert all(isinstance(raw, str) for raw in received)
        assert all(isinstance(raw, bytes) for raw in received_binary)
        decoded = [orjson.loads(raw) for raw in received]
        decoded += [msgpack.unpackb(raw) for raw in received_binary]
        assert all(event == decoded[0] for event in decoded)
        assert decoded[0]["data"]["activity"] == marker
        assert decoded[0]["channel"] == "district:noord"

        # What the hub did: one encoding per format, the same object handed
        # to every subscriber of that format.
        sent = [p for p in recorder.payloads if _is_event_with(p, marker)]
        texts = [p for p in sent if isinstance(p, str)]
        blobs = [p for p in sent if isinstance(p, bytes)]
        assert len(texts) == len(json_tenants)
        assert len(blobs) == len(msgpack_tenants)
        assert all(text is texts[0] for text in texts)
        assert all(blob is blobs[0] for blob in blobs)


def _is_event_with(payload: str | bytes, marker: str) -> bool:
    frame: dict[str, Any] = (
        msgpack.unpackb(payload)
        if isinstance(payload, bytes)
        else orjson.loads(payload)
    )
    return frame.get("type") == "event" and frame["data"].get("activity") == marker

"""One consumer per websocket; a hub channel is a Channels group."""

from __future__ import annotations

from typing import Any

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer


def group_name(channel: str) -> str:
    # Group names allow letters, digits, '-', '_' and '.'; channels use ':'.
    return channel.replace(":", ".")


class FanoutConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.joined: set[str] = set()
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: Any = None
    ) -> None:
        frame = orjson.loads(text_data or "{}")
        kind, channel = frame.get("type"), str(frame.get("channel", ""))
        group = group_name(channel)
        if kind == "publish":
            event = {
                "type": "event",
                "channel": channel,
                "kind": "location",
                "data": frame.get("data"),
            }
            await self.channel_layer.group_send(
                group, {"type": "fanout.event", "text": orjson.dumps(event).decode()}
            )
        elif kind == "subscribe":
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.add(group)
            await self.send(
                orjson.dumps({"type": "subscribed", "channel": channel}).decode()
            )
        elif kind == "unsubscribe":
            await self.channel_layer.group_discard(group, self.channel_name)
            self.joined.discard(group)
            await self.send(
                orjson.dumps({"type": "unsubscribed", "channel": channel}).decode()
            )

    async def fanout_event(self, message: dict[str, Any]) -> None:
        await self.send(text_data=message["text"])

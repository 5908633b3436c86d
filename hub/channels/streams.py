"""Durable topics: Redis streams with positions, trimming and resume.

Writers append through the Lua library in `lua/append.lua`, composed into
their own script with `script_with_library`, so a state change, its stream
entries and its live publication happen in one atomic step. Readers resume
with `read_since`, which either returns exactly the events after a position
or says that history was trimmed and the client must reload (`Reset`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import msgpack
from redis.asyncio import Redis

from hub.channels.positions import ORIGIN, Position, format_position, parse_position

REPLAY_PAGE = 500


def _lua(name: str) -> str:
    return resources.files("hub.channels").joinpath("lua", name).read_text()


APPEND_LIBRARY = _lua("append.lua")


def script_with_library(script_source: str) -> str:
    """A Lua script that may call `publish_event` and `append_event`."""
    return APPEND_LIBRARY + "\n" + script_source


def stream_key(prefix: str, topic: str) -> str:
    return f"{prefix}stream:{topic}"


def trimmed_key(prefix: str, topic: str) -> str:
    return f"{prefix}trimmed:{topic}"


def pubsub_channel(prefix: str, topic: str) -> str:
    return f"{prefix}pub:{topic}"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event read back from a stream."""

    topic: str
    id: str
    kind: str
    data: Any


@dataclass(frozen=True, slots=True)
class Replay:
    """The events after a resume position, and the newest position overall."""

    events: list[StoredEvent]
    position: str


@dataclass(frozen=True, slots=True)
class Reset:
    """History after the resume position is gone; the client must reload."""

    position: str


def decode_entry(
    topic: str, entry_id: bytes | str, fields: dict[Any, Any]
) -> StoredEvent:
    kind = fields.get(b"k", fields.get("k", b""))
    blob = fields.get(b"d", fields.get("d", b"\xc0"))
    return StoredEvent(
        topic=topic,
        id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        kind=kind.decode() if isinstance(kind, bytes) else str(kind),
        data=msgpack.unpackb(blob, raw=False),
    )


async def latest_position(redis: Redis, prefix: str, topic: str) -> str:
    """The newest position on a topic, or "0-0" when it has no events."""
    newest = await redis.xrevrange(stream_key(prefix, topic), count=1)
    if not newest:
        return format_position(ORIGIN)
    entry_id = newest[0][0]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


async def read_since(
    redis: Redis, prefix: str, topic: str, since: Position, limit: int = 10_000
) -> Replay | Reset:
    """Every event after `since`, in order, or Reset if some were trimmed.

    A position is usable when nothing newer than it was ever trimmed and it
    is not beyond the newest event (a position from a stream that expired
    and started again, or a made-up one). More than `limit` missed events
    also answers Reset: reloading is then cheaper than replaying.
    """
    stream = stream_key(prefix, topic)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.get(trimmed_key(prefix, topic))
        pipe.xrevrange(stream, count=1)
        pipe.xrange(stream, min=f"({format_position(since)}", count=limit + 1)
        trimmed_raw, newest, entries = await pipe.execute()

    trimmed = parse_position(trimmed_raw.decode()) if trimmed_raw else ORIGIN
    newest_id = newest[0][0].decode() if newest else format_position(ORIGIN)
    newest_position = parse_position(newest_id)
    if since < trimmed or since > newest_position or len(entries) > limit:
        return Reset(position=newest_id)

    events = [decode_entry(topic, entry_id, fields) for entry_id, fields in entries]
    return Replay(events=events, position=newest_id)

"""The conversation on a ticket: messages, read markers, typing, photos.

A message is part of the ticket's one timeline: `lua/message.lua` stores it
and appends it as event `message` to `ticket:<id>`, between the transitions,
with a position a client resumes from like any other event. Messages are
kept in their own list as well, since the topic's history is trimmed and a
conversation must outlive that (`GET …/messages` reads the list).

Typing and read receipts are *signals*: live only, with no position, sent on
the topic `ticket:<id>#live`, which a connection joins alongside `ticket:<id>`
(so they reach exactly the people following the ticket, and never shift a
resume position). Read markers themselves are stored; the signal only tells
who is looking now.

Who may do what (`post_refusal`, pure):

    read     whoever may see the ticket (`lifecycle.may_see`): its tenant,
             agents, the caretakers of its district
    write    its tenant and agents; a caretaker once it is assigned to them;
             nobody once it is closed or cancelled (409)

A ticket or photo the user may not see is reported absent (404).
"""

from __future__ import annotations

import asyncio
import enum
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import msgpack
from redis.asyncio import Redis

from hub.channels.positions import ORIGIN, format_position
from hub.channels.streams import script_with_library, stream_key
from hub.config import Settings
from hub.directory.model import Role, User
from hub.errors import BadRequest, Conflict, Forbidden, HubError, NotFound, RateLimited
from hub.media import images
from hub.media.storage import MediaStore
from hub.tickets import lifecycle
from hub.tickets.lifecycle import FINAL, Status
from hub.tickets.service import TICKET_ID_RE

MAX_TEXT = 2000
MAX_PHOTOS = 6
DEFAULT_PAGE = 50
MAX_PAGE = 100
AGENT_PRESENT_MS = 5 * 60_000
"""An agent who wrote or read within this long is shown as "with you now"."""

# C0 controls other than tab, newline and carriage return, and DEL: nothing a
# person types, and what binary junk decoded as text is full of.
_CONTROL = frozenset(
    chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))
)
_CONTROL |= {"\x7f"}

Publish = Callable[[str, str, str, Any], Awaitable[None]]
"""`Broker.publish(topic, position id, kind, data)`: a live-only event."""


class Size(enum.StrEnum):
    """The two forms a photo is kept in."""

    FULL = "full"
    THUMB = "thumb"


@dataclass(frozen=True, slots=True)
class Limits:
    """How fast one user may write; counted in Redis, so across processes."""

    messages: int = 30
    message_window: int = 60
    photos: int = 40
    photo_window: int = 3600
    typing_interval: float = 2.0
    """Seconds between two typing signals of one connection on one ticket."""
    image_workers: int = 2
    """Photos decoded at once per process: each can take ~150 MB."""


@dataclass(frozen=True, slots=True)
class Participant:
    """What the rules need to know of a ticket."""

    status: str
    tenant: str
    district: str
    assignee: str


# -- decisions (pure) ----------------------------------------------------------


def may_read(user: User, ticket: Participant) -> bool:
    return lifecycle.may_see(user, ticket.tenant, ticket.district)


def post_refusal(user: User, ticket: Participant) -> HubError | None:
    """Why `user` may not write on the ticket now, or None if they may."""
    if Status(ticket.status) in FINAL:
        return Conflict(
            f"the ticket is {ticket.status}; its conversation is read-only",
            status=ticket.status,
        )
    if user.role is Role.CARETAKER and ticket.assignee != user.id:
        return Forbidden("a caretaker joins the conversation once assigned the ticket")
    return None


def check_text(text: str, photo_count: int) -> None:
    """A message's text: 1 to MAX_TEXT characters, or empty beside photos.

    Stored as written: no trimming, no escaping (the pages show it as text).
    """
    if len(text) > MAX_TEXT:
        raise BadRequest(f"text: at most {MAX_TEXT} characters")
    if not text.strip() and photo_count == 0:
        raise BadRequest("text: write something, or attach a photo")
    if any(char in _CONTROL for char in text):
        raise BadRequest("text: contains control characters")


def reader_key(user: User) -> str:
    return f"{user.role.value}:{user.id}"


def window_key(kind: str, user_id: str, now_s: float, window: int) -> str:
    """The fixed-window counter a write falls in."""
    return f"ratelimit:{kind}:{user_id}:{int(now_s // window)}"


def agent_present(agent_at_ms: int | None, now_ms: int) -> bool:
    return agent_at_ms is not None and now_ms - agent_at_ms < AGENT_PRESENT_MS


def live_topic(ticket_id: str) -> str:
    """Where a ticket's signals go: its channel's name, qualified `#live`."""
    return f"ticket:{ticket_id}#live"


def new_photo_id() -> str:
    return "p" + secrets.token_hex(12)


def media_name(photo_id: str, size: Size) -> str:
    return f"{photo_id}-{size.value}.jpg"


class TypingGate:
    """Lets one typing signal per ticket through every `interval` seconds.

    One per connection. Keystrokes come much faster than anyone needs to be
    told "still typing", so the surplus is dropped rather than refused.
    """

    def __init__(self, interval: float, capacity: int = 64) -> None:
        self._interval = interval
        self._capacity = capacity
        self._last: dict[str, float] = {}

    def open(self, ticket_id: str, now: float) -> bool:
        last = self._last.get(ticket_id)
        if last is not None and now - last < self._interval:
            return False
        if len(self._last) >= self._capacity:
            # Bounded: forget the tickets typed on longest ago.
            for old in sorted(self._last, key=self._last.__getitem__)[
                : self._capacity // 2
            ]:
                del self._last[old]
        self._last[ticket_id] = now
        return True


def _script(name: str) -> str:
    folder = resources.files("hub.tickets").joinpath("lua")
    library = folder.joinpath("tickets.lua").read_text()
    return script_with_library(library + "\n" + folder.joinpath(name).read_text())


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return value or ""


# -- the service -----------------------------------------------------------------


class Conversation:
    """Messages, read markers, typing and photos of tickets, for one hub process."""

    def __init__(
        self,
        redis: Redis,
        settings: Settings,
        publish: Publish,
        media: MediaStore,
        limits: Limits | None = None,
    ) -> None:
        self._redis = redis
        self._prefix = settings.key_prefix
        self._maxlen = settings.stream_max_length
        self._max_age_ms = int(settings.stream_max_age_days * 86_400_000)
        self._publish = publish
        self.media = media
        self.limits = limits or Limits()
        self._post = redis.register_script(_script("message.lua"))
        self._read = redis.register_script(_script("read.lua"))
        self._decoding = asyncio.Semaphore(self.limits.image_workers)

    def key(self, name: str) -> str:
        return f"{self._prefix}{name}"

    # -- messages ----------------------------------------------------------------

    async def post(
        self, user: User, ticket_id: str, text: str, photo_ids: list[str]
    ) -> dict[str, Any]:
        """Write one message; answers the message as stored and published."""
        if len(photo_ids) > MAX_PHOTOS:
            raise BadRequest(f"photos: at most {MAX_PHOTOS} per message")
        if len(set(photo_ids)) != len(photo_ids):
            raise BadRequest("photos: each photo once")
        check_text(text, len(photo_ids))
        ticket = await self._writable(user, ticket_id)
        await self._spend(
            "message", user, self.limits.messages, self.limits.message_window
        )

        reply = await self._post(
            keys=[],
            args=[
                self._prefix,
                ticket_id,
                user.id,
                user.role.value,
                user.name,
                text,
                msgpack.packb(photo_ids),
                "1" if user.role is Role.CARETAKER else "",
                self._maxlen,
                self._max_age_ms,
            ],
        )
        outcome = reply[0].decode()
        if outcome == "ok":
            message: dict[str, Any] = msgpack.unpackb(reply[1], raw=False)
            return message
        if outcome == "photo":
            raise BadRequest(
                f"photos: {reply[1].decode()[:40]!r} is not your upload "
                "on this ticket, or is already sent"
            )
        # The ticket changed between the check and the script: judge again.
        ticket = await self._participant(ticket_id) or ticket
        raise post_refusal(user, ticket) or NotFound(f"no ticket {ticket_id[:40]!r}")

    async def page(
        self,
        user: User,
        ticket_id: str,
        limit: int = DEFAULT_PAGE,
        before: int | None = None,
    ) -> dict[str, Any]:
        """Up to `limit` messages before message `before` (default: the newest),
        oldest first, with what a screen shows around them.

        `position` is the newest event on `ticket:<id>` when the page was
        read: subscribe with `since` = position to get every message after it.
        """
        ticket = await self._readable(user, ticket_id)
        limit = max(1, min(limit, MAX_PAGE))
        key = self.key(f"ticket:{ticket_id}")
        if before is None:
            start, stop = -limit, -1
        else:
            start, stop = max(0, before - 1 - limit), before - 2
        async with self._redis.pipeline(transaction=True) as pipe:
            if stop < 0 and before is not None:
                pipe.lrange(f"{key}:messages", 1, 0)  # nothing before message 1
            else:
                pipe.lrange(f"{key}:messages", start, stop)
            pipe.hgetall(f"{key}:read")
            pipe.hget(f"{key}:attention", "agent_at")
            pipe.zscore(self.key("tickets:awaiting-reply"), ticket_id)
            pipe.zrank(
                self.key(f"tickets:by-status:{Status.SUBMITTED.value}"), ticket_id
            )
            pipe.xrevrange(stream_key(self._prefix, f"ticket:{ticket_id}"), count=1)
            pipe.time()
            blobs, read, agent_at, waiting, rank, newest, clock = await pipe.execute()

        messages = [msgpack.unpackb(blob, raw=False) for blob in blobs]
        first = messages[0]["id"] if messages else None
        now_ms = int(clock[0]) * 1000 + int(clock[1]) // 1000
        agent_ms = int(agent_at) if agent_at else None
        return {
            "ticket_id": ticket_id,
            "status": ticket.status,
            "writable": post_refusal(user, ticket) is None,
            "messages": messages,
            "next_before": first if first is not None and first > 1 else None,
            "read": [_marker(name, value) for name, value in read.items()],
            "agent_active_at": agent_ms,
            "agent_present": agent_present(agent_ms, now_ms),
            "awaiting_reply_since": int(waiting) if waiting is not None else None,
            "queue_position": rank + 1 if rank is not None else None,
            "position": newest[0][0].decode() if newest else format_position(ORIGIN),
        }

    async def mark_read(
        self, user: User, ticket_id: str, message_id: int
    ) -> dict[str, Any]:
        """Move `user`'s read marker up to `message_id`; tell the others live."""
        await self._readable(user, ticket_id)
        reply = await self._read(
            keys=[],
            args=[
                self._prefix,
                ticket_id,
                reader_key(user),
                message_id,
                "1" if user.role is Role.AGENT else "",
            ],
        )
        if reply[0].decode() != "ok":
            raise NotFound(f"no ticket {ticket_id[:40]!r}")
        marker, moved, at = int(reply[1]), bool(int(reply[2])), int(reply[3])
        receipt = {
            "ticket_id": ticket_id,
            "by": _author(user),
            "message_id": marker,
            "at": at,
        }
        if moved:
            await self._signal(ticket_id, "read", receipt)
        return receipt

    async def typing(self, user: User, ticket_id: str) -> None:
        """Tell the others on the ticket that `user` is typing; never stored."""
        await self._writable(user, ticket_id)
        data = {
            "ticket_id": ticket_id,
            "by": _author(user),
            "at": int(time.time() * 1000),
        }
        await self._signal(ticket_id, "typing", data)

    async def waiting(self, user: User, limit: int = MAX_PAGE) -> list[dict[str, Any]]:
        """Open tickets whose tenant waits for a reply, longest waiting first."""
        if user.role is not Role.AGENT:
            raise Forbidden("only customer service sees this")
        found: Any = await self._redis.zrange(
            self.key("tickets:awaiting-reply"), 0, limit - 1, withscores=True
        )
        answer = []
        for member, score in found:
            ticket_id = _text(member)
            ticket = await self._participant(ticket_id)
            if ticket is not None and Status(ticket.status) not in FINAL:
                answer.append(
                    {
                        "ticket_id": ticket_id,
                        "since": int(score),
                        "status": ticket.status,
                        "district": ticket.district,
                    }
                )
        return answer

    # -- photos ------------------------------------------------------------------

    async def upload(
        self, user: User, ticket_id: str, data: bytes, content_type: str | None
    ) -> dict[str, Any]:
        """Check, clean and keep one photo for a coming message on the ticket."""
        images.check_declared(content_type)
        await self._writable(user, ticket_id)
        await self._spend("photo", user, self.limits.photos, self.limits.photo_window)
        async with self._decoding:
            clean = await asyncio.to_thread(images.clean, data, content_type)

        photo_id = new_photo_id()
        names = [media_name(photo_id, Size.FULL), media_name(photo_id, Size.THUMB)]
        try:
            await self.media.put(names[0], clean.full)
            await self.media.put(names[1], clean.thumb)
            await self._redis.hset(
                self.key(f"photo:{photo_id}"),
                mapping={
                    "ticket": ticket_id,
                    "by": user.id,
                    "width": clean.width,
                    "height": clean.height,
                    "at": int(time.time() * 1000),
                    "message": "",
                },
            )
        except BaseException:
            for name in names:
                await self.media.discard(name)
            raise
        url = f"/api/photos/{photo_id}"
        return {
            "id": photo_id,
            "width": clean.width,
            "height": clean.height,
            "url": url,
            "thumb_url": f"{url}?size=thumb",
        }

    async def photo(self, user: User, photo_id: str, size: Size) -> bytes:
        """A photo's JPEG bytes, for people on its ticket only (else NotFound).

        Until a message carries it, only its uploader sees it.
        """
        missing = NotFound("no such photo")
        if not _photo_id_ok(photo_id):
            raise missing
        fields = await self._redis.hmget(
            self.key(f"photo:{photo_id}"), ["ticket", "by", "message"]
        )
        ticket_id, uploader, message = (_text(value) for value in fields)
        if not ticket_id:
            raise missing
        ticket = await self._participant(ticket_id)
        if ticket is None or not may_read(user, ticket):
            raise missing
        if not message and uploader != user.id:
            raise missing
        data = await self.media.get(media_name(photo_id, size))
        if data is None:
            raise missing
        return data

    # -- helpers -------------------------------------------------------------

    async def _participant(self, ticket_id: str) -> Participant | None:
        if not TICKET_ID_RE.match(ticket_id):
            return None
        fields = ("status", "tenant", "district", "assignee")
        values = await self._redis.hmget(self.key(f"ticket:{ticket_id}"), fields)
        if values[0] is None:
            return None
        return Participant(*(_text(value) for value in values))

    async def _readable(self, user: User, ticket_id: str) -> Participant:
        ticket = await self._participant(ticket_id)
        if ticket is None or not may_read(user, ticket):
            raise NotFound(f"no ticket {ticket_id[:40]!r}")
        return ticket

    async def _writable(self, user: User, ticket_id: str) -> Participant:
        ticket = await self._readable(user, ticket_id)
        refusal = post_refusal(user, ticket)
        if refusal is not None:
            raise refusal
        return ticket

    async def _spend(self, kind: str, user: User, allowed: int, window: int) -> None:
        key = self.key(window_key(kind, user.id, time.time(), window))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window + 1)
            used, _ = await pipe.execute()
        if int(used) > allowed:
            now = time.time()
            raise RateLimited(
                f"at most {allowed} per {window} s; wait a moment",
                retry_after=window - now % window,
            )

    async def _signal(self, ticket_id: str, kind: str, data: dict[str, Any]) -> None:
        # Signals carry no position: "0-0" satisfies the broker and is never
        # shown to a client (the session sends them as `signal` frames).
        await self._publish(live_topic(ticket_id), format_position(ORIGIN), kind, data)


def _author(user: User) -> dict[str, str]:
    return {"id": user.id, "role": user.role.value, "name": user.name}


def _marker(name: bytes, value: bytes) -> dict[str, Any]:
    role, _, user_id = name.decode().partition(":")
    return {"by": {"id": user_id, "role": role}, "message_id": int(value)}


def _photo_id_ok(photo_id: str) -> bool:
    return (
        len(photo_id) == 25
        and photo_id.startswith("p")
        and all(c in "0123456789abcdef" for c in photo_id[1:])
    )

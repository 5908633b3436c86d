"""Tickets in Redis: the two scripts that change them, and the reads.

Every change is one Lua script (`lua/create.lua`, `lua/transition.lua`, on
top of the library in `lua/tickets.lua` and the stream library of
`hub.channels`), so the ticket, its indexes and counts, its timeline and its
events on every topic change together or not at all. The key layout is
listed in `lua/tickets.lua`. This module decides nothing: the service does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import msgpack
from redis.asyncio import Redis

from hub.channels.positions import ORIGIN, format_position
from hub.channels.streams import script_with_library, stream_key
from hub.tickets.lifecycle import Deadlines
from hub.tickets.model import Report, Ticket, decode_entry, decode_hash


def _script(name: str) -> str:
    folder = resources.files("hub.tickets").joinpath("lua")
    library = folder.joinpath("tickets.lua").read_text()
    return script_with_library(library + "\n" + folder.joinpath(name).read_text())


class Created(enum.StrEnum):
    """What `create` did with a report."""

    CREATED = "created"
    EXISTING = "existing"  # a retry: the key was seen with this same report
    MISMATCH = "mismatch"  # the key was seen with another report
    TAKEN = "taken"  # the random id exists; draw another


class Outcome(enum.StrEnum):
    """What `transition` did."""

    OK = "ok"
    MISSING = "missing"
    STATUS = "status"  # the status is no longer the one judged on
    VERSION = "version"  # the client's expected version is stale


@dataclass(frozen=True, slots=True)
class TransitionResult:
    outcome: Outcome
    data: dict[str, Any] | None = None
    """For OK: the event data, {ticket, transition}."""
    status: str | None = None
    """For STATUS and VERSION: the ticket's current status and version."""
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Head:
    """The few fields a step is judged on."""

    status: str
    version: int
    tenant: str
    district: str
    severity: str
    created_at: int


@dataclass(frozen=True, slots=True)
class Step:
    """One step as the transition script takes it."""

    source: str
    target: str
    action: str
    actor_id: str
    actor_role: str
    note: str = ""
    set_planned_for: bool = False
    planned_for: str = ""
    severity: str = ""
    expected_version: int | None = None
    assignee: str = ""
    deadlines: Deadlines = field(default_factory=lambda: Deadlines(None, None))


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


def _scored(reply: Any) -> list[tuple[str, int]]:
    """(member, score) pairs of a WITHSCORES reply, as (id, number)."""
    return [(member.decode(), int(score)) for member, score in reply]


class TicketStore:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        stream_max_length: int,
        stream_max_age_ms: int,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._maxlen = stream_max_length
        self._max_age_ms = stream_max_age_ms
        self._create = redis.register_script(_script("create.lua"))
        self._transition = redis.register_script(_script("transition.lua"))

    def key(self, name: str) -> str:
        return f"{self._prefix}{name}"

    # -- changing ------------------------------------------------------------

    async def create(
        self,
        ticket_id: str,
        tenant_id: str,
        district_id: str,
        report: Report,
        *,
        idempotency_key: str,
        idempotency_ttl_ms: int,
        fingerprint: str,
    ) -> tuple[Created, str]:
        reply = await self._create(
            keys=[],
            args=[
                self._prefix,
                ticket_id,
                tenant_id,
                district_id,
                report.category,
                report.description,
                report.place,
                msgpack.packb(list(report.preferred_times)),
                idempotency_key,
                idempotency_ttl_ms,
                fingerprint,
                self._maxlen,
                self._max_age_ms,
            ],
        )
        return Created(reply[0].decode()), reply[1].decode()

    async def transition(self, ticket_id: str, step: Step) -> TransitionResult:
        reply = await self._transition(
            keys=[],
            args=[
                self._prefix,
                ticket_id,
                step.source,
                step.target,
                step.action,
                step.actor_id,
                step.actor_role,
                step.note,
                "set" if step.set_planned_for else "keep",
                step.planned_for,
                step.severity,
                _text(step.expected_version),
                step.assignee,
                _text(step.deadlines.accept_by),
                _text(step.deadlines.resolve_by),
                self._maxlen,
                self._max_age_ms,
            ],
        )
        outcome = Outcome(reply[0].decode())
        if outcome is Outcome.OK:
            return TransitionResult(outcome, data=msgpack.unpackb(reply[1], raw=False))
        if outcome is Outcome.MISSING:
            return TransitionResult(outcome)
        return TransitionResult(
            outcome, status=reply[1].decode(), version=int(reply[2])
        )

    # -- reading -------------------------------------------------------------

    async def head(self, ticket_id: str) -> Head | None:
        fields = ("status", "version", "tenant", "district", "severity", "created_at")
        values: Any = await self._redis.hmget(self.key(f"ticket:{ticket_id}"), fields)
        if values[0] is None:
            return None
        text = [(value or b"").decode() for value in values]
        return Head(text[0], int(text[1]), text[2], text[3], text[4], int(text[5]))

    async def ticket(self, ticket_id: str) -> tuple[Ticket, str] | None:
        """The ticket with its timeline, and the newest position on its topic,
        read together so that events after that position are news."""
        key = self.key(f"ticket:{ticket_id}")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.lrange(f"{key}:timeline", 0, -1)
            pipe.xrevrange(stream_key(self._prefix, f"ticket:{ticket_id}"), count=1)
            fields, entries, newest = await pipe.execute()
        if not fields:
            return None
        summary, description, times = decode_hash(fields)
        timeline = [decode_entry(blob) for blob in entries]
        position = newest[0][0].decode() if newest else format_position(ORIGIN)
        return Ticket(summary, description, times, timeline), position

    async def records(self, ticket_ids: list[str]) -> list[Ticket]:
        """Tickets without timelines, in the order asked; absent ones left out."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for ticket_id in ticket_ids:
                pipe.hgetall(self.key(f"ticket:{ticket_id}"))
            replies = await pipe.execute()
        return [Ticket(*decode_hash(fields)) for fields in replies if fields]

    async def newest(
        self, index_names: list[str], before: int | None, limit: int
    ) -> list[tuple[str, int]]:
        """Up to `limit` + 1 ids with numbers below `before`, newest first,
        merged over several indexes (a caretaker's districts)."""
        top = f"({before}" if before is not None else "+inf"
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in index_names:
                pipe.zrevrangebyscore(
                    self.key(name), top, "-inf", start=0, num=limit + 1, withscores=True
                )
            replies = await pipe.execute()
        merged = [item for reply in replies for item in _scored(reply)]
        merged.sort(key=lambda item: item[1], reverse=True)
        return merged[: limit + 1]

    async def oldest(
        self, index_name: str, after: int | None, limit: int
    ) -> list[tuple[str, int]]:
        """Up to `limit` + 1 ids with numbers above `after`, oldest first."""
        bottom = f"({after}" if after is not None else "-inf"
        reply = await self._redis.zrangebyscore(
            self.key(index_name),
            bottom,
            "+inf",
            start=0,
            num=limit + 1,
            withscores=True,
        )
        return _scored(reply)

    async def intersection(self, index_names: list[str]) -> list[tuple[str, int]]:
        """Ids in every index, newest first; for small sets (one tenant's)."""
        reply = await self._redis.zinter(
            [self.key(name) for name in index_names], aggregate="MIN", withscores=True
        )
        found = _scored(reply)
        found.sort(key=lambda item: item[1], reverse=True)
        return found

    async def due(self, kind: str, now_ms: int, limit: int) -> list[tuple[str, int]]:
        """Ids whose `kind` ("accept" or "resolve") deadline passed, with it."""
        reply = await self._redis.zrangebyscore(
            self.key(f"tickets:due:{kind}"),
            "-inf",
            now_ms,
            start=0,
            num=limit,
            withscores=True,
        )
        return _scored(reply)

    async def counts(self, district_ids: list[str]) -> dict[str, dict[str, int]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for district_id in district_ids:
                pipe.hgetall(self.key(f"tickets:counts:{district_id}"))
            replies = await pipe.execute()
        return {
            district_id: {k.decode(): int(v) for k, v in reply.items()}
            for district_id, reply in zip(district_ids, replies, strict=True)
        }

    async def districts(self) -> list[str]:
        """Districts that have had a ticket."""
        members: Any = await self._redis.smembers(self.key("tickets:districts"))
        return sorted(member.decode() for member in members)

"""Tickets as the hub holds them: records read from Redis, and what callers ask.

The field names here are the wire names. An event's `ticket` (built by the
Lua scripts) has exactly the `SUMMARY_FIELDS`; REST answers add the
description and preferred times, and the single-ticket answer the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack

from hub.tickets.lifecycle import Action, Severity, Status

SUMMARY_FIELDS: tuple[str, ...] = (
    "id",
    "number",
    "status",
    "version",
    "category",
    "district",
    "tenant",
    "assignee",
    "severity",
    "planned_for",
    "place",
    "created_at",
    "updated_at",
)
"""Order matters only to the Lua scripts, which pack the summary by hand."""

INTEGER_FIELDS = frozenset({"number", "version", "created_at", "updated_at"})
OPTIONAL_FIELDS = frozenset({"assignee", "severity", "planned_for"})


@dataclass(frozen=True, slots=True)
class Report:
    """A tenant's new report, validated at the edge."""

    category: str
    description: str
    place: str = ""
    preferred_times: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Move:
    """A requested step: a target status, or `Action.PLAN`."""

    wanted: Status | Action
    note: str | None = None
    planned_for: str | None = None
    """ISO 8601 with an offset, as sent; the service parses and normalises it."""
    severity: Severity | None = None
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class Ticket:
    summary: dict[str, Any]
    description: str
    preferred_times: list[str]
    timeline: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.summary["id"])

    @property
    def tenant(self) -> str:
        return str(self.summary["tenant"])

    @property
    def district(self) -> str:
        return str(self.summary["district"])

    def as_record(self) -> dict[str, Any]:
        """The ticket without its timeline, as lists show it."""
        return {
            **self.summary,
            "description": self.description,
            "preferred_times": self.preferred_times,
        }

    def as_detail(self, position: str) -> dict[str, Any]:
        """With the timeline and the position on `ticket:<id>` it was read at."""
        return {**self.as_record(), "timeline": self.timeline, "position": position}


def decode_hash(fields: dict[bytes, bytes]) -> tuple[dict[str, Any], str, list[str]]:
    """A ticket hash as (summary, description, preferred times)."""
    text = {key.decode(): value for key, value in fields.items()}
    summary: dict[str, Any] = {}
    for name in SUMMARY_FIELDS:
        raw = text.get(name, b"")
        if name in INTEGER_FIELDS:
            summary[name] = int(raw or 0)
        elif name in OPTIONAL_FIELDS and not raw:
            summary[name] = None
        else:
            summary[name] = raw.decode()
    description = text.get("description", b"").decode()
    times_blob = text.get("preferred_times")
    times = msgpack.unpackb(times_blob, raw=False) if times_blob else []
    return summary, description, list(times)


def decode_entry(blob: bytes) -> dict[str, Any]:
    entry: dict[str, Any] = msgpack.unpackb(blob, raw=False)
    return entry


@dataclass(frozen=True, slots=True)
class Page:
    """Some tickets, newest first (or oldest first for the queue), and where
    the next page starts (None: this was the last)."""

    tickets: list[dict[str, Any]]
    next_cursor: str | None

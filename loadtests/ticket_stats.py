"""What the ticket benchmark sent and what its followers received, audited.

Pure data, no I/O, like `loadtests.stats`.

How an event is identified. Every step of a ticket raises its version by one
(the report is version 1), and the event of that step carries the ticket id
and the new version, so ``(ticket id, version)`` names one event exactly. The
REST answer to the step carries the same pair, so the generator knows when it
sent the request that made each event, and a follower knows what it should
receive: for each ticket it may see, every version once, in rising order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from loadtests.stats import Histogram

EventKey = tuple[str, int]
"""(ticket id, version): one event of one ticket."""

Position = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Receipt:
    """One event as one connection received it."""

    ticket: str
    version: int
    position: str
    at: float
    """`time.perf_counter()` at receipt, in seconds."""

    @property
    def key(self) -> EventKey:
        return self.ticket, self.version


def read_event(frame: Mapping[str, Any]) -> tuple[str, int] | None:
    """(ticket id, version) of a ticket event frame, or None for anything else."""
    if frame.get("type") != "event" or frame.get("kind") not in (
        "created",
        "transition",
    ):
        return None
    data = frame.get("data")
    if not isinstance(data, dict):
        return None
    ticket, transition = data.get("ticket"), data.get("transition")
    if not isinstance(ticket, dict) or not isinstance(transition, dict):
        return None
    ticket_id, version = ticket.get("id"), transition.get("version")
    if not isinstance(ticket_id, str) or not isinstance(version, int):
        return None
    return ticket_id, version


def position_of(text: str) -> Position:
    head, _, tail = text.partition("-")
    return int(head), int(tail or 0)


@dataclass
class Audit:
    """Lost, duplicated, reordered and foreign events over some connections."""

    expected: int = 0
    received: int = 0
    duplicated: int = 0
    reordered: int = 0
    foreign: int = 0
    """Events for tickets (or versions) the connection should never have had."""

    @property
    def lost(self) -> int:
        return self.expected - self.received

    def add(
        self, expected: Mapping[str, Iterable[int]], receipts: list[Receipt]
    ) -> None:
        """Account one connection: `expected` maps its tickets to their versions."""
        wanted = {
            (ticket, v) for ticket, versions in expected.items() for v in versions
        }
        self.expected += len(wanted)
        seen: set[EventKey] = set()
        newest: dict[str, int] = {}
        for receipt in receipts:
            key = receipt.key
            if key not in wanted:
                self.foreign += 1
                continue
            if key in seen:
                self.duplicated += 1
                continue
            seen.add(key)
            self.received += 1
            if receipt.version < newest.get(receipt.ticket, 0):
                self.reordered += 1
            else:
                newest[receipt.ticket] = receipt.version

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.reordered or self.foreign)

    def to_json(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "received": self.received,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "reordered": self.reordered,
            "foreign": self.foreign,
        }


def delays(
    sent: Mapping[EventKey, float],
    receipts: Iterable[Receipt],
    histogram: Histogram,
    versions: range | None = None,
) -> None:
    """Add request-sent-to-event-received delays (ms) of the first receipt of each
    event whose version is in `versions` (all when None)."""
    counted: set[EventKey] = set()
    for receipt in receipts:
        key = receipt.key
        if key in counted or key not in sent:
            continue
        if versions is not None and receipt.version not in versions:
            continue
        counted.add(key)
        histogram.add((receipt.at - sent[key]) * 1000.0)


@dataclass(frozen=True)
class Replayed:
    """Whether a resumed subscription got exactly the missed events, in order."""

    expected: int
    received: int
    missing: int
    duplicated: int
    foreign: int
    in_order: bool
    """Positions strictly rising from after `since`, and each ticket's versions too."""

    @property
    def exact(self) -> bool:
        return (
            self.received == self.expected
            and not (self.missing or self.duplicated or self.foreign)
            and self.in_order
        )


def check_replay(
    since: str, missed: set[EventKey], receipts: list[Receipt]
) -> Replayed:
    keys = [receipt.key for receipt in receipts]
    unique = set(keys)
    positions = [position_of(since), *(position_of(r.position) for r in receipts)]
    rising = all(a < b for a, b in itertools.pairwise(positions))
    newest: dict[str, int] = {}
    for ticket, version in keys:
        if version <= newest.get(ticket, 0):
            rising = False
        newest[ticket] = max(version, newest.get(ticket, 0))
    return Replayed(
        expected=len(missed),
        received=len(receipts),
        missing=len(missed - unique),
        duplicated=len(keys) - len(unique),
        foreign=len(unique - missed),
        in_order=rising,
    )

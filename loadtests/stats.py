"""What a step sent and what arrived: schedules, latency histograms, stream accounts.

Pure data, no I/O, so the arithmetic the figures rest on is testable alone.

How a delivery is identified. Publisher `p` sends its `i`-th message of a step
at the wall-clock millisecond `Schedule.send_ms(p, i)` and puts exactly that
number in the message's `ts`. The hub passes `ts` through untouched (it
coarsens a tenant's lat/lon to 100 m but not the time of the fix), and so do
the peers. A subscriber that knows the schedule turns `(publisher, ts)` back
into the sequence number `i`: from that it counts lost, duplicated and
reordered messages, and `receipt time - ts` is the end-to-end latency. The
latency starts at the *scheduled* time, not at the moment the generator got
round to sending, so a generator that falls behind shows up as latency
instead of silently lowering the offered load; the publisher reports its own
lag separately so such a step can be told apart.

Two messages of one publisher must not share a millisecond, so one publisher
sends at most `MAX_RATE_PER_PUBLISHER` messages a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MAX_RATE_PER_PUBLISHER = 1000.0

# Latency buckets grow by 1 % each, from 1 µs up: percentiles are accurate to
# about 1 % at any scale, and a histogram of a whole step stays a few hundred
# buckets long, cheap to merge across generator processes.
_GROWTH = 1.01
_LOG_GROWTH = math.log(_GROWTH)


@dataclass(frozen=True)
class Schedule:
    """When each publisher sends each message of one step."""

    t0_ms: int
    rate: float
    """Messages per second over all publishers together."""
    publishers: int
    duration_s: float

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.publishers < 1:
            raise ValueError("rate and publishers must be positive")
        if self.per_publisher > MAX_RATE_PER_PUBLISHER:
            raise ValueError(
                f"{self.per_publisher:.0f} messages/s per publisher is over "
                f"{MAX_RATE_PER_PUBLISHER:.0f}: add publishers"
            )

    @property
    def per_publisher(self) -> float:
        return self.rate / self.publishers

    def offset_ms(self, publisher: int) -> int:
        """Publishers are staggered so that they do not all fire in one instant."""
        return math.floor(publisher * 1000.0 / self.rate)

    def count(self, publisher: int) -> int:
        """How many messages `publisher` sends in this step."""
        duration_ms = self.duration_s * 1000.0
        return max(0, math.ceil(duration_ms * self.per_publisher / 1000.0))

    @property
    def total(self) -> int:
        return sum(self.count(p) for p in range(self.publishers))

    def send_ms(self, publisher: int, index: int) -> int:
        start = self.t0_ms + self.offset_ms(publisher)
        return start + math.floor(index * 1000.0 / self.per_publisher)

    def seq_of(self, publisher: int, ts: int) -> int | None:
        """The index of the message `publisher` sent at `ts`, or None if none was."""
        if not 0 <= publisher < self.publishers:
            return None
        elapsed = ts - self.t0_ms - self.offset_ms(publisher)
        guess = round(elapsed * self.per_publisher / 1000.0)
        for index in (guess, guess - 1, guess + 1):
            if (
                0 <= index < self.count(publisher)
                and self.send_ms(publisher, index) == ts
            ):
                return index
        return None

    def end_ms(self) -> int:
        return self.t0_ms + math.ceil(self.duration_s * 1000.0)


class Histogram:
    """Counts of latencies in milliseconds, in buckets about 1 % wide."""

    __slots__ = ("buckets", "count", "maximum")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.maximum = 0.0

    def add(self, value_ms: float) -> None:
        value_ms = max(value_ms, 0.0)
        index = int(math.log1p(value_ms * 1000.0) / _LOG_GROWTH)
        self.buckets[index] = self.buckets.get(index, 0) + 1
        self.count += 1
        if value_ms > self.maximum:
            self.maximum = value_ms

    def merge(self, other: Histogram) -> None:
        for index, count in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + count
        self.count += other.count
        self.maximum = max(self.maximum, other.maximum)

    def percentile(self, fraction: float) -> float | None:
        """The latency below which `fraction` of the values fall (bucket upper edge)."""
        if self.count == 0:
            return None
        wanted = max(1, math.ceil(fraction * self.count))
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= wanted:
                return min(math.expm1((index + 1) * _LOG_GROWTH) / 1000.0, self.maximum)
        return self.maximum

    def summary(self) -> dict[str, float | int | None]:
        return {
            "count": self.count,
            "p50_ms": self.percentile(0.50),
            "p95_ms": self.percentile(0.95),
            "p99_ms": self.percentile(0.99),
            "max_ms": self.maximum if self.count else None,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "buckets": {str(k): v for k, v in self.buckets.items()},
            "count": self.count,
            "max": self.maximum,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Histogram:
        histogram = cls()
        histogram.buckets = {int(k): int(v) for k, v in data["buckets"].items()}
        histogram.count = int(data["count"])
        histogram.maximum = float(data["max"])
        return histogram


@dataclass
class StepAccount:
    """What the subscribers of one generator process received in one step."""

    schedule: Schedule
    subscribers: int
    latency: Histogram = field(default_factory=Histogram)
    received: int = 0
    duplicated: int = 0
    reordered: int = 0
    foreign: int = 0
    """Messages that match no send of this step (late ones from an earlier step)."""

    def __post_init__(self) -> None:
        counts = [self.schedule.count(p) for p in range(self.schedule.publishers)]
        self._base = [sum(counts[:p]) for p in range(len(counts))]
        width = sum(counts)
        self._seen = [bytearray(width) for _ in range(self.subscribers)]
        self._last = [[-1] * len(counts) for _ in range(self.subscribers)]

    @property
    def expected(self) -> int:
        return self.schedule.total * self.subscribers

    def record(self, subscriber: int, publisher: int, ts: int, now_ms: float) -> None:
        seq = self.schedule.seq_of(publisher, ts)
        if seq is None:
            self.foreign += 1
            return
        seen = self._seen[subscriber]
        slot = self._base[publisher] + seq
        if seen[slot]:
            self.duplicated += 1
            return
        seen[slot] = 1
        self.received += 1
        self.latency.add(now_ms - ts)
        last = self._last[subscriber]
        if seq < last[publisher]:
            self.reordered += 1
        else:
            last[publisher] = seq

    def to_json(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "received": self.received,
            "duplicated": self.duplicated,
            "reordered": self.reordered,
            "foreign": self.foreign,
            "latency": self.latency.to_json(),
        }

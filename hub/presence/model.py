"""Caretaker presence as data: statuses, location coarsening, coalescing.

Pure functions and small classes, no I/O. The Redis side lives in
`hub.presence.store`; the websocket side feeds frames in and sends out what
these functions decide.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

METRES_PER_DEGREE_LATITUDE = 111_320.0


class Status(enum.StrEnum):
    """What a caretaker on duty is doing. Off duty there is no status."""

    AVAILABLE = "available"
    BUSY = "busy"
    BREAK = "break"


class Audience(enum.StrEnum):
    """Who receives a district's presence: tenants see coarse locations."""

    PUBLIC = "public"
    STAFF = "staff"


def district_topic(district_id: str, audience: Audience) -> str:
    return f"district:{district_id}#{audience.value}"


@dataclass(frozen=True, slots=True)
class Fix:
    """One position report from a caretaker's phone. `ts` is ms since the epoch."""

    lat: float
    lon: float
    accuracy: float | None
    ts: int

    def as_data(self, caretaker_id: str) -> dict[str, Any]:
        return {
            "caretaker_id": caretaker_id,
            "lat": self.lat,
            "lon": self.lon,
            "accuracy": self.accuracy,
            "ts": self.ts,
        }


def coarsen(fix: Fix, precision_m: float) -> Fix:
    """Snap a fix to the centre of a grid cell of about `precision_m` metres.

    A grid rather than random noise: repeated fixes at one spot give the same
    coarse point, so averaging many of them reveals nothing finer. The
    accuracy reported is at least the cell size, so a map draws an honest
    circle.
    """
    if precision_m <= 0:
        return fix
    lat_step = precision_m / METRES_PER_DEGREE_LATITUDE
    lat = (math.floor(fix.lat / lat_step) + 0.5) * lat_step
    metres_per_degree_lon = METRES_PER_DEGREE_LATITUDE * max(
        math.cos(math.radians(lat)), 0.01
    )
    lon_step = precision_m / metres_per_degree_lon
    lon = (math.floor(fix.lon / lon_step) + 0.5) * lon_step
    accuracy = max(fix.accuracy or 0.0, precision_m)
    return Fix(lat=round(lat, 6), lon=round(lon, 6), accuracy=accuracy, ts=fix.ts)


def fix_time(client_ts: int | None, now_ms: int, max_age_ms: int) -> int | None:
    """The time of a fix to record, or None when it is too old or from the future.

    Phones send the time their GPS fixed the position; without one the hub
    uses its own clock. A fix more than a minute in the future (a wrong phone
    clock) is taken as now rather than refused, since the position is still
    the freshest there is.
    """
    if client_ts is None:
        return now_ms
    if client_ts > now_ms + 60_000:
        return now_ms
    if client_ts < now_ms - max_age_ms:
        return None
    return min(client_ts, now_ms)


class Coalescer:
    """Lets through at most one location per `interval`; the latest one wins.

    `offer` returns True when a fix may be published now; otherwise it is
    kept as pending, replacing any older pending fix, and `due_in` says when
    `take_pending` should be called.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last_sent = -math.inf
        self.pending: Fix | None = None

    def offer(self, fix: Fix, now: float) -> bool:
        if now - self._last_sent >= self.interval and self.pending is None:
            self._last_sent = now
            return True
        self.pending = fix
        return False

    def due_in(self, now: float) -> float:
        return max(0.0, self._last_sent + self.interval - now)

    def take_pending(self, now: float) -> Fix | None:
        fix, self.pending = self.pending, None
        if fix is not None:
            self._last_sent = now
        return fix

    def clear(self) -> None:
        self.pending = None

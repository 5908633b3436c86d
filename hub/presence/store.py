"""Caretaker presence in Redis: state with a deadline, latest location, sweeper.

Every change runs as one Lua script (`lua/presence.lua`) that updates the
state and publishes the event in the same step, with a per-district sequence
number as the event id, so a snapshot and the events after it line up.

No ghosts: each caretaker has a deadline in a sorted set, pushed forward by
every frame and heartbeat of the connection holding the presence. Every hub
process sweeps the set; the sweep is one script, so a caretaker whose hub
died is taken offline exactly once, by whichever hub sweeps first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any

import msgpack
from redis.asyncio import Redis

from hub.channels.broker import REDIS_CONNECTION_ERRORS
from hub.channels.streams import script_with_library
from hub.presence.model import Audience, Fix, Status, coarsen

logger = logging.getLogger("hub.presence")

SWEEP_BATCH = 200

OFFLINE_STATE: dict[str, Any] = {
    "online": False,
    "on_duty": False,
    "status": "offline",
    "activity": "",
    "ticket_id": "",
    "since": 0,
}


def _script() -> str:
    source = resources.files("hub.presence").joinpath("lua", "presence.lua").read_text()
    return script_with_library(source)


@dataclass(frozen=True, slots=True)
class DistrictSnapshot:
    """A district's caretakers as one audience sees them, at event id `position`."""

    position: int
    caretakers: dict[str, dict[str, Any]]


class PresenceStore:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        timeout: float,
        precision_m: float,
        location_max_age: float,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._timeout_ms = int(timeout * 1000)
        self._precision_m = precision_m
        self._location_max_age_ms = int(location_max_age * 1000)
        self._script = redis.register_script(_script())

    async def _run(self, op: str, caretaker_id: str, *args: str | bytes | int) -> Any:
        return await self._script(
            keys=[], args=[self._prefix, op, caretaker_id, self._timeout_ms, *args]
        )

    async def set_state(
        self,
        caretaker_id: str,
        districts: list[str],
        *,
        on_duty: bool,
        status: Status | None,
        activity: str,
        ticket_id: str,
        connection_id: str,
    ) -> None:
        state = status.value if on_duty and status else "off_duty"
        await self._run(
            "set",
            caretaker_id,
            ",".join(districts),
            "1" if on_duty else "0",
            state,
            activity if on_duty else "",
            ticket_id if on_duty else "",
            connection_id,
        )

    async def set_location(self, caretaker_id: str, fix: Fix) -> bool:
        """Store and publish a fix; False when the caretaker is not on duty."""
        public = coarsen(fix, self._precision_m).as_data(caretaker_id)
        staff = fix.as_data(caretaker_id)
        result = await self._run(
            "location",
            caretaker_id,
            msgpack.packb(public),
            msgpack.packb(staff),
            self._location_max_age_ms,
        )
        return bool(result == b"ok")

    async def touch(self, caretaker_id: str, connection_id: str) -> bool:
        """Heartbeat; False when the presence was swept or taken over."""
        return bool(await self._run("touch", caretaker_id, connection_id) == b"ok")

    async def leave(self, caretaker_id: str, connection_id: str) -> None:
        await self._run("leave", caretaker_id, connection_id)

    async def sweep(self) -> int:
        """Take every caretaker past their deadline offline; returns how many."""
        return int(await self._run("sweep", "", SWEEP_BATCH))

    async def snapshot(
        self, district_id: str, caretaker_ids: list[str], audience: Audience
    ) -> DistrictSnapshot:
        """Current state of a district's caretakers, atomically with its event id."""
        fields = ("online", "on_duty", "status", "activity", "ticket_id", "since")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(f"{self._prefix}presence:seq", district_id)
            for caretaker_id in caretaker_ids:
                pipe.hmget(f"{self._prefix}presence:{caretaker_id}", fields)
                pipe.hget(f"{self._prefix}location:{caretaker_id}", audience.value)
            results = await pipe.execute()

        caretakers: dict[str, dict[str, Any]] = {}
        for index, caretaker_id in enumerate(caretaker_ids):
            values, location_blob = results[1 + 2 * index], results[2 + 2 * index]
            state = _state_from_hash(caretaker_id, values)
            state["location"] = (
                msgpack.unpackb(location_blob) if location_blob else None
            )
            caretakers[caretaker_id] = state
        return DistrictSnapshot(position=int(results[0] or 0), caretakers=caretakers)


def _state_from_hash(caretaker_id: str, values: list[bytes | None]) -> dict[str, Any]:
    if values[0] is None:
        return {"caretaker_id": caretaker_id, **OFFLINE_STATE}
    online, on_duty, status, activity, ticket_id, since = (
        (value or b"").decode() for value in values
    )
    return {
        "caretaker_id": caretaker_id,
        "online": online == "1",
        "on_duty": on_duty == "1",
        "status": status or "offline",
        "activity": activity,
        "ticket_id": ticket_id,
        "since": int(since or 0),
    }


class Sweeper:
    """Background task in every hub process that runs `PresenceStore.sweep`."""

    def __init__(self, store: PresenceStore, interval: float) -> None:
        self._store = store
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="presence-sweeper")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                swept = await self._store.sweep()
                if swept:
                    logger.info(
                        "presence: %d caretaker(s) timed out, now offline", swept
                    )
            except REDIS_CONNECTION_ERRORS as exc:
                logger.warning("presence sweep skipped: Redis unavailable (%s)", exc)
            except Exception:
                logger.exception("presence sweep failed")
            await asyncio.sleep(self._interval)

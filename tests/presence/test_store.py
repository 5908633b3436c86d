"""Presence store against a real Redis: state, location, deadlines, offline once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgpack
import pytest
from redis.asyncio import Redis

from hub.presence.model import Audience, Fix, Status
from hub.presence.store import PresenceStore
from tests.conftest import TIMEOUT
from tests.harness import eventually

NOW_MS = 1_750_000_000_000


def make_store(redis: Redis, prefix: str, timeout: float = 30.0) -> PresenceStore:
    return PresenceStore(
        redis, prefix, timeout=timeout, precision_m=100.0, location_max_age=300.0
    )


@pytest.fixture
async def listen(
    redis_client: Redis,
) -> AsyncIterator[Callable[[str], Awaitable[asyncio.Queue[dict[str, Any]]]]]:
    """Subscribe to raw pub/sub channels; everything is closed after the test."""
    pubsubs: list[Any] = []
    tasks: list[asyncio.Task[None]] = []

    async def subscribe(channel: str) -> asyncio.Queue[dict[str, Any]]:
        pubsub = redis_client.pubsub()
        await pubsub.subscribe(channel)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def pump() -> None:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    await queue.put(msgpack.unpackb(message["data"]))

        pubsubs.append(pubsub)
        tasks.append(asyncio.create_task(pump()))
        return queue

    yield subscribe
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for pubsub in pubsubs:
        await pubsub.aclose()


async def test_going_on_duty_publishes_state_to_both_audiences(
    redis_client: Redis, key_prefix: str, listen: Any
) -> None:
    store = make_store(redis_client, key_prefix)
    public = await listen(f"{key_prefix}pub:district:noord#public")
    staff = await listen(f"{key_prefix}pub:district:noord#staff")

    await store.set_state(
        "w1",
        ["noord"],
        on_duty=True,
        status=Status.BUSY,
        activity="lekkage trappenhuis",
        ticket_id="",
        connection_id="c1",
    )

    for queue in (public, staff):
        event = await asyncio.wait_for(queue.get(), TIMEOUT)
        assert event["kind"] == "presence"
        assert event["id"] == "1-0"
        assert event["data"]["status"] == "busy"
        assert event["data"]["activity"] == "lekkage trappenhuis"
        assert event["data"]["on_duty"] is True


async def test_location_is_coarse_for_tenants_and_precise_for_staff(
    redis_client: Redis, key_prefix: str
) -> None:
    store = make_store(redis_client, key_prefix)
    await store.set_state(
        "w1",
        ["noord"],
        on_duty=True,
        status=Status.AVAILABLE,
        activity="",
        ticket_id="",
        connection_id="c1",
    )
    fix = Fix(lat=51.930123, lon=4.480456, accuracy=5.0, ts=NOW_MS)

    assert await store.set_location("w1", fix) is True

    public = await store.snapshot("noord", ["w1"], Audience.PUBLIC)
    staff = await store.snapshot("noord", ["w1"], Audience.STAFF)
    assert staff.caretakers["w1"]["location"]["lat"] == fix.lat
    coarse = public.caretakers["w1"]["location"]
    assert coarse["lat"] != fix.lat
    assert abs(coarse["lat"] - fix.lat) < 0.001
    assert coarse["accuracy"] == 100.0
    assert public.position == staff.position == 2


async def test_location_refused_when_off_duty_and_dropped_on_going_off_duty(
    redis_client: Redis, key_prefix: str
) -> None:
    store = make_store(redis_client, key_prefix)
    fix = Fix(lat=51.93, lon=4.48, accuracy=None, ts=NOW_MS)
    assert await store.set_location("w1", fix) is False

    await store.set_state(
        "w1",
        ["noord"],
        on_duty=True,
        status=Status.AVAILABLE,
        activity="",
        ticket_id="",
        connection_id="c1",
    )
    assert await store.set_location("w1", fix) is True
    await store.set_state(
        "w1",
        ["noord"],
        on_duty=False,
        status=None,
        activity="",
        ticket_id="",
        connection_id="c1",
    )

    snapshot = await store.snapshot("noord", ["w1"], Audience.STAFF)
    assert snapshot.caretakers["w1"]["location"] is None
    assert snapshot.caretakers["w1"]["status"] == "off_duty"
    assert await redis_client.exists(f"{key_prefix}location:w1") == 0


async def test_expired_caretaker_goes_offline_exactly_once_with_many_sweepers(
    redis_client: Redis, key_prefix: str, listen: Any
) -> None:
    store = make_store(redis_client, key_prefix, timeout=0.05)
    await store.set_state(
        "w1",
        ["noord"],
        on_duty=True,
        status=Status.AVAILABLE,
        activity="",
        ticket_id="",
        connection_id="c1",
    )
    events = await listen(f"{key_prefix}pub:district:noord#public")

    # Wait past the deadline (by Redis's clock), then sweep from ten
    # "processes" at once.
    async def past_deadline() -> bool:
        seconds, micros = await redis_client.time()
        deadline = await redis_client.zscore(f"{key_prefix}presence:deadlines", "w1")
        assert deadline is not None, "w1 has no deadline"
        return seconds * 1000 + micros // 1000 > deadline

    await eventually(past_deadline)
    swept = await asyncio.gather(*(store.sweep() for _ in range(10)))

    assert sum(swept) == 1
    event = await asyncio.wait_for(events.get(), TIMEOUT)
    assert event["data"]["online"] is False
    assert event["data"]["status"] == "offline"
    assert events.empty()


async def test_leave_from_a_replaced_connection_does_not_take_caretaker_offline(
    redis_client: Redis, key_prefix: str
) -> None:
    store = make_store(redis_client, key_prefix)
    for connection in ("old", "new"):
        await store.set_state(
            "w1",
            ["noord"],
            on_duty=True,
            status=Status.AVAILABLE,
            activity="",
            ticket_id="",
            connection_id=connection,
        )

    await store.leave("w1", "old")

    snapshot = await store.snapshot("noord", ["w1"], Audience.PUBLIC)
    assert snapshot.caretakers["w1"]["online"] is True
    assert await store.touch("w1", "old") is False
    assert await store.touch("w1", "new") is True


@pytest.mark.parametrize("caretakers", [[], ["nobody"]])
async def test_snapshot_of_unknown_caretakers_is_offline(
    redis_client: Redis, key_prefix: str, caretakers: list[str]
) -> None:
    snapshot = await make_store(redis_client, key_prefix).snapshot(
        "zuid", caretakers, Audience.PUBLIC
    )
    assert snapshot.position == 0
    assert all(not state["online"] for state in snapshot.caretakers.values())

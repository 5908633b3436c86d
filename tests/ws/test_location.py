"""End to end: a caretaker's positions are coalesced, kept only while fresh,
and dropped on going off duty."""

from __future__ import annotations

import time

import httpx
import msgpack
import redis.asyncio

from tests.conftest import RedisServer
from tests.harness import (
    Client,
    Hub,
    eventually,
    hub_settings,
    load_directory,
    running_hub,
)


def is_location(frame: dict[str, object]) -> bool:
    return frame.get("type") == "event" and frame.get("kind") == "location"


async def on_duty_caretaker_and_agent(hub: Hub) -> tuple[Client, Client]:
    agent = await hub.connect("k1")
    await agent.request({"type": "subscribe", "channel": "district:noord"})
    caretaker = await hub.connect("w1")
    await caretaker.request(
        {"type": "presence", "on_duty": True, "status": "available"}
    )
    await agent.expect(lambda f: f.get("kind") == "presence")
    return caretaker, agent


async def test_many_location_frames_a_second_reach_subscribers_coalesced(
    redis_server: RedisServer, key_prefix: str
) -> None:
    await load_directory(redis_server.url, key_prefix)
    interval = 0.5
    settings = hub_settings(
        redis_server.url, key_prefix, location_min_interval=interval
    )
    async with running_hub(settings) as hub:
        caretaker, agent = await on_duty_caretaker_and_agent(hub)
        sent = [round(51.93 + n * 0.0001, 6) for n in range(30)]

        started = time.monotonic()
        for lat in sent:
            await caretaker.send({"type": "location", "lat": lat, "lon": 4.48})
        sending_took = time.monotonic() - started

        received: list[float] = []
        while not received or received[-1] != sent[-1]:
            event = await agent.expect(is_location)
            received.append(event["data"]["lat"])

        # The latest position wins and arrives; nothing older follows a newer
        # one; and at most one position per interval went out (plus the first
        # and the final flush), however fast the phone sent them.
        assert received == sorted(set(received))
        assert len(received) <= 2 + sending_took / interval
        assert len(received) < len(sent)

        tenant = await hub.connect("100001")
        snapshot = await tenant.request(
            {"type": "subscribe", "channel": "district:noord"}
        )
        location = snapshot["snapshot"]["caretakers"][0]["presence"]["location"]
        assert abs(location["lat"] - sent[-1]) < 0.001  # coarse, but the latest


async def test_only_the_latest_position_is_kept_and_it_expires(
    redis_server: RedisServer, key_prefix: str, redis_client: redis.asyncio.Redis
) -> None:
    await load_directory(redis_server.url, key_prefix)
    max_age = 1.0
    settings = hub_settings(redis_server.url, key_prefix, location_max_age=max_age)
    key = f"{key_prefix}location:w1"
    async with running_hub(settings) as hub:
        caretaker, agent = await on_duty_caretaker_and_agent(hub)
        for lat in (51.9401, 51.9402):
            await caretaker.send({"type": "location", "lat": lat, "lon": 4.48})
        await agent.expect(lambda f: is_location(f) and f["data"]["lat"] == 51.9402)

        # One position per caretaker, the latest, with a deadline of max_age.
        stored = await redis_client.hgetall(key)
        assert set(stored) == {b"public", b"staff"}
        assert msgpack.unpackb(stored[b"staff"])["lat"] == 51.9402
        assert 0 < await redis_client.pttl(key) <= max_age * 1000

        await eventually(lambda: _absent(redis_client, key), timeout=max_age + 5)

        # Still on duty, but no position to show any more.
        tenant = await hub.connect("100001")
        subscribed = await tenant.request(
            {"type": "subscribe", "channel": "district:noord"}
        )
        presence = subscribed["snapshot"]["caretakers"][0]["presence"]
        assert presence["on_duty"] is True
        assert presence["location"] is None
        async with httpx.AsyncClient(
            base_url=hub.url,
            headers={"Authorization": f"Bearer {await hub.token('100001')}"},
        ) as http:
            district = (await http.get("/api/districts/noord")).json()
        assert district["caretakers"][0]["presence"]["location"] is None


async def test_going_off_duty_removes_the_position(
    hub: Hub, redis_client: redis.asyncio.Redis, key_prefix: str
) -> None:
    caretaker, agent = await on_duty_caretaker_and_agent(hub)
    await caretaker.send({"type": "location", "lat": 51.9401, "lon": 4.48})
    await agent.expect(is_location)
    assert await redis_client.exists(f"{key_prefix}location:w1") == 1

    ok = await caretaker.request({"type": "presence", "on_duty": False})
    assert ok["type"] == "ok"

    assert await redis_client.exists(f"{key_prefix}location:w1") == 0
    other_agent = await hub.connect("k1")
    subscribed = await other_agent.request(
        {"type": "subscribe", "channel": "district:noord"}
    )
    presence = subscribed["snapshot"]["caretakers"][0]["presence"]
    assert presence["status"] == "off_duty"
    assert presence["location"] is None


async def _absent(client: redis.asyncio.Redis, key: str) -> bool:
    return await client.exists(key) == 0

"""Several hub processes on one Redis: fan-out across them, crashes, Redis restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import TIMEOUT, RedisServer
from tests.harness import (
    HubProcess,
    eventually,
    hub_settings,
    load_directory,
    running_hub,
)


@pytest.fixture
async def two_hubs(
    redis_server: RedisServer, key_prefix: str
) -> AsyncIterator[tuple[HubProcess, HubProcess]]:
    await load_directory(redis_server.url, key_prefix)
    first = HubProcess(redis_server.url, key_prefix, HUB_PRESENCE_TIMEOUT="2")
    second = HubProcess(redis_server.url, key_prefix, HUB_PRESENCE_TIMEOUT="2")
    await asyncio.gather(first.start(), second.start())
    yield first, second
    await first.close()
    await second.close()


async def test_tenant_on_one_process_sees_caretaker_on_another(
    two_hubs: tuple[HubProcess, HubProcess],
) -> None:
    a, b = two_hubs
    tenant = await a.hub.connect("100001")
    await tenant.request({"type": "subscribe", "channel": "district:noord"})
    caretaker = await b.hub.connect("w1")

    await caretaker.request(
        {"type": "presence", "on_duty": True, "status": "available"}
    )

    event = await tenant.expect(lambda f: f["type"] == "event")
    assert event["data"]["status"] == "available"
    assert event["data"]["online"] is True


async def test_sigkill_of_caretakers_process_shows_offline_once_within_timeout(
    two_hubs: tuple[HubProcess, HubProcess],
) -> None:
    a, b = two_hubs
    tenant = await a.hub.connect("100001")
    await tenant.request({"type": "subscribe", "channel": "district:noord"})
    caretaker = await b.hub.connect("w1")
    await caretaker.request({"type": "presence", "on_duty": True, "status": "busy"})
    await tenant.expect(lambda f: f.get("kind") == "presence" and f["data"]["online"])

    killed_at = time.monotonic()
    b.kill()

    offline = await tenant.expect(
        lambda f: f.get("kind") == "presence" and not f["data"]["online"],
        timeout=TIMEOUT * 2,
    )
    waited = time.monotonic() - killed_at
    assert offline["data"]["status"] == "offline"
    assert waited < 2 + 1.5  # the presence timeout plus one sweep interval and slack
    # Exactly one offline event: nothing more arrives on the channel.
    with pytest.raises(TimeoutError):
        await tenant.expect(lambda f: f["type"] == "event", timeout=1.0)


async def test_snapshot_then_changes_loses_nothing_when_a_change_races_the_subscribe(
    two_hubs: tuple[HubProcess, HubProcess],
) -> None:
    a, b = two_hubs
    caretaker = await b.hub.connect("w1")
    await caretaker.request(
        {"type": "presence", "on_duty": True, "status": "available"}
    )

    for round_number in range(20):
        activity = f"ronde {round_number}"
        tenant = await a.hub.connect("100001")
        subscribe = asyncio.create_task(
            tenant.request({"type": "subscribe", "channel": "district:noord"})
        )
        await caretaker.send(
            {
                "type": "presence",
                "on_duty": True,
                "status": "busy",
                "activity": activity,
            }
        )
        subscribed = await subscribe
        seen = subscribed["snapshot"]["caretakers"][0]["presence"]["activity"]
        if seen != activity:
            # The change came after the snapshot: it must follow as an event.
            event = await tenant.expect(lambda f: f.get("kind") == "presence")
            assert event["data"]["activity"] == activity
        else:
            # Covered by the snapshot: it must not arrive a second time.
            with pytest.raises(TimeoutError):
                await tenant.expect(lambda f: f.get("kind") == "presence", timeout=0.3)
        await tenant.close()


async def test_redis_restart_under_a_live_subscription_keeps_the_tenant_receiving(
    private_redis: RedisServer, key_prefix: str
) -> None:
    await load_directory(private_redis.url, key_prefix)
    settings = hub_settings(private_redis.url, key_prefix)
    async with running_hub(settings) as hub:
        tenant = await hub.connect("100001")
        await tenant.request({"type": "subscribe", "channel": "district:noord"})
        caretaker = await hub.connect("w1")
        await caretaker.request(
            {"type": "presence", "on_duty": True, "status": "available"}
        )
        await tenant.expect(lambda f: f.get("kind") == "presence")

        private_redis.stop()

        # While Redis is away the hub says so; liveness stays green.
        async with httpx.AsyncClient(base_url=hub.url) as http:

            async def not_ready() -> bool:
                response = await http.get("/readyz")
                checks = response.json()["checks"]
                return response.status_code == 503 and checks["redis"] is False

            await eventually(not_ready, timeout=TIMEOUT * 2)
            assert (await http.get("/healthz")).status_code == 200

        private_redis.start()

        context = hub.app.state.hub
        await eventually(lambda: context.broker.ready, timeout=TIMEOUT * 3)
        # The resubscribed listener sends a fresh snapshot first.
        fresh = await tenant.expect(
            lambda f: f.get("kind") == "snapshot", timeout=TIMEOUT * 2
        )
        assert fresh["data"]["caretakers"][0]["presence"]["status"] == "available"

        async def busy_arrives() -> bool:
            reply = await caretaker.request(
                {
                    "type": "presence",
                    "on_duty": True,
                    "status": "busy",
                    "activity": "na herstart",
                }
            )
            kind: str = reply["type"]
            return kind == "ok"

        await eventually(busy_arrives, timeout=TIMEOUT * 2)
        event = await tenant.expect(
            lambda f: (
                f.get("kind") == "presence" and f["data"]["activity"] == "na herstart"
            )
        )
        assert event["data"]["status"] == "busy"

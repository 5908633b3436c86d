"""No secrets or positions in logs; nothing left behind when connections close."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
import redis.asyncio

from hub.channels.streams import pubsub_channel
from hub.logs import configure_logging
from tests.conftest import RedisServer
from tests.harness import (
    PASSWORDS,
    Hub,
    eventually,
    hub_settings,
    load_directory,
    running_hub,
)


async def test_logs_never_contain_tokens_passwords_or_positions(
    hub: Hub, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging("DEBUG")
    # Only the hub's lines: the test's own websocket client logs its frames.
    logging.getLogger("websockets").setLevel(logging.WARNING)
    lat, lon = "51.9412345", "4.4798765"
    async with httpx.AsyncClient(base_url=hub.url) as http:
        await http.post(
            "/api/login", json={"username": "w1", "password": "verkeerd-wachtwoord"}
        )
    token = await hub.token("w1")
    caretaker = await hub.connect("w1")
    await caretaker.request(
        {"type": "presence", "on_duty": True, "status": "available"}
    )
    await caretaker.send({"type": "location", "lat": float(lat), "lon": float(lon)})
    await caretaker.request(
        {"type": "location", "lat": 95, "lon": float(lon)}
    )  # refused
    stranger = await hub.connect()
    await stranger.send({"type": "auth", "token": token + "x"})
    await stranger.closed_with()

    logged = capfd.readouterr().err
    logging.getLogger().handlers.clear()
    assert "login failed" in logged, "the scenario should have logged something"
    for secret in (
        token,
        "verkeerd-wachtwoord",
        PASSWORDS["w1"],
        lat,
        lon,
        lat[:7],
        lon[:6],
    ):
        assert secret not in logged


async def test_closing_connections_leaves_no_subscriptions_or_tasks(hub: Hub) -> None:
    context = hub.app.state.hub
    clients = []
    for user in ("100001", "100002", "w1", "k1"):
        client = await hub.connect(user)
        await client.request({"type": "subscribe", "channel": "district:noord"})
        clients.append(client)
    await clients[-1].request({"type": "subscribe", "channel": "dashboard"})
    assert context.broker.topic_counts() == {
        "district:noord#public": 2,
        "district:noord#staff": 2,
        "dashboard": 1,
    }

    for client in clients:
        await client.close()

    await eventually(lambda: not context.sessions)
    assert context.broker.topic_counts() == {}


async def test_redis_subscriptions_tasks_and_connections_are_released(
    private_redis: RedisServer, key_prefix: str
) -> None:
    """Ref-counted Redis subscriptions drop with the last subscriber, closed
    connections leave no tasks, and shutdown leaves no Redis connection."""
    await load_directory(private_redis.url, key_prefix)
    admin = redis.asyncio.Redis.from_url(private_redis.url)
    public = pubsub_channel(key_prefix, "district:noord#public")
    staff = pubsub_channel(key_prefix, "district:noord#staff")

    async def subscribers(channel: str) -> int:
        [(_, count)] = await admin.pubsub_numsub(channel)
        return int(count)

    tasks_before_start = asyncio.all_tasks()
    async with running_hub(hub_settings(private_redis.url, key_prefix)) as hub:
        context = hub.app.state.hub
        tasks_when_idle = asyncio.all_tasks()

        tenants = [await hub.connect(user) for user in ("100001", "100002")]
        for tenant in tenants:
            await tenant.request({"type": "subscribe", "channel": "district:noord"})
        caretaker = await hub.connect("w1")
        await caretaker.request({"type": "subscribe", "channel": "district:noord"})
        await caretaker.request(
            {"type": "presence", "on_duty": True, "status": "available"}
        )
        # Two local subscribers, one Redis subscription.
        assert await subscribers(public) == 1
        assert await subscribers(staff) == 1

        await tenants[0].close()
        await eventually(lambda: len(context.sessions) == 2)
        assert await subscribers(public) == 1

        await tenants[1].close()
        await caretaker.close()
        await eventually(lambda: not context.sessions)
        assert await subscribers(public) == 0
        assert await subscribers(staff) == 0
        assert context.broker.topic_counts() == {}
        # The caretaker's heartbeat and every per-connection task are gone.
        await eventually(lambda: asyncio.all_tasks() <= tasks_when_idle)

    await eventually(lambda: asyncio.all_tasks() <= tasks_before_start)

    async def only_admin_left() -> bool:
        return len(await admin.client_list()) == 1

    await eventually(only_admin_left)
    await admin.aclose()

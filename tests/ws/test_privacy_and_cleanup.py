"""No secrets or positions in logs; nothing left behind when connections close."""

from __future__ import annotations

import logging

import httpx
import pytest

from hub.logs import configure_logging
from tests.harness import PASSWORDS, Hub, eventually


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

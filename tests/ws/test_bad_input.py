"""Broken, oversized, wrong-typed and hostile frames: a clear error, nothing lost."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
import msgpack
import orjson
import pytest
import websockets

from hub.errors import CloseCode
from tests.conftest import TIMEOUT, RedisServer
from tests.harness import Hub, hub_settings, load_directory, running_hub


async def test_no_auth_frame_in_time_closes_4408(
    redis_server: RedisServer, key_prefix: str
) -> None:
    settings = hub_settings(redis_server.url, key_prefix, auth_timeout=0.3)
    async with running_hub(settings) as hub:
        client = await hub.connect()
        assert await client.closed_with() == CloseCode.AUTH_TIMEOUT


@pytest.mark.parametrize(
    "first_frame",
    [
        {"type": "auth", "token": "not-a-token"},
        {"type": "auth", "token": ""},
        {"type": "auth", "token": 12},
        {"type": "ping"},
        {"type": "subscribe", "channel": "district:noord"},
    ],
)
async def test_bad_or_missing_token_closes_4401(
    hub: Hub, first_frame: dict[str, Any]
) -> None:
    client = await hub.connect()
    await client.send(first_frame)
    assert await client.closed_with() == CloseCode.NOT_AUTHENTICATED


async def test_garbage_first_frame_closes_4401(hub: Hub) -> None:
    client = await hub.connect()
    await client.connection.send("{not json")
    assert await client.closed_with() == CloseCode.NOT_AUTHENTICATED


BAD_FRAMES: list[tuple[str | bytes | dict[str, Any], str]] = [
    ("{broken json", "bad_request"),
    ("[1, 2, 3]", "bad_request"),
    ('"just a string"', "bad_request"),
    (b"\x00\x01binary in a json connection", "bad_request"),
    ('{"type": "\\ud800"}', "bad_request"),  # a lone surrogate
    ({"type": "dance"}, "bad_request"),
    ({"type": 7}, "bad_request"),
    ({"no_type": True}, "bad_request"),
    ({"type": "subscribe"}, "bad_request"),
    ({"type": "subscribe", "channel": 5}, "bad_request"),
    ({"type": "subscribe", "channel": "x" * 500}, "bad_request"),
    ({"type": "subscribe", "channel": "district:../../etc"}, "bad_request"),
    ({"type": "subscribe", "channel": "district:nowhere"}, "forbidden"),
    (
        {"type": "subscribe", "channel": "tickets:mine", "since": "yesterday"},
        "bad_request",
    ),
    ({"type": "subscribe", "channel": "dashboard"}, "forbidden"),
    ({"type": "unsubscribe", "channel": "district:noord"}, "not_found"),
    ({"type": "presence", "on_duty": True, "status": "available"}, "forbidden"),
    ({"type": "location", "lat": 51.9, "lon": 4.4}, "forbidden"),
    ({"type": "ping", "ref": {"nested": "object"}}, "bad_request"),
    ({"type": "ping", "extra": "<script>alert(1)</script>"}, "bad_request"),
]


@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES)
async def test_tenant_bad_frame_gets_error_and_connection_keeps_working(
    hub: Hub, frame: str | bytes | dict[str, Any], code: str
) -> None:
    tenant = await hub.connect("100001")
    if isinstance(frame, dict):
        await tenant.send({**frame, "ref": "bad"} if "ref" not in frame else frame)
    else:
        await tenant.connection.send(frame)

    error = await tenant.expect(lambda f: f["type"] == "error")
    assert error["code"] == code
    assert error["message"]
    pong = await tenant.request({"type": "ping"})
    assert pong["type"] == "pong"


CARETAKER_BAD_FRAMES: list[dict[str, Any]] = [
    {"type": "presence", "on_duty": "yes", "status": "available"},
    {"type": "presence", "on_duty": True, "status": "sleeping"},
    {"type": "presence", "on_duty": True},
    {"type": "presence", "on_duty": True, "status": "busy", "activity": "x" * 5000},
    {"type": "presence", "on_duty": True, "status": "busy", "ticket_id": "../../x"},
    {"type": "location", "lat": float("nan"), "lon": 4.4},
    {"type": "location", "lat": 91, "lon": 4.4},
    {"type": "location", "lat": 51.9, "lon": -181},
    {"type": "location", "lat": "51.9", "lon": 4.4},
    {"type": "location", "lat": True, "lon": 4.4},
    {"type": "location", "lat": 51.9, "lon": 4.4, "accuracy": -1},
    {"type": "location", "lat": 51.9, "lon": 4.4, "ts": 1000},  # 1970: too old
]


@pytest.mark.parametrize("frame", CARETAKER_BAD_FRAMES)
async def test_caretaker_bad_presence_or_location_is_refused_and_not_stored(
    hub: Hub, frame: dict[str, Any]
) -> None:
    caretaker = await hub.connect("w1")
    agent = await hub.connect("k1")
    await agent.request({"type": "subscribe", "channel": "district:noord"})

    error = await caretaker.request(frame)

    assert error["type"] == "error"
    assert error["code"] == "bad_request"
    snapshot = await agent.request({"type": "unsubscribe", "channel": "district:noord"})
    assert snapshot["type"] == "unsubscribed"
    again = await agent.request({"type": "subscribe", "channel": "district:noord"})
    presence = again["snapshot"]["caretakers"][0]["presence"]
    assert presence["online"] is False
    assert presence["location"] is None


async def test_location_while_off_duty_is_refused_with_conflict(hub: Hub) -> None:
    caretaker = await hub.connect("w1")
    await caretaker.request({"type": "presence", "on_duty": False})
    error = await caretaker.request({"type": "location", "lat": 51.94, "lon": 4.48})
    assert error["code"] == "conflict"


async def test_oversized_frame_closes_1009(hub: Hub) -> None:
    tenant = await hub.connect("100001")
    await tenant.connection.send('{"type": "ping", "pad": "' + "x" * 70_000 + '"}')
    assert await tenant.closed_with() == CloseCode.MESSAGE_TOO_BIG


async def test_msgpack_connection_refuses_text_and_garbage(hub: Hub) -> None:
    tenant = await hub.connect("100001", msgpack_codec=True)
    await tenant.connection.send(b"\xc1\xc1\xc1")
    error = await tenant.expect(lambda f: f["type"] == "error")
    assert error["code"] == "bad_request"
    await tenant.connection.send(msgpack.packb([1, 2]))
    error = await tenant.expect(lambda f: f["type"] == "error")
    assert error["code"] == "bad_request"
    pong = await tenant.request({"type": "ping"})
    assert pong["type"] == "pong"


async def test_flood_is_rate_limited_then_closed_4429(hub: Hub) -> None:
    tenant = await hub.connect("100001")
    for _ in range(200):
        await tenant.send({"type": "ping"})
    codes = []
    waits = []
    while True:
        try:
            frame = await tenant.receive()
        except websockets.ConnectionClosed:
            break
        codes.append(frame.get("code"))
        if frame.get("code") == "rate_limited":
            waits.append(frame["retry_after"])
    assert "rate_limited" in codes
    # The client is told when to try again: whole seconds, never zero.
    assert waits and all(isinstance(w, int) and w >= 1 for w in waits)
    assert tenant.connection.close_code == CloseCode.TOO_SLOW


async def test_page_of_a_foreign_origin_is_closed_4403_unheard(hub: Hub) -> None:
    # A browser shows a page no HTTP status, so the refusal is a close code
    # that tells the page not to retry; and nothing it sends is acted on.
    client = await hub.connect(origin="https://evil.example")
    with contextlib.suppress(websockets.ConnectionClosed):
        await client.connection.send(orjson.dumps({"type": "auth", "token": "x"}))
    assert await client.closed_with() == CloseCode.FORBIDDEN
    assert client.connection.close_reason == "origin not allowed"
    assert hub.app.state.hub.sessions == set()
    # The hub's own pages, and clients that send no Origin, still get in.
    tenant = await hub.connect(origin=hub.url)
    await tenant.send({"type": "auth", "token": await hub.token("100001")})
    assert (await tenant.receive())["type"] == "welcome"


async def test_handshake_with_unknown_subprotocol_is_refused_400(hub: Hub) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(hub.ws_url, subprotocols=["mqtt"])  # type: ignore[list-item]
    response = refused.value.response
    assert response.status_code == 400
    error = orjson.loads(response.body)["error"]
    assert error["code"] == "bad_request"
    assert "homi.v1.json" in error["message"]


async def test_handshake_while_shutting_down_is_refused_503(hub: Hub) -> None:
    context = hub.app.state.hub
    context.accepting = False  # what shutdown sets first
    try:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await hub.connect()
    finally:
        context.accepting = True
    assert refused.value.response.status_code == 503
    assert orjson.loads(refused.value.response.body)["error"]["code"] == "unavailable"


async def test_token_expiring_while_connected_closes_4401(
    redis_server: RedisServer, key_prefix: str
) -> None:
    await load_directory(redis_server.url, key_prefix)
    ttl = 3  # seconds; the hub's timer must follow the token's real expiry
    settings = hub_settings(redis_server.url, key_prefix, token_ttl=ttl)
    async with running_hub(settings) as hub:
        async with httpx.AsyncClient(base_url=hub.url) as http:
            login = await http.post(
                "/api/login", json={"username": "100001", "password": "huurder"}
            )
        assert login.json()["expires_in"] == ttl
        token = login.json()["token"]
        tenant = await hub.connect()
        welcome = await tenant.request({"type": "auth", "token": token})
        assert welcome["type"] == "welcome"
        assert (await tenant.request({"type": "ping"}))["type"] == "pong"

        assert await tenant.closed_with(timeout=ttl + TIMEOUT) == (
            CloseCode.NOT_AUTHENTICATED
        )
        assert tenant.connection.close_reason == "token expired"

        # The same token no longer opens a connection.
        late = await hub.connect()
        await late.send({"type": "auth", "token": token})
        assert await late.closed_with() == CloseCode.NOT_AUTHENTICATED
        assert late.connection.close_reason == "token expired"


async def test_wrong_method_on_an_api_path_says_405_and_what_is_allowed(
    hub: Hub,
) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        response = await http.delete("/api/login")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert response.json()["error"] == {
        "code": "bad_request",
        "message": "DELETE is not allowed here",
    }

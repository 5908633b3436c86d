"""End to end: a caretaker's presence reaches the tenants of the district."""

from __future__ import annotations

from tests.harness import Hub


async def test_tenant_sees_caretaker_go_on_duty_and_move_coarsely(hub: Hub) -> None:
    tenant = await hub.connect("100001")
    subscribed = await tenant.request(
        {"type": "subscribe", "channel": "district:noord"}
    )
    assert subscribed["type"] == "subscribed"
    card = subscribed["snapshot"]["caretakers"][0]
    assert card["name"] == "Sanne de Vries"
    assert card["presence"]["online"] is False

    caretaker = await hub.connect("w1")
    ok = await caretaker.request(
        {"type": "presence", "on_duty": True, "status": "busy", "activity": "lekkage"}
    )
    assert ok["type"] == "ok"
    event = await tenant.expect(lambda f: f["type"] == "event")
    assert event["channel"] == "district:noord"
    assert event["kind"] == "presence"
    assert event["data"]["status"] == "busy"
    assert event["data"]["activity"] == "lekkage"

    await caretaker.send(
        {"type": "location", "lat": 51.940123, "lon": 4.481234, "accuracy": 4}
    )
    moved = await tenant.expect(lambda f: f.get("kind") == "location")
    assert moved["data"]["lat"] != 51.940123
    assert abs(moved["data"]["lat"] - 51.940123) < 0.001
    assert moved["data"]["accuracy"] == 100.0
    assert moved["data"]["ts"] > 0

    agent = await hub.connect("k1")
    staff = await agent.request({"type": "subscribe", "channel": "district:noord"})
    assert (
        staff["snapshot"]["caretakers"][0]["presence"]["location"]["lat"] == 51.940123
    )


async def test_tenant_may_not_subscribe_to_another_district(hub: Hub) -> None:
    tenant = await hub.connect("100001")
    error = await tenant.request({"type": "subscribe", "channel": "district:zuid"})
    assert error["type"] == "error"
    assert error["code"] == "forbidden"
    pong = await tenant.request({"type": "ping"})
    assert pong["type"] == "pong"

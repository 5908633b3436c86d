"""A whole conversation end to end: REST and websocket, live and after reconnects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio

from hub.channels.streams import stream_key
from tests.conversation.conftest import Api, jpeg
from tests.harness import Client, Hub, stream_entries

LIVE = ("message", "transition")


class Inbox:
    """A client whose frames are kept until a test takes them, in any order."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.kept: list[dict[str, Any]] = []
        self._ref = 0

    async def take(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        for frame in self.kept:
            if predicate(frame):
                self.kept.remove(frame)
                return frame
        while True:
            frame = await self.client.receive()
            if predicate(frame):
                return frame
            self.kept.append(frame)

    async def send(self, frame: dict[str, Any]) -> None:
        await self.client.send(frame)

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        self._ref += 1
        ref = f"q{self._ref}"
        await self.client.send({**frame, "ref": ref})
        return await self.take(lambda f: f.get("ref") == ref)

    async def close(self) -> None:
        await self.client.close()


def next_tuesday_ten() -> str:
    today = datetime.now(UTC).date()
    days = (1 - today.weekday()) % 7 or 7
    day = today + timedelta(days=days)
    return f"{day.isoformat()}T10:00:00+02:00"


async def follow(
    hub: Hub, user_id: str, ticket_id: str, since: str | None = None
) -> Inbox:
    client = Inbox(await hub.connect(user_id))
    frame: dict[str, Any] = {"type": "subscribe", "channel": f"ticket:{ticket_id}"}
    if since is not None:
        frame["since"] = since
    answer = await client.request(frame)
    assert answer["type"] == "subscribed", answer
    return client


async def next_event(client: Inbox, ticket_id: str) -> dict[str, Any]:
    return await client.take(
        lambda f: (
            f["type"] == "event"
            and f["channel"] == f"ticket:{ticket_id}"
            and f["kind"] in LIVE
        )
    )


def said(event: dict[str, Any]) -> str:
    data = event["data"]
    if event["kind"] == "message":
        return f"{data['by']['id']}: {data['text']}"
    return f"{data['transition']['by']['id']} -> {data['ticket']['status']}"


async def test_tenant_agent_and_caretaker_talk_live_in_order(
    hub_: Hub,
    users: dict[str, Api],
    redis_client: redis.asyncio.Redis,
    key_prefix: str,
) -> None:
    tenant, agent, caretaker = users["100001"], users["k1"], users["w1"]
    ticket = await tenant.report()
    ticket_id = ticket["id"]

    tenant_ws = await follow(hub_, "100001", ticket_id, since=ticket["position"])
    agent_ws = await follow(hub_, "k1", ticket_id)
    assert (await agent_ws.request({"type": "subscribe", "channel": "dashboard"}))[
        "type"
    ] == "subscribed"
    assert (await tenant_ws.request({"type": "subscribe", "channel": "tickets:mine"}))[
        "type"
    ] == "subscribed"

    # The tenant sends the report's photo with a first message.
    photo = (await tenant.upload(ticket_id, jpeg())).json()
    first = await tenant.say(
        ticket_id, "Het lekt uit het plafond", photos=[photo["id"]]
    )
    assert first.status_code == 201, first.text
    hint = await agent_ws.take(
        lambda f: f.get("channel") == "dashboard" and f.get("kind") == "message_hint"
    )
    assert hint["data"]["ticket_id"] == ticket_id and "text" not in hint["data"]
    assert hint["data"]["awaiting_reply_since"] == first.json()["at"]

    # Typing reaches the others as a signal, then the agent answers by websocket.
    await tenant_ws.send({"type": "typing", "ticket_id": ticket_id})
    typing = await agent_ws.take(lambda f: f["type"] == "signal")
    assert typing == {
        "type": "signal",
        "channel": f"ticket:{ticket_id}",
        "kind": "typing",
        "data": typing["data"],
    }
    assert typing["data"]["by"] == {
        "id": "100001",
        "role": "tenant",
        "name": "Mevrouw Jansen",
    }
    reply = await agent_ws.request(
        {
            "type": "message",
            "ticket_id": ticket_id,
            "text": "Komt het van het plafond of de leiding?",
        }
    )
    assert reply["type"] == "ok" and reply["message"]["id"] == 2

    read = await tenant_ws.request(
        {"type": "read", "ticket_id": ticket_id, "message_id": 2}
    )
    assert read["read"]["message_id"] == 2
    receipt = await agent_ws.take(
        lambda f: f["type"] == "signal" and f["kind"] == "read"
    )
    assert receipt["data"]["by"]["id"] == "100001"
    tenant_hint = await tenant_ws.take(
        lambda f: f.get("channel") == "tickets:mine" and f.get("kind") == "message_hint"
    )
    assert tenant_hint["data"]["message_id"] == 1

    # The tenant drops off; meanwhile the conversation goes on.
    seen_by_tenant = [await next_event(tenant_ws, ticket_id) for _ in range(2)]
    last_position = seen_by_tenant[-1]["id"]
    await tenant_ws.close()

    assert (
        await tenant.say(ticket_id, "Van het plafond, bij de lamp")
    ).status_code == 201
    moved = await agent.move(
        ticket_id, to="assigned", severity="urgent", note="Beheerder komt kijken"
    )
    assert moved.status_code == 200, moved.text
    accepted = await caretaker.move(
        ticket_id, to="accepted", planned_for=next_tuesday_ten()
    )
    assert accepted.status_code == 200, accepted.text
    caretaker_ws = await follow(hub_, "w1", ticket_id)
    visit = await caretaker_ws.request(
        {"type": "message", "ticket_id": ticket_id, "text": "kom ik dinsdag om 10:00"}
    )
    assert visit["type"] == "ok", visit

    # Back again: everything missed, once, in order, then live.
    tenant_again = await follow(hub_, "100001", ticket_id, since=last_position)
    caught_up = [await next_event(tenant_again, ticket_id) for _ in range(4)]
    expected = [
        "100001: Van het plafond, bij de lamp",
        "k1 -> assigned",
        "w1 -> accepted",
        "w1: kom ik dinsdag om 10:00",
    ]
    assert [said(event) for event in caught_up] == expected
    agent_saw = [await next_event(agent_ws, ticket_id) for _ in range(6)]
    assert [said(event) for event in agent_saw] == [
        "100001: Het lekt uit het plafond",
        "k1: Komt het van het plafond of de leiding?",
        *expected,
    ]
    assert [said(event) for event in seen_by_tenant] == [
        said(event) for event in agent_saw[:2]
    ]
    assert caught_up[-1]["data"]["by"]["role"] == "caretaker"
    assert accepted.json()["ticket"]["planned_for"] is not None

    # The thread over REST has the same messages, the photo, and the receipts.
    thread = (await tenant.thread(ticket_id)).json()
    assert [m["text"] for m in thread["messages"]] == [
        "Het lekt uit het plafond",
        "Komt het van het plafond of de leiding?",
        "Van het plafond, bij de lamp",
        "kom ik dinsdag om 10:00",
    ]
    assert thread["messages"][0]["photos"][0]["id"] == photo["id"]
    assert {"by": {"id": "100001", "role": "tenant"}, "message_id": 2} in thread["read"]
    assert thread["agent_present"] is True
    assert thread["awaiting_reply_since"] is None  # the caretaker answered last

    # Typing was never stored: not on the timeline, not in the thread.
    entries = await stream_entries(
        redis_client, stream_key(key_prefix, f"ticket:{ticket_id}")
    )
    kinds = {fields[b"k"].decode() for _, fields in entries}
    assert kinds == {"created", "message", "transition"}
    assert not [key async for key in redis_client.scan_iter(f"{key_prefix}*typing*")]


async def test_thread_pages_back_in_time(users: dict[str, Api]) -> None:
    tenant = users["100001"]
    ticket_id = (await tenant.report())["id"]
    for number in range(1, 8):
        assert (await tenant.say(ticket_id, f"bericht {number}")).status_code == 201

    newest = (await tenant.thread(ticket_id, limit=3)).json()
    assert [m["id"] for m in newest["messages"]] == [5, 6, 7]
    older = (
        await tenant.thread(ticket_id, limit=3, before=newest["next_before"])
    ).json()
    assert [m["id"] for m in older["messages"]] == [2, 3, 4]
    oldest = (
        await tenant.thread(ticket_id, limit=3, before=older["next_before"])
    ).json()
    assert [m["id"] for m in oldest["messages"]] == [1]
    assert oldest["next_before"] is None


async def test_agents_see_who_waits_for_a_reply_and_since_when(
    users: dict[str, Api],
) -> None:
    tenant, agent = users["100001"], users["k1"]
    ticket_id = (await tenant.report())["id"]
    asked = (await tenant.say(ticket_id, "Wanneer komt er iemand?")).json()
    await tenant.say(ticket_id, "Hallo?")

    waiting = (await agent.request("GET", "/api/conversations/waiting")).json()
    assert {
        "ticket_id": ticket_id,
        "since": asked["at"],
        "status": "submitted",
        "district": "noord",
    } in waiting["tickets"]
    thread = (await tenant.thread(ticket_id)).json()
    assert thread["queue_position"] is not None and thread["agent_present"] is False

    await agent.say(ticket_id, "Ik kijk er nu naar")
    waiting = (await agent.request("GET", "/api/conversations/waiting")).json()
    assert ticket_id not in [item["ticket_id"] for item in waiting["tickets"]]
    forbidden = await tenant.request("GET", "/api/conversations/waiting")
    assert forbidden.status_code == 403

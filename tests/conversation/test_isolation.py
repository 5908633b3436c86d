"""Nobody off the ticket reads, writes or sees its photos: REST, websocket, URLs."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.conversation.conftest import Api, jpeg
from tests.harness import Hub

OUTSIDERS = ["100002", "200001", "w2"]


@pytest.fixture
async def conversation(users: dict[str, Api]) -> dict[str, str]:
    """A ticket of tenant 100001 with one message carrying a photo."""
    tenant = users["100001"]
    ticket_id = (await tenant.report())["id"]
    photo = (await tenant.upload(ticket_id, jpeg())).json()
    said = await tenant.say(ticket_id, "Zie de foto", photos=[photo["id"]])
    assert said.status_code == 201
    return {"ticket": ticket_id, "photo": photo["id"], "url": photo["url"]}


@pytest.mark.parametrize("outsider", OUTSIDERS)
async def test_outsiders_get_not_found_over_rest(
    users: dict[str, Api], conversation: dict[str, str], outsider: str
) -> None:
    api, ticket_id = users[outsider], conversation["ticket"]
    answers = [
        await api.thread(ticket_id),
        await api.say(ticket_id, "mag ik meelezen?"),
        await api.request(
            "POST", f"/api/tickets/{ticket_id}/read", json={"message_id": 1}
        ),
        await api.upload(ticket_id, jpeg()),
        await api.request("GET", conversation["url"]),
        await api.request("GET", conversation["url"] + "?size=thumb"),
    ]
    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert all(answer.json()["error"]["code"] == "not_found" for answer in answers)


async def test_logged_out_clients_get_unauthorized(
    users: dict[str, Api], conversation: dict[str, str]
) -> None:
    anonymous, ticket_id = users["anonymous"], conversation["ticket"]
    answers = [
        await anonymous.thread(ticket_id),
        await anonymous.say(ticket_id, "hallo"),
        await anonymous.upload(ticket_id, jpeg()),
        await anonymous.request("GET", conversation["url"]),
    ]
    assert [answer.status_code for answer in answers] == [401] * len(answers)


@pytest.mark.parametrize("outsider", OUTSIDERS)
async def test_outsiders_get_not_found_over_the_websocket(
    hub_: Hub, conversation: dict[str, str], outsider: str
) -> None:
    ticket_id = conversation["ticket"]
    client = await hub_.connect(outsider)
    frames: list[dict[str, Any]] = [
        {"type": "subscribe", "channel": f"ticket:{ticket_id}"},
        {"type": "message", "ticket_id": ticket_id, "text": "hallo"},
        {"type": "typing", "ticket_id": ticket_id},
        {"type": "read", "ticket_id": ticket_id, "message_id": 1},
    ]
    for frame in frames:
        answer = await client.request(frame)
        assert (answer["type"], answer["code"]) == ("error", "not_found"), frame
    assert (await client.request({"type": "ping"}))["type"] == "pong"


async def test_conversation_frames_before_auth_close_the_socket(
    hub_: Hub, conversation: dict[str, str]
) -> None:
    client = await hub_.connect()
    await client.send(
        {"type": "message", "ticket_id": conversation["ticket"], "text": "hallo"}
    )
    assert await client.closed_with() == 4401


async def test_guessed_and_malformed_photo_urls_are_not_found(
    users: dict[str, Api], conversation: dict[str, str]
) -> None:
    tenant = users["100001"]
    for photo_id in [
        "p" + secrets.token_hex(12),
        "p../../etc/passwd",
        "P" + "0" * 24,
        conversation["photo"] + "x",
        "%2e%2e%2fsecret-key",
    ]:
        answer = await tenant.request("GET", f"/api/photos/{photo_id}")
        assert answer.status_code == 404, photo_id
    assert (await tenant.request("GET", conversation["url"])).status_code == 200
    bad_size = await tenant.request("GET", conversation["url"] + "?size=original")
    assert bad_size.status_code == 400


async def test_an_unsent_photo_is_seen_by_its_uploader_only(
    users: dict[str, Api], conversation: dict[str, str]
) -> None:
    tenant, agent = users["100001"], users["k1"]
    photo = (await tenant.upload(conversation["ticket"], jpeg())).json()
    assert (await tenant.request("GET", photo["url"])).status_code == 200
    assert (await agent.request("GET", photo["url"])).status_code == 404
    assert (await agent.request("GET", conversation["url"])).status_code == 200


async def test_a_photo_cannot_be_sent_on_another_ticket_or_by_someone_else(
    users: dict[str, Api], conversation: dict[str, str]
) -> None:
    tenant, agent = users["100001"], users["k1"]
    other_ticket = (await tenant.report())["id"]
    stray = (await tenant.upload(other_ticket, jpeg())).json()

    wrong_ticket = await tenant.say(conversation["ticket"], "", photos=[stray["id"]])
    not_theirs = await agent.say(other_ticket, "", photos=[stray["id"]])
    sent_twice = await tenant.say(
        conversation["ticket"], "", photos=[conversation["photo"]]
    )
    assert [a.status_code for a in (wrong_ticket, not_theirs, sent_twice)] == [400] * 3
    # Nothing was half-sent.
    assert len((await tenant.thread(conversation["ticket"])).json()["messages"]) == 1


async def test_the_caretaker_reads_the_district_but_writes_once_assigned(
    users: dict[str, Api], conversation: dict[str, str]
) -> None:
    caretaker, agent, ticket_id = users["w1"], users["k1"], conversation["ticket"]
    assert (await caretaker.thread(ticket_id)).status_code == 200
    early = await caretaker.say(ticket_id, "Ik kom eraan")
    assert early.status_code == 403

    moved = await agent.move(ticket_id, to="assigned", severity="normal")
    assert moved.status_code == 200, moved.text
    assert (await caretaker.say(ticket_id, "Ik kom eraan")).status_code == 201


async def test_a_cancelled_ticket_is_read_only(
    users: dict[str, Api], conversation: dict[str, str]
) -> None:
    tenant, agent, ticket_id = users["100001"], users["k1"], conversation["ticket"]
    assert (await tenant.move(ticket_id, to="cancelled")).status_code == 200

    for answer in [
        await tenant.say(ticket_id, "toch nog iets"),
        await agent.say(ticket_id, "jammer"),
        await tenant.upload(ticket_id, jpeg()),
    ]:
        assert answer.status_code == 409
        assert answer.json()["error"]["status"] == "cancelled"
    thread = (await tenant.thread(ticket_id)).json()
    assert thread["writable"] is False and len(thread["messages"]) == 1
    assert (await tenant.request("GET", conversation["url"])).status_code == 200

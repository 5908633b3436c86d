"""Tickets end to end over two hub processes on one Redis.

Races between requests that land on different processes, resuming on another
process than the one a client left, resuming while a step is being made,
trimmed history, and what other tenants and districts must never receive.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import orjson
import pytest

from tests.conftest import RedisServer
from tests.harness import Hub, HubProcess, load_directory
from tests.tickets.wire import FAST_FRAMES, Follower, Rest, position, tomorrow


@pytest.fixture
async def hubs(
    redis_server: RedisServer, key_prefix: str
) -> AsyncIterator[tuple[HubProcess, HubProcess]]:
    await load_directory(redis_server.url, key_prefix)
    first = HubProcess(redis_server.url, key_prefix, **FAST_FRAMES)
    second = HubProcess(redis_server.url, key_prefix, **FAST_FRAMES)
    await asyncio.gather(first.start(), second.start())
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
async def rest(hubs: tuple[HubProcess, HubProcess]) -> AsyncIterator[Rest]:
    api = Rest(hubs[0].hub)
    yield api
    await api.aclose()


# -- races ---------------------------------------------------------------------


async def test_two_accepts_on_two_processes_have_one_winner_and_one_event(
    hubs: tuple[HubProcess, HubProcess], rest: Rest
) -> None:
    a, b = hubs[0].hub, hubs[1].hub
    wall = await Follower.connect(b, await rest.token("k1"))
    await wall.subscribe("dashboard")
    rounds = 200

    async def assigned(number: int) -> str:
        # Reports and triage alternate between the processes too.
        hub = (a, b)[number % 2]
        ticket_id = str((await rest.report(hub, "100001"))["id"])
        await rest.step(hub, "k1", ticket_id, to="assigned", severity="normal")
        return ticket_id

    tickets: list[str] = []
    for start in range(0, rounds, 20):
        batch = range(start, start + 20)
        tickets += await asyncio.gather(*(assigned(n) for n in batch))

    winners: dict[str, object] = {}
    for number, ticket_id in enumerate(tickets):
        # The same caretaker taps twice, and each tap reaches another process.
        first, second = (a, b) if number % 2 else (b, a)
        answers = await asyncio.gather(
            rest.move(first, "w1", ticket_id, to="accepted"),
            rest.move(second, "w1", ticket_id, to="accepted"),
        )
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200, 409], [answer.text for answer in answers]
        winner, loser = sorted(answers, key=lambda answer: answer.status_code)
        winners[ticket_id] = winner.json()
        error = loser.json()["error"]
        assert error["code"] == "conflict"
        assert (error["status"], error["version"]) == ("accepted", 3)

    # A last step, after every race: when its event arrives on the wall, every
    # event of the races (same stream, earlier positions) has arrived too.
    await rest.step(a, "w1", tickets[-1], to="in_progress")
    await wall.event_of_version(tickets[-1], 4)
    accepts = [
        event["data"]
        for event in wall.events
        if event["data"]["transition"]["action"] == "accept"
    ]
    # One each, none missing, none twice, and it is the winner's step.
    assert sorted(data["ticket"]["id"] for data in accepts) == sorted(tickets)
    assert {data["ticket"]["id"]: data for data in accepts} == winners
    assert len(wall.events) == rounds * 3 + 1
    detail = await rest.ticket(b, "k1", tickets[0])
    assert [entry["action"] for entry in detail["timeline"]] == [
        "report",
        "assign",
        "accept",
    ]


async def test_a_step_racing_a_resubscribe_is_seen_exactly_once(
    hubs: tuple[HubProcess, HubProcess], rest: Rest
) -> None:
    a, b = hubs[0].hub, hubs[1].hub
    ticket_id = await rest.accepted_ticket(a)
    token = await rest.token("100001")
    channel = "tickets:mine"
    tenant = await Follower.connect(a, token)
    await tenant.subscribe(channel)
    handled: list[int] = []  # versions of every event the tenant handled, in order

    async def resubscribe(follower: Follower, number: int) -> Follower:
        if number % 2:
            # The same connection drops the channel and takes it up again;
            # events that came before `unsubscribed` count as handled.
            reply = await follower.request({"type": "unsubscribe", "channel": channel})
            assert reply["type"] == "unsubscribed", reply
            await follower.subscribe(channel, follower.last[channel])
            return follower
        # A reconnect, to the other process; the old connection's unread
        # frames are lost with it, as they would be on a phone.
        await follower.close()
        handled.extend(follower.versions(channel))
        fresh = await Follower.connect((b, a)[number % 4 // 2], token)
        await fresh.subscribe(channel, follower.last[channel])
        return fresh

    # Steps come back to back from two writers, one per process, for as long
    # as the client keeps resubscribing: many land while a subscribe is
    # between joining the live feed and reading the stream.
    resubscribing = True
    made: list[int] = []

    async def writer(hub: Hub, minutes: int) -> None:
        while resubscribing:
            moved = await rest.step(
                hub, "w1", ticket_id, action="plan", planned_for=tomorrow(minutes)
            )
            made.append(moved["ticket"]["version"])

    writers = [asyncio.create_task(writer(hub, n)) for n, hub in enumerate((a, b))]
    try:
        for number in range(60):
            tenant = await resubscribe(tenant, number)
            # Handle what has been made so far, so the next `since` moves on.
            newest = max(made, default=3)
            if newest not in handled + tenant.versions(channel):
                await tenant.event_of_version(ticket_id, newest)
    finally:
        resubscribing = False
        await asyncio.gather(*writers)

    final = await rest.step(a, "w1", ticket_id, to="in_progress")
    version = final["ticket"]["version"]
    await tenant.event_of_version(ticket_id, version)
    handled.extend(tenant.versions(channel))
    assert len(made) > 60
    assert handled == list(range(4, version + 1))


# -- resuming ------------------------------------------------------------------


@pytest.mark.parametrize("resume_on", ["other process", "same process"])
async def test_resume_after_fifty_missed_events_gets_exactly_those_then_live(
    hubs: tuple[HubProcess, HubProcess], rest: Rest, resume_on: str
) -> None:
    a, b = hubs[0].hub, hubs[1].hub
    ticket_id = await rest.accepted_ticket(a)
    channel = "tickets:mine"
    tenant = await Follower.connect(a, await rest.token("100001"))
    await tenant.subscribe(channel)
    await rest.step(b, "w1", ticket_id, action="plan", planned_for=tomorrow())
    await tenant.event_of_version(ticket_id, 4)
    since = tenant.last[channel]
    await tenant.close()

    for minutes in range(50):
        await rest.step(
            b, "w1", ticket_id, action="plan", planned_for=tomorrow(minutes)
        )
    timeline = (await rest.ticket(b, "100001", ticket_id))["timeline"]
    missed = timeline[-50:]

    back = await Follower.connect(
        b if resume_on == "other process" else a, await rest.token("100001")
    )
    subscribed = await back.subscribe(channel, since)
    while len(back.events) < 50:
        await back.next_frame()
    assert [event["data"]["transition"] for event in back.events] == missed
    ids = [since, *(event["id"] for event in back.events)]
    assert all(position(x) < position(y) for x, y in itertools.pairwise(ids))
    assert back.events[-1]["id"] == subscribed["position"]

    # Then live: the next step arrives once, and nothing else before it.
    await rest.step(a, "w1", ticket_id, to="in_progress")
    live = await back.next_frame()
    assert live["type"] == "event" and live["data"]["transition"]["action"] == "start"
    await rest.step(b, "w1", ticket_id, to="resolved")
    after = await back.next_frame()
    assert after["data"]["transition"]["action"] == "resolve"
    assert back.versions(channel) == list(range(5, 57))


async def test_resume_from_a_trimmed_position_gets_reset_then_live(
    redis_server: RedisServer, key_prefix: str
) -> None:
    await load_directory(redis_server.url, key_prefix)
    process = HubProcess(
        redis_server.url, key_prefix, HUB_STREAM_MAX_LENGTH="10", **FAST_FRAMES
    )
    await process.start()
    rest = Rest(process.hub)
    try:
        hub = process.hub
        ticket_id = await rest.accepted_ticket(hub)
        channel = f"ticket:{ticket_id}"
        tenant = await Follower.connect(hub, await rest.token("100001"))
        await tenant.subscribe(channel, "0-0")
        await tenant.event_of_version(ticket_id, 3)
        oldest = tenant.events[0]["id"]
        await tenant.close()
        for minutes in range(12):
            await rest.step(
                hub, "w1", ticket_id, action="plan", planned_for=tomorrow(minutes)
            )

        back = await Follower.connect(hub, await rest.token("100001"))
        subscribed = await back.subscribe(channel, oldest)
        reset = await back.next_frame()
        assert reset == {
            "type": "reset",
            "channel": channel,
            "position": subscribed["position"],
        }
        # The client reloads over REST and carries on from reset.position.
        detail = await rest.ticket(hub, "100001", ticket_id)
        assert len(detail["timeline"]) == 15
        assert detail["position"] == reset["position"]
        await rest.step(hub, "w1", ticket_id, to="in_progress")
        live = await back.next_frame()
        assert live["type"] == "event" and live["data"]["ticket"]["version"] == 16
        assert position(live["id"]) > position(reset["position"])
        assert back.events == [live]
    finally:
        await rest.aclose()
        await process.close()


# -- isolation -----------------------------------------------------------------


async def test_other_tenants_and_districts_receive_nothing_of_a_ticket(
    hubs: tuple[HubProcess, HubProcess], rest: Rest
) -> None:
    a, b = hubs[0].hub, hubs[1].hub
    owner = await Follower.connect(a, await rest.token("100001"))
    await owner.subscribe("tickets:mine")
    neighbour = await Follower.connect(b, await rest.token("100002"))
    await neighbour.subscribe("tickets:mine")
    await neighbour.subscribe("district:noord")
    southerner = await Follower.connect(b, await rest.token("200001"))
    await southerner.subscribe("tickets:mine")
    await southerner.subscribe("district:zuid")
    south_caretaker = await Follower.connect(a, await rest.token("w2"))
    await south_caretaker.subscribe("tickets:district:zuid")

    refusals = {
        neighbour: {
            "tickets:district:noord": "forbidden",
            "dashboard": "forbidden",
        },
        southerner: {
            "district:noord": "forbidden",
            "tickets:district:noord": "forbidden",
            "tickets:district:zuid": "forbidden",
            "dashboard": "forbidden",
        },
        south_caretaker: {
            "district:noord": "forbidden",
            "tickets:district:noord": "forbidden",
        },
    }
    for follower, channels in refusals.items():
        for channel, code in channels.items():
            reply = await follower.request({"type": "subscribe", "channel": channel})
            assert (reply["type"], reply.get("code")) == ("error", code), reply

    ticket = await rest.report(a, "100001")
    ticket_id = ticket["id"]
    for follower in (neighbour, southerner, south_caretaker):
        # Now the ticket exists, its own channel is refused as if it did not.
        reply = await follower.request(
            {"type": "subscribe", "channel": f"ticket:{ticket_id}"}
        )
        assert (reply["type"], reply.get("code")) == ("error", "not_found"), reply
    await rest.step(b, "k1", ticket_id, to="assigned", severity="urgent")
    await rest.step(a, "w1", ticket_id, to="accepted", note="Ik kom morgen")
    await rest.step(b, "w1", ticket_id, action="plan", planned_for=tomorrow())
    await rest.step(a, "w1", ticket_id, to="in_progress")
    await rest.step(b, "w1", ticket_id, to="resolved")
    await rest.step(a, "100001", ticket_id, to="closed")

    # The owner's own subscription hears every step: the channel works.
    await owner.event_of_version(ticket_id, 7)
    assert owner.versions("tickets:mine") == list(range(1, 8))

    # Each outsider then makes news of their own, published after all of the
    # above. Each process reads Redis pub/sub on one connection in publish
    # order, so once that news arrives, anything of the first ticket that was
    # going to reach the outsider would have arrived before it.
    news = {
        neighbour: (await rest.report(b, "100002"))["id"],
        southerner: (await rest.report(a, "200001"))["id"],
    }
    news[south_caretaker] = news[southerner]
    for follower, own_ticket in news.items():
        await follower.event_of_version(own_ticket, 1)
        # The refusals above name the id the outsider asked for; every other
        # frame must not know of the ticket at all.
        for frame in (f for f in follower.frames if f["type"] != "error"):
            text = orjson.dumps(frame).decode()
            assert ticket_id not in text, frame
            assert '"100001"' not in text, frame
            if frame["type"] == "event":
                assert frame["data"]["ticket"]["id"] == own_ticket, frame

    # And the outsiders' lists and counts stay empty of it over REST.
    for user_id in ("100002", "200001", "w2"):
        listed = await rest.call(a, user_id, "GET", "/api/tickets")
        assert ticket_id not in listed.text
    counts = await rest.call(b, "w2", "GET", "/api/tickets/counts")
    assert counts.json()["districts"].keys() == {"zuid"}
    assert (
        await rest.call(b, "100002", "GET", "/api/tickets/counts")
    ).status_code == 403

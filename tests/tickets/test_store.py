"""The ticket scripts and service against a real Redis: creation, idempotency,
transitions, races, indexes, counts, deadlines and stream trimming."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import msgpack
import pytest
from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from hub.channels.positions import ORIGIN, parse_position
from hub.channels.streams import Replay, Reset, read_since
from hub.directory.model import DirectoryFile
from hub.directory.store import DirectoryStore
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.tickets.lifecycle import Action, Severity, Status
from hub.tickets.model import SUMMARY_FIELDS, Move, Report
from hub.tickets.service import TicketService
from tests.harness import stream_entries
from tests.tickets.conftest import (
    AGENT,
    CARETAKER,
    COLLEAGUE,
    DIRECTORY,
    NEIGHBOUR,
    SOUTH_CARETAKER,
    SOUTH_TENANT,
    TENANT,
    make_service,
)

LEAK = Report(
    category="leak", description="Water drupt uit het plafond", place="badkamer"
)


def topics_of(ticket: dict[str, Any], *assignees: str) -> list[str]:
    return [
        f"tickets:mine#{ticket['tenant']}",
        *(f"tickets:mine#{a}" for a in assignees),
        f"tickets:district:{ticket['district']}",
        "dashboard",
        f"ticket:{ticket['id']}",
    ]


async def events(redis: Redis, prefix: str, topic: str) -> list[Any]:
    replay = await read_since(redis, prefix, topic, ORIGIN)
    assert isinstance(replay, Replay)
    return replay.events


async def lengths(redis: Redis, prefix: str, topics: list[str]) -> list[int]:
    return [int(await redis.xlen(f"{prefix}stream:{topic}")) for topic in topics]


def soon() -> str:
    return (datetime.now(UTC) + timedelta(days=2)).isoformat()


async def accepted_ticket(service: TicketService) -> dict[str, Any]:
    ticket, _ = await service.create(TENANT, LEAK)
    await service.transition(
        AGENT, ticket["id"], Move(Status.ASSIGNED, severity=Severity.URGENT)
    )
    await service.transition(CARETAKER, ticket["id"], Move(Status.ACCEPTED))
    return ticket


# -- creating --------------------------------------------------------------------


async def test_a_report_becomes_a_submitted_ticket_announced_on_every_topic(
    service: TicketService, redis_client: Redis, key_prefix: str
) -> None:
    ticket, created = await service.create(TENANT, LEAK)

    assert created
    assert ticket["status"] == "submitted" and ticket["version"] == 1
    assert ticket["district"] == "noord" and ticket["tenant"] == "100001"
    assert ticket["description"] == LEAK.description and ticket["place"] == "badkamer"
    assert [entry["action"] for entry in ticket["timeline"]] == ["report"]
    assert ticket["timeline"][0]["by"] == {"id": "100001", "role": "tenant"}
    assert ticket["timeline"][0]["from"] is None
    for topic in topics_of(ticket):
        [event] = await events(redis_client, key_prefix, topic)
        assert event.kind == "created"
        assert set(event.data["ticket"]) == set(SUMMARY_FIELDS)
        assert event.data["ticket"] == {k: ticket[k] for k in SUMMARY_FIELDS}
        assert event.data["transition"] == ticket["timeline"][0]
    assert ticket["position"] == event.id


async def test_event_data_never_names_the_tenant(
    service: TicketService, redis_client: Redis, key_prefix: str
) -> None:
    await service.create(TENANT, LEAK)
    [event] = await events(redis_client, key_prefix, "dashboard")
    assert "Jansen" not in repr(event.data)


async def test_a_retry_with_the_same_key_returns_the_same_ticket(
    service: TicketService, redis_client: Redis, key_prefix: str
) -> None:
    first, created = await service.create(TENANT, LEAK, "a8f1c2e0-retry")
    again, created_again = await service.create(TENANT, LEAK, "a8f1c2e0-retry")

    assert created and not created_again
    assert again["id"] == first["id"]
    assert len(await events(redis_client, key_prefix, "dashboard")) == 1
    page = await service.list_tickets(TENANT)
    assert [t["id"] for t in page.tickets] == [first["id"]]


async def test_concurrent_retries_with_one_key_make_one_ticket(
    service: TicketService, redis_client: Redis, key_prefix: str
) -> None:
    results = await asyncio.gather(
        *(service.create(TENANT, LEAK, "same-key") for _ in range(10))
    )
    assert sum(created for _, created in results) == 1
    assert len({ticket["id"] for ticket, _ in results}) == 1
    assert len(await events(redis_client, key_prefix, "dashboard")) == 1


async def test_a_key_reused_for_another_report_is_a_conflict(
    service: TicketService,
) -> None:
    await service.create(TENANT, LEAK, "k-1")
    other = Report(category="pests", description="Muizen in de keuken")
    with pytest.raises(Conflict):
        await service.create(TENANT, other, "k-1")


async def test_keys_are_per_tenant(service: TicketService) -> None:
    mine, _ = await service.create(TENANT, LEAK, "k-1")
    theirs, created = await service.create(NEIGHBOUR, LEAK, "k-1")
    assert created and theirs["id"] != mine["id"] and theirs["tenant"] == "100002"


async def test_bad_idempotency_keys_and_categories_are_refused(
    service: TicketService,
) -> None:
    for key in ("", "x" * 129, "spaces are bad", "ü"):
        with pytest.raises(BadRequest):
            await service.create(TENANT, LEAK, key)
    with pytest.raises(BadRequest):
        await service.create(TENANT, Report(category="gas", description="x"))


async def test_only_tenants_report(service: TicketService) -> None:
    for user in (AGENT, CARETAKER):
        with pytest.raises(Forbidden):
            await service.create(user, LEAK)


async def test_hostile_text_is_stored_as_written(service: TicketService) -> None:
    text = "  <script>alert(1)</script>\x00 '; DROP TABLE--\n\u202e 🚰 \"\\ %s {}  "
    report = Report(
        category="other",
        description=text,
        place="\t" + text,
        preferred_times=("ma 9-12", text),
    )
    ticket, _ = await service.create(TENANT, report)
    stored = await service.get(TENANT, ticket["id"])
    assert stored["description"] == text
    assert stored["place"] == "\t" + text
    assert stored["preferred_times"] == ["ma 9-12", text]


# -- transitions -----------------------------------------------------------------


async def test_the_whole_path_is_recorded_and_streamed_in_order(
    service: TicketService, redis_client: Redis, key_prefix: str
) -> None:
    ticket, _ = await service.create(TENANT, LEAK)
    tid = ticket["id"]
    visit = soon()
    steps = [
        (AGENT, Move(Status.ASSIGNED, severity=Severity.URGENT, note="Graag snel")),
        (CARETAKER, Move(Status.ACCEPTED)),
        (CARETAKER, Move(Action.PLAN, planned_for=visit, note="Ik kom dinsdag")),
        (CARETAKER, Move(Status.IN_PROGRESS)),
        (CARETAKER, Move(Status.RESOLVED, note="Kraan vervangen")),
        (TENANT, Move(Status.CLOSED, note="Dank je!")),
    ]
    for user, move in steps:
        await service.transition(user, tid, move)

    detail = await service.get(AGENT, tid)
    assert detail["status"] == "closed" and detail["version"] == 7
    assert detail["assignee"] == "w1" and detail["severity"] == "urgent"
    planned = datetime.fromisoformat(visit).astimezone(UTC).replace(microsecond=0)
    assert detail["planned_for"] == planned.strftime("%Y-%m-%dT%H:%M:%SZ")
    actions = [entry["action"] for entry in detail["timeline"]]
    assert actions == [
        "report",
        "assign",
        "accept",
        "plan",
        "start",
        "resolve",
        "confirm",
    ]
    plan = detail["timeline"][3]
    assert plan["from"] == plan["to"] == "accepted"
    assert (
        plan["planned_for"] == detail["planned_for"]
        and plan["note"] == "Ik kom dinsdag"
    )
    assert detail["timeline"][1]["severity"] == "urgent"
    assert detail["timeline"][2]["planned_for"] is None
    assert [e["version"] for e in detail["timeline"]] == list(range(1, 8))
    stamps = [entry["at"] for entry in detail["timeline"]]
    assert stamps == sorted(stamps)

    for topic in topics_of(detail, "w1"):
        seen = await events(redis_client, key_prefix, topic)
        kinds = [event.kind for event in seen]
        if topic == "tickets:mine#w1":
            # The caretaker hears of the ticket from its assignment on.
            assert [e.data["transition"] for e in seen] == detail["timeline"][1:]
            continue
        assert kinds == ["created"] + ["transition"] * 6
        assert [e.data["transition"] for e in seen] == detail["timeline"]
        assert [e.data["ticket"]["version"] for e in seen] == list(range(1, 8))


async def test_wrong_role_is_forbidden_and_wrong_status_a_conflict(
    service: TicketService,
) -> None:
    ticket, _ = await service.create(TENANT, LEAK)
    with pytest.raises(Forbidden) as refused:
        await service.transition(TENANT, ticket["id"], Move(Status.ASSIGNED))
    assert refused.value.message.startswith("a tenant cannot ")
    with pytest.raises(Forbidden) as refused:
        await service.transition(AGENT, ticket["id"], Move(Status.CANCELLED))
    assert refused.value.message.startswith("an agent cannot ")
    with pytest.raises(Conflict) as caught:
        await service.transition(CARETAKER, ticket["id"], Move(Status.ACCEPTED))
    assert "submitted" in caught.value.message
    assert caught.value.details == {"status": "submitted", "version": 1}


async def test_triage_needs_a_severity_and_plan_a_time(service: TicketService) -> None:
    ticket, _ = await service.create(TENANT, LEAK)
    with pytest.raises(BadRequest):
        await service.transition(AGENT, ticket["id"], Move(Status.ASSIGNED))
    accepted = await accepted_ticket(service)
    with pytest.raises(BadRequest):
        await service.transition(CARETAKER, accepted["id"], Move(Action.PLAN))
    with pytest.raises(BadRequest):
        await service.transition(
            CARETAKER, accepted["id"], Move(Action.PLAN, planned_for="morgen")
        )


async def test_advice_can_be_taken_or_sent_back(service: TicketService) -> None:
    ticket, _ = await service.create(TENANT, LEAK)
    tid = ticket["id"]
    advice = Move(Status.ADVISED, severity=Severity.NORMAL, note="Draai de stopkraan")
    await service.transition(AGENT, tid, advice)
    await service.transition(TENANT, tid, Move(Status.SUBMITTED, note="Hielp niet"))
    await service.transition(AGENT, tid, advice)
    data = await service.transition(TENANT, tid, Move(Status.CLOSED))
    assert data["ticket"]["status"] == "closed"
    assert data["transition"]["action"] == "close"


async def test_a_tenant_cannot_cancel_once_accepted(service: TicketService) -> None:
    ticket = await accepted_ticket(service)
    with pytest.raises(Conflict):
        await service.transition(TENANT, ticket["id"], Move(Status.CANCELLED))


async def test_stale_expected_version_is_a_conflict_without_an_event(
    service: TicketService, redis_client: Redis, key_prefix: str
) -> None:
    ticket = await accepted_ticket(service)
    before = await lengths(redis_client, key_prefix, topics_of(ticket, "w1"))
    with pytest.raises(Conflict) as caught:
        await service.transition(
            CARETAKER, ticket["id"], Move(Status.IN_PROGRESS, expected_version=2)
        )
    assert caught.value.details == {"status": "accepted", "version": 3}
    assert await lengths(redis_client, key_prefix, topics_of(ticket, "w1")) == before
    data = await service.transition(
        CARETAKER, ticket["id"], Move(Status.IN_PROGRESS, expected_version=3)
    )
    assert data["ticket"]["version"] == 4


async def test_handing_back_clears_the_plan_and_a_colleague_can_take_it(
    service: TicketService, redis_client: Redis, key_prefix: str
) -> None:
    ticket = await accepted_ticket(service)
    tid = ticket["id"]
    await service.transition(CARETAKER, tid, Move(Action.PLAN, planned_for=soon()))
    back = await service.transition(CARETAKER, tid, Move(Status.ASSIGNED, note="Ziek"))
    assert back["ticket"]["planned_for"] is None
    taken = await service.transition(COLLEAGUE, tid, Move(Status.ACCEPTED))
    assert taken["ticket"]["assignee"] == "w1b"
    # The previous assignee hears that a colleague took it over.
    [*_, last] = await events(redis_client, key_prefix, "tickets:mine#w1")
    assert last.data["transition"]["by"] == {"id": "w1b", "role": "caretaker"}
    [*_, last] = await events(redis_client, key_prefix, "tickets:mine#w1b")
    assert last.data["transition"]["action"] == "accept"


async def test_two_concurrent_accepts_have_one_winner_and_one_event(
    service: TicketService, redis_client: Redis, key_prefix: str
) -> None:
    for round_ in range(200):
        ticket, _ = await service.create(TENANT, LEAK)
        await service.transition(
            AGENT, ticket["id"], Move(Status.ASSIGNED, severity=Severity.NORMAL)
        )
        topics = topics_of(ticket, "w1", "w1b")
        before = await lengths(redis_client, key_prefix, topics)
        # Alternate a double tap of one caretaker with two colleagues at once.
        second = CARETAKER if round_ % 2 else COLLEAGUE
        results = await asyncio.gather(
            service.transition(CARETAKER, ticket["id"], Move(Status.ACCEPTED)),
            service.transition(second, ticket["id"], Move(Status.ACCEPTED)),
            return_exceptions=True,
        )
        wins = [r for r in results if isinstance(r, dict)]
        losses = [r for r in results if isinstance(r, Conflict)]
        assert len(wins) == 1 and len(losses) == 1, results
        assert wins[0]["ticket"]["version"] == 3
        winner = wins[0]["ticket"]["assignee"]
        after = await lengths(redis_client, key_prefix, topics)
        grown = {t: a - b for t, a, b in zip(topics, after, before, strict=True)}
        for topic, count in grown.items():
            if topic == "tickets:mine#w1b" and winner != "w1b":
                assert count == 0
            else:
                assert count == 1, (topic, grown)


async def test_a_ticket_changes_only_in_steps_of_its_lifecycle(
    service: TicketService,
) -> None:
    ticket, _ = await service.create(TENANT, LEAK)
    with pytest.raises(Forbidden):
        await service.transition(TENANT, ticket["id"], Move(Status.ACCEPTED))
    await service.transition(TENANT, ticket["id"], Move(Status.CANCELLED))
    with pytest.raises(Conflict):
        await service.transition(TENANT, ticket["id"], Move(Status.CANCELLED))


# -- who sees what ---------------------------------------------------------------------


async def test_others_get_not_found_for_a_ticket_they_may_not_see(
    service: TicketService,
) -> None:
    ticket, _ = await service.create(TENANT, LEAK)
    tid = ticket["id"]
    for outsider in (NEIGHBOUR, SOUTH_TENANT, SOUTH_CARETAKER):
        assert not await service.can_see(outsider, tid)
        with pytest.raises(NotFound):
            await service.get(outsider, tid)
        with pytest.raises(NotFound):
            await service.transition(outsider, tid, Move(Status.CANCELLED))
    for insider in (TENANT, CARETAKER, COLLEAGUE, AGENT):
        assert await service.can_see(insider, tid)
    assert not await service.can_see(AGENT, "t0000000000000000")
    assert not await service.can_see(AGENT, "../../etc")
    with pytest.raises(NotFound):
        await service.get(AGENT, "t0000000000000000")


async def test_lists_hold_only_what_the_user_may_see(service: TicketService) -> None:
    mine, _ = await service.create(TENANT, LEAK)
    neighbours, _ = await service.create(NEIGHBOUR, LEAK)
    south, _ = await service.create(SOUTH_TENANT, LEAK)

    async def ids(user: Any, **filters: Any) -> list[str]:
        return [t["id"] for t in (await service.list_tickets(user, **filters)).tickets]

    assert await ids(TENANT) == [mine["id"]]
    assert await ids(CARETAKER) == [neighbours["id"], mine["id"]]
    assert await ids(SOUTH_CARETAKER) == [south["id"]]
    assert await ids(AGENT) == [south["id"], neighbours["id"], mine["id"]]
    assert await ids(AGENT, district="zuid") == [south["id"]]
    with pytest.raises(Forbidden):
        await ids(CARETAKER, district="zuid")
    with pytest.raises(Forbidden):
        await ids(TENANT, district="zuid")


async def test_lists_filter_by_status_and_page_newest_first(
    service: TicketService,
) -> None:
    made = [(await service.create(TENANT, LEAK))[0]["id"] for _ in range(7)]
    for tid in made[:3]:
        await service.transition(TENANT, tid, Move(Status.CANCELLED))

    for user in (TENANT, CARETAKER, AGENT):
        for status, expected in (
            (Status.CANCELLED, made[:3]),
            (Status.SUBMITTED, made[3:]),
        ):
            page = await service.list_tickets(user, status=status, limit=2)
            seen = [t["id"] for t in page.tickets]
            while page.next_cursor is not None:
                page = await service.list_tickets(
                    user, status=status, limit=2, cursor=page.next_cursor
                )
                seen += [t["id"] for t in page.tickets]
            assert seen == expected[::-1], (user.id, status)
    with pytest.raises(BadRequest):
        await service.list_tickets(AGENT, cursor="abc")


async def test_queue_is_submitted_oldest_first_for_agents_only(
    service: TicketService,
) -> None:
    made = [(await service.create(TENANT, LEAK))[0]["id"] for _ in range(3)]
    await service.transition(
        AGENT, made[1], Move(Status.ASSIGNED, severity=Severity.NORMAL)
    )
    page = await service.queue(AGENT, limit=1)
    assert [t["id"] for t in page.tickets] == [made[0]]
    page = await service.queue(AGENT, limit=1, cursor=page.next_cursor)
    assert [t["id"] for t in page.tickets] == [made[2]] and page.next_cursor is None
    with pytest.raises(Forbidden):
        await service.queue(CARETAKER)


async def test_counts_follow_every_step(service: TicketService) -> None:
    first, _ = await service.create(TENANT, LEAK)
    await service.create(NEIGHBOUR, LEAK)
    await service.create(SOUTH_TENANT, LEAK)
    await service.transition(
        AGENT, first["id"], Move(Status.ASSIGNED, severity=Severity.URGENT)
    )

    counts = await service.counts(AGENT)
    assert counts["noord"]["submitted"] == 1 and counts["noord"]["assigned"] == 1
    assert counts["zuid"]["submitted"] == 1 and counts["zuid"]["closed"] == 0
    assert set(await service.counts(CARETAKER)) == {"noord"}
    with pytest.raises(Forbidden):
        await service.counts(TENANT)
    with pytest.raises(Forbidden):
        await service.counts(CARETAKER, "zuid")


async def test_overdue_lists_tickets_past_their_deadlines(
    redis_client: Redis, key_prefix: str
) -> None:
    await DirectoryStore(redis_client, key_prefix).load(
        DirectoryFile.model_validate(DIRECTORY)
    )
    service = make_service(
        redis_client,
        key_prefix,
        accept_deadline_hours={"emergency": 0.0, "urgent": 24.0, "normal": 120.0},
        resolve_deadline_hours={"emergency": 0.0, "urgent": 48.0, "normal": 240.0},
    )
    late, _ = await service.create(TENANT, LEAK)
    fine, _ = await service.create(TENANT, LEAK)
    await service.transition(
        AGENT, late["id"], Move(Status.ASSIGNED, severity=Severity.EMERGENCY)
    )
    await service.transition(
        AGENT, fine["id"], Move(Status.ASSIGNED, severity=Severity.URGENT)
    )

    overdue = await service.overdue(AGENT)
    assert [t["id"] for t in overdue["accept"]] == [late["id"]]
    assert [t["id"] for t in overdue["resolve"]] == [late["id"]]
    assert overdue["accept"][0]["due_at"] == late["created_at"]

    await service.transition(CARETAKER, late["id"], Move(Status.ACCEPTED))
    overdue = await service.overdue(AGENT)
    assert overdue["accept"] == [] and [t["id"] for t in overdue["resolve"]] == [
        late["id"]
    ]
    await service.transition(CARETAKER, late["id"], Move(Status.IN_PROGRESS))
    await service.transition(CARETAKER, late["id"], Move(Status.RESOLVED))
    assert await service.overdue(AGENT) == {"accept": [], "resolve": []}
    with pytest.raises(Forbidden):
        await service.overdue(TENANT)


# -- streams ------------------------------------------------------------------------


async def test_trimmed_history_answers_reset_and_recent_history_replays(
    redis_client: Redis, key_prefix: str
) -> None:
    await DirectoryStore(redis_client, key_prefix).load(
        DirectoryFile.model_validate(DIRECTORY)
    )
    service = make_service(redis_client, key_prefix, stream_max_length=10)
    ticket = await accepted_ticket(service)
    topic = f"ticket:{ticket['id']}"
    first = (await events(redis_client, key_prefix, topic))[0].id
    for _ in range(12):
        move = Move(Action.PLAN, planned_for=soon())
        await service.transition(CARETAKER, ticket["id"], move)

    kept = await stream_entries(redis_client, f"{key_prefix}stream:{topic}")
    assert len(kept) == 10
    assert isinstance(
        await read_since(redis_client, key_prefix, topic, parse_position(first)), Reset
    )
    ids = [entry_id for entry_id, _ in kept]
    replay = await read_since(redis_client, key_prefix, topic, parse_position(ids[4]))
    assert isinstance(replay, Replay)
    assert [e.id for e in replay.events] == ids[5:]
    # The timeline itself is never trimmed.
    detail = await service.get(TENANT, ticket["id"])
    assert len(detail["timeline"]) == 15


async def test_history_older_than_the_age_limit_is_trimmed_and_answers_reset(
    redis_client: Redis, key_prefix: str
) -> None:
    await DirectoryStore(redis_client, key_prefix).load(
        DirectoryFile.model_validate(DIRECTORY)
    )
    service = make_service(redis_client, key_prefix, stream_max_age_days=15)
    # Events of weeks ago, written with their old positions: the clock is
    # Redis's, so age can be tested without waiting for it.
    stream = f"{key_prefix}stream:dashboard"
    day_ms = 86_400_000
    now_ms = (await redis_client.time())[0] * 1000
    old = {days: f"{now_ms - days * day_ms}-0" for days in (40, 20, 14, 7)}
    for entry_id in old.values():
        fields: dict[FieldT, EncodableT] = {
            "k": "created",
            "d": msgpack.packb({"seeded": True}),
        }
        await redis_client.xadd(stream, fields, id=entry_id)

    ticket, _ = await service.create(TENANT, LEAK)

    kept = [entry_id for entry_id, _ in await stream_entries(redis_client, stream)]
    assert kept[:2] == [old[14], old[7]] and len(kept) == 3
    assert (await redis_client.get(f"{key_prefix}trimmed:dashboard")) == old[
        20
    ].encode()
    for days in (40, 30):
        # Positions older than the cut, real or not, lost history: reset.
        since = (now_ms - days * day_ms, 5)
        result = await read_since(redis_client, key_prefix, "dashboard", since)
        assert result == Reset(position=kept[-1])
    # A client that handled the newest trimmed event misses nothing.
    replay = await read_since(
        redis_client, key_prefix, "dashboard", parse_position(old[20])
    )
    assert isinstance(replay, Replay)
    assert [e.id for e in replay.events] == kept
    assert replay.events[-1].data["ticket"]["id"] == ticket["id"]
    # A stream nobody writes to any more expires after the same age.
    assert 14 * day_ms < await redis_client.pttl(stream) <= 15 * day_ms

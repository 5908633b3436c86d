"""The conversation's decisions, without Redis: hub.tickets.conversation."""

from __future__ import annotations

import pytest

from hub.directory.model import Role, User
from hub.errors import BadRequest, Conflict, Forbidden
from hub.tickets.conversation import (
    MAX_TEXT,
    Participant,
    TypingGate,
    agent_present,
    check_text,
    may_read,
    post_refusal,
    window_key,
)

TENANT = User(id="100001", role=Role.TENANT, name="Jansen", districts=("noord",))
NEIGHBOUR = User(id="100002", role=Role.TENANT, name="Peters", districts=("noord",))
CARETAKER = User(id="w1", role=Role.CARETAKER, name="Sanne", districts=("noord",))
SOUTH_CARETAKER = User(id="w2", role=Role.CARETAKER, name="Ahmed", districts=("zuid",))
AGENT = User(id="k1", role=Role.AGENT, name="Kim")


def ticket(status: str = "submitted", assignee: str = "") -> Participant:
    return Participant(
        status=status, tenant="100001", district="noord", assignee=assignee
    )


def test_readers_are_the_people_on_the_ticket() -> None:
    assert may_read(TENANT, ticket()) and may_read(AGENT, ticket())
    assert may_read(CARETAKER, ticket())
    assert not may_read(NEIGHBOUR, ticket())
    assert not may_read(SOUTH_CARETAKER, ticket())


def test_caretaker_writes_only_once_assigned_the_ticket() -> None:
    assert isinstance(post_refusal(CARETAKER, ticket()), Forbidden)
    assert isinstance(post_refusal(CARETAKER, ticket("assigned", "w1b")), Forbidden)
    assert post_refusal(CARETAKER, ticket("accepted", "w1")) is None
    assert post_refusal(TENANT, ticket()) is None
    assert post_refusal(AGENT, ticket("in_progress", "w1")) is None


@pytest.mark.parametrize("status", ["closed", "cancelled"])
def test_a_finished_ticket_is_read_only_for_everyone(status: str) -> None:
    for user in (TENANT, AGENT, CARETAKER):
        refusal = post_refusal(user, ticket(status, "w1"))
        assert isinstance(refusal, Conflict)
        assert refusal.details["status"] == status


@pytest.mark.parametrize(
    ("text", "photos"),
    [
        ("", 0),
        ("   \n\t", 0),
        ("x" * (MAX_TEXT + 1), 0),
        ("bin\x00ary", 0),
        ("\x1b[31mred", 0),
        ("del\x7f", 1),
    ],
    ids=["empty", "blank", "too-long", "nul", "escape", "del"],
)
def test_bad_text_is_refused(text: str, photos: int) -> None:
    with pytest.raises(BadRequest):
        check_text(text, photos)


@pytest.mark.parametrize(
    ("text", "photos"),
    [
        ("", 1),
        ("x" * MAX_TEXT, 0),
        ("<script>alert(1)</script>", 0),
        ("regel 1\r\nregel 2\tinspringen", 0),
        ("🚿 lekt 💧", 0),
    ],
)
def test_text_as_people_write_it_is_accepted(text: str, photos: int) -> None:
    check_text(text, photos)


def test_typing_gate_lets_one_signal_through_per_interval() -> None:
    gate = TypingGate(interval=2.0)
    assert gate.open("t1", 10.0)
    assert not gate.open("t1", 11.9)
    assert gate.open("t2", 11.9)  # another ticket has its own interval
    assert gate.open("t1", 12.0)


def test_typing_gate_stays_bounded() -> None:
    gate = TypingGate(interval=2.0, capacity=8)
    for number in range(100):
        gate.open(f"t{number}", float(number))
    assert len(gate._last) <= 8


def test_rate_windows_and_agent_presence() -> None:
    assert window_key("message", "u", 119.9, 60) == "ratelimit:message:u:1"
    assert window_key("message", "u", 120.0, 60) == "ratelimit:message:u:2"
    assert agent_present(1_000, 1_000 + 60_000)
    assert not agent_present(1_000, 1_000 + 10 * 60_000)
    assert not agent_present(None, 1_000)

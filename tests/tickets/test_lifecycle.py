"""The lifecycle table, judged over every pair of statuses and every role."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from hub.directory.model import Role, User
from hub.tickets.lifecycle import (
    STEPS,
    Action,
    Refusal,
    Severity,
    Status,
    allowed,
    deadlines,
    field_problem,
    format_planned_for,
    judge,
    may_see,
    parse_planned_for,
)

S, R = Status, Role

# The lifecycle of PRODUCT.md, written out once more by hand: (from, to, role).
EXPECTED = {
    (S.SUBMITTED, S.ADVISED, R.AGENT),
    (S.SUBMITTED, S.ASSIGNED, R.AGENT),
    (S.SUBMITTED, S.CANCELLED, R.TENANT),
    (S.ADVISED, S.SUBMITTED, R.TENANT),
    (S.ADVISED, S.CLOSED, R.TENANT),
    (S.ADVISED, S.CANCELLED, R.TENANT),
    (S.ASSIGNED, S.ACCEPTED, R.CARETAKER),
    (S.ASSIGNED, S.CANCELLED, R.TENANT),
    (S.ACCEPTED, S.ACCEPTED, R.CARETAKER),  # plan
    (S.ACCEPTED, S.ASSIGNED, R.CARETAKER),
    (S.ACCEPTED, S.IN_PROGRESS, R.CARETAKER),
    (S.IN_PROGRESS, S.RESOLVED, R.CARETAKER),
    (S.RESOLVED, S.CLOSED, R.TENANT),
    (S.RESOLVED, S.IN_PROGRESS, R.TENANT),
}

EVERY_TRIPLE = list(itertools.product(Status, Status, Role))


@pytest.mark.parametrize(("source", "target", "role"), EVERY_TRIPLE)
def test_table_allows_exactly_the_product_lifecycle(
    source: Status, target: Status, role: Role
) -> None:
    assert allowed(source, target, role) is ((source, target, role) in EXPECTED)


@pytest.mark.parametrize(("current", "target", "role"), EVERY_TRIPLE)
def test_judge_answers_every_status_change(
    current: Status, target: Status, role: Role
) -> None:
    verdict = judge(current, target, role)
    if current is not target and (current, target, role) in EXPECTED:
        assert not isinstance(verdict, Refusal)
        assert (verdict.source, verdict.target, verdict.role) == (current, target, role)
        return
    # Refused: 409 when this role makes this move from some other status,
    # 403 when it never does.
    takes_it_elsewhere = any(
        t is target and r is role and s is not t for s, t, r in EXPECTED
    )
    expected = Refusal.WRONG_STATUS if takes_it_elsewhere else Refusal.WRONG_ROLE
    assert verdict is expected


def test_asking_for_the_current_status_is_never_a_plan() -> None:
    # Two accepts racing: the second sees "accepted" and must get a conflict.
    assert judge(S.ACCEPTED, S.ACCEPTED, R.CARETAKER) is Refusal.WRONG_STATUS


@pytest.mark.parametrize(("current", "role"), list(itertools.product(Status, Role)))
def test_plan_only_by_a_caretaker_while_accepted(current: Status, role: Role) -> None:
    verdict = judge(current, Action.PLAN, role)
    if role is not R.CARETAKER:
        assert verdict is Refusal.WRONG_ROLE
    elif current is not S.ACCEPTED:
        assert verdict is Refusal.WRONG_STATUS
    else:
        assert not isinstance(verdict, Refusal)
        assert verdict.action is Action.PLAN and verdict.target is S.ACCEPTED


def test_steps_have_distinct_sources_and_targets() -> None:
    pairs = [(step.source, step.target) for step in STEPS]
    assert len(pairs) == len(set(pairs))


def test_final_statuses_have_no_way_out() -> None:
    assert not any(step.source in {S.CLOSED, S.CANCELLED} for step in STEPS)


def test_severity_is_required_at_triage_and_refused_elsewhere() -> None:
    assert field_problem(Action.ASSIGN, severity=None, planned_for=None)
    assert field_problem(Action.ADVISE, severity=None, planned_for=None)
    assert (
        field_problem(Action.ASSIGN, severity=Severity.URGENT, planned_for=None) is None
    )
    assert field_problem(Action.ACCEPT, severity=Severity.URGENT, planned_for=None)


def test_planned_for_is_required_to_plan_and_refused_when_cancelling() -> None:
    moment = datetime.now(UTC)
    assert field_problem(Action.PLAN, severity=None, planned_for=None)
    assert field_problem(Action.PLAN, severity=None, planned_for=moment) is None
    assert field_problem(Action.ACCEPT, severity=None, planned_for=moment) is None
    assert field_problem(Action.ACCEPT, severity=None, planned_for=None) is None
    assert field_problem(Action.CANCEL, severity=None, planned_for=moment)


def test_planned_for_needs_an_offset_and_a_sensible_moment() -> None:
    now = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    moment = parse_planned_for("2025-06-03T09:30:00+02:00", now)
    assert format_planned_for(moment) == "2025-06-03T07:30:00Z"
    assert format_planned_for(parse_planned_for("2025-06-03T07:30:00Z", now)).endswith(
        "07:30:00Z"
    )
    for bad in (
        "2025-06-03T09:30:00",
        "tomorrow",
        "",
        "2025-05-01T09:00:00Z",
        "2027-06-03T09:30:00Z",
        "9" * 80,
    ):
        with pytest.raises(ValueError):
            parse_planned_for(bad, now)


def test_deadlines_count_from_the_report_per_severity() -> None:
    hours = {"emergency": 2.0, "urgent": 24.0, "normal": 120.0}
    due = deadlines(1_000, Severity.URGENT, hours, {"urgent": 48.0})
    assert due.accept_by == 1_000 + 24 * 3_600_000
    assert due.resolve_by == 1_000 + 48 * 3_600_000
    assert deadlines(1_000, None, hours, hours).accept_by is None
    assert deadlines(1_000, Severity.NORMAL, hours, {}).resolve_by is None


def test_visibility_tenant_own_caretaker_district_agent_all() -> None:
    tenant = User(id="100001", role=R.TENANT, name="t", districts=("noord",))
    caretaker = User(id="w1", role=R.CARETAKER, name="c", districts=("noord", "west"))
    agent = User(id="k1", role=R.AGENT, name="a")
    assert may_see(tenant, "100001", "noord")
    assert not may_see(tenant, "100002", "noord")
    assert may_see(caretaker, "100002", "west")
    assert not may_see(caretaker, "200001", "zuid")
    assert may_see(agent, "200001", "zuid")


def test_deadline_hours_may_be_fractional() -> None:
    due = deadlines(0, Severity.EMERGENCY, {"emergency": 0.5}, {"emergency": 1.5})
    assert due.accept_by == int(timedelta(minutes=30).total_seconds() * 1000)

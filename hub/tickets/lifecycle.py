"""The ticket lifecycle as data: statuses, steps, who may take them, and when.

Pure: no Redis, no clock of its own. The service asks `judge` whether a user
may move a ticket from its current status, and the Lua script then checks,
atomically, that the status is still the one judged on.

    submitted ──> advised ──> closed             (tenant: the advice helped)
        │            └──> submitted              (tenant: it did not help)
        ├──> assigned ──> accepted ──> in_progress ──> resolved ──> closed
        │        ^            │  ⟲ plan            ^           │
        │        └────────────┘ hand back          └───────────┘ reopen
        └──> cancelled       (tenant, from submitted, advised or assigned)

Planning a visit is a step without a status change (accepted to accepted).
It is never requested with `to`, only with the action `plan`, so that a
second "accept" racing the first is a conflict and not silently a re-plan.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub.directory.model import Role, User


class Status(enum.StrEnum):
    SUBMITTED = "submitted"
    ADVISED = "advised"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Action(enum.StrEnum):
    """The name of a step, recorded in the timeline and in events."""

    REPORT = "report"  # the tenant's report creates the ticket
    ADVISE = "advise"
    ASSIGN = "assign"
    CANCEL = "cancel"
    RETRY = "retry"  # the advice did not help: back to customer service
    CLOSE = "close"  # the advice helped
    ACCEPT = "accept"
    PLAN = "plan"
    HAND_BACK = "hand_back"
    START = "start"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    REOPEN = "reopen"


class Severity(enum.StrEnum):
    """Set by customer service at triage; picks the deadlines."""

    EMERGENCY = "emergency"
    URGENT = "urgent"
    NORMAL = "normal"


@dataclass(frozen=True, slots=True)
class Step:
    source: Status
    target: Status
    role: Role
    action: Action


S, R, A = Status, Role, Action

STEPS: tuple[Step, ...] = (
    Step(S.SUBMITTED, S.ADVISED, R.AGENT, A.ADVISE),
    Step(S.SUBMITTED, S.ASSIGNED, R.AGENT, A.ASSIGN),
    Step(S.SUBMITTED, S.CANCELLED, R.TENANT, A.CANCEL),
    Step(S.ADVISED, S.SUBMITTED, R.TENANT, A.RETRY),
    Step(S.ADVISED, S.CLOSED, R.TENANT, A.CLOSE),
    Step(S.ADVISED, S.CANCELLED, R.TENANT, A.CANCEL),
    Step(S.ASSIGNED, S.ACCEPTED, R.CARETAKER, A.ACCEPT),
    Step(S.ASSIGNED, S.CANCELLED, R.TENANT, A.CANCEL),
    Step(S.ACCEPTED, S.ACCEPTED, R.CARETAKER, A.PLAN),
    Step(S.ACCEPTED, S.ASSIGNED, R.CARETAKER, A.HAND_BACK),
    Step(S.ACCEPTED, S.IN_PROGRESS, R.CARETAKER, A.START),
    Step(S.IN_PROGRESS, S.RESOLVED, R.CARETAKER, A.RESOLVE),
    Step(S.RESOLVED, S.CLOSED, R.TENANT, A.CONFIRM),
    Step(S.RESOLVED, S.IN_PROGRESS, R.TENANT, A.REOPEN),
)

FINAL = frozenset({Status.CLOSED, Status.CANCELLED})
OPEN = frozenset(Status) - FINAL

# Which deadline a status is measured against (see `deadlines`).
AWAITING_ACCEPTANCE = frozenset({Status.ASSIGNED})
AWAITING_RESOLUTION = frozenset({Status.ASSIGNED, Status.ACCEPTED, Status.IN_PROGRESS})


def allowed(source: Status, target: Status, role: Role) -> bool:
    """Whether the table has a step from `source` to `target` for `role`."""
    return any(
        step.source is source and step.target is target and step.role is role
        for step in STEPS
    )


class Refusal(enum.Enum):
    """Why `judge` said no; the service maps these to 403 and 409."""

    WRONG_ROLE = "wrong_role"  # this role never makes this move: forbidden
    WRONG_STATUS = "wrong_status"  # the role may, but not from here: conflict


def judge(current: Status, wanted: Status | Action, role: Role) -> Step | Refusal:
    """The step that moves a ticket in `current` to `wanted` for `role`.

    `wanted` is a target status, or `Action.PLAN` for the one step that keeps
    the status. A status equal to the current one is never a step: a second
    accept of an accepted ticket is a conflict, whoever sends it.
    """
    mine = [step for step in STEPS if _matches(step, wanted) and step.role is role]
    for step in mine:
        if step.source is current:
            return step
    # Forbidden is about the role alone, so a client can tell "never" from
    # "not now": a caretaker starting a resolved ticket is told its status.
    return Refusal.WRONG_STATUS if mine else Refusal.WRONG_ROLE


def _matches(step: Step, wanted: Status | Action) -> bool:
    if isinstance(wanted, Action):
        return step.action is wanted
    return step.target is wanted and step.action is not Action.PLAN


# -- what each step takes ----------------------------------------------------

NEEDS_SEVERITY = frozenset({Action.ADVISE, Action.ASSIGN})
TAKES_PLANNED_FOR = frozenset({Action.ACCEPT, Action.PLAN})
NEEDS_PLANNED_FOR = frozenset({Action.PLAN})
CLEARS_PLAN = frozenset({Action.HAND_BACK})
SETS_PLAN = TAKES_PLANNED_FOR | CLEARS_PLAN
"""Steps that write `planned_for`: accept and plan to what was given (accept
may give none), hand back to none, since the visit will not happen."""

PLAN_PAST_LIMIT = timedelta(hours=24)
PLAN_FUTURE_LIMIT = timedelta(days=366)


def field_problem(
    action: Action, *, severity: Severity | None, planned_for: datetime | None
) -> str | None:
    """What is wrong with the optional fields for `action`, or None."""
    if action in NEEDS_SEVERITY and severity is None:
        return f"severity is required to {action.value}"
    if action not in NEEDS_SEVERITY and severity is not None:
        return "severity is set by customer service at triage (advise or assign)"
    if action in NEEDS_PLANNED_FOR and planned_for is None:
        return "planned_for is required to plan a visit"
    if action not in TAKES_PLANNED_FOR and planned_for is not None:
        return "planned_for can only be given when accepting or planning"
    return None


def parse_planned_for(text: str, now: datetime) -> datetime:
    """An ISO 8601 date-time with a UTC offset, near enough to `now`.

    A visit time without an offset is refused rather than guessed: the hub
    and the phones need not share a time zone. Raises ValueError.
    """
    if len(text) > 64:
        raise ValueError("planned_for is too long for a date-time")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("planned_for is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise ValueError("planned_for needs a UTC offset: 2025-06-02T09:30:00+02:00")
    if moment < now - PLAN_PAST_LIMIT:
        raise ValueError("planned_for lies in the past")
    if moment > now + PLAN_FUTURE_LIMIT:
        raise ValueError("planned_for is more than a year ahead")
    return moment


def format_planned_for(moment: datetime) -> str:
    """The stored and published form: UTC, seconds, with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- who sees what --------------------------------------------------------------


def may_see(user: User, tenant_id: str, district_id: str) -> bool:
    """Tenants see their own tickets, caretakers their districts', agents all."""
    if user.role is Role.AGENT:
        return True
    if user.role is Role.CARETAKER:
        return district_id in user.districts
    return user.id == tenant_id


# -- deadlines -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deadlines:
    """When a ticket must be accepted and resolved, in ms; None: no deadline."""

    accept_by: int | None
    resolve_by: int | None


def deadlines(
    created_at_ms: int,
    severity: Severity | None,
    accept_hours: dict[str, float],
    resolve_hours: dict[str, float],
) -> Deadlines:
    """Deadlines count from the report, as the response norms do.

    An untriaged ticket has none: it waits in the triage queue instead.
    """
    if severity is None:
        return Deadlines(None, None)

    def due(hours: dict[str, float]) -> int | None:
        limit = hours.get(severity.value)
        return None if limit is None else created_at_ms + int(limit * 3_600_000)

    return Deadlines(due(accept_hours), due(resolve_hours))

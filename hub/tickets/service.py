"""The ticket service: who may do what to which ticket, on top of the store.

Every method takes the acting `User` and answers with data or a `HubError`.
Access follows one rule (`lifecycle.may_see`): a ticket a user may not see
is reported as absent (`NotFound`), so its id cannot be probed. A user who
sees a ticket but whose role never takes the asked step gets `Forbidden`; a
step the role takes, but not from the current status, is a `Conflict` that
names the status and version the ticket has now.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from typing import Any

import msgpack
from redis.asyncio import Redis

from hub.config import Settings
from hub.directory.model import Role, User
from hub.directory.store import DirectoryStore
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.metrics import HubMetrics
from hub.tickets import lifecycle
from hub.tickets.categories import CATEGORY_IDS
from hub.tickets.lifecycle import Action, Refusal, Severity, Status
from hub.tickets.model import Move, Page, Report
from hub.tickets.store import Created, Outcome, Step, TicketStore, TransitionResult

TICKET_ID_RE = re.compile(r"^t[0-9a-f]{16}$")
IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9_.:~+/=-]{1,128}$")
IDEMPOTENCY_TTL_MS = 24 * 3_600_000
"""A retry with the same key within a day returns the same ticket."""

DEFAULT_PAGE = 50
MAX_PAGE = 100
MAX_OVERDUE = 500


def new_ticket_id() -> str:
    """Random rather than counted: ids say nothing about how many exist."""
    return "t" + secrets.token_hex(8)


def fingerprint(report: Report) -> str:
    """A digest of the report, to tell a retry from a reused key."""
    fields = [report.category, report.description, report.place]
    packed = msgpack.packb([*fields, list(report.preferred_times)])
    return hashlib.sha256(packed).hexdigest()


def parse_cursor(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 18:
        raise BadRequest("cursor is not one this hub handed out")
    return int(text)


def _page(found: list[tuple[str, int]], limit: int) -> tuple[list[str], str | None]:
    """The ids of one page and the cursor of the next (from limit + 1 found)."""
    ids = [ticket_id for ticket_id, _ in found[:limit]]
    more = len(found) > limit
    return ids, (str(found[limit - 1][1]) if more else None)


class TicketService:
    def __init__(
        self,
        redis: Redis,
        settings: Settings,
        metrics: HubMetrics | None = None,
        directory: DirectoryStore | None = None,
    ) -> None:
        self._redis = redis
        self._settings = settings
        self._metrics = metrics
        self._directory = directory or DirectoryStore(redis, settings.key_prefix)
        self.store = TicketStore(
            redis,
            settings.key_prefix,
            stream_max_length=settings.stream_max_length,
            stream_max_age_ms=int(settings.stream_max_age_days * 86_400_000),
        )

    # -- reports -------------------------------------------------------------

    async def create(
        self, user: User, report: Report, idempotency_key: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """File a tenant's report; (the ticket, whether it is new).

        With an idempotency key, a retry of the same report returns the ticket
        the first attempt made (in its current state) instead of a second one.
        """
        if user.role is not Role.TENANT:
            raise Forbidden("only tenants report problems")
        if not user.districts:
            raise Conflict("your account has no home district; call customer service")
        if report.category not in CATEGORY_IDS:
            raise BadRequest(f"unknown category {report.category[:40]!r}")
        if idempotency_key is not None and not IDEMPOTENCY_KEY_RE.match(
            idempotency_key
        ):
            raise BadRequest("Idempotency-Key: 1 to 128 letters, digits or _.:~+/=-")

        # A clash of 64 random bits is next to impossible; draw again anyway.
        for _ in range(3):
            outcome, ticket_id = await self.store.create(
                new_ticket_id(),
                user.id,
                user.districts[0],
                report,
                idempotency_key=idempotency_key or "",
                idempotency_ttl_ms=IDEMPOTENCY_TTL_MS,
                fingerprint=fingerprint(report),
            )
            if outcome is not Created.TAKEN:
                break
        if outcome is Created.MISMATCH:
            raise Conflict("this Idempotency-Key was used for a different report")
        if outcome is Created.TAKEN:
            raise Conflict("could not find a free ticket id; try again")
        if outcome is Created.CREATED and self._metrics is not None:
            self._metrics.transitions.labels(Status.SUBMITTED.value).inc()
        return await self.get(user, ticket_id), outcome is Created.CREATED

    # -- reading -------------------------------------------------------------

    async def can_see(self, user: User, ticket_id: str) -> bool:
        """Whether `user` may follow the ticket (False also when it is absent)."""
        if not TICKET_ID_RE.match(ticket_id):
            return False
        head = await self.store.head(ticket_id)
        return head is not None and lifecycle.may_see(user, head.tenant, head.district)

    async def get(self, user: User, ticket_id: str) -> dict[str, Any]:
        """The ticket with its timeline, and `position`: the newest event on
        `ticket:<id>` it includes (subscribe with `since` = position)."""
        found = None
        if TICKET_ID_RE.match(ticket_id):
            found = await self.store.ticket(ticket_id)
        if found is None or not lifecycle.may_see(
            user, found[0].tenant, found[0].district
        ):
            raise NotFound(f"no ticket {ticket_id[:40]!r}")
        ticket, position = found
        return ticket.as_detail(position)

    async def list_tickets(
        self,
        user: User,
        *,
        status: Status | None = None,
        district: str | None = None,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> Page:
        """The tickets `user` may see, newest first, one page at a time."""
        limit = max(1, min(limit, MAX_PAGE))
        before = parse_cursor(cursor)
        if (
            district is not None
            and user.role is not Role.AGENT
            and district not in user.districts
        ):
            raise Forbidden("you can only list your own district's tickets")

        if user.role is Role.TENANT and status is not None:
            # A tenant's tickets are few: intersect, then page in Python.
            both = [f"tickets:by-tenant:{user.id}", f"tickets:by-status:{status.value}"]
            everything = await self.store.intersection(both)
            found = [item for item in everything if before is None or item[1] < before]
            found = found[: limit + 1]
        else:
            indexes = self._indexes(user, status, district)
            found = await self.store.newest(indexes, before, limit)
        ids, next_cursor = _page(found, limit)
        tickets = await self.store.records(ids)
        return Page([ticket.as_record() for ticket in tickets], next_cursor)

    def _indexes(
        self, user: User, status: Status | None, district: str | None
    ) -> list[str]:
        if user.role is Role.TENANT:
            return [f"tickets:by-tenant:{user.id}"]
        if user.role is Role.CARETAKER:
            districts = [district] if district is not None else list(user.districts)
        elif district is not None:
            districts = [district]
        else:
            return [f"tickets:by-status:{status.value}" if status else "tickets:all"]
        if status is None:
            return [f"tickets:by-district:{d}" for d in districts]
        return [f"tickets:by-district-status:{d}:{status.value}" for d in districts]

    # -- customer service ------------------------------------------------------

    async def queue(
        self, user: User, *, limit: int = DEFAULT_PAGE, cursor: str | None = None
    ) -> Page:
        """Reports waiting for triage, oldest first."""
        _require_agent(user)
        limit = max(1, min(limit, MAX_PAGE))
        found = await self.store.oldest(
            f"tickets:by-status:{Status.SUBMITTED.value}", parse_cursor(cursor), limit
        )
        ids, next_cursor = _page(found, limit)
        tickets = await self.store.records(ids)
        return Page([ticket.as_record() for ticket in tickets], next_cursor)

    async def overdue(self, user: User) -> dict[str, list[dict[str, Any]]]:
        """Triaged tickets past their deadline to be accepted or resolved,
        most overdue first, each with `due_at` (ms)."""
        _require_agent(user)
        now_ms = await self._now_ms()
        answer: dict[str, list[dict[str, Any]]] = {}
        for kind in ("accept", "resolve"):
            found = await self.store.due(kind, now_ms, MAX_OVERDUE)
            due_at = dict(found)
            tickets = await self.store.records([ticket_id for ticket_id, _ in found])
            answer[kind] = [
                {**ticket.as_record(), "due_at": due_at[ticket.id]}
                for ticket in tickets
            ]
        return answer

    async def counts(
        self, user: User, district: str | None = None
    ) -> dict[str, dict[str, int]]:
        """Per district, how many tickets are in each status (zeros included)."""
        if user.role is Role.TENANT:
            raise Forbidden("counts are for caretakers and customer service")
        if user.role is Role.CARETAKER:
            if district is not None and district not in user.districts:
                raise Forbidden("you can only count your own district's tickets")
            districts = [district] if district is not None else list(user.districts)
        elif district is not None:
            districts = [district]
        else:
            listed = set(await self._directory.districts())
            districts = sorted(listed | set(await self.store.districts()))
        stored = await self.store.counts(districts)
        return {
            district_id: {
                status.value: stored[district_id].get(status.value, 0)
                for status in Status
            }
            for district_id in districts
        }

    # -- transitions -----------------------------------------------------------

    async def transition(
        self, user: User, ticket_id: str, move: Move
    ) -> dict[str, Any]:
        """Take one step; answers the event data {ticket, transition}."""
        head = None
        if TICKET_ID_RE.match(ticket_id):
            head = await self.store.head(ticket_id)
        if head is None or not lifecycle.may_see(user, head.tenant, head.district):
            raise NotFound(f"no ticket {ticket_id[:40]!r}")

        current = Status(head.status)
        verdict = lifecycle.judge(current, move.wanted, user.role)
        if verdict is Refusal.WRONG_ROLE:
            role = user.role.value
            article = "an" if role[0] in "aeiou" else "a"
            raise Forbidden(f"{article} {role} cannot {_describe(move.wanted)}")
        if verdict is Refusal.WRONG_STATUS:
            raise Conflict(
                f"the ticket is {current.value}; cannot {_describe(move.wanted)} now",
                status=current.value,
                version=head.version,
            )
        step = verdict

        planned_for = self._planned_for(move.planned_for)
        problem = lifecycle.field_problem(
            step.action, severity=move.severity, planned_for=planned_for
        )
        if problem is not None:
            raise BadRequest(problem)

        severity = move.severity or (Severity(head.severity) if head.severity else None)
        result = await self.store.transition(
            ticket_id,
            Step(
                source=step.source.value,
                target=step.target.value,
                action=step.action.value,
                actor_id=user.id,
                actor_role=user.role.value,
                note=move.note or "",
                set_planned_for=step.action in lifecycle.SETS_PLAN,
                planned_for=_format(planned_for),
                severity=move.severity.value if move.severity else "",
                expected_version=move.expected_version,
                assignee=await self._assignee(step.action, user, head.district),
                deadlines=lifecycle.deadlines(
                    head.created_at,
                    severity,
                    self._settings.accept_deadline_hours,
                    self._settings.resolve_deadline_hours,
                ),
            ),
        )
        return self._settle(result, ticket_id, step.target, move)

    def _settle(
        self, result: TransitionResult, ticket_id: str, target: Status, move: Move
    ) -> dict[str, Any]:
        if result.outcome is Outcome.MISSING:
            raise NotFound(f"no ticket {ticket_id[:40]!r}")
        if result.outcome is Outcome.STATUS:
            raise Conflict(
                f"the ticket is {result.status} now; cannot {_describe(move.wanted)}",
                status=result.status,
                version=result.version,
            )
        if result.outcome is Outcome.VERSION:
            raise Conflict(
                f"the ticket changed: it is at version {result.version}, "
                f"not {move.expected_version}",
                status=result.status,
                version=result.version,
            )
        if self._metrics is not None:
            self._metrics.transitions.labels(target.value).inc()
        assert result.data is not None  # OK always carries the event data
        return result.data

    def _planned_for(self, text: str | None) -> datetime | None:
        if text is None:
            return None
        try:
            return lifecycle.parse_planned_for(text, datetime.now(UTC))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    async def _assignee(self, action: Action, user: User, district_id: str) -> str:
        """Who the ticket is for after `action` ("" keeps the current one)."""
        if action is Action.ACCEPT:
            return user.id
        if action is not Action.ASSIGN:
            return ""
        district = await self._directory.district(district_id)
        caretakers = district["caretakers"] if district else []
        if not caretakers:
            raise Conflict(f"district {district_id!r} has no caretaker to assign to")
        return str(caretakers[0])

    async def _now_ms(self) -> int:
        # Redis's clock, the one the scripts stamp tickets with.
        seconds, micros = await self._redis.time()
        return int(seconds) * 1000 + int(micros) // 1000


def _require_agent(user: User) -> None:
    if user.role is not Role.AGENT:
        raise Forbidden("only customer service sees this")


def _format(planned_for: datetime | None) -> str:
    return "" if planned_for is None else lifecycle.format_planned_for(planned_for)


def _describe(wanted: Status | Action) -> str:
    if isinstance(wanted, Action):
        return wanted.value
    return f"move to {wanted.value}"

"""REST for tickets: categories, reports, lists, one ticket, transitions, and
customer service's queue, overdue list and counts.

The edge only: bodies and query strings are validated here and handed to
`hub.tickets.service.TicketService`, which decides who may do what. Text is
stored as written (never trimmed or escaped); escaping is the pages' job.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from starlette.requests import Request
from starlette.responses import Response

from hub.api.common import JSONResponse, current_user, hub_of, page_limit, read_model
from hub.errors import BadRequest
from hub.tickets.categories import CATEGORIES
from hub.tickets.lifecycle import Action, Severity, Status
from hub.tickets.model import Move, Page, Report
from hub.tickets.service import DEFAULT_PAGE, MAX_PAGE, TicketService

MAX_DESCRIPTION = 4000
MAX_PLACE = 200
MAX_NOTE = 2000
MAX_PREFERRED_TIMES = 10
MAX_PREFERRED_TIME = 100

_STATUSES = ", ".join(status.value for status in Status)
_SEVERITIES = ", ".join(severity.value for severity in Severity)


class _Body(BaseModel):
    # No whitespace stripping: what the tenant wrote is what is stored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportBody(_Body):
    category: StrictStr = Field(max_length=40)
    description: StrictStr = Field(min_length=1, max_length=MAX_DESCRIPTION)
    place: StrictStr = Field(default="", max_length=MAX_PLACE)
    preferred_times: list[
        Annotated[StrictStr, Field(min_length=1, max_length=MAX_PREFERRED_TIME)]
    ] = Field(default_factory=list, max_length=MAX_PREFERRED_TIMES)

    @field_validator("description")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("describe the problem in a few words")
        return value


class TransitionBody(_Body):
    to: StrictStr | None = Field(default=None, max_length=40)
    action: StrictStr | None = Field(default=None, max_length=40)
    note: StrictStr | None = Field(default=None, max_length=MAX_NOTE)
    planned_for: StrictStr | None = Field(default=None, max_length=64)
    severity: StrictStr | None = Field(default=None, max_length=40)
    expected_version: StrictInt | None = Field(default=None, ge=1, le=2**53)


def move_of(body: TransitionBody) -> Move:
    """The requested step: `to` a status, or `action` "plan" (no status change)."""
    if (body.to is None) == (body.action is None):
        raise BadRequest("give either 'to' (a status) or 'action' ('plan')")
    wanted: Status | Action
    if body.action is not None:
        if body.action != Action.PLAN.value:
            raise BadRequest("action: the only action without a status change is plan")
        wanted = Action.PLAN
    else:
        try:
            wanted = Status(str(body.to))
        except ValueError:
            raise BadRequest(f"to: unknown status; one of {_STATUSES}") from None
    severity = None
    if body.severity is not None:
        try:
            severity = Severity(body.severity)
        except ValueError:
            raise BadRequest(f"severity: one of {_SEVERITIES}") from None
    return Move(
        wanted=wanted,
        note=body.note or None,
        planned_for=body.planned_for,
        severity=severity,
        expected_version=body.expected_version,
    )


def _service(request: Request) -> TicketService:
    service: TicketService = hub_of(request).tickets
    return service


def _page_body(page: Page) -> dict[str, Any]:
    return {"tickets": page.tickets, "next_cursor": page.next_cursor}


def _limit(request: Request) -> int:
    return page_limit(request, DEFAULT_PAGE, MAX_PAGE)


def _status(request: Request) -> Status | None:
    text = request.query_params.get("status")
    if text is None or text == "":
        return None
    try:
        return Status(text)
    except ValueError:
        raise BadRequest(f"status: unknown status; one of {_STATUSES}") from None


def _district(request: Request) -> str | None:
    text = request.query_params.get("district")
    if text is None or text == "":
        return None
    if len(text) > 64:
        raise BadRequest("district: not a district id")
    return text


# -- handlers ------------------------------------------------------------------


async def list_categories(request: Request) -> Response:
    return JSONResponse({"categories": [category.as_data() for category in CATEGORIES]})


async def create_ticket(request: Request) -> Response:
    user = await current_user(request)
    key = request.headers.get("idempotency-key")
    body = await read_model(request, ReportBody)
    report = Report(
        category=body.category,
        description=body.description,
        place=body.place,
        preferred_times=tuple(body.preferred_times),
    )
    ticket, created = await _service(request).create(user, report, key)
    headers = {"Location": f"/api/tickets/{ticket['id']}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(ticket, status_code=201 if created else 200, headers=headers)


async def list_tickets(request: Request) -> Response:
    user = await current_user(request)
    page = await _service(request).list_tickets(
        user,
        status=_status(request),
        district=_district(request),
        limit=_limit(request),
        cursor=request.query_params.get("cursor"),
    )
    return JSONResponse(_page_body(page))


async def get_ticket(request: Request) -> Response:
    user = await current_user(request)
    ticket = await _service(request).get(user, request.path_params["ticket_id"])
    return JSONResponse(ticket)


async def transition_ticket(request: Request) -> Response:
    user = await current_user(request)
    body = await read_model(request, TransitionBody)
    data = await _service(request).transition(
        user, request.path_params["ticket_id"], move_of(body)
    )
    return JSONResponse(data)


async def triage_queue(request: Request) -> Response:
    user = await current_user(request)
    page = await _service(request).queue(
        user, limit=_limit(request), cursor=request.query_params.get("cursor")
    )
    return JSONResponse(_page_body(page))


async def overdue_tickets(request: Request) -> Response:
    user = await current_user(request)
    return JSONResponse(await _service(request).overdue(user))


async def ticket_counts(request: Request) -> Response:
    user = await current_user(request)
    counts = await _service(request).counts(user, _district(request))
    return JSONResponse({"districts": counts})


Handler = Callable[[Request], Awaitable[Response]]

# Fixed paths before /api/tickets/{ticket_id}, which would match them too.
ROUTES: list[tuple[str, Handler, list[str], str]] = [
    ("/api/categories", list_categories, ["GET"], "categories"),
    ("/api/tickets/queue", triage_queue, ["GET"], "tickets_queue"),
    ("/api/tickets/overdue", overdue_tickets, ["GET"], "tickets_overdue"),
    ("/api/tickets/counts", ticket_counts, ["GET"], "tickets_counts"),
    ("/api/tickets", list_tickets, ["GET"], "tickets_list"),
    ("/api/tickets", create_ticket, ["POST"], "tickets_create"),
    ("/api/tickets/{ticket_id}", get_ticket, ["GET"], "ticket"),
    (
        "/api/tickets/{ticket_id}/transitions",
        transition_ticket,
        ["POST"],
        "ticket_transition",
    ),
]

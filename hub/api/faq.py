"""REST for the community FAQ: list, search, ask, answer, read, hide and show.

The edge only: bodies and query strings are validated here and handed to
`hub.faq.service.FaqService`, which decides who may do what. Text is stored
as written (never trimmed or escaped); the pages show it as text. Every
endpoint needs a logged-in user. See docs/faq.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.requests import Request
from starlette.responses import Response

from hub.api.common import JSONResponse, current_user, hub_of, page_limit, read_model
from hub.errors import BadRequest
from hub.faq.model import Page
from hub.faq.service import (
    DEFAULT_PAGE,
    MAX_ANSWER,
    MAX_BODY,
    MAX_PAGE,
    MAX_REASON,
    MAX_TITLE,
    FaqService,
)
from hub.faq.store import Order

MAX_FAQ_BODY = 16 * 1024
"""Bytes a request body may have: room for the longest text in 4-byte UTF-8."""

_ORDERS = ", ".join(order.value for order in Order)


class _Body(BaseModel):
    # No whitespace stripping: what was written is what is stored. The limits
    # here refuse wrong types and sizes early; the service checks the rest.
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuestionBody(_Body):
    title: StrictStr = Field(max_length=MAX_TITLE)
    body: StrictStr = Field(default="", max_length=MAX_BODY)


class AnswerBody(_Body):
    body: StrictStr = Field(max_length=MAX_ANSWER)


class HideBody(_Body):
    reason: StrictStr = Field(max_length=MAX_REASON)


def _service(request: Request) -> FaqService:
    return hub_of(request).faq


def _page_body(page: Page) -> dict[str, Any]:
    return {"questions": page.questions, "next_cursor": page.next_cursor}


def _limit(request: Request) -> int:
    return page_limit(request, DEFAULT_PAGE, MAX_PAGE)


def _order(request: Request) -> Order:
    value = request.query_params.get("order") or Order.NEWEST.value
    try:
        return Order(value)
    except ValueError:
        raise BadRequest(f"order: one of {_ORDERS}") from None


def _hidden(request: Request) -> bool:
    value = request.query_params.get("hidden", "")
    if value not in ("", "true", "false"):
        raise BadRequest("hidden: true or false")
    return value == "true"


# -- handlers ------------------------------------------------------------------


async def list_questions(request: Request) -> Response:
    user = await current_user(request)
    page = await _service(request).list_questions(
        user,
        order=_order(request),
        hidden=_hidden(request),
        limit=_limit(request),
        cursor=request.query_params.get("cursor"),
    )
    return JSONResponse(_page_body(page))


async def search(request: Request) -> Response:
    user = await current_user(request)
    page, terms = await _service(request).search(
        user,
        request.query_params.get("q", ""),
        limit=_limit(request),
        cursor=request.query_params.get("cursor"),
    )
    return JSONResponse({**_page_body(page), "words": terms})


async def ask(request: Request) -> Response:
    user = await current_user(request)
    body = await read_model(request, QuestionBody, MAX_FAQ_BODY)
    question = await _service(request).ask(user, body.title, body.body)
    headers = {"Location": f"/api/faq/questions/{question['id']}"}
    return JSONResponse(question, status_code=201, headers=headers)


async def get_question(request: Request) -> Response:
    user = await current_user(request)
    question_id = request.path_params["question_id"]
    return JSONResponse(await _service(request).get(user, question_id))


async def answer(request: Request) -> Response:
    user = await current_user(request)
    body = await read_model(request, AnswerBody, MAX_FAQ_BODY)
    question_id = request.path_params["question_id"]
    created = await _service(request).answer(user, question_id, body.body)
    return JSONResponse(created, status_code=201)


async def hide(request: Request) -> Response:
    user = await current_user(request)
    body = await read_model(request, HideBody, MAX_FAQ_BODY)
    question = await _service(request).set_hidden(
        user,
        request.path_params["question_id"],
        request.path_params.get("answer_id"),
        hidden=True,
        reason=body.reason,
    )
    return JSONResponse(question)


async def show(request: Request) -> Response:
    user = await current_user(request)
    question = await _service(request).set_hidden(
        user,
        request.path_params["question_id"],
        request.path_params.get("answer_id"),
        hidden=False,
    )
    return JSONResponse(question)


Handler = Callable[[Request], Awaitable[Response]]

QUESTION = "/api/faq/questions/{question_id}"
ANSWER = QUESTION + "/answers/{answer_id}"

ROUTES: list[tuple[str, Handler, list[str], str]] = [
    ("/api/faq/search", search, ["GET"], "faq_search"),
    ("/api/faq/questions", list_questions, ["GET"], "faq_list"),
    ("/api/faq/questions", ask, ["POST"], "faq_ask"),
    (QUESTION, get_question, ["GET"], "faq_question"),
    (QUESTION + "/answers", answer, ["POST"], "faq_answer"),
    (QUESTION + "/hide", hide, ["POST"], "faq_hide"),
    (QUESTION + "/show", show, ["POST"], "faq_show"),
    (ANSWER + "/hide", hide, ["POST"], "faq_hide_answer"),
    (ANSWER + "/show", show, ["POST"], "faq_show_answer"),
]

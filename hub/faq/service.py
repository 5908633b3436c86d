"""The FAQ service: who may do what, checks, rate limits, on top of the store.

Every method takes the acting `User` and answers with wire data or a
`HubError`. Text is checked (`hub.faq.text.problem`) and stored as written.
Posting is rate limited per user in fixed windows counted in Redis, so the
limit holds across hub processes; a user can post at most twice the limit
in a stretch that straddles two windows.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from hub.directory.model import Role, User
from hub.directory.store import DirectoryStore
from hub.errors import BadRequest, Conflict, Forbidden, NotFound, RateLimited
from hub.faq import rules, text
from hub.faq.model import Author, Page, Question, answer_view, question_view
from hub.faq.store import FaqStore, Order, Outcome

QUESTION_ID_RE = re.compile(r"^q[0-9a-f]{16}$")
ANSWER_ID_RE = re.compile(r"^a[0-9a-f]{16}$")

MIN_TITLE = 3
MAX_TITLE = 150
MAX_BODY = 2000
MAX_ANSWER = 2000
MAX_REASON = 300
MAX_QUERY = 200
DEFAULT_PAGE = 20
MAX_PAGE = 50


@dataclass(frozen=True, slots=True)
class Limits:
    """How much one user may post, and how large a question may grow."""

    questions: int = 5
    question_window: int = 3600
    answers: int = 20
    answer_window: int = 3600
    answers_per_question: int = 200
    """Bounds what one `GET` of a question reads and sends."""


def new_id(kind: str) -> str:
    """Random rather than counted: ids say nothing about how many exist."""
    return kind + secrets.token_hex(8)


def parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise BadRequest("cursor is not one this hub handed out")
    return int(cursor)


def check(value: str, field: str, *, low: int, high: int) -> None:
    found = text.problem(value, field, low=low, high=high)
    if found is not None:
        raise BadRequest(found)


def window_key(kind: str, user_id: str, now_s: float, window: int) -> str:
    """The fixed-window counter a post falls in."""
    return f"faq:ratelimit:{kind}:{user_id}:{int(now_s // window)}"


class FaqService:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        directory: DirectoryStore,
        limits: Limits | None = None,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._directory = directory
        self.limits = limits or Limits()
        self.store = FaqStore(redis, prefix)

    # -- writing -------------------------------------------------------------

    async def ask(self, user: User, title: str, body: str) -> dict[str, Any]:
        if not rules.may_ask(user):
            raise Forbidden("only tenants ask questions here")
        check(title, "title", low=MIN_TITLE, high=MAX_TITLE)
        check(body, "body", low=0, high=MAX_BODY)
        author = await self._author(user)
        await self._spend(
            "question", user, self.limits.questions, self.limits.question_window
        )

        terms = text.index_terms(title, body)
        # A clash of 64 random bits is next to impossible; draw again anyway.
        for _ in range(3):
            question_id = new_id("q")
            written = await self.store.ask(question_id, title, body, author, terms)
            if written.outcome is Outcome.CREATED:
                return await self.get(user, question_id)
        raise Conflict("could not find a free question id; try again")

    async def answer(self, user: User, question_id: str, body: str) -> dict[str, Any]:
        if not rules.may_answer(user):
            raise Forbidden("your role may not answer")
        check(body, "body", low=1, high=MAX_ANSWER)
        await self._visible_question(user, question_id)
        author = await self._author(user)
        await self._spend(
            "answer", user, self.limits.answers, self.limits.answer_window
        )

        terms = text.index_terms(body)
        for _ in range(3):
            answer_id = new_id("a")
            written = await self.store.answer(
                question_id,
                answer_id,
                body,
                author,
                terms,
                most=self.limits.answers_per_question,
                may_answer_hidden=rules.sees_hidden(user),
            )
            if written.outcome is Outcome.MISSING:
                raise _no_question(question_id)
            if written.outcome is Outcome.FULL:
                raise Conflict(
                    f"this question has {self.limits.answers_per_question} answers;"
                    " it takes no more"
                )
            if written.outcome is Outcome.CREATED:
                answers = await self.store.answers(question_id)
                mine = next(a for a in answers if a.id == answer_id)
                return answer_view(mine, user)
        raise Conflict("could not find a free answer id; try again")

    async def set_hidden(
        self,
        user: User,
        question_id: str,
        answer_id: str | None,
        *,
        hidden: bool,
        reason: str = "",
    ) -> dict[str, Any]:
        """Hide (or show again) a question or one answer; answers the question
        as the agent now sees it."""
        if not rules.may_moderate(user):
            raise Forbidden("only customer service hides or shows FAQ posts")
        if hidden:
            check(reason, "reason", low=1, high=MAX_REASON)
        if not QUESTION_ID_RE.match(question_id):
            raise _no_question(question_id)
        if answer_id is not None and not ANSWER_ID_RE.match(answer_id):
            raise NotFound(f"no answer {answer_id[:40]!r}")
        outcome = await self.store.set_hidden(
            question_id, answer_id, hidden, user.id, reason if hidden else ""
        )
        if outcome is Outcome.MISSING:
            if answer_id is None:
                raise _no_question(question_id)
            raise NotFound(f"no answer {answer_id[:40]!r} on this question")
        return await self.get(user, question_id)

    # -- reading -------------------------------------------------------------

    async def get(self, user: User, question_id: str) -> dict[str, Any]:
        """The question with its answers, oldest first; hidden answers only
        for agents (marked)."""
        question = await self._visible_question(user, question_id)
        answers = [
            answer_view(answer, user)
            for answer in await self.store.answers(question_id)
            if answer.hidden is None or rules.sees_hidden(user)
        ]
        return {**question_view(question, user), "answers": answers}

    async def list_questions(
        self,
        user: User,
        *,
        order: Order = Order.NEWEST,
        hidden: bool = False,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> Page:
        """Visible questions newest or most answered first; with `hidden`, an
        agent's list of hidden questions, newest first."""
        limit = max(1, min(limit, MAX_PAGE))
        if hidden:
            if not rules.sees_hidden(user):
                raise Forbidden("only customer service lists hidden questions")
            index = "faq:hidden"
        else:
            index = "faq:newest" if order is Order.NEWEST else "faq:answered"
        found = await self.store.listed(index, parse_cursor(cursor), limit)
        return await self._page(user, found, limit)

    async def search(
        self,
        user: User,
        query: str,
        *,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> tuple[Page, list[str]]:
        """Visible questions whose title, body or visible answers hold every
        word of `query`, newest first; and the words searched for."""
        check(query, "q", low=0, high=MAX_QUERY)
        limit = max(1, min(limit, MAX_PAGE))
        before = parse_cursor(cursor)
        terms = text.query_terms(query)
        if not terms:
            return Page([], None), []
        found = await self.store.matching(terms, before, limit)
        return await self._page(user, found, limit), terms

    # -- helpers -------------------------------------------------------------

    async def _page(self, user: User, found: list[tuple[str, int]], limit: int) -> Page:
        more = len(found) > limit
        ids = [question_id for question_id, _ in found[:limit]]
        questions = await self.store.questions(ids)
        next_cursor = str(found[limit - 1][1]) if more else None
        return Page([question_view(q, user) for q in questions], next_cursor)

    async def _visible_question(self, user: User, question_id: str) -> Question:
        question = None
        if QUESTION_ID_RE.match(question_id):
            question = await self.store.question(question_id)
        if question is None or (
            question.hidden is not None and not rules.sees_hidden(user)
        ):
            raise _no_question(question_id)
        return question

    async def _author(self, user: User) -> Author:
        district_id, district_name = "", ""
        if user.role is Role.TENANT and user.districts:
            district_id = user.districts[0]
            district = await self._directory.district(district_id)
            district_name = str(district["name"]) if district else district_id
        return Author(
            id=user.id,
            name=text.public_name(user.name),
            role=user.role,
            district=district_id,
            district_name=district_name,
        )

    async def _spend(self, kind: str, user: User, allowed: int, window: int) -> None:
        key = f"{self._prefix}{window_key(kind, user.id, time.time(), window)}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window + 1)
            used, _ = await pipe.execute()
        if int(used) > allowed:
            now = time.time()
            raise RateLimited(
                f"at most {allowed} per {window // 60} minutes; try again later",
                retry_after=window - now % window,
            )


def _no_question(question_id: str) -> NotFound:
    return NotFound(f"no question {question_id[:40]!r}")

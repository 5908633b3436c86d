"""The FAQ in Redis: three Lua scripts change it, plain commands read it.

Every change (asking, answering, hiding, showing) is one script run
(`lua/*.lua`, behind the library `lua/faq.lua`, whose header lists the keys),
so a question, its counts and every index it is in change together. Search
reads the term index: one sorted set per term, scored by question number,
intersected over the query's terms. See `hub.faq.text` for what a term is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis.asyncio import Redis

from hub.faq.model import Answer, Author, Question, decode_answer, decode_question

ANSWERED_SHIFT = 2**32
"""The `faq:answered` score is answers * ANSWERED_SHIFT + number: most answered
first, and among equals the newest; unique, so it works as a cursor."""


def _script(name: str) -> str:
    folder = resources.files("hub.faq").joinpath("lua")
    return (
        folder.joinpath("faq.lua").read_text()
        + "\n"
        + folder.joinpath(name).read_text()
    )


class Outcome(enum.StrEnum):
    CREATED = "created"
    TAKEN = "taken"
    MISSING = "missing"
    FULL = "full"
    OK = "ok"
    UNCHANGED = "unchanged"


class Order(enum.StrEnum):
    NEWEST = "newest"
    ANSWERED = "answered"


@dataclass(frozen=True, slots=True)
class Written:
    """What a script said: the outcome, and for a new question its number."""

    outcome: Outcome
    number: int = 0
    created_at: int = 0


def _author_args(author: Author) -> list[str]:
    return [
        author.id,
        author.name,
        author.role.value,
        author.district,
        author.district_name,
    ]


def _scored(reply: Any) -> list[tuple[str, int]]:
    return [(member.decode(), int(score)) for member, score in reply]


class FaqStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ask = redis.register_script(_script("ask.lua"))
        self._answer = redis.register_script(_script("answer.lua"))
        self._visibility = redis.register_script(_script("visibility.lua"))

    def key(self, name: str) -> str:
        return f"{self._prefix}{name}"

    # -- writing -------------------------------------------------------------

    async def ask(
        self, question_id: str, title: str, body: str, author: Author, terms: set[str]
    ) -> Written:
        reply = await self._ask(
            keys=[],
            args=[
                self._prefix,
                question_id,
                title,
                body,
                *_author_args(author),
                " ".join(sorted(terms)),
            ],
        )
        outcome = Outcome(reply[0].decode())
        if outcome is not Outcome.CREATED:
            return Written(outcome)
        return Written(outcome, int(reply[1]), int(reply[2]))

    async def answer(
        self,
        question_id: str,
        answer_id: str,
        body: str,
        author: Author,
        terms: set[str],
        *,
        most: int,
        may_answer_hidden: bool,
    ) -> Written:
        reply = await self._answer(
            keys=[],
            args=[
                self._prefix,
                question_id,
                answer_id,
                body,
                *_author_args(author),
                " ".join(sorted(terms)),
                most,
                "1" if may_answer_hidden else "0",
            ],
        )
        outcome = Outcome(reply[0].decode())
        if outcome is not Outcome.CREATED:
            return Written(outcome)
        return Written(outcome, created_at=int(reply[1]))

    async def set_hidden(
        self,
        question_id: str,
        answer_id: str | None,
        hidden: bool,
        agent_id: str,
        reason: str,
    ) -> Outcome:
        reply = await self._visibility(
            keys=[],
            args=[
                self._prefix,
                question_id,
                answer_id or "",
                "hide" if hidden else "show",
                agent_id,
                reason,
            ],
        )
        return Outcome(reply[0].decode())

    # -- reading -------------------------------------------------------------

    async def question(self, question_id: str) -> Question | None:
        fields: Any = await self._redis.hgetall(self.key(f"faq:question:{question_id}"))
        return decode_question(fields) if fields else None

    async def answers(self, question_id: str) -> list[Answer]:
        """Every answer of the question, oldest first, hidden ones included."""
        ids: Any = await self._redis.lrange(
            self.key(f"faq:question:{question_id}:answers"), 0, -1
        )
        async with self._redis.pipeline(transaction=False) as pipe:
            for answer_id in ids:
                pipe.hgetall(self.key(f"faq:answer:{answer_id.decode()}"))
            replies = await pipe.execute()
        return [decode_answer(fields) for fields in replies if fields]

    async def questions(self, question_ids: list[str]) -> list[Question]:
        """Questions in the order asked; absent ones left out."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for question_id in question_ids:
                pipe.hgetall(self.key(f"faq:question:{question_id}"))
            replies = await pipe.execute()
        return [decode_question(fields) for fields in replies if fields]

    async def listed(
        self, index: str, before: int | None, limit: int
    ) -> list[tuple[str, int]]:
        """Up to `limit` + 1 (id, score) of `index` below `before`, highest first."""
        top = f"({before}" if before is not None else "+inf"
        reply = await self._redis.zrevrangebyscore(
            self.key(index), top, "-inf", start=0, num=limit + 1, withscores=True
        )
        return _scored(reply)

    async def matching(
        self, terms: list[str], before: int | None, limit: int
    ) -> list[tuple[str, int]]:
        """Up to `limit` + 1 visible questions with every term, newest first.

        One term reads its index page by page. Several are intersected whole
        (Redis's cost is the smallest set times the number of terms), then
        paged here; a common word paired with a rare one stays cheap.
        """
        if len(terms) == 1:
            return await self.listed(f"faq:term:{terms[0]}", before, limit)
        reply = await self._redis.zinter(
            [self.key(f"faq:term:{term}") for term in terms],
            aggregate="MAX",
            withscores=True,
        )
        found = [item for item in _scored(reply) if before is None or item[1] < before]
        found.sort(key=lambda item: item[1], reverse=True)
        return found[: limit + 1]

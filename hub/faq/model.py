"""Questions and answers as the store holds them, and as each viewer sees them.

What a viewer is shown of an author is decided here (`author_view`): the
first name, the role, whether they are staff, and a tenant's district; never
the user id or the full name, except that agents (who moderate) see the id.
The wire field names are the names below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.directory.model import Role, User
from hub.faq import rules


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a question or answer, as stored with it at the time."""

    id: str
    name: str
    """The public (first) name, see `hub.faq.text.public_name`."""
    role: Role
    district: str
    """The author's home district id; "" for staff."""
    district_name: str


@dataclass(frozen=True, slots=True)
class Moderation:
    by: str
    at: int
    reason: str


@dataclass(frozen=True, slots=True)
class Answer:
    id: str
    question: str
    body: str
    author: Author
    created_at: int
    hidden: Moderation | None


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    number: int
    title: str
    body: str
    author: Author
    created_at: int
    answers: int
    """How many answers are visible."""
    hidden: Moderation | None


@dataclass(frozen=True, slots=True)
class Page:
    """Questions in the order asked for, and where the next page starts
    (None: this was the last)."""

    questions: list[dict[str, Any]]
    next_cursor: str | None


# -- from Redis hashes -------------------------------------------------------------


def _text(fields: dict[bytes, bytes], name: str) -> str:
    return fields.get(name.encode(), b"").decode()


def _author(fields: dict[bytes, bytes]) -> Author:
    return Author(
        id=_text(fields, "author"),
        name=_text(fields, "author_name"),
        role=Role(_text(fields, "author_role")),
        district=_text(fields, "author_district"),
        district_name=_text(fields, "author_district_name"),
    )


def _moderation(fields: dict[bytes, bytes]) -> Moderation | None:
    if _text(fields, "hidden") != "1":
        return None
    return Moderation(
        by=_text(fields, "hidden_by"),
        at=int(_text(fields, "hidden_at") or 0),
        reason=_text(fields, "hidden_reason"),
    )


def decode_question(fields: dict[bytes, bytes]) -> Question:
    return Question(
        id=_text(fields, "id"),
        number=int(_text(fields, "number")),
        title=_text(fields, "title"),
        body=_text(fields, "body"),
        author=_author(fields),
        created_at=int(_text(fields, "created_at")),
        answers=int(_text(fields, "answers") or 0),
        hidden=_moderation(fields),
    )


def decode_answer(fields: dict[bytes, bytes]) -> Answer:
    return Answer(
        id=_text(fields, "id"),
        question=_text(fields, "question"),
        body=_text(fields, "body"),
        author=_author(fields),
        created_at=int(_text(fields, "created_at")),
        hidden=_moderation(fields),
    )


# -- for a viewer ------------------------------------------------------------------


def author_view(author: Author, viewer: User) -> dict[str, Any]:
    view: dict[str, Any] = {
        "name": author.name,
        "role": author.role.value,
        "staff": author.role in rules.STAFF,
        "district": (
            {"id": author.district, "name": author.district_name}
            if author.district
            else None
        ),
        "mine": author.id == viewer.id,
    }
    if rules.sees_hidden(viewer):
        view["id"] = author.id
    return view


def _moderation_view(moderation: Moderation | None, viewer: User) -> dict[str, Any]:
    # Only agents ever get a hidden item; the others never see the field.
    if not rules.sees_hidden(viewer):
        return {}
    if moderation is None:
        return {"hidden": None}
    return {
        "hidden": {
            "by": moderation.by,
            "at": moderation.at,
            "reason": moderation.reason,
        }
    }


def question_view(question: Question, viewer: User) -> dict[str, Any]:
    return {
        "id": question.id,
        "number": question.number,
        "title": question.title,
        "body": question.body,
        "author": author_view(question.author, viewer),
        "created_at": question.created_at,
        "answer_count": question.answers,
        **_moderation_view(question.hidden, viewer),
    }


def answer_view(answer: Answer, viewer: User) -> dict[str, Any]:
    return {
        "id": answer.id,
        "body": answer.body,
        "author": author_view(answer.author, viewer),
        "created_at": answer.created_at,
        **_moderation_view(answer.hidden, viewer),
    }

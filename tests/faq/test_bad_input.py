"""Broken, oversized, wrong-typed and hostile input to the FAQ: a 4xx JSON
answer and nothing stored; and the per-user rate limit on posting."""

from __future__ import annotations

from typing import Any

import pytest

from tests.faq.conftest import Api

SCRIPTY = '<script>alert(1)</script><img src=x onerror="alert(2)">&amp;{{7*7}}'


@pytest.fixture
async def question_id(users: dict[str, Api]) -> str:
    return str((await users["100002"].asked("Waar laat ik grofvuil?"))["id"])


async def nothing_stored(users: dict[str, Api], question_id: str | None) -> None:
    tenant = users["100001"]
    listed = await tenant.questions()
    if question_id is None:
        assert listed["questions"] == []
    else:
        assert [q["id"] for q in listed["questions"]] == [question_id]
        detail = (await tenant.question(question_id)).json()
        assert detail["answers"] == [] and detail["answer_count"] == 0
    assert (await tenant.search("alert"))["questions"] == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"body": "zonder titel"},
        {"title": ""},
        {"title": "  \n\t "},
        {"title": "ab"},
        {"title": 42},
        {"title": None},
        {"title": ["Een", "lijst"]},
        {"title": {"nl": "Vraag"}},
        {"title": "x" * 151},
        {"title": "Goede vraag", "body": "x" * 2001},
        {"title": "Goede vraag", "body": 7},
        {"title": "Goede vraag", "district": "zuid"},
        {"title": "bin\x00\x01\x02ary"},
        {"title": "Goede vraag", "body": "esc \x1b[31m rood"},
        ["not", "an", "object"],
        "just a string",
    ],
    ids=[
        "empty",
        "no-title",
        "title-empty",
        "title-blank",
        "title-short",
        "title-number",
        "title-null",
        "title-list",
        "title-object",
        "title-huge",
        "body-huge",
        "body-number",
        "extra-field",
        "binary",
        "escape-codes",
        "array",
        "string",
    ],
)
async def test_bad_questions_are_refused_and_not_stored(
    users: dict[str, Api], body: Any
) -> None:
    response = await users["100001"].request("POST", "/api/faq/questions", json=body)
    assert response.status_code == 400, (body, response.text)
    assert response.json()["error"]["code"] == "bad_request"
    await nothing_stored(users, None)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"body": ""},
        {"body": "   "},
        {"body": 3.14},
        {"body": None},
        {"body": True},
        {"body": "x" * 2001},
        {"body": "ok", "author": "100002"},
        {"body": "nul\x00byte"},
    ],
    ids=[
        "empty",
        "body-empty",
        "body-blank",
        "body-number",
        "body-null",
        "body-bool",
        "body-huge",
        "extra-field",
        "binary",
    ],
)
async def test_bad_answers_are_refused_and_not_stored(
    users: dict[str, Api], question_id: str, body: Any
) -> None:
    response = await users["100001"].request(
        "POST", f"/api/faq/questions/{question_id}/answers", json=body
    )
    assert response.status_code == 400, (body, response.text)
    assert response.json()["error"]["code"] == "bad_request"
    await nothing_stored(users, question_id)


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"title": "' + b"x" * 20_000 + b'"}', "application/json", 413),
        (b"{not json", "application/json", 400),
        (b"\xff\xfe\x00\x01garbage\x80", "application/json", 400),
        # Lone surrogates: valid JSON escapes, but no text a person wrote.
        (b'{"title": "Vraag \\ud800 half"}', "application/json", 400),
        (b'{"title": "Vraag \\udc00 half"}', "application/json", 400),
        (b'{"title": "Goede vraag"}', "text/plain", 400),
        (b"title=Goede+vraag", "application/x-www-form-urlencoded", 400),
        (b"", "application/json", 400),
    ],
    ids=[
        "oversized",
        "broken",
        "binary",
        "high-surrogate",
        "low-surrogate",
        "text-plain",
        "form",
        "empty",
    ],
)
async def test_broken_bodies_get_json_errors_and_store_nothing(
    users: dict[str, Api],
    question_id: str,
    content: bytes,
    content_type: str,
    status: int,
) -> None:
    tenant = users["100001"]
    for path in ("/api/faq/questions", f"/api/faq/questions/{question_id}/answers"):
        response = await tenant.request(
            "POST", path, content=content, headers={"Content-Type": content_type}
        )
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["code"] in ("bad_request", "too_large")
    await nothing_stored(users, question_id)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "51"},
        {"limit": "-1"},
        {"limit": "tien"},
        {"order": "popular"},
        {"cursor": "abc"},
        {"cursor": "9" * 40},
        {"hidden": "maybe"},
    ],
)
async def test_bad_list_parameters_are_bad_requests(
    users: dict[str, Api], params: dict[str, str]
) -> None:
    paths = ["/api/faq/questions"]
    if "order" not in params and "hidden" not in params:
        paths.append("/api/faq/search")  # search takes neither
    for path in paths:
        query = {"q": "vraag", **params} if "search" in path else params
        response = await users["100001"].request("GET", path, params=query)
        assert response.status_code == 400, (path, params, response.text)
        assert response.json()["error"]["code"] == "bad_request"


async def test_overlong_search_queries_are_refused(users: dict[str, Api]) -> None:
    response = await users["100001"].request(
        "GET", "/api/faq/search", params={"q": "radiator " * 30}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("q: at most 200")


async def test_script_laden_text_is_stored_and_served_as_written(
    users: dict[str, Api], question_id: str
) -> None:
    tenant = users["100001"]
    title = f"{SCRIPTY} \u202eevil\u202c 😀 ' OR 1=1 --"
    asked = await tenant.asked(title, SCRIPTY)
    answered = await users["100002"].answer(asked["id"], SCRIPTY)
    assert answered.status_code == 201, answered.text
    detail = (await users["200001"].question(asked["id"])).json()
    assert detail["title"] == title and detail["body"] == SCRIPTY
    assert detail["answers"][0]["body"] == SCRIPTY
    assert [q["id"] for q in (await tenant.search("onerror alert"))["questions"]] == [
        asked["id"]
    ]


async def test_a_flood_of_questions_is_rate_limited(users: dict[str, Api]) -> None:
    tenant = users["100001"]
    # 11 in a row exceed 5 an hour even when they straddle two windows.
    answers = [await tenant.ask(f"Vraag {n} van de stortvloed") for n in range(11)]
    codes = [answer.status_code for answer in answers]
    assert 429 in codes and set(codes) == {201, 429}
    limited = next(answer for answer in answers if answer.status_code == 429)
    wait = int(limited.headers["Retry-After"])
    assert 1 <= wait <= 3600
    assert limited.json()["error"] == {
        "code": "rate_limited",
        "message": "at most 5 per 60 minutes; try again later",
        "retry_after": wait,
    }
    stored = (await tenant.questions(limit=50))["questions"]
    assert len(stored) == codes.count(201)
    # The limit is per user: a neighbour still asks.
    assert (
        await users["100002"].ask("Mag ik nog een vraag stellen?")
    ).status_code == 201


async def test_a_flood_of_answers_is_rate_limited(
    users: dict[str, Api], question_id: str
) -> None:
    tenant = users["100001"]
    answers = [await tenant.answer(question_id, f"Antwoord {n}") for n in range(41)]
    codes = [answer.status_code for answer in answers]
    assert 429 in codes and set(codes) == {201, 429}
    detail = (await tenant.question(question_id)).json()
    assert detail["answer_count"] == codes.count(201) == len(detail["answers"])

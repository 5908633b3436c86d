"""The FAQ over REST against a hub under uvicorn and the suite's Redis:
asking, answering, reading, searching, paging and who is shown as whom."""

from __future__ import annotations

import httpx

from tests.faq.conftest import Api, titles

RADIATOR = "Hoe ontlucht ik mijn radiator?"
RADIATOR_BODY = "De verwarming in de woonkamer tikt en blijft boven koud."
BLEED = (
    "Draai de verwarming uit, houd een doekje onder het ventiel en draai het "
    "met een radiatorsleutel een kwartslag open tot er water komt."
)


async def test_ask_answer_and_read_across_districts(users: dict[str, Api]) -> None:
    asker, neighbour, south = users["100001"], users["100002"], users["200001"]
    caretaker = users["w1"]

    question = await asker.asked(RADIATOR, RADIATOR_BODY)
    assert question["title"] == RADIATOR and question["body"] == RADIATOR_BODY
    assert question["answers"] == [] and question["answer_count"] == 0
    assert question["author"] == {
        "name": "Mevrouw",
        "role": "tenant",
        "staff": False,
        "district": {"id": "noord", "name": "Noord"},
        "mine": True,
    }
    path = f"/api/faq/questions/{question['id']}"

    answered = await neighbour.answer(question["id"], BLEED)
    assert answered.status_code == 201, answered.text
    assert answered.json()["author"]["name"] == "Meneer"
    staff = await caretaker.answer(question["id"], "Lukt het niet? Bel mij gerust.")
    assert staff.status_code == 201, staff.text

    # One FAQ for the corporation: a tenant of another district reads it all.
    seen = await south.question(question["id"])
    assert seen.status_code == 200, seen.text
    detail = seen.json()
    assert detail["answer_count"] == 2
    assert [a["body"] for a in detail["answers"]] == [BLEED, staff.json()["body"]]
    first, second = (a["author"] for a in detail["answers"])
    assert first == {
        "name": "Meneer",
        "role": "tenant",
        "staff": False,
        "district": {"id": "noord", "name": "Noord"},
        "mine": False,
    }
    assert second["staff"] is True and second["role"] == "caretaker"
    assert second["name"] == "Sanne" and second["district"] is None
    assert detail["author"]["mine"] is False

    # Never a customer number or a surname for other tenants, anywhere.
    listed = await south.request("GET", "/api/faq/questions")
    for response in (seen, listed):
        for secret in ("100001", "100002", "Jansen", "Peters", "w1", "de Vries"):
            assert secret not in response.text, (secret, response.text)
    assert "hidden" not in detail
    assert (await asker.request("GET", path)).json()["author"]["mine"] is True


async def test_lists_go_newest_or_most_answered_first_page_by_page(
    users: dict[str, Api],
) -> None:
    tenant, neighbour = users["100001"], users["100002"]
    made = [await tenant.asked(f"Vraag nummer {n}") for n in range(5)]
    for count, question in zip((2, 0, 3, 0, 1), made, strict=True):
        for n in range(count):
            await neighbour.answer(question["id"], f"Antwoord {n}")

    newest = await neighbour.questions()
    assert titles(newest) == [f"Vraag nummer {n}" for n in (4, 3, 2, 1, 0)]
    assert newest["next_cursor"] is None

    seen: list[str] = []
    cursor = None
    while True:
        params = {"order": "answered", "limit": 2}
        page = await neighbour.questions(
            **params, **({"cursor": cursor} if cursor else {})
        )
        seen += titles(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Equal counts: the newer question first.
    assert seen == [f"Vraag nummer {n}" for n in (2, 0, 4, 3, 1)]
    counts = [
        q["answer_count"]
        for q in (await neighbour.questions(order="answered"))["questions"]
    ]
    assert counts == [3, 2, 1, 0, 0]


async def test_search_finds_words_in_titles_bodies_and_answers(
    users: dict[str, Api],
) -> None:
    tenant, neighbour, south = users["100001"], users["100002"], users["200001"]
    radiator = await tenant.asked(RADIATOR, RADIATOR_BODY)
    await neighbour.answer(radiator["id"], BLEED)
    await tenant.asked("Wie betaalt een nieuwe kraanleertje?", "De kraan druppelt.")
    await south.asked("Café op de hoek maakt lawaai", "Elke nacht muziek.")

    # In the title, the body, an answer; folded, by the start of a word.
    assert titles(await south.search("radiator")) == [RADIATOR]
    assert titles(await south.search("WOONKAMER")) == [RADIATOR]
    assert titles(await south.search("kwartslag")) == [RADIATOR]
    assert titles(await south.search("radiatorsleutel ventiel")) == [RADIATOR]
    assert titles(await tenant.search("cafe")) == ["Café op de hoek maakt lawaai"]
    assert titles(await tenant.search("kraanl")) == [
        "Wie betaalt een nieuwe kraanleertje?"
    ]

    # Every word must match; common words are left out and said so.
    assert titles(await tenant.search("radiator lawaai")) == []
    both = await tenant.search("de kraan")
    assert titles(both) == ["Wie betaalt een nieuwe kraanleertje?"]
    assert both["words"] == ["kraan"]
    assert await tenant.search("de het een") == {
        "questions": [],
        "next_cursor": None,
        "words": [],
    }
    # Known limit: no stemming, and compounds are not split.
    assert titles(await tenant.search("ontluchten")) == []
    assert titles(await tenant.search("sleutel")) == []


async def test_search_pages_through_many_matches(users: dict[str, Api]) -> None:
    tenant = users["100001"]
    for n in range(5):
        await tenant.asked(f"Schimmel in de badkamer {n}", "Zwarte plekken boven")
    # Another tenant: five questions an hour is all one tenant may ask.
    await users["200001"].asked("Schimmel in de kelder")

    for query in ("schimmel", "schimmel badkamer"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = await tenant.search(query, **params)
            seen += titles(page)
            cursor = page["next_cursor"]
            if cursor is None:
                break
        expected = [f"Schimmel in de badkamer {n}" for n in (4, 3, 2, 1, 0)]
        if query == "schimmel":
            expected = ["Schimmel in de kelder", *expected]
        assert seen == expected, query


async def test_staff_answer_but_only_tenants_ask(users: dict[str, Api]) -> None:
    assert (await users["w1"].ask("Mag ik dit vragen?")).status_code == 403
    assert (await users["k1"].ask("Mag ik dit vragen?")).status_code == 403
    question = await users["100001"].asked("Wat is kleine herstellingen?")
    agent = await users["k1"].answer(question["id"], "Dat staat in het huurcontract.")
    assert agent.status_code == 201, agent.text
    author = agent.json()["author"]
    assert author["staff"] is True and author["role"] == "agent"
    assert author["name"] == "Klantenservice"
    assert (await users["100001"].questions())["questions"] == [
        {**question_without_answers(question), "answer_count": 1}
    ]


def question_without_answers(question: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in question.items() if key != "answers"}


async def test_unknown_and_malformed_ids_are_not_found(users: dict[str, Api]) -> None:
    tenant = users["100001"]
    for question_id in ("q0000000000000000", "nope", "q" + "f" * 40, "%00"):
        assert (await tenant.question(question_id)).status_code == 404
        assert (await tenant.answer(question_id, "Hallo")).status_code == 404
    response = await tenant.question("q0000000000000000")
    assert response.json()["error"]["code"] == "not_found"


async def test_logged_out_callers_get_401_everywhere(
    users: dict[str, Api], hub_url: str
) -> None:
    question = await users["100001"].asked(RADIATOR)
    path = f"/api/faq/questions/{question['id']}"
    calls = [
        ("GET", "/api/faq/questions", None),
        ("GET", "/api/faq/search?q=radiator", None),
        ("POST", "/api/faq/questions", {"title": "Ik ben niet ingelogd"}),
        ("GET", path, None),
        ("POST", f"{path}/answers", {"body": "Anoniem"}),
        ("POST", f"{path}/hide", {"reason": "x"}),
        ("POST", f"{path}/show", None),
    ]
    async with httpx.AsyncClient(base_url=hub_url) as http:
        for method, url, body in calls:
            for headers in ({}, {"Authorization": "Bearer not-a-token"}):
                response = await http.request(method, url, json=body, headers=headers)
                assert response.status_code == 401, (method, url, response.text)
                assert response.json()["error"]["code"] == "unauthorized"
                assert response.headers["www-authenticate"] == "Bearer"
    detail = (await users["100001"].question(question["id"])).json()
    assert detail["answers"] == [] and detail["title"] == RADIATOR

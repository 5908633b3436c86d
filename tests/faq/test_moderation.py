"""Hiding what breaks the house rules: agents only; hidden items are gone for
tenants (and caretakers) but stay visible, marked, to agents."""

from __future__ import annotations

from typing import Any

from tests.faq.conftest import Api, titles

RUDE = "Mijn buurman is een [scheldwoord], weet iemand zijn adres?"


async def ask_and_answer(users: dict[str, Api]) -> tuple[dict[str, Any], str, str]:
    question = await users["100001"].asked("Hoe vaak wordt het trappenhuis schoon?")
    good = await users["100002"].answer(question["id"], "Elke dinsdag en vrijdag.")
    bad = await users["200001"].answer(question["id"], RUDE)
    assert good.status_code == bad.status_code == 201
    return question, good.json()["id"], bad.json()["id"]


async def test_tenants_and_caretakers_cannot_hide_or_show(
    users: dict[str, Api],
) -> None:
    question, _, bad = await ask_and_answer(users)
    path = f"/api/faq/questions/{question['id']}"
    for user_id in ("100001", "100002", "w1"):
        for target in (path, f"{path}/answers/{bad}"):
            for response in (
                await users[user_id].hide(target),
                await users[user_id].show(target),
            ):
                assert response.status_code == 403, (user_id, response.text)
                assert response.json()["error"]["code"] == "forbidden"
    detail = (await users["100002"].question(question["id"])).json()
    assert len(detail["answers"]) == 2
    listed = await users["100001"].request("GET", "/api/faq/questions?hidden=true")
    assert listed.status_code == 403


async def test_a_hidden_answer_is_gone_for_tenants_and_marked_for_agents(
    users: dict[str, Api],
) -> None:
    question, good, bad = await ask_and_answer(users)
    path = f"/api/faq/questions/{question['id']}"
    assert [q["id"] for q in (await users["100001"].search("scheldwoord"))["questions"]]

    hidden = await users["k1"].hide(f"{path}/answers/{bad}", "Schelden en adres vragen")
    assert hidden.status_code == 200, hidden.text

    for user_id in ("100001", "200001", "w1"):
        detail = (await users[user_id].question(question["id"])).json()
        assert [a["id"] for a in detail["answers"]] == [good], user_id
        assert detail["answer_count"] == 1
        assert RUDE not in (await users[user_id].question(question["id"])).text
        assert (await users[user_id].search("scheldwoord"))["questions"] == []
    # The question's other words still find it.
    assert titles(await users["100001"].search("trappenhuis"))

    agent_view = (await users["k1"].question(question["id"])).json()
    marked = {a["id"]: a["hidden"] for a in agent_view["answers"]}
    assert marked[good] is None
    assert (
        marked[bad]["by"] == "k1"
        and marked[bad]["reason"] == "Schelden en adres vragen"
    )
    assert agent_view["answers"][1]["author"]["id"] == "200001"

    # Hiding twice changes nothing; showing brings it back for everyone.
    assert (await users["k1"].hide(f"{path}/answers/{bad}")).status_code == 200
    assert (await users["k1"].show(f"{path}/answers/{bad}")).status_code == 200
    detail = (await users["100001"].question(question["id"])).json()
    assert [a["id"] for a in detail["answers"]] == [good, bad]
    assert titles(await users["100001"].search("scheldwoord"))


async def test_a_hidden_question_vanishes_for_tenants_but_not_for_agents(
    users: dict[str, Api],
) -> None:
    question, good, _ = await ask_and_answer(users)
    kept = await users["100002"].asked("Wie repareert de brievenbus?")
    path = f"/api/faq/questions/{question['id']}"
    assert (await users["k1"].hide(path, "Gaat over een buurman")).status_code == 200

    for user_id in ("100001", "100002", "w1"):
        api = users[user_id]
        gone = await api.question(question["id"])
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
        assert titles(await api.questions()) == [kept["title"]]
        assert titles(await api.questions(order="answered")) == [kept["title"]]
        assert (await api.search("trappenhuis"))["questions"] == []
        answering = await api.answer(question["id"], "Nog een antwoord")
        assert answering.status_code == 404

    agent = users["k1"]
    detail = (await agent.question(question["id"])).json()
    assert detail["hidden"]["reason"] == "Gaat over een buurman"
    assert detail["answers"][0]["id"] == good
    assert titles(await agent.questions(hidden="true")) == [question["title"]]
    assert titles(await agent.questions()) == [kept["title"]]

    assert (await agent.show(path)).status_code == 200
    back = (await users["100001"].question(question["id"])).json()
    assert back["answer_count"] == 2 and "hidden" not in back
    assert titles(await users["100001"].search("trappenhuis")) == [question["title"]]
    assert (await agent.questions(hidden="true"))["questions"] == []


async def test_hiding_needs_a_reason_and_a_real_target(users: dict[str, Api]) -> None:
    question, _, bad = await ask_and_answer(users)
    agent = users["k1"]
    path = f"/api/faq/questions/{question['id']}"
    for body in ({}, {"reason": ""}, {"reason": 5}, {"reason": "x" * 301}):
        response = await agent.request("POST", f"{path}/hide", json=body)
        assert response.status_code == 400, (body, response.text)
    for target in (
        "/api/faq/questions/q0000000000000000",
        f"{path}/answers/a0000000000000000",
        f"{path}/answers/nope",
        f"/api/faq/questions/q0000000000000000/answers/{bad}",
    ):
        response = await agent.hide(target)
        assert response.status_code == 404, (target, response.text)
    assert len((await users["100001"].question(question["id"])).json()["answers"]) == 2

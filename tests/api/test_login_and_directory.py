"""REST end to end: login, /api/me and the district directory with live presence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import RedisServer
from tests.harness import Hub, eventually, hub_settings, load_directory, running_hub

PROFILE_FIELDS = {
    "id",
    "name",
    "photo_url",
    "age",
    "favourite_dish",
    "hobbies",
    "intro_video_url",
    "work",
    "reachable",
}
PRESENCE_FIELDS = {
    "caretaker_id",
    "online",
    "on_duty",
    "status",
    "activity",
    "ticket_id",
    "since",
    "location",
}


@pytest.fixture
async def http(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]


# -- login -------------------------------------------------------------------


async def test_login_returns_an_expiring_token_and_the_user(
    http: httpx.AsyncClient, hub: Hub
) -> None:
    response = await http.post(
        "/api/login", json={"username": "100001", "password": "huurder"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == hub.settings.token_ttl
    assert body["user"] == {
        "id": "100001",
        "role": "tenant",
        "name": "Mevrouw Jansen",
        "districts": ["noord"],
    }
    me = await http.get("/api/me", headers=bearer(body["token"]))
    assert me.json() == {"user": body["user"]}


async def test_unknown_user_and_wrong_password_get_the_same_answer(
    http: httpx.AsyncClient,
) -> None:
    unknown = await http.post(
        "/api/login", json={"username": "999999", "password": "huurder"}
    )
    wrong = await http.post(
        "/api/login", json={"username": "100001", "password": "verkeerd"}
    )
    assert_error(unknown, 401, "unauthorized")
    assert (unknown.status_code, unknown.content) == (wrong.status_code, wrong.content)
    assert unknown.headers.get("www-authenticate") == wrong.headers.get(
        "www-authenticate"
    )


async def test_repeated_failed_logins_are_limited_with_retry_after(
    redis_server: RedisServer, key_prefix: str
) -> None:
    await load_directory(redis_server.url, key_prefix)
    settings = hub_settings(
        redis_server.url, key_prefix, login_failures_allowed=3, login_failure_window=60
    )
    async with (
        running_hub(settings) as hub,
        httpx.AsyncClient(base_url=hub.url) as http,
    ):
        wrong = {"username": "100001", "password": "verkeerd"}
        for _ in range(3):
            assert (await http.post("/api/login", json=wrong)).status_code == 401

        limited = await http.post("/api/login", json=wrong)
        assert_error(limited, 429, "rate_limited")
        wait = int(limited.headers["Retry-After"])
        assert 1 <= wait <= 60
        assert limited.json()["error"]["retry_after"] == wait

        # Even the right password waits now: guessing gains nothing.
        right = {"username": "100001", "password": "huurder"}
        assert_error(await http.post("/api/login", json=right), 429, "rate_limited")
        # Another user on the same address is not locked out by it.
        neighbour = {"username": "100002", "password": "huurder"}
        assert (await http.post("/api/login", json=neighbour)).status_code == 200


BAD_LOGIN_BODIES: list[tuple[Any, dict[str, str], int, str]] = [
    ("{broken", {"content-type": "application/json"}, 400, "bad_request"),
    ("", {"content-type": "application/json"}, 400, "bad_request"),
    ("username=100001", {"content-type": "text/plain"}, 400, "bad_request"),
    ('["100001", "huurder"]', {"content-type": "application/json"}, 400, "bad_request"),
    ('"100001"', {"content-type": "application/json"}, 400, "bad_request"),
    ({"username": "100001"}, {}, 400, "bad_request"),
    ({"password": "huurder"}, {}, 400, "bad_request"),
    ({"username": 100001, "password": "huurder"}, {}, 400, "bad_request"),
    ({"username": "100001", "password": None}, {}, 400, "bad_request"),
    ({"username": ["100001"], "password": "huurder"}, {}, 400, "bad_request"),
    ({"username": "", "password": "huurder"}, {}, 400, "bad_request"),
    ({"username": "1" * 65, "password": "huurder"}, {}, 400, "bad_request"),
    ({"username": "100001", "password": "x" * 1025}, {}, 400, "bad_request"),
    (
        {"username": "100001", "password": "huurder", "role": "agent"},
        {},
        400,
        "bad_request",
    ),
    (
        '{"username": "\\ud800", "password": "huurder"}',
        {"content-type": "application/json"},
        400,
        "bad_request",
    ),
    (
        {"username": "100001", "password": "huurder", "pad": "x" * 70_000},
        {},
        413,
        "too_large",
    ),
    ({"username": "' OR 1=1 --", "password": "x"}, {}, 401, "unauthorized"),
]


@pytest.mark.parametrize(("body", "headers", "status", "code"), BAD_LOGIN_BODIES)
async def test_broken_oversized_and_wrong_typed_login_bodies_are_refused(
    http: httpx.AsyncClient, body: Any, headers: dict[str, str], status: int, code: str
) -> None:
    if isinstance(body, str):
        response = await http.post("/api/login", content=body, headers=headers)
    else:
        response = await http.post("/api/login", json=body)
    assert_error(response, status, code)
    assert "token" not in response.json()


# -- /api/me -----------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic MTAwMDAxOmh1dXJkZXI="},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
)
async def test_me_without_a_valid_token_is_401(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert_error(await http.get("/api/me", headers=headers), 401, "unauthorized")


# -- districts ---------------------------------------------------------------


async def test_district_list_has_names_and_caretaker_summaries(
    http: httpx.AsyncClient, hub: Hub
) -> None:
    agent = await http.get("/api/districts", headers=bearer(await hub.token("k1")))
    assert agent.status_code == 200
    districts = {d["id"]: d for d in agent.json()["districts"]}
    assert set(districts) == {"noord", "zuid"}
    assert districts["noord"]["name"] == "Noord"
    assert districts["noord"]["caretakers"] == [
        {"id": "w1", "name": "Sanne de Vries", "photo_url": None}
    ]
    assert districts["zuid"]["caretakers"][0]["name"] == "Ahmed Benali"

    tenant = await http.get("/api/districts", headers=bearer(await hub.token("100001")))
    assert [d["id"] for d in tenant.json()["districts"]] == ["noord"]


async def test_district_has_the_full_profile_and_live_presence(
    http: httpx.AsyncClient, hub: Hub
) -> None:
    headers = bearer(await hub.token("100001"))
    before = (await http.get("/api/districts/noord", headers=headers)).json()
    assert before["id"] == "noord" and before["name"] == "Noord"
    assert before["boundary"]["type"] == "Polygon"
    [card] = before["caretakers"]
    assert PROFILE_FIELDS | {"presence"} <= set(card)
    assert card["age"] == 44
    assert card["favourite_dish"] == "stamppot"
    assert card["hobbies"] == ["vissen"]
    assert card["work"] == "rondes door de flats"
    assert card["reachable"] == "ma-vr 8-16"
    assert set(card["presence"]) == PRESENCE_FIELDS
    assert card["presence"]["online"] is False

    caretaker = await hub.connect("w1")
    await caretaker.request(
        {"type": "presence", "on_duty": True, "status": "busy", "activity": "cv"}
    )
    await caretaker.send({"type": "location", "lat": 51.940123, "lon": 4.481234})

    async def located() -> dict[str, Any] | None:
        body = (await http.get("/api/districts/noord", headers=headers)).json()
        presence: dict[str, Any] = body["caretakers"][0]["presence"]
        return presence if presence["location"] else None

    presence = await eventually(located)
    assert (presence["online"], presence["status"], presence["activity"]) == (
        True,
        "busy",
        "cv",
    )
    # A tenant's view is the coarse one.
    assert presence["location"]["lat"] != 51.940123
    assert presence["location"]["accuracy"] == 100.0


@pytest.mark.parametrize(
    ("user", "district"),
    [
        ("k1", "nowhere"),
        ("100001", "nowhere"),
        ("100001", "zuid"),  # exists, but not the tenant's: the same answer
        ("w1", "zuid"),
        ("k1", "..%2F..%2Fetc"),
        ("k1", "x" * 300),
    ],
)
async def test_unknown_or_foreign_district_is_a_404_json_error(
    http: httpx.AsyncClient, hub: Hub, user: str, district: str
) -> None:
    response = await http.get(
        f"/api/districts/{district}", headers=bearer(await hub.token(user))
    )
    assert_error(response, 404, "not_found")


async def test_districts_without_a_token_are_401(http: httpx.AsyncClient) -> None:
    assert_error(await http.get("/api/districts"), 401, "unauthorized")
    assert_error(await http.get("/api/districts/noord"), 401, "unauthorized")

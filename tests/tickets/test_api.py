"""Tickets over REST (and live over the websocket) against a hub under uvicorn."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import RedisServer
from tests.harness import Client, Hub, hub_settings, load_directory, running_hub

REPORT = {
    "category": "leak",
    "description": "Lekkage onder het aanrecht",
    "place": "keuken",
    "preferred_times": ["ma ochtend"],
}


class Api:
    """One logged-in user's REST client."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def report(self, body: Any = None, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return await self.http.post(
            "/api/tickets", json=body or REPORT, headers=headers
        )

    async def move(self, ticket_id: str, **body: Any) -> httpx.Response:
        return await self.http.post(f"/api/tickets/{ticket_id}/transitions", json=body)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params)


@pytest.fixture
async def hub(redis_server: RedisServer, key_prefix: str) -> AsyncIterator[Hub]:
    await load_directory(redis_server.url, key_prefix)
    async with running_hub(hub_settings(redis_server.url, key_prefix)) as running:
        yield running


class LazyLogin(httpx.Auth):
    """Logs in on the first request only: password hashing is slow on purpose,
    and most tests need only some of the users."""

    def __init__(self, hub: Hub, user_id: str) -> None:
        self.hub = hub
        self.user_id = user_id
        self.token: str | None = None

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self.token is None:
            self.token = await self.hub.token(self.user_id)
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


@pytest.fixture
async def users(hub: Hub) -> AsyncIterator[dict[str, Api]]:
    clients = {
        user_id: httpx.AsyncClient(base_url=hub.url, auth=LazyLogin(hub, user_id))
        for user_id in ("100001", "100002", "200001", "w1", "w2", "k1")
    }
    yield {user_id: Api(http) for user_id, http in clients.items()}
    for http in clients.values():
        await http.aclose()


def soon() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


async def test_categories_are_listed_in_dutch_and_english(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        body = (await http.get("/api/categories")).json()
    ids = [category["id"] for category in body["categories"]]
    assert ids[0] == "leak" and "doors_locks" in ids and ids[-1] == "other"
    assert body["categories"][0]["label"] == {"nl": "Lekkage", "en": "Leak"}


async def test_report_to_confirmation_seen_live_in_the_same_order(
    hub: Hub, users: dict[str, Api]
) -> None:
    tenant, caretaker, agent = users["100001"], users["w1"], users["k1"]
    watchers: dict[str, tuple[Client, str]] = {}
    for user_id, channel in (
        ("100001", "tickets:mine"),
        ("w1", "tickets:district:noord"),
        ("k1", "dashboard"),
    ):
        client = await hub.connect(user_id)
        reply = await client.request({"type": "subscribe", "channel": channel})
        assert reply["type"] == "subscribed", reply
        watchers[user_id] = (client, channel)

    created = await tenant.report()
    assert created.status_code == 201, created.text
    ticket = created.json()
    tid = ticket["id"]
    assert created.headers["location"] == f"/api/tickets/{tid}"
    assert ticket["status"] == "submitted" and ticket["district"] == "noord"

    queue = (await agent.get("/api/tickets/queue")).json()
    assert tid in [t["id"] for t in queue["tickets"]]
    steps: list[tuple[Api, dict[str, Any]]] = [
        (agent, {"to": "assigned", "severity": "urgent", "note": "Spoed"}),
        (caretaker, {"to": "accepted", "expected_version": 2}),
        (caretaker, {"action": "plan", "planned_for": soon(), "note": "Morgen 9 uur"}),
        (caretaker, {"to": "in_progress"}),
        (caretaker, {"to": "resolved", "note": "Sifon vervangen"}),
        (tenant, {"to": "closed"}),
    ]
    for api, body in steps:
        response = await api.move(tid, **body)
        assert response.status_code == 200, response.text

    detail = (await tenant.get(f"/api/tickets/{tid}")).json()
    actions = ["report", "assign", "accept", "plan", "start", "resolve", "confirm"]
    assert [entry["action"] for entry in detail["timeline"]] == actions
    assert detail["status"] == "closed" and detail["version"] == 7
    for client, channel in watchers.values():
        seen: list[dict[str, Any]] = []
        while len(seen) < 7:
            frame = await client.expect(lambda f: f.get("type") == "event")
            assert frame["channel"] == channel
            seen.append(frame)
        assert [f["data"]["transition"]["action"] for f in seen] == actions
        assert [f["kind"] for f in seen] == ["created"] + ["transition"] * 6
        assert seen[-1]["data"]["ticket"] == {
            k: v
            for k, v in detail.items()
            if k not in ("description", "preferred_times", "timeline", "position")
        }
        await client.close()


async def test_the_same_report_twice_with_one_key_is_one_ticket(
    users: dict[str, Api],
) -> None:
    tenant = users["100001"]
    first = await tenant.report(key="3f2a9c1e-7b1d-4c55-9e0e-1a2b3c4d5e6f")
    again = await tenant.report(key="3f2a9c1e-7b1d-4c55-9e0e-1a2b3c4d5e6f")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    listed = (await tenant.get("/api/tickets")).json()["tickets"]
    assert [t["id"] for t in listed] == [first.json()["id"]]
    other = await tenant.report(
        {**REPORT, "description": "iets anders"},
        key="3f2a9c1e-7b1d-4c55-9e0e-1a2b3c4d5e6f",
    )
    assert other.status_code == 409
    bad = await tenant.report(key="no spaces allowed")
    assert bad.status_code == 400


async def test_other_tenants_and_districts_cannot_see_or_touch_a_ticket(
    users: dict[str, Api],
) -> None:
    tid = (await users["100001"].report()).json()["id"]

    for outsider in ("100002", "200001", "w2"):
        api = users[outsider]
        response = await api.get(f"/api/tickets/{tid}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert (await api.move(tid, to="cancelled")).status_code == 404
        listed = (await api.get("/api/tickets")).json()["tickets"]
        assert tid not in [t["id"] for t in listed]
    assert (await users["w2"].get("/api/tickets", district="noord")).status_code == 403
    assert (await users["100002"].get("/api/tickets/counts")).status_code == 403
    assert (await users["100002"].get("/api/tickets/queue")).status_code == 403
    assert (await users["w1"].get("/api/tickets/overdue")).status_code == 403
    assert (await users["w1"].get(f"/api/tickets/{tid}")).status_code == 200
    # Absent and invisible look the same.
    absent = await users["100002"].get("/api/tickets/t0123456789abcdef")
    assert absent.json()["error"]["message"].startswith("no ticket")


async def test_roles_and_statuses_are_enforced_with_clear_codes(
    users: dict[str, Api],
) -> None:
    tid = (await users["100001"].report()).json()["id"]

    forbidden = await users["100001"].move(tid, to="assigned", severity="normal")
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "forbidden"
    early = await users["w1"].move(tid, to="accepted")
    assert early.status_code == 409
    error = early.json()["error"]
    assert error["code"] == "conflict" and error["status"] == "submitted"
    assert "submitted" in error["message"]
    assert (
        await users["k1"].move(tid, to="assigned")
    ).status_code == 400  # no severity
    assert (
        await users["k1"].move(tid, to="assigned", severity="normal")
    ).status_code == 200
    stale = await users["w1"].move(tid, to="accepted", expected_version=1)
    assert stale.status_code == 409 and stale.json()["error"]["version"] == 2
    assert (await users["w1"].move(tid, to="accepted")).status_code == 200
    again = await users["w1"].move(tid, to="accepted")
    assert again.status_code == 409 and again.json()["error"]["status"] == "accepted"
    late_cancel = await users["100001"].move(tid, to="cancelled")
    assert late_cancel.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"to": "done"},
        {"to": "accepted", "action": "plan"},
        {},
        {"action": "teleport"},
        {"to": 3},
        {"to": ["accepted"]},
        {"to": "accepted", "expected_version": "2"},
        {"to": "accepted", "expected_version": True},
        {"to": "accepted", "expected_version": 0},
        {"to": "accepted", "note": "x" * 2001},
        {"to": "accepted", "planned_for": "next tuesday"},
        {"to": "accepted", "planned_for": "2026-01-01T09:00:00"},
        {"to": "accepted", "severity": "apocalyptic"},
        {"to": "accepted", "colour": "blue"},
    ],
)
async def test_malformed_transitions_are_bad_requests(
    users: dict[str, Api], body: dict[str, Any]
) -> None:
    tenant, agent = users["100001"], users["k1"]
    tid = (await tenant.report()).json()["id"]
    await agent.move(tid, to="assigned", severity="normal")
    response = await users["w1"].move(tid, **body)
    assert response.status_code == 400, (body, response.text)
    assert response.json()["error"]["code"] == "bad_request"
    assert (await tenant.get(f"/api/tickets/{tid}")).json()["version"] == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {**REPORT, "category": "gas"},
        {**REPORT, "category": None},
        {**REPORT, "description": ""},
        {**REPORT, "description": "   \n\t "},
        {**REPORT, "description": 42},
        {**REPORT, "description": "x" * 4001},
        {**REPORT, "place": "p" * 201},
        {**REPORT, "preferred_times": "morgen"},
        {**REPORT, "preferred_times": ["t"] * 11},
        {**REPORT, "preferred_times": [1]},
        {**REPORT, "district": "zuid"},
        ["not", "an", "object"],
    ],
)
async def test_malformed_reports_are_bad_requests(
    users: dict[str, Api], body: Any
) -> None:
    response = await users["100001"].http.post("/api/tickets", json=body)
    assert response.status_code == 400, (body, response.text)
    assert response.json()["error"]["code"] == "bad_request"


async def test_huge_and_broken_bodies_are_refused(users: dict[str, Api]) -> None:
    http = users["100001"].http
    huge = await http.post(
        "/api/tickets", json={**REPORT, "description": "x" * 100_000}
    )
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "too_large"
    broken = await http.post(
        "/api/tickets",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert (await users["100001"].get("/api/tickets")).json()["tickets"] == []


async def test_only_tenants_report_and_anonymous_callers_are_refused(
    hub: Hub, users: dict[str, Api]
) -> None:
    assert (await users["k1"].report()).status_code == 403
    async with httpx.AsyncClient(base_url=hub.url) as http:
        assert (await http.post("/api/tickets", json=REPORT)).status_code == 401
        assert (await http.get("/api/tickets")).status_code == 401


async def test_hostile_strings_are_stored_and_returned_as_written(
    users: dict[str, Api],
) -> None:
    text = " <img src=x onerror=alert(1)> \u0000 ' OR 1=1 -- \u202e😀 {{7*7}} "
    body = {
        "category": "other",
        "description": text,
        "place": text[:50],
        "preferred_times": [text[:40]],
    }
    created = await users["100001"].report(body)
    assert created.status_code == 201, created.text
    tid = created.json()["id"]
    detail = (await users["100001"].get(f"/api/tickets/{tid}")).json()
    assert detail["description"] == text
    assert detail["place"] == text[:50] and detail["preferred_times"] == [text[:40]]
    await users["k1"].move(tid, to="advised", severity="normal", note=text)
    detail = (await users["100001"].get(f"/api/tickets/{tid}")).json()
    assert detail["timeline"][-1]["note"] == text


async def test_lists_filter_and_page(users: dict[str, Api]) -> None:
    tenant = users["100001"]
    made = [(await tenant.report()).json()["id"] for _ in range(5)]
    await tenant.move(made[0], to="cancelled")

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await users["k1"].get("/api/tickets", **params)).json()
        seen += [t["id"] for t in page["tickets"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]
    cancelled = (await users["w1"].get("/api/tickets", status="cancelled")).json()
    assert [t["id"] for t in cancelled["tickets"]] == [made[0]]
    for params in (
        {"status": "weird"},
        {"limit": "0"},
        {"limit": "1000"},
        {"limit": "ten"},
        {"cursor": "x"},
    ):
        assert (await tenant.get("/api/tickets", **params)).status_code == 400
    counts = (await users["k1"].get("/api/tickets/counts")).json()["districts"]
    assert counts["noord"]["submitted"] == 4 and counts["noord"]["cancelled"] == 1
    assert counts["zuid"]["submitted"] == 0
    overdue = (await users["k1"].get("/api/tickets/overdue")).json()
    assert overdue == {"accept": [], "resolve": []}

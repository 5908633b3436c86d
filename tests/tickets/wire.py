"""Tickets over the wire: REST calls and websocket followers, as clients make them.

`Rest` logs each user in once and sends their requests to whichever hub
(process) a test names, so a test can spread one user's calls over several
processes. `Follower` is a websocket that handles every frame in order, the
way a real client must: each `event` is recorded and its `id` kept as the
channel's resume position, also while waiting for the reply to a request
(`Client.request` would skip those frames).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import TIMEOUT
from tests.harness import Client, Hub

REPORT = {"category": "leak", "description": "Lekkage onder het aanrecht"}

# Enough for the many-round tests; the per-connection limit has tests of its own.
FAST_FRAMES = {"HUB_FRAMES_PER_SECOND": "10000", "HUB_FRAME_BURST": "10000"}


def tomorrow(minutes: int = 0) -> str:
    """A visit time `plan` accepts; vary `minutes` to tell the steps apart."""
    when = datetime.now(UTC) + timedelta(days=1, minutes=minutes)
    return when.isoformat()


def position(text: str) -> tuple[int, int]:
    head, _, tail = text.partition("-")
    return int(head), int(tail)


class Rest:
    """Each user's REST calls, to any hub, with one login per user."""

    def __init__(self, login_hub: Hub) -> None:
        self.login_hub = login_hub
        self.tokens: dict[str, str] = {}
        self._login = asyncio.Lock()
        self.http = httpx.AsyncClient(timeout=TIMEOUT * 2)

    async def token(self, user_id: str) -> str:
        # One login for callers that arrive at once: hashing is slow on purpose.
        async with self._login:
            if user_id not in self.tokens:
                self.tokens[user_id] = await self.login_hub.token(user_id)
        return self.tokens[user_id]

    async def call(
        self, hub: Hub, user_id: str, method: str, path: str, body: Any = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.token(user_id)}"}
        return await self.http.request(
            method, hub.url + path, json=body, headers=headers
        )

    async def report(self, hub: Hub, tenant: str) -> dict[str, Any]:
        response = await self.call(hub, tenant, "POST", "/api/tickets", REPORT)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def move(
        self, hub: Hub, user_id: str, ticket_id: str, **body: Any
    ) -> httpx.Response:
        path = f"/api/tickets/{ticket_id}/transitions"
        return await self.call(hub, user_id, "POST", path, body)

    async def step(
        self, hub: Hub, user_id: str, ticket_id: str, **body: Any
    ) -> dict[str, Any]:
        """A transition that must succeed; its event data."""
        response = await self.move(hub, user_id, ticket_id, **body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def ticket(self, hub: Hub, user_id: str, ticket_id: str) -> dict[str, Any]:
        response = await self.call(hub, user_id, "GET", f"/api/tickets/{ticket_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def accepted_ticket(self, hub: Hub, tenant: str = "100001") -> str:
        """A ticket of `tenant` in Noord, assigned and accepted by w1."""
        ticket_id = str((await self.report(hub, tenant))["id"])
        await self.step(hub, "k1", ticket_id, to="assigned", severity="normal")
        await self.step(hub, "w1", ticket_id, to="accepted")
        return ticket_id

    async def aclose(self) -> None:
        await self.http.aclose()


class Follower:
    """A websocket that handles frames in order and keeps resume positions."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.events: list[dict[str, Any]] = []
        self.frames: list[dict[str, Any]] = []
        self.last: dict[str, str] = {}
        self._ref = 0

    @classmethod
    async def connect(cls, hub: Hub, token: str) -> Follower:
        follower = cls(await hub.connect())
        welcome = await follower.request({"type": "auth", "token": token})
        assert welcome["type"] == "welcome", welcome
        return follower

    async def next_frame(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        frame = await self.client.receive(timeout)
        self.frames.append(frame)
        if frame["type"] == "event":
            self.events.append(frame)
            self.last[frame["channel"]] = frame["id"]
        elif frame["type"] == "reset":
            # History is gone: the client reloads, then carries on from here.
            self.last[frame["channel"]] = frame["position"]
        return frame

    async def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        """Handle frames until one matches `predicate`; return it."""
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.next_frame(max(0.0, deadline - time.monotonic()))
            if predicate(frame):
                return frame

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        self._ref += 1
        ref = f"f{self._ref}"
        await self.client.send({**frame, "ref": ref})
        return await self.until(lambda f: f.get("ref") == ref)

    async def subscribe(self, channel: str, since: str | None = None) -> dict[str, Any]:
        frame = {"type": "subscribe", "channel": channel}
        if since is not None:
            frame["since"] = since
        reply = await self.request(frame)
        assert reply["type"] == "subscribed", reply
        if since is None:
            # Live from here; with `since`, the replay moves the position on.
            self.last[channel] = reply["position"]
        return reply

    async def event_of_version(self, ticket_id: str, version: int) -> dict[str, Any]:
        return await self.until(
            lambda f: (
                f["type"] == "event"
                and f["data"]["ticket"]["id"] == ticket_id
                and f["data"]["ticket"]["version"] == version
            )
        )

    def versions(self, channel: str) -> list[int]:
        return [
            e["data"]["ticket"]["version"]
            for e in self.events
            if e["channel"] == channel
        ]

    async def close(self) -> None:
        await self.client.close()

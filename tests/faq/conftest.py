"""A hub under uvicorn on the suite's Redis, and a REST client per user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import RedisServer
from tests.harness import Hub, hub_settings, load_directory, running_hub

USERS = ("100001", "100002", "200001", "w1", "k1")


class Api:
    """One user's REST client; `user_id` None is someone not logged in."""

    def __init__(self, hub: Hub, user_id: str | None) -> None:
        self.hub = hub
        self.user_id = user_id
        self.http = httpx.AsyncClient(base_url=hub.url)
        self.token: str | None = None

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.user_id is not None:
            # Logging in is slow on purpose (password hashing): once per user.
            if self.token is None:
                self.token = await self.hub.token(self.user_id)
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def ask(self, title: str, body: str = "") -> httpx.Response:
        return await self.request(
            "POST", "/api/faq/questions", json={"title": title, "body": body}
        )

    async def asked(self, title: str, body: str = "") -> dict[str, Any]:
        response = await self.ask(title, body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def answer(self, question_id: str, body: str) -> httpx.Response:
        return await self.request(
            "POST", f"/api/faq/questions/{question_id}/answers", json={"body": body}
        )

    async def question(self, question_id: str) -> httpx.Response:
        return await self.request("GET", f"/api/faq/questions/{question_id}")

    async def questions(self, **params: Any) -> dict[str, Any]:
        response = await self.request("GET", "/api/faq/questions", params=params)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def search(self, q: str, **params: Any) -> dict[str, Any]:
        response = await self.request(
            "GET", "/api/faq/search", params={"q": q, **params}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def hide(self, path: str, reason: str = "Schelden") -> httpx.Response:
        return await self.request("POST", f"{path}/hide", json={"reason": reason})

    async def show(self, path: str) -> httpx.Response:
        return await self.request("POST", f"{path}/show")


def titles(page: dict[str, Any]) -> list[str]:
    return [question["title"] for question in page["questions"]]


@pytest.fixture
async def hub(redis_server: RedisServer, key_prefix: str) -> AsyncIterator[Hub]:
    await load_directory(redis_server.url, key_prefix)
    async with running_hub(hub_settings(redis_server.url, key_prefix)) as running:
        yield running


@pytest.fixture
async def users(hub: Hub) -> AsyncIterator[dict[str, Api]]:
    apis: dict[str, Api] = {user_id: Api(hub, user_id) for user_id in USERS}
    apis["anonymous"] = Api(hub, None)
    yield apis
    for api in apis.values():
        await api.http.aclose()


@pytest.fixture
def hub_url(hub: Hub) -> str:
    return hub.url

"""A hub under uvicorn with logged-in users, and photos to upload."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import RedisServer
from tests.harness import Hub, hub_settings, load_directory, running_hub

REPORT = {
    "category": "leak",
    "description": "Lekkage onder het aanrecht",
    "place": "keuken",
}


@pytest.fixture
async def hub_(
    redis_server: RedisServer, key_prefix: str, tmp_path: Path
) -> AsyncIterator[Hub]:
    await load_directory(redis_server.url, key_prefix)
    settings = hub_settings(redis_server.url, key_prefix, data_dir=tmp_path / "data")
    async with running_hub(settings) as running:
        yield running


class Api:
    """One logged-in user's REST client."""

    def __init__(self, hub: Hub, user_id: str | None) -> None:
        self.hub = hub
        self.user_id = user_id
        self.http = httpx.AsyncClient(base_url=hub.url)
        self.token: str | None = None

    async def _headers(self) -> dict[str, str]:
        if self.user_id is None:
            return {}
        if self.token is None:
            self.token = await self.hub.token(self.user_id)
        return {"Authorization": f"Bearer {self.token}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**(await self._headers()), **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def report(self) -> dict[str, Any]:
        response = await self.request("POST", "/api/tickets", json=REPORT)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def say(self, ticket_id: str, text: str, **body: Any) -> httpx.Response:
        return await self.request(
            "POST", f"/api/tickets/{ticket_id}/messages", json={"text": text, **body}
        )

    async def thread(self, ticket_id: str, **params: Any) -> httpx.Response:
        return await self.request(
            "GET", f"/api/tickets/{ticket_id}/messages", params=params
        )

    async def upload(
        self, ticket_id: str, data: bytes, content_type: str = "image/jpeg"
    ) -> httpx.Response:
        return await self.request(
            "POST",
            f"/api/tickets/{ticket_id}/photos",
            content=data,
            headers={"Content-Type": content_type},
        )

    async def move(self, ticket_id: str, **body: Any) -> httpx.Response:
        return await self.request(
            "POST", f"/api/tickets/{ticket_id}/transitions", json=body
        )


@pytest.fixture
async def users(hub_: Hub) -> AsyncIterator[dict[str, Api]]:
    apis = {
        user_id: Api(hub_, user_id)
        for user_id in ("100001", "100002", "200001", "w1", "w2", "k1")
    }
    apis["anonymous"] = Api(hub_, None)
    yield apis
    for api in apis.values():
        await api.http.aclose()


def jpeg(
    width: int = 64,
    height: int = 48,
    exif: Image.Exif | None = None,
    colour: tuple[int, int, int] = (30, 120, 200),
) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), colour)
    image.save(out, "JPEG", exif=exif if exif is not None else Image.Exif())
    return out.getvalue()


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 10, 10, 128)).save(out, "PNG")
    return out.getvalue()

"""The maps' background: with a tile URL configured (HUB_TILE_URL, handed to
the pages by /api/config) the maps load their tiles from it and show its
attribution; without one they draw the district outlines alone and ask no
server but the hub for anything."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from playwright.async_api import Browser, Page, Request, expect

from tests.conftest import TIMEOUT, RedisServer
from tests.harness import PASSWORDS, HubProcess, load_directory
from tests.pages.conftest import PHONE, WALL, ConsoleWatch, log_in

WAIT_MS = TIMEOUT * 2000
OUTLINE_ONLY = re.compile(r"(^|\s)map--outline-only(\s|$)")
USERS = {"tenant": "100001", "dashboard": "k1"}


def png_tile() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (220, 230, 220)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class TileServer:
    """A tiny tile server on a free port: every GET gets the same PNG."""

    url: str
    paths: list[str] = field(default_factory=list)


@pytest.fixture
def tile_server() -> Iterator[TileServer]:
    tile = png_tile()
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the test reads `paths`

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield TileServer(url=f"http://{host!s}:{port}", paths=paths)
    server.shutdown()
    server.server_close()
    thread.join()


async def open_map_page(
    browser: Browser, console: ConsoleWatch, hub_url: str, name: str
) -> tuple[Page, list[str]]:
    """The page logged in, with every URL it requested."""
    viewport = WALL if name == "dashboard" else PHONE
    context = await browser.new_context(viewport=viewport, locale="nl-NL")
    requested: list[str] = []

    def on_request(request: Request) -> None:
        requested.append(request.url)

    context.on("request", on_request)
    page = await context.new_page()
    console.watch(page, name)
    await page.goto(f"{hub_url}/{name}")
    await log_in(page, USERS[name], PASSWORDS[USERS[name]])
    outline = page.locator("#map .leaflet-overlay-pane path")
    await expect(outline.first).to_be_attached(timeout=WAIT_MS)
    return page, requested


@pytest.mark.parametrize("name", ["tenant", "dashboard"])
async def test_map_loads_tiles_from_the_configured_tile_server(
    name: str,
    tile_server: TileServer,
    redis_server: RedisServer,
    key_prefix: str,
    browser: Browser,
    console: ConsoleWatch,
) -> None:
    await load_directory(redis_server.url, key_prefix)
    hub = await HubProcess(
        redis_server.url,
        key_prefix,
        HUB_TILE_URL=tile_server.url + "/{z}/{x}/{y}.png",
        HUB_TILE_ATTRIBUTION="© Testkaart",
    ).start()
    try:
        page, requested = await open_map_page(browser, console, hub.hub.url, name)
        loaded = page.locator("#map img.leaflet-tile-loaded")
        await expect(loaded.first).to_be_visible(timeout=WAIT_MS)
        assert any(url.startswith(tile_server.url) for url in requested), requested
        # The browser asked for real z/x/y tiles, and the server saw them.
        assert tile_server.paths, "the tile server was never asked"
        z, x, y = tile_server.paths[0].removesuffix(".png").strip("/").split("/")
        assert z.isdigit() and x.isdigit() and y.isdigit(), tile_server.paths
        await expect(page.locator("#map .leaflet-control-attribution")).to_contain_text(
            "© Testkaart"
        )
        await expect(page.locator("#map")).not_to_have_class(OUTLINE_ONLY)
        assert console.errors == []
    finally:
        await hub.close()


@pytest.mark.parametrize("name", ["tenant", "dashboard"])
async def test_without_a_tile_url_the_outline_alone_is_drawn(
    name: str, hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    hub_url = hub_process.hub.url
    page, requested = await open_map_page(browser, console, hub_url, name)
    await expect(page.locator("#map")).to_have_class(OUTLINE_ONLY)
    await expect(page.locator("#map .leaflet-tile")).to_have_count(0)
    # Nothing was fetched from anywhere but the hub (no tiles, no fonts, no CDN).
    elsewhere = [
        url for url in requested if not url.startswith((hub_url, "data:", "ws:"))
    ]
    assert elsewhere == []
    assert console.errors == []

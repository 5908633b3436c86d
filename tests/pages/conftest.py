"""Fixtures for the page tests: hub processes on the suite's Redis and a real
headless Chromium (Debian's, driven by Playwright; never a downloaded build).

Every page gets a console watcher: a test ends by asserting that no page
logged an error. The axe-core accessibility checker comes from the JS
client's npm packages (`npm --prefix clients/js install`).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    async_playwright,
)

from tests.conftest import RedisServer
from tests.harness import HubProcess, load_directory

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = REPO / "clients/js/node_modules/axe-core/axe.min.js"
VENDOR = REPO / "hub/web/static/vendor/homi/index.js"
SCREENSHOTS = REPO / "docs/screenshots"

PHONE: ViewportSize = {"width": 390, "height": 844}
WALL: ViewportSize = {"width": 1920, "height": 1080}

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed (scripts/setup.sh --dev installs it)"
    if not VENDOR.exists() or not AXE.exists():
        return (
            "JS packages missing: run `npm --prefix clients/js install`"
            " and `npm --prefix clients/js run vendor`"
        )
    return None


@dataclass
class ConsoleWatch:
    """Console errors and uncaught exceptions of every page in a test."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page, name: str) -> None:
        def on_console(message: ConsoleMessage) -> None:
            url = str(message.location.get("url", ""))
            if message.type == "error":
                self.errors.append(f"{name}: {message.text} ({url})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"{name}: {error}"))


@pytest.fixture
async def hub_process(
    redis_server: RedisServer, key_prefix: str
) -> AsyncIterator[HubProcess]:
    await load_directory(redis_server.url, key_prefix)
    process = await HubProcess(redis_server.url, key_prefix).start()
    yield process
    await process.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    reason = _missing()
    if reason:
        # A missing browser or missing vendored assets is a broken setup,
        # not a reason to pass quietly.
        pytest.fail(f"{reason}; run scripts/setup.sh --dev")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


async def open_page(
    browser: Browser,
    console: ConsoleWatch,
    url: str,
    name: str,
    viewport: ViewportSize = PHONE,
    **context_options: Any,
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(
        viewport=viewport, locale="nl-NL", **context_options
    )
    page = await context.new_page()
    console.watch(page, name)
    await page.goto(url)
    return context, page


async def log_in(page: Page, username: str, password: str) -> None:
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#app:not([hidden])")


# Minor findings (best practices such as a redundant role) are left out;
# everything from moderate up fails the check.
AXE_VIOLATIONS = """async () => {
  const { violations } = await axe.run(document, { resultTypes: ['violations'] });
  return violations
    .filter((v) => ['moderate', 'serious', 'critical'].includes(v.impact))
    .map((v) => `${v.impact} ${v.id}: ${v.help}`
      + ` (${v.nodes.map((n) => n.target.join(' '))})`);
}"""


async def check_accessibility(page: Page) -> None:
    """axe-core on the page as it is; no moderate, serious or critical violations."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(AXE_VIOLATIONS)
    assert result == [], "\n".join(result)


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)

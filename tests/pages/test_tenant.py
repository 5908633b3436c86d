"""The tenant page in a real browser against a real hub process."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.conftest import TIMEOUT
from tests.harness import PASSWORDS, HubProcess
from tests.pages.conftest import (
    ConsoleWatch,
    check_accessibility,
    log_in,
    open_page,
    screenshot,
)

WAIT_MS = TIMEOUT * 1000


async def test_tenant_sees_caretaker_go_on_duty_and_move(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    hub = hub_process.hub
    _, page = await open_page(browser, console, f"{hub.url}/tenant", "tenant")
    await log_in(page, "100001", PASSWORDS["100001"])
    status = page.locator("#caretaker-status")
    await expect(page.locator("#caretaker-name")).to_have_text(
        "Sanne de Vries", timeout=WAIT_MS
    )
    await expect(status).to_have_text("Niet bereikbaar (offline)", timeout=WAIT_MS)
    await expect(page.locator("#position-note")).to_contain_text("niet in dienst")

    caretaker = await hub.connect("w1")
    reply = await caretaker.request(
        {
            "type": "presence",
            "on_duty": True,
            "status": "busy",
            "activity": "lekkage Zwaanshals",
        }
    )
    assert reply["type"] == "ok"
    await expect(status).to_have_text("Bezig met: lekkage Zwaanshals", timeout=WAIT_MS)

    await caretaker.send(
        {"type": "location", "lat": 51.9401, "lon": 4.4801, "accuracy": 8}
    )
    note = page.locator("#position-note")
    await expect(note).to_contain_text("Ongeveer hier", timeout=WAIT_MS)
    first = float(await note.get_attribute("data-lat") or 0)
    assert abs(first - 51.9401) < 0.002

    await caretaker.send(
        {"type": "location", "lat": 51.9455, "lon": 4.4901, "accuracy": 8}
    )
    await expect(note).not_to_have_attribute("data-lat", str(first), timeout=WAIT_MS)
    moved = float(await note.get_attribute("data-lat") or 0)
    assert abs(moved - 51.9455) < 0.002

    await check_accessibility(page)
    await screenshot(page, "tenant-phone")

    await caretaker.request({"type": "presence", "on_duty": False})
    await expect(status).to_have_text("Niet in dienst", timeout=WAIT_MS)
    await expect(note).to_contain_text("niet in dienst", timeout=WAIT_MS)
    await page.click("#language")
    await expect(status).to_have_text("Off duty")
    await caretaker.close()
    assert console.errors == []

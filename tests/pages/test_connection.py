"""Never stale as live: when the hub process a caretaker's phone or the wall
dashboard is connected to dies, the page says the connection is lost and
marks what it shows as not live; when the hub is back, the page shows what
happened meanwhile and is live again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import TIMEOUT, RedisServer
from tests.harness import PASSWORDS, HubProcess
from tests.pages.conftest import (
    WALL,
    ConsoleWatch,
    check_accessibility,
    log_in,
    open_page,
)
from tests.pages.test_ticket_flow import reported

WAIT_MS = TIMEOUT * 2000


@pytest.fixture
async def pages_hub(
    redis_server: RedisServer, key_prefix: str, hub_process: HubProcess
) -> AsyncIterator[HubProcess]:
    """A second hub process on the same Redis, for the page to lose; the
    `hub_process` fixture (loaded with the directory) carries on meanwhile."""
    process = await HubProcess(redis_server.url, key_prefix).start()
    yield process
    await process.close()


async def connection_lost(page: Page, regions: list[str]) -> None:
    await expect(page.locator("#connection")).to_have_attribute(
        "data-state", "lost", timeout=WAIT_MS
    )
    for region in regions:
        await expect(page.locator(region)).to_have_attribute("data-live", "false")
        await expect(page.locator(f"{region} .stale-note")).to_be_visible()
        await expect(page.locator(f"{region} .stale-note")).to_contain_text(
            "Niet actueel"
        )


async def connection_back(page: Page, regions: list[str]) -> None:
    await expect(page.locator("#connection")).to_have_attribute(
        "data-state", "back", timeout=WAIT_MS
    )
    for region in regions:
        await expect(page.locator(region)).to_have_attribute("data-live", "true")
        await expect(page.locator(f"{region} .stale-note")).to_be_hidden()


def refused_reconnects_only(errors: list[str]) -> list[str]:
    # The page lost its socket: Chromium logs the refused reconnects.
    return [e for e in errors if "WebSocket connection" not in e]


async def test_caretaker_page_marks_its_state_not_live_while_the_hub_is_gone(
    pages_hub: HubProcess,
    hub_process: HubProcess,
    browser: Browser,
    console: ConsoleWatch,
) -> None:
    _, phone = await open_page(
        browser,
        console,
        f"{pages_hub.hub.url}/caretaker",
        "caretaker",
        geolocation={"latitude": 51.94, "longitude": 4.48},
        permissions=["geolocation"],
    )
    await log_in(phone, "w1", PASSWORDS["w1"])
    await phone.click("#duty")
    duty = phone.locator("#duty-state")
    await expect(duty).to_have_text("In dienst", timeout=WAIT_MS)
    await expect(phone.locator("#duty-result")).to_contain_text(
        "Opgeslagen", timeout=WAIT_MS
    )
    regions = ["section.duty", 'section[aria-labelledby="jobs-heading"]']

    pages_hub.kill()
    await connection_lost(phone, regions)
    await expect(duty).to_have_attribute("data-live", "false")
    await expect(duty).to_have_text(
        "In dienst — geen verbinding: huurders zien dit nu niet"
    )
    await check_accessibility(phone)

    # A job for this caretaker is assigned meanwhile, through the other hub.
    other = hub_process.hub
    ticket_id = await reported(
        other,
        "100001",
        "Voordeur sluit niet",
        ("k1", {"to": "assigned", "severity": "normal"}),
    )
    await pages_hub.start()
    await connection_back(phone, regions)
    await expect(duty).to_have_attribute("data-live", "true")
    await expect(duty).to_have_text("In dienst")
    await expect(
        phone.locator(f'#tickets [data-ticket="{ticket_id}"]')
    ).to_have_attribute("data-status", "assigned", timeout=WAIT_MS)

    await phone.click("#language")
    pages_hub.kill()
    await expect(duty).to_have_text(
        "On duty — no connection: tenants do not see this now", timeout=WAIT_MS
    )
    await pages_hub.start()
    await expect(duty).to_have_text("On duty", timeout=WAIT_MS)
    assert refused_reconnects_only(console.errors) == []


async def test_dashboard_marks_caretakers_and_counts_not_live_while_the_hub_is_gone(
    pages_hub: HubProcess,
    hub_process: HubProcess,
    browser: Browser,
    console: ConsoleWatch,
) -> None:
    other = hub_process.hub
    caretaker = await other.connect("w1")
    reply = await caretaker.request(
        {"type": "presence", "on_duty": True, "status": "available"}
    )
    assert reply["type"] == "ok"

    _, wall = await open_page(
        browser, console, f"{pages_hub.hub.url}/dashboard", "dashboard", viewport=WALL
    )
    await log_in(wall, "k1", PASSWORDS["k1"])
    person = wall.locator('#people [data-caretaker="w1"]')
    await expect(person).to_have_attribute("data-status", "available", timeout=WAIT_MS)
    submitted = wall.locator(
        '#counts tr[data-district="noord"] td[data-status="submitted"]'
    )
    await expect(submitted).to_have_text("0", timeout=WAIT_MS)
    regions = ["#people-card", "#counts-card", "#overdue-card", "#queue-card"]

    pages_hub.kill()
    await connection_lost(wall, regions)
    await expect(person).to_have_attribute("data-status", "unknown")
    await expect(person).to_contain_text("Onbekend: geen verbinding")
    await check_accessibility(wall)

    # Meanwhile the caretaker takes a break and a tenant reports something.
    reply = await caretaker.request(
        {"type": "presence", "on_duty": True, "status": "break"}
    )
    assert reply["type"] == "ok"
    ticket_id = await reported(other, "100002", "Lift staat stil")

    await pages_hub.start()
    await connection_back(wall, regions)
    await expect(person).to_have_attribute("data-status", "break", timeout=WAIT_MS)
    await expect(person).to_contain_text("Pauze")
    await expect(submitted).to_have_text("1", timeout=WAIT_MS)
    await expect(wall.locator(f'#queue [data-ticket="{ticket_id}"]')).to_be_visible(
        timeout=WAIT_MS
    )
    await caretaker.close()
    assert refused_reconnects_only(console.errors) == []

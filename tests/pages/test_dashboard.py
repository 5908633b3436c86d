"""The wall dashboard in a real browser against a real hub process: tickets
past their deadline stand out in the overdue list, and the counts per
district and status follow every step of every ticket without a reload."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.conftest import TIMEOUT, RedisServer
from tests.harness import HubProcess, load_directory
from tests.pages.conftest import WALL, ConsoleWatch, log_in, open_page
from tests.pages.test_ticket_flow import call, reported

WAIT_MS = TIMEOUT * 2000

# Urgent tickets must be accepted the moment they are reported, so one is
# overdue as soon as it is triaged; normal ones keep their days.
DEADLINES = {
    "HUB_ACCEPT_DEADLINE_HOURS": json.dumps(
        {"emergency": 0, "urgent": 0, "normal": 120}
    ),
}


@pytest.fixture
async def short_deadline_hub(
    redis_server: RedisServer, key_prefix: str
) -> AsyncIterator[HubProcess]:
    await load_directory(redis_server.url, key_prefix)
    process = await HubProcess(redis_server.url, key_prefix, **DEADLINES).start()
    yield process
    await process.close()


def count(page: Page, district: str, status: str) -> Locator:
    return page.locator(
        f'#counts tr[data-district="{district}"] td[data-status="{status}"]'
    )


async def open_wall(browser: Browser, console: ConsoleWatch, url: str) -> Page:
    _, page = await open_page(
        browser, console, f"{url}/dashboard", "dashboard", viewport=WALL
    )
    await log_in(page, "k1", "klantenservice")
    return page


async def test_ticket_past_its_deadline_is_highlighted_until_it_moves_on(
    short_deadline_hub: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    hub = short_deadline_hub.hub
    late = await reported(
        hub,
        "100001",
        "Lekkage boven de meterkast",
        ("k1", {"to": "assigned", "severity": "urgent"}),
    )
    on_time = await reported(
        hub,
        "100002",
        "Slot van de berging klemt",
        ("k1", {"to": "assigned", "severity": "normal"}),
    )
    wall = await open_wall(browser, console, hub.url)

    overdue = wall.locator(f'#overdue [data-ticket="{late}"]')
    await expect(overdue).to_have_attribute("data-overdue", "accept", timeout=WAIT_MS)
    await expect(overdue).to_contain_text("niet geaccepteerd")
    await expect(wall.locator(f'#overdue [data-ticket="{on_time}"]')).to_have_count(0)
    await expect(wall.locator("#overdue-empty")).to_be_hidden()
    # It stands out: a thick red border that no ordinary ticket has.
    border = await overdue.evaluate(
        "node => [getComputedStyle(node).borderTopColor,"
        " getComputedStyle(node).borderTopWidth]"
    )
    assert border == ["rgb(185, 28, 28)", "4px"], border

    # Accepted, it is no longer late (resolving it has the default 48 hours).
    await call(hub, "w1", f"/api/tickets/{late}/transitions", {"to": "accepted"})
    await expect(overdue).to_have_count(0, timeout=WAIT_MS)
    await expect(wall.locator("#overdue-empty")).to_be_visible()

    await wall.click("#language")
    later = await reported(
        hub,
        "100001",
        "Water in de kelder",
        ("k1", {"to": "assigned", "severity": "urgent"}),
    )
    await expect(wall.locator(f'#overdue [data-ticket="{later}"]')).to_contain_text(
        "not accepted", timeout=WAIT_MS
    )
    assert console.errors == []


async def test_counts_per_district_and_status_follow_the_tickets_live(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    hub = hub_process.hub
    wall = await open_wall(browser, console, hub.url)
    await expect(count(wall, "noord", "submitted")).to_have_text("0", timeout=WAIT_MS)

    ticket = await reported(hub, "100001", "Verwarming blijft koud")
    await expect(count(wall, "noord", "submitted")).to_have_text("1", timeout=WAIT_MS)
    await expect(count(wall, "zuid", "submitted")).to_have_text("0")

    path = f"/api/tickets/{ticket}/transitions"
    steps = [
        ("k1", {"to": "assigned", "severity": "normal"}, "assigned"),
        ("w1", {"to": "accepted"}, "accepted"),
        ("w1", {"to": "in_progress"}, "in_progress"),
        ("w1", {"to": "resolved"}, "resolved"),
    ]
    previous = "submitted"
    for user, body, status in steps:
        await call(hub, user, path, body)
        await expect(count(wall, "noord", status)).to_have_text("1", timeout=WAIT_MS)
        await expect(count(wall, "noord", previous)).to_have_text("0")
        previous = status

    # Another district's report counts there, and only there.
    await reported(hub, "200001", "Trappenhuis is vies")
    await expect(count(wall, "zuid", "submitted")).to_have_text("1", timeout=WAIT_MS)
    await expect(count(wall, "noord", "submitted")).to_have_text("0")
    await expect(count(wall, "noord", "resolved")).to_have_text("1")

    # Closed is no longer open work: it leaves the table.
    await call(hub, "100001", path, {"to": "closed"})
    await expect(count(wall, "noord", "resolved")).to_have_text("0", timeout=WAIT_MS)
    assert console.errors == []

"""A report's whole way through the three pages, and a page surviving the
death of the hub process it was connected to."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, Page, expect

from tests.conftest import TIMEOUT, RedisServer
from tests.harness import PASSWORDS, HubProcess
from tests.pages.conftest import (
    WALL,
    ConsoleWatch,
    check_accessibility,
    log_in,
    open_page,
    screenshot,
)

WAIT_MS = TIMEOUT * 2000


async def send_report(page: Page, text: str) -> str:
    await page.select_option("#category", "leak")
    await page.fill("#description", text)
    await page.fill("#place", "keuken")
    await page.click("#report button[type=submit]")
    await expect(page.locator("#report-result")).to_contain_text(
        "Verstuurd", timeout=WAIT_MS
    )
    ticket = page.locator("#tickets .ticket").first
    await expect(ticket).to_have_attribute("data-status", "submitted", timeout=WAIT_MS)
    return str(await ticket.get_attribute("data-ticket"))


def steps_of(page: Page, ticket_id: str):
    return page.locator(f'#tickets [data-ticket="{ticket_id}"] .timeline__step')


async def test_report_travels_from_tenant_to_dashboard_to_caretaker_and_back(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    url = hub_process.hub.url
    _, tenant = await open_page(browser, console, f"{url}/tenant", "tenant")
    await log_in(tenant, "100001", PASSWORDS["100001"])
    _, wall = await open_page(
        browser, console, f"{url}/dashboard", "dashboard", viewport=WALL
    )
    await log_in(wall, "k1", PASSWORDS["k1"])
    _, phone = await open_page(
        browser,
        console,
        f"{url}/caretaker",
        "caretaker",
        geolocation={"latitude": 51.94, "longitude": 4.48},
        permissions=["geolocation"],
    )
    await log_in(phone, "w1", PASSWORDS["w1"])

    ticket_id = await send_report(tenant, "De kraan lekt <b>al dagen</b>")
    # Text stays text: the markup in the description is shown, not rendered.
    await expect(
        tenant.locator(f'[data-ticket="{ticket_id}"] .ticket__description')
    ).to_have_text("De kraan lekt <b>al dagen</b>")

    queued = wall.locator(f'#queue [data-ticket="{ticket_id}"]')
    await expect(queued).to_be_visible(timeout=WAIT_MS)
    await expect(
        wall.locator('#counts tr[data-district="noord"] td[data-status="submitted"]')
    ).to_have_text("1", timeout=WAIT_MS)
    await check_accessibility(wall)
    await screenshot(wall, "dashboard-wall")
    await queued.locator("select").select_option("urgent")
    await queued.locator("textarea").fill("Sanne komt morgen langs")
    await queued.locator('button[data-action="assign"]').click()
    await expect(queued).to_have_count(0, timeout=WAIT_MS)
    await expect(steps_of(tenant, ticket_id)).to_have_count(2, timeout=WAIT_MS)

    job = phone.locator(f'#tickets [data-ticket="{ticket_id}"]')
    await expect(job).to_have_attribute("data-status", "assigned", timeout=WAIT_MS)
    await phone.click("#duty")
    await expect(phone.locator("#location")).to_have_attribute(
        "data-sharing", "true", timeout=WAIT_MS
    )
    await job.locator('button[data-action="accept"]').click()
    await expect(job).to_have_attribute("data-status", "accepted", timeout=WAIT_MS)
    await job.locator('button[data-action="start"]').click()
    await expect(job).to_have_attribute("data-status", "in_progress", timeout=WAIT_MS)
    await check_accessibility(phone)
    await screenshot(phone, "caretaker-phone")
    await job.locator("textarea").fill("Leertje vervangen")
    await job.locator('button[data-action="resolve"]').click()

    mine = tenant.locator(f'#tickets [data-ticket="{ticket_id}"]')
    await expect(mine).to_have_attribute("data-status", "resolved", timeout=WAIT_MS)
    actions = await steps_of(tenant, ticket_id).evaluate_all(
        "steps => steps.map(s => s.dataset.action)"
    )
    assert actions == ["report", "assign", "accept", "start", "resolve"]
    await expect(mine.locator(".timeline__note").last).to_have_text("Leertje vervangen")
    await check_accessibility(tenant)
    await screenshot(tenant, "tenant-phone-ticket")

    await phone.click("#duty")
    await expect(phone.locator("#location")).to_have_attribute("data-sharing", "false")
    assert console.errors == []


async def test_tenant_page_reconnects_after_its_hub_dies_and_shows_missed_steps(
    redis_server: RedisServer,
    key_prefix: str,
    hub_process: HubProcess,
    browser: Browser,
    console: ConsoleWatch,
) -> None:
    tenants_hub = await HubProcess(redis_server.url, key_prefix).start()
    try:
        _, tenant = await open_page(
            browser, console, f"{tenants_hub.hub.url}/tenant", "tenant"
        )
        await log_in(tenant, "100002", PASSWORDS["100002"])
        ticket_id = await send_report(tenant, "Deur van de berging klemt")

        tenants_hub.kill()
        banner = tenant.locator("#connection")
        await expect(banner).to_have_attribute("data-state", "lost", timeout=WAIT_MS)
        await expect(tenant.locator("#caretaker-status-line")).to_have_attribute(
            "data-status", "unknown"
        )
        await screenshot(tenant, "tenant-phone-offline")

        # Meanwhile, through the other hub process, the ticket moves on.
        other = hub_process.hub
        async with httpx.AsyncClient(base_url=other.url) as http:
            for user, body in [
                ("k1", {"to": "assigned", "severity": "normal"}),
                ("w1", {"to": "accepted"}),
                ("w1", {"to": "in_progress", "note": "Ik ben er"}),
            ]:
                token = await other.token(user)
                response = await http.post(
                    f"/api/tickets/{ticket_id}/transitions",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert response.status_code == 200, response.text

        await tenants_hub.start()
        await expect(banner).to_have_attribute("data-state", "back", timeout=WAIT_MS)
        mine = tenant.locator(f'#tickets [data-ticket="{ticket_id}"]')
        await expect(mine).to_have_attribute(
            "data-status", "in_progress", timeout=WAIT_MS
        )
        actions = await steps_of(tenant, ticket_id).evaluate_all(
            "steps => steps.map(s => s.dataset.action)"
        )
        assert actions == ["report", "assign", "accept", "start"]
        # The page lost its socket: Chromium logs the refused reconnects.
        errors = [e for e in console.errors if "WebSocket connection" not in e]
        assert errors == []
    finally:
        await tenants_hub.close()

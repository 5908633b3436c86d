"""A report's whole way through the three pages, and a page surviving the
death of the hub process it was connected to; then each action of the
lifecycle clicked on the page that has it (plan, hand back, advise and the
tenant's answers, withdraw, confirm and reopen), with the hub's refusals
shown to the person who clicked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from playwright.async_api import Browser, Locator, Page, Route, expect

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


def steps_of(page: Page, ticket_id: str) -> Locator:
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
        reports = tenant.locator('section[aria-labelledby="mine-heading"]')
        await expect(reports).to_have_attribute("data-live", "false")
        await expect(reports.locator(".stale-note")).to_be_visible()
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
        await expect(reports).to_have_attribute("data-live", "true")
        await expect(reports.locator(".stale-note")).to_be_hidden()
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


# -- the actions one by one ------------------------------------------------------


async def call(hub: Any, user: str, path: str, body: dict[str, Any]) -> Any:
    """A REST step by `user`, for what a test sets up rather than clicks."""
    async with httpx.AsyncClient(base_url=hub.url) as http:
        token = await hub.token(user)
        response = await http.post(
            path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code in (200, 201), response.text
    return response.json()


async def reported(
    hub: Any, tenant: str, text: str, *steps: tuple[str, dict[str, Any]]
) -> str:
    ticket = await call(
        hub, tenant, "/api/tickets", {"category": "leak", "description": text}
    )
    for user, body in steps:
        await call(hub, user, f"/api/tickets/{ticket['id']}/transitions", body)
    return str(ticket["id"])


async def race_once(page: Page, hub: Any, user: str, body: dict[str, Any]) -> None:
    """Let `user` take a step just before the page's next step reaches the hub:
    a real race, lost by the page, decided by the real hub."""

    async def first_someone_else(route: Route) -> None:
        ticket_id = route.request.url.split("/")[-2]
        await call(hub, user, f"/api/tickets/{ticket_id}/transitions", body)
        await route.continue_()

    await page.route("**/api/tickets/*/transitions", first_someone_else, times=1)


def local_input(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


async def actions_of(page: Page, ticket_id: str) -> list[str]:
    actions: list[str] = await steps_of(page, ticket_id).evaluate_all(
        "steps => steps.map(s => s.dataset.action)"
    )
    return actions


ASSIGNED = ("k1", {"to": "assigned", "severity": "normal"})


async def test_caretaker_plans_a_visit_and_hands_a_job_back(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    hub = hub_process.hub
    ticket_id = await reported(hub, "100001", "Lamp in de gang is stuk", ASSIGNED)
    _, tenant = await open_page(browser, console, f"{hub.url}/tenant", "tenant")
    await log_in(tenant, "100001", PASSWORDS["100001"])
    _, phone = await open_page(browser, console, f"{hub.url}/caretaker", "caretaker")
    await log_in(phone, "w1", PASSWORDS["w1"])
    job = phone.locator(f'#tickets [data-ticket="{ticket_id}"]')
    result = phone.locator("#tickets-result")

    await job.locator('button[data-action="accept"]').click()
    await expect(job).to_have_attribute("data-status", "accepted", timeout=WAIT_MS)

    # Planning needs a moment; the page says so before asking the hub.
    await job.locator('button[data-action="plan"]').click()
    await expect(result).to_contain_text("kies eerst de dag en tijd")
    # A moment long past: the hub refuses it (400) and the page says why.
    when = job.locator('input[type="datetime-local"]')
    await when.fill(local_input(datetime.now() - timedelta(days=3)))
    await job.locator('button[data-action="plan"]').click()
    await expect(result).to_contain_text("De gegevens kloppen niet", timeout=WAIT_MS)
    await expect(result).to_contain_text("past")

    visit = (datetime.now() + timedelta(days=2)).replace(hour=9, minute=30)
    await when.fill(local_input(visit))
    await job.locator('button[data-action="plan"]').click()
    await expect(job.locator(".ticket__plan")).to_contain_text("09:30", timeout=WAIT_MS)
    mine = tenant.locator(f'#tickets [data-ticket="{ticket_id}"]')
    await expect(mine.locator(".ticket__plan")).to_contain_text(
        "09:30", timeout=WAIT_MS
    )
    await expect(result).to_have_text("")

    await job.locator("textarea[id^=note-]").fill("Hier is een elektricien voor nodig")
    await job.locator('button[data-action="hand_back"]').click()
    await expect(job).to_have_attribute("data-status", "assigned", timeout=WAIT_MS)
    await expect(mine).to_have_attribute("data-status", "assigned", timeout=WAIT_MS)
    await expect(mine.locator(".ticket__plan")).to_have_count(0)
    assert await actions_of(tenant, ticket_id) == [
        "report",
        "assign",
        "accept",
        "plan",
        "hand_back",
    ]
    await expect(mine.locator(".timeline__note").last).to_have_text(
        "Hier is een elektricien voor nodig"
    )

    # The tenant withdraws it just before the caretaker accepts again: the
    # caretaker is told, in words, what happened.
    await race_once(phone, hub, "100001", {"to": "cancelled"})
    await job.locator('button[data-action="accept"]').click()
    await expect(result).to_contain_text("Ingetrokken", timeout=WAIT_MS)
    await expect(job).to_have_count(0, timeout=WAIT_MS)
    await expect(mine).to_have_attribute("data-status", "cancelled", timeout=WAIT_MS)
    # The refused request is logged by Chromium as a failed resource.
    errors = [e for e in console.errors if "409" not in e and "400" not in e]
    assert errors == []


async def test_agent_advises_and_the_tenant_answers(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    hub = hub_process.hub
    _, tenant = await open_page(browser, console, f"{hub.url}/tenant", "tenant")
    await log_in(tenant, "100001", PASSWORDS["100001"])
    _, wall = await open_page(
        browser, console, f"{hub.url}/dashboard", "dashboard", viewport=WALL
    )
    await log_in(wall, "k1", PASSWORDS["k1"])
    ticket_id = await send_report(tenant, "Radiator wordt niet warm")
    mine = tenant.locator(f'#tickets [data-ticket="{ticket_id}"]')
    queued = wall.locator(f'#queue [data-ticket="{ticket_id}"]')
    result = wall.locator("#queue-result")

    # Advice without words is stopped on the page.
    await queued.locator('button[data-action="advise"]').click()
    await expect(result).to_have_text("Schrijf eerst het advies.", timeout=WAIT_MS)
    await queued.locator("textarea[id^=advice-]").fill("Ontlucht de radiator")
    await queued.locator('button[data-action="advise"]').click()
    await expect(queued).to_have_count(0, timeout=WAIT_MS)

    await expect(mine).to_have_attribute("data-status", "advised", timeout=WAIT_MS)
    await expect(mine.locator(".ticket__question")).to_have_text(
        "Heeft het advies geholpen?"
    )
    await expect(mine.locator(".timeline__note").last).to_have_text(
        "Ontlucht de radiator"
    )
    await check_accessibility(tenant)
    await mine.locator("textarea[id^=note-]").fill("Ontlucht, nog steeds koud")
    await mine.locator('button[data-action="retry"]').click()
    await expect(mine).to_have_attribute("data-status", "submitted", timeout=WAIT_MS)
    await expect(queued).to_be_visible(timeout=WAIT_MS)

    # Another agent advises just before this one assigns: a clear conflict.
    await race_once(
        wall,
        hub,
        "k1",
        {"to": "advised", "severity": "normal", "note": "Bel de cv-monteur"},
    )
    await queued.locator('button[data-action="assign"]').click()
    await expect(result).to_contain_text("Advies gegeven", timeout=WAIT_MS)
    await expect(result).to_contain_text("kan nu niet meer")
    await expect(queued).to_have_count(0, timeout=WAIT_MS)

    await expect(mine).to_have_attribute("data-status", "advised", timeout=WAIT_MS)
    await mine.locator('button[data-action="close"]').click()
    await expect(mine).to_have_attribute("data-status", "closed", timeout=WAIT_MS)
    await expect(mine.locator("button[data-action]")).to_have_count(0)
    assert await actions_of(tenant, ticket_id) == [
        "report",
        "advise",
        "retry",
        "advise",
        "close",
    ]
    errors = [e for e in console.errors if "409" not in e]
    assert errors == []


async def test_tenant_withdraws_a_report_only_after_saying_yes(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    hub = hub_process.hub
    _, tenant = await open_page(browser, console, f"{hub.url}/tenant", "tenant")
    await log_in(tenant, "100002", PASSWORDS["100002"])
    _, wall = await open_page(
        browser, console, f"{hub.url}/dashboard", "dashboard", viewport=WALL
    )
    await log_in(wall, "k1", PASSWORDS["k1"])
    ticket_id = await send_report(tenant, "Buren maken 's nachts lawaai")
    mine = tenant.locator(f'#tickets [data-ticket="{ticket_id}"]')
    await expect(wall.locator(f'#queue [data-ticket="{ticket_id}"]')).to_be_visible(
        timeout=WAIT_MS
    )

    await mine.locator('button[data-action="cancel"]').click()
    await expect(mine.locator(".ticket__confirm")).to_contain_text("Weet u zeker")
    await check_accessibility(tenant)
    await mine.locator('button[data-action="cancel-keep"]').click()
    await expect(mine.locator(".ticket__confirm")).to_have_count(0)
    await expect(mine).to_have_attribute("data-status", "submitted")

    await mine.locator('button[data-action="cancel"]').click()
    await mine.locator('button[data-action="cancel-confirm"]').click()
    await expect(mine).to_have_attribute("data-status", "cancelled", timeout=WAIT_MS)
    await expect(mine.locator("button[data-action]")).to_have_count(0)
    await expect(wall.locator(f'#queue [data-ticket="{ticket_id}"]')).to_have_count(
        0, timeout=WAIT_MS
    )
    # The conversation stays readable, and says it is closed for writing.
    sign = mine.locator(".conversation__status")
    await expect(sign).to_have_attribute("data-state", "read_only", timeout=WAIT_MS)
    await expect(mine.locator(".conversation__form")).to_be_hidden()
    assert console.errors == []


async def test_tenant_reopens_a_resolved_job_and_later_confirms_it(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    hub = hub_process.hub
    ticket_id = await reported(
        hub,
        "100001",
        "Kraan in de badkamer lekt",
        ASSIGNED,
        ("w1", {"to": "accepted"}),
        ("w1", {"to": "in_progress"}),
        ("w1", {"to": "resolved", "note": "Leertje vervangen"}),
    )
    _, tenant = await open_page(browser, console, f"{hub.url}/tenant", "tenant")
    await log_in(tenant, "100001", PASSWORDS["100001"])
    mine = tenant.locator(f'#tickets [data-ticket="{ticket_id}"]')
    await expect(mine).to_have_attribute("data-status", "resolved", timeout=WAIT_MS)
    await expect(mine.locator(".ticket__question")).to_have_text(
        "Is het probleem opgelost?"
    )
    await mine.locator("textarea[id^=note-]").fill("Hij druppelt nog steeds")
    await mine.locator('button[data-action="reopen"]').click()
    await expect(mine).to_have_attribute("data-status", "in_progress", timeout=WAIT_MS)
    await expect(mine.locator(".timeline__note").last).to_have_text(
        "Hij druppelt nog steeds"
    )

    await call(hub, "w1", f"/api/tickets/{ticket_id}/transitions", {"to": "resolved"})
    await expect(mine).to_have_attribute("data-status", "resolved", timeout=WAIT_MS)

    # A refusal the page cannot cause by itself (403): shown, nothing changes.
    async def forbidden(route: Route) -> None:
        await route.fulfill(
            status=403,
            json={"error": {"code": "forbidden", "message": "not yours"}},
        )

    await tenant.route("**/api/tickets/*/transitions", forbidden, times=1)
    await mine.locator('button[data-action="confirm"]').click()
    await expect(tenant.locator("#tickets-result")).to_contain_text(
        "Dat mag u bij deze melding niet doen", timeout=WAIT_MS
    )
    await expect(mine).to_have_attribute("data-status", "resolved")

    await mine.locator('button[data-action="confirm"]').click()
    await expect(mine).to_have_attribute("data-status", "closed", timeout=WAIT_MS)
    await expect(tenant.locator("#tickets-result")).to_have_text("")
    assert await actions_of(tenant, ticket_id) == [
        "report",
        "assign",
        "accept",
        "start",
        "resolve",
        "reopen",
        "resolve",
        "confirm",
    ]
    errors = [e for e in console.errors if "403" not in e]
    assert errors == []

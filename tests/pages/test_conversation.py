"""The conversation on a report, on all three pages at once: a tenant reports
with a photo, customer service replies on the wall dashboard, the caretaker
plans a visit and writes; every page shows every message live, in order,
as text, also after its hub died or the page was reloaded."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from PIL import Image
from playwright.async_api import Browser, Dialog, FilePayload, Locator, Page, expect

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
ZONE = "Europe/Amsterdam"
SCRIPT = "<img src=x onerror=alert(1)>"
BLOB = re.compile(r"^blob:")

QUESTION = "Komt het water van het plafond of van de leiding?"
ANSWER = "Van het plafond, bij de lamp"
HANDOVER = "Ik stuur de wijkbeheerder, Sanne komt langs"
VISIT = "kom ik dinsdag om 10:00"


def photo_file() -> FilePayload:
    image = Image.new("RGB", (64, 48), (200, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"name": "lekkage.png", "mimeType": "image/png", "buffer": buffer.getvalue()}


def next_tuesday_at_ten() -> str:
    """A `datetime-local` value: the coming Tuesday, 10:00, Rotterdam time."""
    today = datetime.now(ZoneInfo(ZONE)).date()
    ahead = (1 - today.weekday()) % 7 or 7
    return f"{today + timedelta(days=ahead)}T10:00"


def thread(page: Page, ticket_id: str, root: str = "") -> Locator:
    return page.locator(f'{root} [data-conversation="{ticket_id}"] [data-message]')


async def texts_of(page: Page, ticket_id: str, root: str = "") -> list[list[str]]:
    """[[role, text], …] of the messages a page shows for a ticket, in page order."""
    found: list[list[str]] = await thread(page, ticket_id, root).evaluate_all(
        """items => items.map((item) => [item.dataset.role,
            item.querySelector('.message__text')?.textContent ?? ''])"""
    )
    return found


async def unfold(page: Page, ticket_id: str, root: str = "") -> None:
    toggle = page.locator(f'{root} details[data-conversation-toggle="{ticket_id}"]')
    if not await toggle.evaluate("node => node.open"):
        await toggle.locator("summary").click()
    await expect(toggle.locator(".conversation")).to_have_attribute(
        "data-loaded", "true", timeout=WAIT_MS
    )


async def write(page: Page, ticket_id: str, text: str, root: str = "") -> None:
    panel = page.locator(f'{root} [data-conversation="{ticket_id}"]')
    await panel.locator("textarea").fill(text)
    await panel.locator("button[type=submit]").click()
    await expect(panel.locator("textarea")).to_have_value("", timeout=WAIT_MS)


def watch_dialogs(page: Page, seen: list[str]) -> None:
    """Record (and dismiss) any alert: a message run as markup would raise one."""

    async def on_dialog(dialog: Dialog) -> None:
        seen.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)


async def test_conversation_reaches_every_party_live_in_order_and_as_text(
    redis_server: RedisServer,
    key_prefix: str,
    hub_process: HubProcess,
    browser: Browser,
    console: ConsoleWatch,
) -> None:
    dialogs: list[str] = []
    hub = hub_process.hub
    # The tenant is on a hub process of their own, to lose it halfway.
    tenants_hub = await HubProcess(redis_server.url, key_prefix).start()
    try:
        _, tenant = await open_page(
            browser,
            console,
            f"{tenants_hub.hub.url}/tenant",
            "tenant",
            timezone_id=ZONE,
        )
        await log_in(tenant, "100001", PASSWORDS["100001"])
        _, wall = await open_page(
            browser,
            console,
            f"{hub.url}/dashboard",
            "dashboard",
            viewport=WALL,
            timezone_id=ZONE,
        )
        await log_in(wall, "k1", PASSWORDS["k1"])
        _, phone = await open_page(
            browser, console, f"{hub.url}/caretaker", "caretaker", timezone_id=ZONE
        )
        await log_in(phone, "w1", PASSWORDS["w1"])
        _, neighbour = await open_page(
            browser, console, f"{hub.url}/tenant", "other tenant", timezone_id=ZONE
        )
        await log_in(neighbour, "100002", PASSWORDS["100002"])
        for page in (tenant, wall, phone, neighbour):
            watch_dialogs(page, dialogs)

        # -- the report, with a photo from the phone --------------------------
        photos = tenant.locator("#report-photos")
        assert await photos.get_attribute("accept") == "image/*"
        assert await photos.get_attribute("capture") is not None
        await tenant.select_option("#category", "leak")
        await tenant.fill("#description", "Water druppelt uit het plafond")
        await photos.set_input_files(photo_file())
        await tenant.click("#report button[type=submit]")
        mine = tenant.locator("#tickets .ticket").first
        await expect(mine).to_have_attribute(
            "data-status", "submitted", timeout=WAIT_MS
        )
        ticket_id = str(await mine.get_attribute("data-ticket"))

        # The conversation is open under the new report, with the photo as
        # its first message, and says where the report is in the queue.
        await expect(thread(tenant, ticket_id)).to_have_count(1, timeout=WAIT_MS)
        first_photo = thread(tenant, ticket_id).first.locator("img.message__photo")
        await expect(first_photo).to_have_attribute("src", BLOB, timeout=WAIT_MS)
        sign = tenant.locator(
            f'[data-conversation="{ticket_id}"] .conversation__status'
        )
        await expect(sign).to_have_attribute("data-state", "queue", timeout=WAIT_MS)
        await expect(sign).to_contain_text("nummer 1 in de rij")
        # The other photo input is the one in the conversation: camera too.
        chat_photos = tenant.locator(
            f'[data-conversation="{ticket_id}"] input[type=file]'
        )
        assert await chat_photos.get_attribute("accept") == "image/*"
        assert await chat_photos.get_attribute("capture") is not None

        # -- customer service sees it waiting and replies ---------------------
        queued = wall.locator(f'#queue [data-ticket="{ticket_id}"]')
        await expect(queued.locator(".ticket__waiting")).to_contain_text(
            "Wacht op antwoord", timeout=WAIT_MS
        )
        await unfold(wall, ticket_id, "#queue")
        await expect(thread(wall, ticket_id, "#queue")).to_have_count(1)
        await expect(
            thread(wall, ticket_id, "#queue").first.locator("img.message__photo")
        ).to_have_attribute("src", BLOB, timeout=WAIT_MS)

        # Typing shows on the other side, live, and is never a message.
        wall_panel = wall.locator(f'#queue [data-conversation="{ticket_id}"]')
        await wall_panel.locator("textarea").press_sequentially("Komt", delay=20)
        tenant_typing = tenant.locator(
            f'[data-conversation="{ticket_id}"] .conversation__typing'
        )
        await expect(tenant_typing).to_have_text(
            "Klantenservice Kim typt…", timeout=WAIT_MS
        )
        await write(wall, ticket_id, QUESTION, "#queue")
        await expect(tenant_typing).to_have_text("", timeout=WAIT_MS)
        await expect(thread(tenant, ticket_id)).to_have_count(2, timeout=WAIT_MS)
        await expect(sign).to_have_attribute(
            "data-state", "agent_here", timeout=WAIT_MS
        )
        await expect(sign).to_contain_text("nu bij u")
        # The tenant's page has the thread open and in view: a read receipt.
        await expect(
            thread(wall, ticket_id, "#queue").last.locator(".message__read")
        ).to_have_text("Gelezen door huurder", timeout=WAIT_MS)

        # -- the tenant answers, and tries some markup ------------------------
        tenant_panel = tenant.locator(f'[data-conversation="{ticket_id}"]')
        await tenant_panel.locator("textarea").press_sequentially("Van", delay=20)
        await expect(wall_panel.locator(".conversation__typing")).to_have_text(
            "Mevrouw Jansen typt…", timeout=WAIT_MS
        )
        await write(tenant, ticket_id, ANSWER)
        await write(tenant, ticket_id, SCRIPT)
        await expect(thread(wall, ticket_id, "#queue")).to_have_count(
            4, timeout=WAIT_MS
        )
        await expect(
            thread(tenant, ticket_id).last.locator(".message__read")
        ).to_have_text("Gelezen door klantenservice", timeout=WAIT_MS)
        await check_accessibility(tenant)
        await screenshot(tenant, "tenant-phone-conversation")

        # -- the tenant's hub dies; the conversation goes on without them -----
        tenants_hub.kill()
        await expect(tenant.locator("#connection")).to_have_attribute(
            "data-state", "lost", timeout=WAIT_MS
        )
        await write(wall, ticket_id, HANDOVER, "#queue")
        await queued.locator("select").select_option("urgent")
        await queued.locator('button[data-action="assign"]').click()
        await expect(queued).to_have_count(0, timeout=WAIT_MS)
        # The conversation the agent joined stays at hand, now assigned.
        followed = wall.locator(f'#conversations [data-ticket="{ticket_id}"]')
        await expect(followed).to_have_attribute(
            "data-status", "assigned", timeout=WAIT_MS
        )
        await check_accessibility(wall)
        await screenshot(wall, "dashboard-wall-conversation")

        job = phone.locator(f'#tickets [data-ticket="{ticket_id}"]')
        await expect(job).to_have_attribute("data-status", "assigned", timeout=WAIT_MS)
        await job.locator('button[data-action="accept"]').click()
        await expect(job).to_have_attribute("data-status", "accepted", timeout=WAIT_MS)
        await job.locator('input[type="datetime-local"]').fill(next_tuesday_at_ten())
        await job.locator('button[data-action="plan"]').click()
        await expect(job.locator(".ticket__plan")).to_contain_text(
            "10:00", timeout=WAIT_MS
        )
        await unfold(phone, ticket_id, "#tickets")
        await write(phone, ticket_id, VISIT, "#tickets")
        await check_accessibility(phone)
        await screenshot(phone, "caretaker-phone-conversation")

        expected = [
            ["tenant", ""],
            ["agent", QUESTION],
            ["tenant", ANSWER],
            ["tenant", SCRIPT],
            ["agent", HANDOVER],
            ["caretaker", VISIT],
        ]
        await expect(thread(wall, ticket_id, "#conversations")).to_have_count(
            6, timeout=WAIT_MS
        )
        assert await texts_of(wall, ticket_id, "#conversations") == expected
        assert await texts_of(phone, ticket_id, "#tickets") == expected

        # -- the tenant's hub comes back: the page resumes and catches up -----
        await tenants_hub.start()
        await expect(tenant.locator("#connection")).to_have_attribute(
            "data-state", "back", timeout=WAIT_MS
        )
        await expect(thread(tenant, ticket_id)).to_have_count(6, timeout=WAIT_MS)
        assert await texts_of(tenant, ticket_id) == expected
        await expect(mine).to_have_attribute("data-status", "accepted")
        plan = mine.locator(".ticket__plan")
        await expect(plan).to_contain_text("di ")
        await expect(plan).to_contain_text("10:00")

        # A reload reads the whole thread again, once and in order.
        await tenant.reload()
        await tenant.wait_for_selector("#app:not([hidden])")
        await expect(thread(tenant, ticket_id)).to_have_count(6, timeout=WAIT_MS)
        assert await texts_of(tenant, ticket_id) == expected

        # -- markup stays text on every page ----------------------------------
        for page in (tenant, wall, phone):
            shown = page.locator(".message__text", has_text=SCRIPT)
            await expect(shown).to_have_count(1)
            await expect(page.locator('.conversation img[src="x"]')).to_have_count(0)
        assert dialogs == []

        # -- another tenant of the same district sees none of it --------------
        await expect(neighbour.locator("#tickets-empty")).to_be_visible()
        await expect(neighbour.locator(f'[data-ticket="{ticket_id}"]')).to_have_count(0)
        await expect(neighbour.get_by_text(ANSWER)).to_have_count(0)
        status = await neighbour.evaluate(
            """async (id) => (await fetch(`/api/tickets/${id}/messages`, {
                 headers: { Authorization:
                   `Bearer ${sessionStorage.getItem('homi.token.tenant')}` },
               })).status""",
            ticket_id,
        )
        assert status == 404

        # Typing never became a message.
        async with httpx.AsyncClient(base_url=hub.url) as http:
            token = await hub.token("k1")
            response = await http.get(
                f"/api/tickets/{ticket_id}/messages",
                headers={"Authorization": f"Bearer {token}"},
            )
        assert [m["text"] for m in response.json()["messages"]] == [
            text for _, text in expected
        ]

        # The tenant's page lost its hub: Chromium logs the refused reconnects
        # and any request (a read receipt, say) that raced the kill; and it
        # logs the 404 the probe above asked for.
        errors = [
            e
            for e in console.errors
            if "WebSocket connection" not in e
            and not (e.startswith("tenant:") and "ERR_CONNECTION_REFUSED" in e)
            and not (e.startswith("other tenant:") and "404" in e)
        ]
        assert errors == []
    finally:
        await tenants_hub.close()

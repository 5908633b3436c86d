"""Accessibility beyond the filled pages: the login screens pass the same
automated check, and a tenant can log in and send a report with the
keyboard alone, seeing where the focus is at every step."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import TIMEOUT
from tests.harness import PASSWORDS, HubProcess
from tests.pages.conftest import (
    PHONE,
    WALL,
    ConsoleWatch,
    check_accessibility,
    open_page,
)

WAIT_MS = TIMEOUT * 2000


@pytest.mark.parametrize("name", ["tenant", "caretaker", "dashboard"])
async def test_login_screen_passes_the_accessibility_check(
    name: str, hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    viewport = WALL if name == "dashboard" else PHONE
    _, page = await open_page(
        browser, console, f"{hub_process.hub.url}/{name}", name, viewport=viewport
    )
    await expect(page.locator("#login")).to_be_visible()
    await check_accessibility(page)
    await page.click("#language")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await check_accessibility(page)
    assert console.errors == []


# Where the focus is, and whether a person can see it there: the browser
# shows its focus ring (:focus-visible), the page draws one, and the
# element is on the screen.
FOCUSED = """() => {
  const node = document.activeElement;
  const style = getComputedStyle(node);
  const box = node.getBoundingClientRect();
  const onScreen = box.bottom > 0 && box.top < innerHeight
    && box.right > 0 && box.left < innerWidth;
  const ringed = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
    && node.matches(':focus-visible');
  return {
    id: node.id,
    what: `${node.tagName.toLowerCase()}#${node.id}.${[...node.classList].join('.')}`,
    visible: node !== document.body && ringed && onScreen,
  };
}"""


async def tab_to(page: Page, target: str, most: int = 40) -> list[str]:
    """Press Tab until `#target` has the focus; every stop on the way must
    show where the focus is. Returns the stops."""
    stops = []
    for _ in range(most):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED)
        stops.append(focused["what"])
        assert focused["visible"], f"focus not visible on {focused['what']}"
        if focused["id"] == target:
            return stops
    raise AssertionError(f"#{target} not reached by Tab: {stops}")


async def test_tenant_logs_in_and_reports_with_the_keyboard_alone(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    _, page = await open_page(
        browser, console, f"{hub_process.hub.url}/tenant", "tenant"
    )
    await expect(page.locator("#login")).to_be_visible()

    stops = await tab_to(page, "username")
    assert stops[0].startswith("a#.skip-link"), stops
    await page.keyboard.type("100001")
    await tab_to(page, "password", most=1)
    await page.keyboard.type(PASSWORDS["100001"])
    await page.keyboard.press("Enter")
    await expect(page.locator("#app")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#caretaker-name")).to_have_text(
        "Sanne de Vries", timeout=WAIT_MS
    )

    await tab_to(page, "category")
    # A closed list changes its choice with the arrow keys.
    first = await page.locator("#category").input_value()
    await page.keyboard.press("ArrowDown")
    chosen = await page.locator("#category").input_value()
    assert chosen != first
    await tab_to(page, "description", most=1)
    await page.keyboard.type("De kraan in de keuken lekt")
    await tab_to(page, "place", most=1)
    await page.keyboard.type("keuken")
    # Past the photo picker to the send button.
    await tab_to(page, "report-photos", most=1)
    stops = await tab_to(page, "", most=1)
    assert stops == ["button#.button.button--primary"], stops
    await expect(page.locator("#report button[type=submit]")).to_be_focused()
    await page.keyboard.press("Enter")

    await expect(page.locator("#report-result")).to_contain_text(
        "Verstuurd", timeout=WAIT_MS
    )
    ticket = page.locator("#tickets .ticket").first
    await expect(ticket).to_have_attribute("data-status", "submitted", timeout=WAIT_MS)
    await expect(ticket.locator(".ticket__description")).to_have_text(
        "De kraan in de keuken lekt"
    )
    await expect(ticket).to_contain_text(
        await page.locator(f'#category option[value="{chosen}"]').inner_text()
    )
    assert console.errors == []

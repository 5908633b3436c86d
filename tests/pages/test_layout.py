"""What a person sees of the pages at their own screen size, in a real browser
against a real hub process: a phone page is never wider than the phone and
opens at its top, the wall dashboard fits one screen with the whole city on
its map, the language switch leaves no text of the other language behind,
a caretaker off duty cannot pick a status (and is told why), and a failed
login speaks of the number that page's users log in with.

The pages are filled first (a report with a timeline and a planned visit, a
caretaker busy with a long activity, a long unbroken word and URL), since an
empty page fits anywhere."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import TIMEOUT
from tests.harness import PASSWORDS, HubProcess
from tests.pages.conftest import (
    PHONE,
    WALL,
    ConsoleWatch,
    check_accessibility,
    log_in,
    open_page,
)

WAIT_MS = TIMEOUT * 2000

LONG_WORD = "Kelderboxdeurscharnierslotcilinderonderdeel" * 2
LONG_URL = "https://voorbeeld.example/melding/" + "a1b2c3d4" * 12
ACTIVITY = "lekkage Zwaanshals 12, trappenhuis bij de berging " + LONG_WORD

# Everything a visible element shows in its box, with what a clipping
# ancestor (a map, a scrolling list) cuts off taken away.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const node of document.body.querySelectorAll('*')) {
    if (!node.checkVisibility({ visibilityProperty: true })) continue;
    const box = node.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    let [left, right] = [box.left, box.right];
    for (let up = node.parentElement; up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') {
        const clip = up.getBoundingClientRect();
        left = Math.max(left, clip.left);
        right = Math.min(right, clip.right);
      }
    }
    if (right <= left || right <= 0) continue;
    if (right > width + 1 || right - left > width + 1) {
      const name = node.id ? `#${node.id}` : `.${[...node.classList].join('.')}`;
      const where = `${Math.round(left)}..${Math.round(right)}`;
      wide.push(`${node.tagName.toLowerCase()}${name} ${where}`);
    }
  }
  return { scrollWidth: document.documentElement.scrollWidth, width, wide };
}"""

# The page's texts from texts.js in `language` that are not the same in the
# other one, found among what the page shows: text, labels, titles, alt texts.
# A long text is looked for inside longer ones (the pages join some texts
# with data); a short one or a single word (which people's own notes may well
# contain) only as the whole of a text or in brackets, as "Kim (klantenservice)".
FOREIGN_TEXTS = """async (language) => {
  const { TEXTS } = await import('/static/js/texts.js');
  const other = language === 'nl' ? 'en' : 'nl';
  const escape = (text) => text.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&');
  const patterns = [];
  for (const [key, text] of Object.entries(TEXTS[language])) {
    if (TEXTS[other][key] === text) continue;
    const parts = text.split(/\\{\\w+\\}/);
    const source = parts.map(escape).join('.*');
    const literal = parts.join('').trim();
    const long = literal.length >= 10 && literal.includes(' ');
    patterns.push([key, new RegExp(long ? source
      : `^[\\\\s\\\\W]*${source}[\\\\s\\\\W]*$|\\\\(${source}\\\\)`)]);
  }

  const page = document.documentElement.lang;
  const shown = (node) => {
    const holder = node.closest('option') ? node.closest('select') : node;
    return holder.checkVisibility({ visibilityProperty: true })
      && (holder.closest('[lang]')?.lang ?? page) === page;
  };
  const seen = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const { textContent, parentElement } = walker.currentNode;
    const text = textContent.trim();
    if (text && parentElement && shown(parentElement)) {
      seen.push(text);
    }
  }
  const attributes = ['aria-label', 'title', 'alt', 'placeholder'];
  const named = attributes.map((name) => `[${name}]`).join(', ');
  for (const node of document.body.querySelectorAll(named)) {
    if (!shown(node)) continue;
    for (const name of attributes) {
      const value = node.getAttribute(name)?.trim();
      if (value) seen.push(value);
    }
  }
  const found = [];
  for (const text of seen) {
    for (const [key, pattern] of patterns) {
      if (pattern.test(text)) found.push(`${key}: ${JSON.stringify(text)}`);
    }
  }
  return found;
}"""

SMALL_TARGETS = """() => {
  const small = [];
  const targets = 'button, a[href], input, select, textarea, summary';
  for (const node of document.body.querySelectorAll(targets)) {
    if (!node.checkVisibility({ visibilityProperty: true })) continue;
    // Links inside a sentence and the map's credits may be small (WCAG 2.5.5).
    if (node.closest('.leaflet-control-attribution, .skip-link')) continue;
    const { width, height } = node.getBoundingClientRect();
    if (width < 44 || height < 44) {
      const size = `${Math.round(width)}x${Math.round(height)}`;
      small.push(`${node.tagName.toLowerCase()}#${node.id} ${size}`);
    }
  }
  return small;
}"""


# -- filling the pages -----------------------------------------------------------------


async def act(
    http: httpx.AsyncClient, hub: Any, user: str, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    token = await hub.token(user)
    response = await http.post(
        path, json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def fill_the_hub(hub: Any) -> None:
    """Reports in three states, one with a long word, a URL, a note and a plan."""
    visit = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        planned = await act(
            http,
            hub,
            "100001",
            "/api/tickets",
            {
                "category": "leak",
                "description": f"Het lekt bij de {LONG_WORD}. Foto's: {LONG_URL}",
                "place": LONG_WORD,
            },
        )
        path = f"/api/tickets/{planned['id']}/transitions"
        await act(
            http,
            hub,
            "k1",
            path,
            {"to": "assigned", "severity": "urgent", "note": f"Zie {LONG_URL}"},
        )
        await act(http, hub, "w1", path, {"to": "accepted", "planned_for": visit})
        assigned = await act(
            http,
            hub,
            "100001",
            "/api/tickets",
            {"category": "doors_locks", "description": "Het slot klemt"},
        )
        await act(
            http,
            hub,
            "k1",
            f"/api/tickets/{assigned['id']}/transitions",
            {"to": "assigned", "severity": "normal"},
        )
        await act(
            http,
            hub,
            "100002",
            "/api/tickets",
            {"category": "heating", "description": "De verwarming blijft koud"},
        )
        await act(
            http,
            hub,
            "100001",
            f"/api/tickets/{planned['id']}/messages",
            {"text": f"Kijk maar: {LONG_URL}", "photos": []},
        )


async def caretaker_on_duty(hub: Any) -> Any:
    """w1 busy with a long activity, somewhere in Noord."""
    caretaker = await hub.connect("w1")
    reply = await caretaker.request(
        {"type": "presence", "on_duty": True, "status": "busy", "activity": ACTIVITY}
    )
    assert reply["type"] == "ok"
    await caretaker.send({"type": "location", "lat": 51.94, "lon": 4.48})
    return caretaker


async def open_logged_in(
    browser: Browser, console: ConsoleWatch, hub: Any, name: str, user: str
) -> Page:
    viewport = WALL if name == "dashboard" else PHONE
    options: dict[str, Any] = {}
    if name == "caretaker":
        options = {
            "geolocation": {"latitude": 51.94, "longitude": 4.48},
            "permissions": ["geolocation"],
        }
    _, page = await open_page(
        browser, console, f"{hub.url}/{name}", name, viewport=viewport, **options
    )
    await log_in(page, user, PASSWORDS[user])
    return page


async def settled(page: Page, name: str) -> None:
    """Wait for what each page loads after login to be on the screen."""
    if name == "tenant":
        await expect(page.locator("#tickets .ticket")).to_have_count(2, timeout=WAIT_MS)
        await expect(page.locator("#caretaker-status")).to_contain_text(
            "Zwaanshals", timeout=WAIT_MS
        )
    elif name == "caretaker":
        for status in ("accepted", "assigned"):
            await expect(
                page.locator(f'#tickets .ticket[data-status="{status}"]')
            ).to_have_count(1, timeout=WAIT_MS)
    else:
        await expect(page.locator("#queue .ticket")).to_have_count(1, timeout=WAIT_MS)
        await expect(page.locator("#counts tbody tr")).not_to_have_count(
            0, timeout=WAIT_MS
        )
        await expect(page.locator('#people [data-caretaker="w1"]')).to_contain_text(
            "Zwaanshals", timeout=WAIT_MS
        )


async def unfold(page: Page, ticket: str) -> None:
    """Open a ticket's conversation the way a person does (some start open)."""
    toggle = page.locator(f"{ticket} details.conversation-toggle")
    if not await toggle.evaluate("node => node.open"):
        await toggle.locator("summary").click()


async def assert_fits_width(page: Page) -> None:
    result = await page.evaluate(OVERFLOW)
    assert result["wide"] == [], result["wide"]
    assert result["scrollWidth"] <= result["width"], result


# -- phone -----------------------------------------------------------------------------

USERS = {"tenant": "100001", "caretaker": "w1", "dashboard": "k1"}


@pytest.mark.parametrize("name", ["tenant", "caretaker"])
async def test_phone_page_fits_the_screen_and_opens_at_its_top(
    name: str, hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    hub = hub_process.hub
    await fill_the_hub(hub)
    caretaker = await caretaker_on_duty(hub) if name == "tenant" else None
    page = await open_logged_in(browser, console, hub, name, USERS[name])
    await settled(page, name)

    assert await page.evaluate("scrollY") == 0
    await assert_fits_width(page)
    assert await page.evaluate(SMALL_TARGETS) == []

    # Unfolded, a conversation with a URL in it fits as well.
    await unfold(page, '#tickets .ticket[data-status="accepted"]')
    await expect(page.locator("#tickets .message").first).to_be_visible(timeout=WAIT_MS)
    await assert_fits_width(page)
    if caretaker is not None:
        await caretaker.close()
    assert console.errors == []


async def test_header_buttons_hold_their_text_on_a_phone(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    page = await open_logged_in(browser, console, hub_process.hub, "tenant", "100001")
    for language in ("nl", "en"):
        spilled = await page.evaluate(
            """() => [...document.querySelectorAll('.topbar .button')]
              .filter((b) => b.checkVisibility() && b.scrollWidth > b.clientWidth)
              .map((b) => b.id)"""
        )
        assert spilled == [], language
        await page.click("#language")
    await assert_fits_width(page)


async def test_index_links_do_not_overlap_on_a_phone(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    _, page = await open_page(browser, console, hub_process.hub.url, "index")
    boxes = [await link.bounding_box() for link in await page.locator("main a").all()]
    assert len(boxes) == 3
    for above, below in itertools.pairwise(boxes):
        assert above is not None and below is not None
        assert above["y"] + above["height"] <= below["y"], (above, below)
        assert below["height"] >= 44
    await assert_fits_width(page)
    await check_accessibility(page)
    assert console.errors == []


async def test_dashboard_on_a_phone_is_one_column_that_fits(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    # The wall's three columns would squeeze its login to a sliver with words
    # broken in half; on a small screen the page is one column instead.
    _, page = await open_page(
        browser, console, f"{hub_process.hub.url}/dashboard", "dashboard"
    )
    login = page.locator("#login-section")
    await expect(login).to_be_visible()
    box = await login.bounding_box()
    assert box is not None and box["width"] >= 300, box
    await assert_fits_width(page)
    await check_accessibility(page)

    await page.fill("#login [name=username]", "k1")
    await page.fill("#login [name=password]", "klantenservice")
    await page.locator("#login button[type=submit]").click()
    await expect(page.locator("#app")).to_be_visible(timeout=WAIT_MS)
    await assert_fits_width(page)
    cards = [
        await card.bounding_box()
        for card in await page.locator(".wall-col > .card").all()
    ]
    assert cards and all(c is not None and c["width"] >= 300 for c in cards), cards
    assert console.errors == []


# -- wall ------------------------------------------------------------------------------


async def test_dashboard_fits_one_wall_screen_with_every_district_on_the_map(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    hub = hub_process.hub
    await fill_the_hub(hub)
    caretaker = await caretaker_on_duty(hub)
    page = await open_logged_in(browser, console, hub, "dashboard", "k1")
    await settled(page, "dashboard")

    size = await page.evaluate(
        """() => ({ height: document.documentElement.scrollHeight,
                    width: document.documentElement.scrollWidth })"""
    )
    assert size["height"] <= WALL["height"], size
    assert size["width"] <= WALL["width"], size
    await assert_fits_width(page)
    # Every panel ends on the screen; long lists scroll inside it.
    bottoms = await page.evaluate(
        """() => [...document.querySelectorAll('#app .card')]
          .map((card) => Math.round(card.getBoundingClientRect().bottom))"""
    )
    assert max(bottoms) <= WALL["height"], bottoms

    outlines = page.locator(
        "#map path.leaflet-interactive, #map .leaflet-overlay-pane path"
    )
    await expect(outlines.first).to_be_attached(timeout=WAIT_MS)
    inside = await page.evaluate(
        """() => {
          const map = document.getElementById('map').getBoundingClientRect();
          return [...document.querySelectorAll('#map .leaflet-overlay-pane path')]
            .map((path) => path.getBoundingClientRect())
            .every((box) => box.left >= map.left - 1 && box.right <= map.right + 1
              && box.top >= map.top - 1 && box.bottom <= map.bottom + 1);
        }"""
    )
    assert inside, "a district outline reaches outside the map"
    await check_accessibility(page)
    await caretaker.close()
    assert console.errors == []


# -- language --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tenant", "caretaker", "dashboard"])
async def test_language_switch_leaves_no_text_of_the_other_language(
    name: str, hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    hub = hub_process.hub
    await fill_the_hub(hub)
    caretaker = await caretaker_on_duty(hub) if name != "caretaker" else None
    page = await open_logged_in(browser, console, hub, name, USERS[name])
    await settled(page, name)
    if name == "caretaker":
        await page.click("#duty")
        await expect(page.locator("#duty-result")).not_to_be_empty(timeout=WAIT_MS)
    # One conversation unfolded, with its messages and form: on a ticket the
    # user may write on (a caretaker only reads an assigned one's), whichever
    # place the list gives it.
    ticket = (
        "#queue .ticket"
        if name == "dashboard"
        else '#tickets .ticket[data-status="accepted"]'
    )
    await unfold(page, ticket)
    await expect(page.locator(f"{ticket} .conversation form")).to_be_visible(
        timeout=WAIT_MS
    )

    # The check sees the page's own language, so it would see a stray text.
    assert await page.evaluate(FOREIGN_TEXTS, "nl") != []
    assert await page.evaluate(FOREIGN_TEXTS, "en") == []
    await page.click("#language")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    assert await page.evaluate(FOREIGN_TEXTS, "nl") == []
    await page.click("#language")
    await expect(page.locator("html")).to_have_attribute("lang", "nl")
    assert await page.evaluate(FOREIGN_TEXTS, "en") == []
    if caretaker is not None:
        await caretaker.close()
    assert console.errors == []


# -- caretaker status ------------------------------------------------------------------


async def test_caretaker_picks_a_status_only_on_duty_and_is_told_why(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    page = await open_logged_in(browser, console, hub_process.hub, "caretaker", "w1")
    choices = page.locator("#status-choices button")
    await expect(choices).to_have_count(3)
    hint = page.locator("#status-hint")
    await expect(hint).to_be_visible()
    await expect(hint).to_contain_text("Start eerst uw dienst")
    for choice in await choices.all():
        await expect(choice).to_be_disabled()
        await expect(choice).to_have_accessible_description(
            await hint.text_content() or ""
        )
    await expect(page.locator("#activity")).to_be_disabled()

    await page.click("#duty")
    await expect(page.locator("#duty")).to_have_attribute("aria-pressed", "true")
    await expect(hint).to_be_hidden()
    for choice in await choices.all():
        await expect(choice).to_be_enabled()
        await expect(choice).to_have_accessible_description("")
    await page.click('#status-choices [data-status="break"]')
    await expect(page.locator('[data-status="break"]')).to_have_attribute(
        "aria-pressed", "true"
    )

    await page.click("#duty")
    await expect(choices.first).to_be_disabled()
    await expect(hint).to_be_visible()
    await check_accessibility(page)
    assert console.errors == []


# -- login errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "user", "says", "never"),
    [
        ("tenant", "100001", ["klantnummer", "customer number"], "personeel"),
        ("caretaker", "w1", ["Personeelsnummer", "employee id"], "klantnummer"),
        ("dashboard", "k1", ["Personeelsnummer", "employee id"], "klantnummer"),
    ],
)
async def test_wrong_password_speaks_of_the_number_the_page_asks_for(
    name: str,
    user: str,
    says: list[str],
    never: str,
    hub_process: HubProcess,
    browser: Browser,
    console: ConsoleWatch,
) -> None:
    viewport = WALL if name == "dashboard" else PHONE
    _, page = await open_page(
        browser, console, f"{hub_process.hub.url}/{name}", name, viewport=viewport
    )
    await page.fill("#username", user)
    await page.fill("#password", "niet-het-wachtwoord")
    await page.click("#login button[type=submit]")
    error = page.locator("#login-error")
    await expect(error).to_contain_text(says[0], timeout=WAIT_MS)
    assert never not in (await error.text_content() or "").lower()

    await page.click("#language")
    await expect(error).to_contain_text(says[1])
    # The browser logs the refused login (401) as a failed resource.
    assert [e for e in console.errors if "401" not in e] == []


async def test_tenant_page_tells_staff_it_is_for_tenants(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    _, page = await open_page(
        browser, console, f"{hub_process.hub.url}/tenant", "tenant"
    )
    await page.fill("#username", "w1")
    await page.fill("#password", PASSWORDS["w1"])
    await page.click("#login button[type=submit]")
    await expect(page.locator("#login-error")).to_contain_text(
        "pagina is voor huurders", timeout=WAIT_MS
    )
    # The login itself succeeded: nothing was refused, nothing went wrong.
    assert console.errors == []

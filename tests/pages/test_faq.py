"""The FAQ on the tenant's page in a real browser: one tenant asks, another
answers, and the first finds the answer by searching for a word in it."""

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

QUESTION = "Hoe ontlucht ik mijn radiator?"
DETAILS = "Hij tikt en blijft boven koud. <b>niet vet</b>"
ANSWER = "Verwarming uit, doekje onder het ventiel, en met de radiatorsleutel open."


async def test_a_neighbour_answers_and_the_asker_finds_it_by_search(
    hub_process: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    url = f"{hub_process.hub.url}/tenant"
    _, asker = await open_page(browser, console, url, "asker")
    await log_in(asker, "100001", PASSWORDS["100001"])
    await expect(asker.locator("#faq-heading")).to_have_text("Veelgestelde vragen")
    await expect(asker.locator("#faq-summary")).to_contain_text(
        "nog geen vragen", timeout=WAIT_MS
    )

    # Asking with the keyboard only: type, then Enter in the title field.
    await asker.fill("#faq-body", DETAILS)
    await asker.focus("#faq-title")
    await asker.keyboard.type(QUESTION)
    await asker.keyboard.press("Enter")
    await expect(asker.locator("#faq-ask-result")).to_contain_text(
        "Uw vraag staat erbij", timeout=WAIT_MS
    )
    mine = asker.locator(".faq__item").first
    await expect(mine.locator(".faq__toggle")).to_have_text(QUESTION)
    await expect(mine.locator(".faq__meta").first).to_contain_text("Gevraagd door u")
    # Written markup is shown as the text it is.
    await expect(mine.locator(".faq__body")).to_have_text(DETAILS)
    assert await mine.locator(".faq__body b").count() == 0

    _, neighbour = await open_page(browser, console, url, "neighbour")
    await log_in(neighbour, "100002", PASSWORDS["100002"])
    await neighbour.fill("#faq-q", "RADIATOR")
    await neighbour.press("#faq-q", "Enter")
    await expect(neighbour.locator("#faq-summary")).to_have_text(
        '1 vraag gevonden met "RADIATOR".', timeout=WAIT_MS
    )
    found = neighbour.locator(".faq__item").first
    toggle = found.locator(".faq__toggle")
    await expect(found.locator(".faq__meta").first).to_contain_text(
        "Gevraagd door Mevrouw uit Noord"
    )
    await toggle.focus()
    await neighbour.keyboard.press("Enter")
    await expect(toggle).to_have_attribute("aria-expanded", "true", timeout=WAIT_MS)
    await expect(found.locator(".faq__panel")).to_contain_text("Nog geen antwoorden")
    field = found.get_by_label("Uw antwoord")
    await field.fill(ANSWER)
    await found.get_by_role("button", name="Antwoord plaatsen").click()
    await expect(found.locator(".faq__answer-form .form__note")).to_have_text(
        "Uw antwoord staat erbij. Dank u wel!", timeout=WAIT_MS
    )
    await check_accessibility(neighbour)

    # The asker searches for a word that only the answer has.
    await asker.fill("#faq-q", "radiatorsleutel")
    await asker.get_by_role("button", name="Zoeken", exact=True).click()
    await expect(asker.locator("#faq-summary")).to_have_text(
        '1 vraag gevonden met "radiatorsleutel".', timeout=WAIT_MS
    )
    item = asker.locator(".faq__item").first
    await expect(item.locator(".faq__meta").first).to_contain_text("1 antwoord")
    await item.locator(".faq__toggle").click()
    answer = item.locator(".faq__answer").first
    await expect(answer.locator(".faq__answer-body")).to_have_text(
        ANSWER, timeout=WAIT_MS
    )
    await expect(answer.locator(".faq__meta")).to_contain_text("Meneer uit Noord")
    assert "100002" not in await asker.locator("#faq").inner_text()
    await check_accessibility(asker)
    await asker.locator("#faq-heading").scroll_into_view_if_needed()
    await asker.evaluate("document.querySelector('#faq').scrollIntoView()")
    await screenshot(asker, "tenant-phone-faq")

    await asker.click("#language")
    await expect(asker.locator("#faq-heading")).to_have_text(
        "FAQ: questions from neighbours"
    )
    await expect(answer.locator(".faq__meta")).to_contain_text("Meneer from Noord")
    assert console.errors == []

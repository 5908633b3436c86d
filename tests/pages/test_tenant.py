"""The tenant page in a real browser against a real hub process."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import TIMEOUT, RedisServer
from tests.harness import PASSWORDS, SMALL_DIRECTORY, Client, HubProcess, load_directory
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


# Sanne's card with every field a tenant can be shown.
PROFILE: dict[str, Any] = {
    "photo_url": "/static/avatars/w3001.svg",
    "age": 44,
    "favourite_dish": "stamppot met rookworst",
    "hobbies": ["vissen", "tuinieren"],
    "intro_video_url": "https://video.example/sanne-stelt-zich-voor",
    "work": "Ik loop rondes langs de flats en kijk of alles heel en schoon is.",
    "reachable": "ma-vr 8-16 uur, via de app of 010 123 45 67",
}


@pytest.fixture
async def full_profile_hub(
    redis_server: RedisServer, key_prefix: str
) -> AsyncIterator[HubProcess]:
    directory = copy.deepcopy(SMALL_DIRECTORY)
    directory["caretakers"][0]["profile"] = PROFILE
    await load_directory(redis_server.url, key_prefix, directory)
    process = await HubProcess(redis_server.url, key_prefix).start()
    yield process
    await process.close()


async def set_status(caretaker: Client, **presence: object) -> None:
    reply = await caretaker.request({"type": "presence", **presence})
    assert reply["type"] == "ok", reply


async def status_follows_the_caretaker(
    page: Page, caretaker: Client, words: dict[str, str]
) -> None:
    line = page.locator("#caretaker-status-line")
    status = page.locator("#caretaker-status")
    changes: list[tuple[dict[str, object], str]] = [
        ({"on_duty": True, "status": "available"}, "available"),
        ({"on_duty": True, "status": "busy", "activity": "lekkage Zwaanshals"}, "busy"),
        ({"on_duty": True, "status": "break"}, "break"),
        ({"on_duty": False}, "off_duty"),
    ]
    for presence, key in changes:
        await set_status(caretaker, **presence)
        await expect(line).to_have_attribute("data-status", key, timeout=WAIT_MS)
        await expect(status).to_have_text(words[key])


async def test_tenant_sees_every_field_of_the_caretaker_card_and_live_status(
    full_profile_hub: HubProcess, browser: Browser, console: ConsoleWatch
) -> None:
    hub = full_profile_hub.hub
    _, page = await open_page(browser, console, f"{hub.url}/tenant", "tenant")
    await log_in(page, "100001", PASSWORDS["100001"])
    await expect(page.locator("#caretaker-name")).to_have_text(
        "Sanne de Vries", timeout=WAIT_MS
    )

    photo = page.locator("#caretaker-photo")
    await expect(photo).to_be_visible()
    await expect(photo).to_have_attribute("alt", "Foto van Sanne de Vries")
    await expect(photo).to_have_attribute("src", PROFILE["photo_url"])
    # Shown, not a broken-image icon: the browser loaded it.
    await page.wait_for_function(
        """() => {
          const img = document.getElementById('caretaker-photo');
          return img.complete && img.naturalWidth > 0;
        }""",
        timeout=WAIT_MS,
    )

    async def facts() -> dict[str, str]:
        pairs: dict[str, str] = await page.locator("#caretaker-facts").evaluate(
            """list => Object.fromEntries([...list.querySelectorAll('dt')]
              .map((dt) => [dt.textContent, dt.nextElementSibling.textContent]))"""
        )
        return pairs

    assert await facts() == {
        "Leeftijd": "44 jaar",
        "Lievelingseten": "stamppot met rookworst",
        "Hobby’s": "vissen, tuinieren",
        "Wat doet een wijkbeheerder": PROFILE["work"],
        "Bereikbaar": PROFILE["reachable"],
    }
    video = page.locator("#caretaker-video a")
    await expect(video).to_have_attribute("href", PROFILE["intro_video_url"])
    await expect(video).to_have_text(
        "Bekijk de video waarin Sanne de Vries zich voorstelt"
    )

    caretaker = await hub.connect("w1")
    await status_follows_the_caretaker(
        page,
        caretaker,
        {
            "available": "Beschikbaar",
            "busy": "Bezig met: lekkage Zwaanshals",
            "break": "Pauze",
            "off_duty": "Niet in dienst",
        },
    )

    await page.click("#language")
    await expect(photo).to_have_attribute("alt", "Photo of Sanne de Vries")
    assert await facts() == {
        "Age": "44 years",
        "Favourite dish": "stamppot met rookworst",
        "Hobbies": "vissen, tuinieren",
        "What a caretaker does": PROFILE["work"],
        "Reachable": PROFILE["reachable"],
    }
    await expect(video).to_have_text("Watch Sanne de Vries introduce themselves")
    await status_follows_the_caretaker(
        page,
        caretaker,
        {
            "available": "Available",
            "busy": "Busy with: lekkage Zwaanshals",
            "break": "On a break",
            "off_duty": "Off duty",
        },
    )
    await check_accessibility(page)
    await caretaker.close()
    assert console.errors == []

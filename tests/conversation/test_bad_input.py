"""Bad messages, floods and broken uploads: a clear error, nothing stored."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from PIL import Image

from hub.channels.streams import stream_key
from hub.media import images
from hub.tickets.conversation import Limits
from tests.conversation.conftest import Api, jpeg, png
from tests.conversation.test_images import GPS_IFD, gps_exif
from tests.harness import Hub, stream_entries

SCRIPTY = '<img src=x onerror="alert(1)"><script>alert(2)</script>&amp;'


@pytest.fixture
async def ticket_id(users: dict[str, Api]) -> str:
    return str((await users["100001"].report())["id"])


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "  \n "},
        {"text": "x" * 2001},
        {"text": "\x00\x01\x02bin"},
        {"text": 42},
        {"text": None},
        {},
        {"text": "ok", "extra": 1},
        {"text": "ok", "photos": "p1"},
        {"text": "ok", "photos": ["p" + "0" * 24] * 7},
    ],
    ids=[
        "empty",
        "blank",
        "huge",
        "binary",
        "number",
        "null",
        "missing",
        "extra",
        "photos-not-list",
        "too-many-photos",
    ],
)
async def test_bad_messages_are_refused_and_not_stored(
    users: dict[str, Api], ticket_id: str, body: dict[str, object]
) -> None:
    tenant = users["100001"]
    answer = await tenant.request(
        "POST", f"/api/tickets/{ticket_id}/messages", json=body
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "bad_request"
    assert (await tenant.thread(ticket_id)).json()["messages"] == []


async def test_oversized_and_non_json_bodies_are_refused(
    users: dict[str, Api], ticket_id: str
) -> None:
    tenant = users["100001"]
    path = f"/api/tickets/{ticket_id}/messages"
    huge = await tenant.request(
        "POST",
        path,
        content=b'{"text":"' + b"x" * 70_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    binary = await tenant.request(
        "POST",
        path,
        content=b"\xff\xfe\x00garbage",
        headers={"Content-Type": "application/json"},
    )
    assert (huge.status_code, binary.status_code) == (413, 400)


async def test_script_laden_text_is_stored_and_served_as_written(
    users: dict[str, Api], ticket_id: str
) -> None:
    tenant = users["100001"]
    said = await tenant.say(ticket_id, SCRIPTY)
    assert said.status_code == 201
    assert (await tenant.thread(ticket_id)).json()["messages"][0]["text"] == SCRIPTY


async def test_a_flood_of_messages_is_rate_limited(
    users: dict[str, Api], ticket_id: str
) -> None:
    tenant = users["100001"]
    # 61 in a row exceed 30 per minute even when they straddle two windows.
    answers = [await tenant.say(ticket_id, f"spam {n}") for n in range(61)]
    codes = [answer.status_code for answer in answers]
    assert 429 in codes and set(codes) == {201, 429}
    limited = next(answer for answer in answers if answer.status_code == 429)
    wait = int(limited.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert limited.json()["error"]["retry_after"] == wait


async def test_bad_frames_get_errors_and_the_socket_keeps_working(
    hub_: Hub, users: dict[str, Api], ticket_id: str
) -> None:
    client = await hub_.connect("100001")
    bad: list[dict[str, Any]] = [
        {"type": "message", "ticket_id": ticket_id, "text": "x" * 2001},
        {"type": "message", "ticket_id": ticket_id, "text": ""},
        {"type": "message", "ticket_id": ticket_id, "text": "nul\x00"},
        {"type": "message", "text": "waar?"},
        {"type": "message", "ticket_id": "../../x", "text": "hallo"},
        {"type": "read", "ticket_id": ticket_id, "message_id": -1},
        {"type": "typing", "ticket_id": ticket_id, "text": "extra"},
    ]
    for frame in bad:
        answer = await client.request(frame)
        assert (answer["type"], answer["code"]) == ("error", "bad_request"), frame
    ok = await client.request(
        {"type": "message", "ticket_id": ticket_id, "text": SCRIPTY}
    )
    assert ok["message"]["text"] == SCRIPTY
    assert (await client.request({"type": "ping"}))["type"] == "pong"


async def test_a_flood_of_message_frames_is_rate_limited(
    hub_: Hub, ticket_id: str
) -> None:
    client = await hub_.connect("100001")
    codes = []
    for number in range(35):
        answer = await client.request(
            {"type": "message", "ticket_id": ticket_id, "text": f"spam {number}"}
        )
        codes.append(answer.get("code", answer["type"]))
    assert "rate_limited" in codes


def stored_files(hub: Hub) -> list[Path]:
    root = hub.settings.data_dir / "media"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


async def test_broken_uploads_get_clear_errors_and_store_nothing(
    hub_: Hub,
    users: dict[str, Api],
    ticket_id: str,
    redis_client: redis.asyncio.Redis,
    key_prefix: str,
) -> None:
    tenant = users["100001"]
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")
    whole = jpeg()
    cases = [
        (b"just text, no image", "image/jpeg", 400),
        (whole, "text/plain", 400),
        (whole, "image/png", 400),
        (whole, "image/svg+xml", 400),
        (whole[: len(whole) // 2], "image/jpeg", 400),
        (b"", "image/jpeg", 400),
        (bomb.getvalue(), "image/png", 413),
        (b"\xff\xd8\xff" + b"\x00" * (images.MAX_UPLOAD_BYTES + 1), "image/jpeg", 413),
    ]
    for data, content_type, status in cases:
        answer = await tenant.upload(ticket_id, data, content_type)
        assert answer.status_code == status, (content_type, answer.text)
        assert answer.json()["error"]["code"] in ("bad_request", "too_large")

    broken_form = await tenant.request(
        "POST",
        f"/api/tickets/{ticket_id}/photos",
        content=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    no_field = await tenant.request(
        "POST",
        f"/api/tickets/{ticket_id}/photos",
        data={"other": "1"},
        files={"file": ("a.jpg", whole, "image/jpeg")},
    )
    assert (broken_form.status_code, no_field.status_code) == (400, 400)

    assert stored_files(hub_) == []
    assert not [key async for key in redis_client.scan_iter(f"{key_prefix}photo:*")]


async def test_gps_location_is_gone_from_what_is_stored_and_served(
    hub_: Hub, users: dict[str, Api], ticket_id: str
) -> None:
    tenant = users["100001"]
    answer = await tenant.request(
        "POST",
        f"/api/tickets/{ticket_id}/photos",
        files={"photo": ("IMG_0001.jpg", jpeg(exif=gps_exif()), "image/jpeg")},
    )
    assert answer.status_code == 201, answer.text
    photo = answer.json()

    files = stored_files(hub_)
    assert len(files) == 2
    served = [(await tenant.request("GET", photo[url])) for url in ("url", "thumb_url")]
    assert all(response.headers["content-type"] == "image/jpeg" for response in served)
    assert all("private" in response.headers["cache-control"] for response in served)
    for data in [path.read_bytes() for path in files] + [r.content for r in served]:
        opened = Image.open(io.BytesIO(data))
        assert not opened.getexif().get_ifd(GPS_IFD) and not opened.getexif()
        assert b"Exif" not in data and b"PhoneMaker" not in data


async def test_png_and_webp_uploads_become_jpegs(
    users: dict[str, Api], ticket_id: str
) -> None:
    tenant = users["100001"]
    webp = io.BytesIO()
    Image.new("RGB", (50, 50), (1, 2, 3)).save(webp, "WEBP")
    for data, content_type in [(png(), "image/png"), (webp.getvalue(), "image/webp")]:
        answer = await tenant.upload(ticket_id, data, content_type)
        assert answer.status_code == 201, answer.text
        served = await tenant.request("GET", answer.json()["url"])
        assert served.content.startswith(b"\xff\xd8\xff")


async def test_a_typing_flood_reaches_the_others_at_the_typing_rate_and_is_not_stored(
    hub_: Hub,
    users: dict[str, Api],
    ticket_id: str,
    redis_client: redis.asyncio.Redis,
    key_prefix: str,
) -> None:
    agent = await hub_.connect("k1")
    await agent.request({"type": "subscribe", "channel": f"ticket:{ticket_id}"})
    tenant = await hub_.connect("100001")
    settings = hub_.settings
    # Past the burst, but short of the strikes that close the connection.
    flood = settings.frame_burst + 10
    started = time.monotonic()
    for number in range(flood):
        await tenant.send({"type": "typing", "ticket_id": ticket_id, "ref": number})
    # The reply to a ping comes after every typing frame has been handled.
    await tenant.send({"type": "ping", "ref": "after"})
    replies: list[dict[str, Any]] = []
    while not replies or replies[-1].get("ref") != "after":
        replies.append(await tenant.receive())
    elapsed = time.monotonic() - started

    # The flooder: no answer to typing it may send, rate_limited past the burst.
    refused = [frame for frame in replies if frame.get("ref") != "after"]
    assert {(f["type"], f["code"]) for f in refused} == {("error", "rate_limited")}
    assert 1 <= len(refused) <= flood - settings.frame_burst
    assert all(0 < frame["retry_after"] <= 1 for frame in refused)

    # A message posted now reaches the agent after every typing signal.
    assert (await users["k1"].say(ticket_id, "Waar lekt het?")).status_code == 201
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1].get("type") != "event":
        seen.append(await agent.expect(lambda f: f["type"] in ("signal", "event")))
    typing = [f for f in seen if f["type"] == "signal" and f["kind"] == "typing"]
    assert typing, "the first typing signal must go through"
    assert {f["data"]["by"]["id"] for f in typing} == {"100001"}
    interval = Limits().typing_interval  # one signal per interval, at most
    assert len(typing) <= 1 + int(elapsed // interval)

    # Never stored: the thread holds the agent's message only, the timeline
    # no typing, and no key remembers it.
    thread = (await users["100001"].thread(ticket_id)).json()
    assert [m["text"] for m in thread["messages"]] == ["Waar lekt het?"]
    entries = await stream_entries(
        redis_client, stream_key(key_prefix, f"ticket:{ticket_id}")
    )
    assert {fields[b"k"].decode() for _, fields in entries} == {"created", "message"}
    assert not [key async for key in redis_client.scan_iter(f"{key_prefix}*typing*")]

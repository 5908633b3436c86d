"""Checking and cleaning uploads, without a hub: hub.media.images."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from hub.errors import BadRequest, TooLarge
from hub.media import images
from tests.conversation.conftest import jpeg, png

GPS_IFD = 0x8825
MAKE = 0x010F
ORIENTATION = 0x0112


def gps_exif() -> Image.Exif:
    """EXIF as a phone writes it: where (51.9225 N, 4.4792 E) and with what."""
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif[GPS_IFD] = {
        1: "N",
        2: (51.0, 55.0, 21.0),
        3: "E",
        4: (4.0, 28.0, 45.12),
    }
    return exif


def test_gps_exif_and_device_are_gone_from_both_forms() -> None:
    original = jpeg(exif=gps_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the premise

    clean = images.clean(original, "image/jpeg")

    for data in (clean.full, clean.thumb):
        opened = Image.open(io.BytesIO(data))
        assert opened.format == "JPEG"
        assert not opened.getexif()
        assert "exif" not in opened.info and "icc_profile" not in opened.info
        assert b"Exif" not in data and b"PhoneMaker" not in data


def test_orientation_is_applied_before_the_tag_is_dropped() -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # rotate 90°: a portrait photo stored landscape
    clean = images.clean(jpeg(80, 40, exif=exif), "image/jpeg")
    assert (clean.width, clean.height) == (40, 80)


def test_transparent_png_becomes_a_jpeg_with_a_thumbnail() -> None:
    clean = images.clean(png(1000, 500), "image/png")
    assert clean.content_type == "image/jpeg"
    assert (clean.width, clean.height) == (1000, 500)
    thumb = Image.open(io.BytesIO(clean.thumb))
    assert max(thumb.size) == images.THUMB_EDGE


def test_large_photo_is_scaled_down_to_the_stored_edge() -> None:
    clean = images.clean(jpeg(4000, 3000), "image/jpeg")
    assert max(clean.width, clean.height) == images.FULL_EDGE


@pytest.mark.parametrize(
    ("data", "content_type", "error"),
    [
        (b"%PDF-1.7 not a photo", "image/jpeg", BadRequest),
        (b"<svg onload=alert(1)></svg>", "image/svg+xml", BadRequest),
        (jpeg(), "image/png", BadRequest),  # declared type is not the real one
        (jpeg(), "text/html", BadRequest),
        (jpeg(), None, BadRequest),
        (jpeg()[: len(jpeg()) // 2], "image/jpeg", BadRequest),  # truncated
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png", BadRequest),  # corrupt
        (b"\xff\xd8\xff" + b"\x00" * (images.MAX_UPLOAD_BYTES), "image/jpeg", TooLarge),
    ],
    ids=[
        "pdf",
        "svg",
        "lying-type",
        "html-type",
        "no-type",
        "truncated",
        "corrupt-png",
        "too-many-bytes",
    ],
)
def test_bad_uploads_are_refused(
    data: bytes, content_type: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        images.clean(data, content_type)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # 10000 x 10000 one-bit pixels compress to a few kilobytes of PNG.
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")
    bomb = out.getvalue()
    assert len(bomb) < 100_000

    with pytest.raises(TooLarge):
        images.clean(bomb, "image/png")


def test_pillow_refuses_bombs_on_its_own_too() -> None:
    assert Image.MAX_IMAGE_PIXELS == images.MAX_PIXELS

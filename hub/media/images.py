"""Uploaded images in, clean JPEGs out; pure apart from CPU and memory.

A phone photo carries more than pixels: EXIF with the GPS position of the
tenant's home, the device, the time; sometimes XMP, an ICC profile, a thumbnail
of the uncropped original. None of that is kept: the pixels are decoded,
turned upright by the EXIF orientation, copied into a new image that has no
metadata at all, and encoded again. Whatever was hidden in the file (a
polyglot, a script after the end of the image) does not survive either.

Refused, with nothing kept:

    not one of the allowed formats      BadRequest  (the bytes are sniffed,
                                                     not the name or header)
    a declared type that is not the      BadRequest
    sniffed one
    over MAX_UPLOAD_BYTES                TooLarge
    over MAX_PIXELS (a decompression     TooLarge    (checked from the header,
    bomb: small file, huge canvas)                   before decoding)
    truncated or corrupt                 BadRequest
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from hub.errors import BadRequest, TooLarge

MAX_UPLOAD_BYTES = 12 * 1024 * 1024
"""A modern phone's JPEG is 3 to 8 MB."""

MAX_PIXELS = 50_000_000
"""About 8200 x 6100: every phone camera's default output fits."""

# Pillow's own guard, as a second line: it warns above this and raises above
# twice this, for any code path that opens an image without our check.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

FULL_EDGE = 2560
"""Longest edge of the stored photo: enough to read a meter or a crack."""
THUMB_EDGE = 320
FULL_QUALITY = 85
THUMB_QUALITY = 75

ALLOWED: dict[str, str] = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
}
"""Declared content type -> the Pillow format the bytes must sniff as."""

OUTPUT_TYPE = "image/jpeg"


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    """A photo ready to store: both forms are JPEG without any metadata."""

    full: bytes
    thumb: bytes
    width: int
    height: int
    content_type: str = OUTPUT_TYPE


def sniff(data: bytes) -> str | None:
    """The format the leading bytes announce (JPEG, PNG, WEBP) or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def check_declared(content_type: str | None) -> str:
    """The Pillow format for a declared content type, or BadRequest."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared not in ALLOWED:
        raise BadRequest(f"send a photo as one of {', '.join(ALLOWED)}")
    return ALLOWED[declared]


def clean(data: bytes, content_type: str | None) -> CleanPhoto:
    """Check an upload and re-encode it; BadRequest or TooLarge if it will not do."""
    expected = check_declared(content_type)
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"a photo may be at most {MAX_UPLOAD_BYTES // 2**20} MB")
    found = sniff(data)
    if found is None:
        raise BadRequest("this is not a JPEG, PNG or WebP image")
    if found != expected:
        raise BadRequest(f"the file is {found}, not the {content_type} it claims")

    try:
        with warnings.catch_warnings():
            # Our own pixel check comes first; Pillow's warning is redundant.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return _reencode(data, expected)
    except Image.DecompressionBombError:
        raise TooLarge(f"images may have at most {MAX_PIXELS} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # Pillow reports truncated and corrupt data as OSError or SyntaxError.
        raise BadRequest(
            f"the image is broken or incomplete ({type(exc).__name__})"
        ) from None


def _reencode(data: bytes, expected: str) -> CleanPhoto:
    with Image.open(io.BytesIO(data), formats=[expected]) as image:
        width, height = image.size
        if width < 1 or height < 1 or width * height > MAX_PIXELS:
            raise TooLarge(f"images may have at most {MAX_PIXELS} pixels")
        if expected == "JPEG":
            # Let the JPEG decoder scale down by 1/2, 1/4 or 1/8 while
            # decoding: a 48 MP photo then never lands in memory in full.
            image.draft("RGB", (FULL_EDGE, FULL_EDGE))
        image.load()
        upright = ImageOps.exif_transpose(image)
        pixels = _flatten(upright)

    # A new image from raw pixels has no info, EXIF, XMP or ICC to carry over.
    bare = Image.frombytes("RGB", pixels.size, pixels.tobytes())
    bare.thumbnail((FULL_EDGE, FULL_EDGE), Image.Resampling.LANCZOS)
    full = _jpeg(bare, FULL_QUALITY)
    small = bare.copy()
    small.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
    return CleanPhoto(
        full=full,
        thumb=_jpeg(small, THUMB_QUALITY),
        width=bare.width,
        height=bare.height,
    )


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white (JPEG has no alpha)."""
    if image.mode in ("RGBA", "LA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()

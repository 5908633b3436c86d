"""Wire encodings of frames: JSON text frames and msgpack binary frames.

The subprotocol a client picks at the handshake fixes its codec for the life
of the connection. Outgoing frames that many connections share are encoded
at most once per codec (`PreparedFrame`), so fan-out hands the same object to
every subscriber instead of serialising per connection.
"""

from __future__ import annotations

import enum
import math
from typing import Any

import msgpack
import orjson

from hub.errors import BadRequest


class Codec(enum.Enum):
    JSON = "homi.v1.json"
    MSGPACK = "homi.v1.msgpack"

    @property
    def subprotocol(self) -> str:
        return self.value


SUBPROTOCOLS = {codec.value: codec for codec in Codec}


def choose_codec(offered: list[str]) -> Codec | None:
    """The codec for the subprotocols a client offers, in its order of preference.

    No offer at all means JSON (the default of the contract); offers that name
    none of ours mean the client speaks something else, and get None.
    """
    if not offered:
        return Codec.JSON
    for name in offered:
        codec = SUBPROTOCOLS.get(name.strip())
        if codec is not None:
            return codec
    return None


def encode(codec: Codec, frame: dict[str, Any]) -> str | bytes:
    """One frame as the text (JSON) or bytes (msgpack) to put on the wire."""
    if codec is Codec.JSON:
        return orjson.dumps(frame).decode()
    packed: bytes = msgpack.packb(frame, use_bin_type=True)
    return packed


def decode(codec: Codec, raw: str | bytes) -> dict[str, Any]:
    """Parse one client frame into a dict, or raise BadRequest saying why."""
    try:
        if codec is Codec.JSON:
            if isinstance(raw, bytes):
                raise BadRequest("this connection speaks JSON text frames")
            value = orjson.loads(raw)
        else:
            if isinstance(raw, str):
                raise BadRequest("this connection speaks msgpack binary frames")
            value = msgpack.unpackb(raw, raw=False, strict_map_key=True)
    except (orjson.JSONDecodeError, ValueError, msgpack.ExtraData, TypeError) as exc:
        # UnicodeDecodeError (lone surrogates, broken UTF-8) is a ValueError.
        raise BadRequest(f"frame is not valid {codec.name.lower()}") from exc
    except msgpack.UnpackException as exc:
        raise BadRequest("frame is not valid msgpack") from exc
    if not isinstance(value, dict):
        raise BadRequest("a frame must be an object")
    return value


def is_finite_number(value: object) -> bool:
    """True for ints and finite floats, false for bools, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


class PreparedFrame:
    """A server frame shared by many connections, encoded lazily once per codec."""

    __slots__ = ("_json", "_msgpack", "frame")

    def __init__(self, frame: dict[str, Any]) -> None:
        self.frame = frame
        self._json: str | None = None
        self._msgpack: bytes | None = None

    def encoded(self, codec: Codec) -> str | bytes:
        if codec is Codec.JSON:
            if self._json is None:
                self._json = orjson.dumps(self.frame).decode()
            return self._json
        if self._msgpack is None:
            self._msgpack = msgpack.packb(self.frame, use_bin_type=True)
        return self._msgpack

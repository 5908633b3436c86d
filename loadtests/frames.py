"""Websocket frames for the generator's lean receive path (RFC 6455).

`FrameParser` turns the bytes a server sends into whole messages; `client_frame`
builds the masked frames a client must send (pongs, Engine.IO "3", close).
Pure: no I/O, so the parser is tested on byte strings split any way.

What it leaves out, on purpose: permessage-deflate (a connection that
negotiated it stays on the `websockets` path), UTF-8 validation of text
messages (the dialects decode them anyway) and the close handshake's timing
(the generator answers a close and hangs up).
"""

from __future__ import annotations

import os
import struct

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

MAX_MESSAGE = 16 * 2**20
"""A server that sends more than this in one message is broken: give up on it."""

_LENGTH_16 = struct.Struct("!H")
_LENGTH_64 = struct.Struct("!Q")


class FrameError(Exception):
    """The server broke the framing rules; the connection cannot go on."""


class FrameParser:
    """Server-to-client frames in, ``(opcode, payload)`` messages out.

    Data frames come out whole (fragments joined, with the first frame's
    opcode); control frames come out as they arrive, even between the
    fragments of a message, as the RFC allows.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._fragments: list[bytes] | None = None
        self._fragment_opcode = 0
        self._fragment_size = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        if self._pending:
            data = self._pending + data
        messages: list[tuple[int, bytes]] = []
        position, end = 0, len(data)
        while end - position >= 2:
            first, second = data[position], data[position + 1]
            if second & 0x80:
                raise FrameError("masked frame from the server")
            if first & 0x70:
                raise FrameError("reserved bits set (no extension was agreed)")
            length = second & 0x7F
            head = 2
            if length == 126:
                if end - position < 4:
                    break
                (length,) = _LENGTH_16.unpack_from(data, position + 2)
                head = 4
            elif length == 127:
                if end - position < 10:
                    break
                (length,) = _LENGTH_64.unpack_from(data, position + 2)
                head = 10
            if length > MAX_MESSAGE:
                raise FrameError(f"frame of {length} bytes")
            stop = position + head + length
            if stop > end:
                break
            payload = data[position + head : stop]
            position = stop
            opcode, final = first & 0x0F, first & 0x80
            if opcode >= OP_CLOSE:
                if not final or length > 125:
                    raise FrameError("fragmented or oversized control frame")
                messages.append((opcode, payload))
            elif opcode == OP_CONTINUATION:
                self._continue(payload, final, messages)
            elif self._fragments is not None:
                raise FrameError("new message inside a fragmented one")
            elif final:
                messages.append((opcode, payload))
            else:
                self._fragments = [payload]
                self._fragment_opcode = opcode
                self._fragment_size = length
        self._pending = data[position:] if position < end else b""
        return messages

    def _continue(
        self, payload: bytes, final: int, messages: list[tuple[int, bytes]]
    ) -> None:
        if self._fragments is None:
            raise FrameError("continuation without a message to continue")
        self._fragments.append(payload)
        self._fragment_size += len(payload)
        if self._fragment_size > MAX_MESSAGE:
            raise FrameError(f"message of over {MAX_MESSAGE} bytes")
        if final:
            messages.append((self._fragment_opcode, b"".join(self._fragments)))
            self._fragments = None

    @property
    def idle(self) -> bool:
        """Nothing half-received: no partial frame, no unfinished message."""
        return not self._pending and self._fragments is None


def client_frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """One final, masked frame, as a client must send it."""
    mask = os.urandom(4) if mask is None else mask
    length = len(payload)
    if length < 126:
        head = bytes((0x80 | opcode, 0x80 | length))
    elif length < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + _LENGTH_16.pack(length)
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + _LENGTH_64.pack(length)
    return head + mask + apply_mask(payload, mask)


def apply_mask(payload: bytes, mask: bytes) -> bytes:
    # XOR as one big integer: no Python loop over the bytes.
    if not payload:
        return b""
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    masked = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return masked.to_bytes(len(payload), "big")


def close_payload(payload: bytes) -> int:
    """The status code of a close frame (1005, "none given", when empty)."""
    if len(payload) >= 2:
        return int(_LENGTH_16.unpack_from(payload)[0])
    return 1005

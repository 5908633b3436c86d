"""The generator's own websocket frame parser and client frames.

Server frames are built by `websockets`' own sans-I/O server protocol, so the
parser is checked against what a real server library writes, fed in every
split a TCP read could make.
"""

from __future__ import annotations

import itertools

import pytest
from websockets.frames import Frame, Opcode
from websockets.protocol import SERVER, Protocol, State

from loadtests.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    FrameError,
    FrameParser,
    apply_mask,
    client_frame,
    close_payload,
)


def open_server() -> Protocol:
    """websockets' server side of a connection already open."""
    return Protocol(SERVER, state=State.OPEN, max_size=None)


def server_bytes(*frames: Frame) -> bytes:
    """The bytes websockets' server side writes for `frames` (unmasked)."""
    server = open_server()
    for frame in frames:
        server.send_frame(frame)
    return b"".join(server.data_to_send())


def feed_in_pieces(data: bytes, cut: list[int]) -> list[tuple[int, bytes]]:
    parser = FrameParser()
    messages = []
    edges = [0, *cut, len(data)]
    for start, stop in itertools.pairwise(edges):
        messages += parser.feed(data[start:stop])
    assert parser.idle
    return messages


@pytest.mark.parametrize("size", [0, 1, 125, 126, 1000, 65535, 65536, 200_000])
def test_every_length_form_comes_out_whole(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    data = server_bytes(Frame(Opcode.BINARY, payload))
    assert FrameParser().feed(data) == [(OP_BINARY, payload)]


def test_frames_split_at_every_byte_come_out_the_same() -> None:
    text = b'{"type":"event","kind":"location","data":{"ts":1}}'
    long = b"x" * 300  # a 4-byte header
    data = server_bytes(
        Frame(Opcode.TEXT, text),
        Frame(Opcode.PING, b"are you there"),
        Frame(Opcode.BINARY, long),
    )
    wanted = [(OP_TEXT, text), (OP_PING, b"are you there"), (OP_BINARY, long)]
    for cut in range(1, len(data)):
        assert feed_in_pieces(data, [cut]) == wanted, cut
    # One byte at a time, the worst a socket could do.
    assert feed_in_pieces(data, list(range(1, len(data)))) == wanted


def test_fragments_are_joined_around_a_ping() -> None:
    data = server_bytes(
        Frame(Opcode.TEXT, b"hel", fin=False),
        Frame(Opcode.PING, b"p"),
        Frame(Opcode.CONT, b"lo ", fin=False),
        Frame(Opcode.CONT, b"world"),
    )
    assert FrameParser().feed(data) == [(OP_PING, b"p"), (OP_TEXT, b"hello world")]
    assert feed_in_pieces(data, [3, 9, 14]) == [
        (OP_PING, b"p"),
        (OP_TEXT, b"hello world"),
    ]


def test_close_frame_gives_its_code() -> None:
    data = server_bytes(Frame(Opcode.CLOSE, (1001).to_bytes(2, "big") + b"bye"))
    [(opcode, payload)] = FrameParser().feed(data)
    assert opcode == OP_CLOSE
    assert close_payload(payload) == 1001
    assert close_payload(b"") == 1005


def test_an_unfinished_frame_waits_for_the_rest() -> None:
    data = server_bytes(Frame(Opcode.TEXT, b"abcdef"))
    parser = FrameParser()
    assert parser.feed(data[:-1]) == []
    assert not parser.idle
    assert parser.feed(data[-1:]) == [(OP_TEXT, b"abcdef")]
    assert parser.idle


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x81\x85abcd" + b"x" * 5, "masked"),  # servers must not mask
        (b"\xc1\x01x", "reserved"),  # compressed, but nothing was agreed
        (b"\x09\x01p", "control"),  # a fragmented ping
        (b"\x80\x01x", "continuation"),  # nothing to continue
        (b"\x01\x01a\x01\x01b", "inside"),  # a new message mid-fragments
        (b"\x82\x7f" + (2**40).to_bytes(8, "big"), "bytes"),  # a terabyte
    ],
)
def test_broken_framing_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(FrameError, match=why):
        FrameParser().feed(data)


@pytest.mark.parametrize("size", [0, 3, 125, 126, 70_000])
def test_client_frames_are_masked_and_read_back_by_websockets(size: int) -> None:
    payload = bytes(i % 7 for i in range(size))
    frame = client_frame(OP_TEXT, payload, mask=b"\x01\x02\x03\x04")
    assert frame[1] & 0x80, "a client frame must be masked"
    server = open_server()
    server.receive_data(frame)
    [event] = server.events_received()
    assert isinstance(event, Frame)
    assert (event.opcode, event.data) == (Opcode.TEXT, payload)


def test_masking_twice_gives_the_payload_back() -> None:
    payload = b"\x00\xffpong payload"
    mask = b"\xaa\x55\x0f\xf0"
    assert apply_mask(payload, mask) != payload
    assert apply_mask(apply_mask(payload, mask), mask) == payload

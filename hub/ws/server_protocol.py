"""uvicorn's websockets-sansio protocol, holding less for each idle connection.

An idle tenant's connection is mostly the ASGI server's: tracemalloc on 2,000
idle tenants put about 19.5 KB of the 24 KB per connection in uvicorn's
protocol object and what it keeps. Three parts of that are of no use once
the handshake is done, and this subclass lets them go:

* the handshake request and the accept response (headers and all, about
  4.8 KB), which uvicorn keeps as attributes for the connection's life (and
  websockets' parser keeps the request, so its headers are emptied);
* the scope's header list (about 1.2 KB): the hub reads Origin, Host and the
  offered subprotocols before it accepts, and nothing after;
* the receive `asyncio.Queue` and the `writable` `asyncio.Event` (about
  3 KB: a queue is three deques and an event, each deque about 0.6 KB even
  when empty), replaced by a list and a future made only while someone waits.

It also adds one thing, an ASGI extension the session asks for in the scope
(`SEND_FRAMES`): a message of several websocket frames written in one
``transport.write``. The frames and the wire contract are unchanged; what
goes is a system call per frame, which is most of what a frame costs the
server when a resume replays a thousand events or when several events reach
a subscriber in the same instant.

It spreads the keepalive pings of connections that arrived together (see
`start_keepalive`). Everything else (framing, keepalive, closing,
back-pressure) is uvicorn's.

Known shortcoming: this leans on uvicorn's attribute names (``queue``,
``writable``, ``request``, ``response``, ``scope``) and on which of its methods
use them. Each connection checks that the attributes it replaces are still
there, and the websocket tests run through this class, but a uvicorn release
that reshapes its protocol needs this file looked at again.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import (
    WebSocketsSansIOProtocol,
)
from websockets.exceptions import InvalidState

SEND_FRAMES = "homi.websocket.send_frames"
"""Scope extension and message type: ``{"type": SEND_FRAMES, "frames": [...]}``
sends each item of ``frames`` as one websocket frame (a str as a text frame,
bytes as a binary one), all in one write. Waits, like ``websocket.send``, only
while the transport is paused."""


class SlimQueue:
    """The part of `asyncio.Queue` uvicorn's protocol uses, unbounded."""

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._getters: list[asyncio.Future[None]] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        getters = self._getters
        if getters:
            # Wake the longest waiting reader; it takes the item in turn.
            for getter in getters:
                if not getter.done():
                    getter.set_result(None)
                    break

    async def get(self) -> Any:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            finally:
                self._getters.remove(getter)
                if not self._getters:
                    self._getters = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class SlimEvent:
    """The part of `asyncio.Event` uvicorn uses for its `writable` flag.

    `wait` returns without suspending while the event is set, as
    `asyncio.Event.wait` does: the hub's write-at-once path (`hub.ws.eager`)
    relies on a send to a client that keeps up never suspending.
    """

    __slots__ = ("_is_set", "_waiters")

    def __init__(self) -> None:
        self._is_set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._is_set

    def set(self) -> None:
        self._is_set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._is_set = False

    async def wait(self) -> bool:
        if self._is_set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol that forgets the handshake."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(getattr(self, "queue", None), asyncio.Queue) or not (
            isinstance(getattr(self, "writable", None), asyncio.Event)
        ):
            raise RuntimeError(
                "uvicorn's websocket protocol changed; see hub/ws/server_protocol.py"
            )
        self.queue = SlimQueue()  # type: ignore[assignment]
        self.writable = SlimEvent()  # type: ignore[assignment]
        self.writable.set()

    def start_keepalive(self) -> None:
        # uvicorn pings every connection `ping_interval` after its handshake.
        # Connections that arrive together (every client of a hub that just
        # restarted) would then be pinged together, for ever: measured with
        # 2,000 of them, a burst of about 150 ms of the hub's CPU every
        # interval, during which nobody's frames go out. A first ping at a
        # random point of the second half of the interval spreads them; the
        # later ones keep each connection's own phase.
        if self.ping_interval is None or self.ping_interval <= 0:
            return
        first = self.ping_interval * random.uniform(0.5, 1.0)
        self.ping_timer = self.loop.call_later(first, self.send_keepalive_ping)

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # None when the handshake was refused
            scope["extensions"][SEND_FRAMES] = {}

    async def send(self, message: Any) -> None:
        if message["type"] == SEND_FRAMES:
            await self._send_frames(message["frames"])
            return
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # uvicorn needed these to build the 101 answer; nothing reads
            # them again. The scope stays (uvicorn logs its path and client).
            # The request's headers are emptied in place: websockets' parser
            # keeps the request object itself alive for the connection's life
            # (a local of its generator).
            self.request.headers.clear()
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]
            self.scope["headers"] = []

    async def _send_frames(self, frames: list[str | bytes]) -> None:
        await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        if not self.handshake_complete or self.initial_response is not None:
            raise RuntimeError(f"{SEND_FRAMES} before the websocket was accepted")
        if self.close_sent:
            raise RuntimeError(f"{SEND_FRAMES} after websocket.close")
        conn = self.conn
        try:
            for data in frames:
                if isinstance(data, str):
                    conn.send_text(data.encode())
                else:
                    conn.send_binary(data)
        except InvalidState:
            raise ClientDisconnected() from None
        self.transport.write(b"".join(conn.data_to_send()))

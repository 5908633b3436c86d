"""One generator process: subscribers or publishers, driven over stdin/stdout.

The coordinator (`loadtests.runner`) starts several of these and talks to each
in JSON lines. Commands on stdin, one per line::

    {"cmd": "connect"}                       open the connections
    {"cmd": "probe", "rounds": 200}          publisher only: subscribe latency
    {"cmd": "step", "t0_ms": ..., "rate": ..., "duration": ..., "drain": ...}
    {"cmd": "stop"}                          close everything and exit

Answers on stdout, one per command, plus a ``tick`` line every second with
the running count of location events received (for the progress bar).

Run as ``python -m loadtests.worker CONFIG_FILE`` (a JSON object).

Receiving: `websockets` opens every connection (handshake, the dialect's
open steps, subscribe), then, with ``"reader": "lean"`` (the default), a
subscriber's transport is handed to `LeanReceiver`, which parses the
server's frames itself (`loadtests.frames`) and accounts for each message in
the callback that received it. The `websockets` reader (``"reader":
"websockets"``, an `async for` per connection, kept to compare with) costs
about twice the generator CPU per message (30 µs against 15 in run
`fastgen-2`), which at 1,000 subscribers is time between the first and the
last copy of a message that the server is not to blame for. A connection
with permessage-deflate stays on the `websockets` reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import resource
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from loadtests.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameParser,
    client_frame,
    close_payload,
)
from loadtests.protocols import (
    DIALECTS,
    DISTRICT_AGENT,
    PROBE_TENANT,
    STATUS_CYCLE,
    Dialect,
    caretaker_id,
    location_data,
    tenant_id,
)
from loadtests.stats import Histogram, Schedule, StepAccount

CONNECT_CONCURRENCY = 32
OPEN_TIMEOUT = 30.0
REPLY_TIMEOUT = 10.0
READERS = ("lean", "websockets")
TICKET_STEPS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("agent", "assigned", {"severity": "normal"}),
    ("caretaker", "accepted", {}),
    ("caretaker", "in_progress", {}),
    ("caretaker", "resolved", {}),
)
"""After the tenant's report, what the district profile does with each ticket."""


def raise_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def settle_heap() -> None:
    """Take the connections just made out of the garbage collector's sight.

    A generator holding thousands of connections has a heap the collector's
    full passes must walk: measured here, 20-370 ms each, a dozen times a
    minute, during which no frame is read and the server's latency looks that
    much worse. Those objects live until the run ends, so freezing them (the
    collector then skips them) loses nothing; what the steps make and drop is
    still collected as usual.
    """
    gc.collect()
    gc.freeze()


class LeanReceiver(asyncio.Protocol):
    """A subscriber's connection after `websockets` has opened it.

    Every message goes to `on_message` in the same callback that read it,
    which returns the frame to answer with, if any (Engine.IO's "3");
    websocket pings get their pong here. `closed` resolves to the close code
    (1006 when the connection dropped without one).
    """

    def __init__(
        self,
        transport: asyncio.Transport,
        on_message: Callable[[str | bytes], str | None],
    ) -> None:
        self.transport = transport
        self.on_message = on_message
        self.parser = FrameParser()
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._close_code = 1006

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.parser.feed(data)
        except FrameError:
            self._close_code = 1002
            self.transport.abort()
            return
        on_message = self.on_message
        for opcode, payload in messages:
            if opcode == OP_TEXT:
                reply = on_message(payload.decode())
            elif opcode == OP_BINARY:
                reply = on_message(payload)
            elif opcode == OP_PING:
                self.transport.write(client_frame(OP_PONG, payload))
                continue
            elif opcode == OP_CLOSE:
                self._close_code = close_payload(payload)
                self.close(payload[:2])
                return
            else:  # an unsolicited pong
                continue
            if reply is not None:
                self.transport.write(client_frame(OP_TEXT, reply.encode()))

    def close(self, payload: bytes = b"\x03\xe8") -> None:
        """Send a close frame (1000 by default) and hang up."""
        if not self.transport.is_closing():
            self.transport.write(client_frame(OP_CLOSE, payload))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(self._close_code)

    # The only writes are pongs and closes: nothing to hold back.
    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass


class Client:
    """One websocket with its dialect (each keeps its own ack counter)."""

    def __init__(
        self, config: dict[str, Any], user: str, token: str, *, caretaker: bool
    ) -> None:
        self.config = config
        self.user = user
        self.token = token
        self.caretaker = caretaker
        self.dialect: Dialect = DIALECTS[config["dialect"]]()
        self.ws: ClientConnection | None = None
        self.lean: LeanReceiver | None = None
        """Set once the lean reader has taken the connection over."""

    @property
    def alive(self) -> bool:
        if self.lean is not None:
            return not self.lean.closed.done()
        return self.ws is not None and self.ws.close_code is None

    async def open(self) -> None:
        dialect = self.dialect
        self.ws = await connect(
            self.config["url"] + dialect.path,
            subprotocols=list(dialect.subprotocols) or None,
            compression="deflate" if self.config.get("deflate") else None,
            ping_interval=None,
            open_timeout=OPEN_TIMEOUT,
            max_queue=64,
        )
        steps = dialect.open_steps(self.user, self.token, caretaker=self.caretaker)
        for frame, answered in steps:
            if frame is not None:
                await self.ws.send(frame)
            await self.expect(answered)

    async def expect(self, answered: Any) -> str:
        """The first frame that `answered` accepts, answering pings on the way."""
        assert self.ws is not None
        async with asyncio.timeout(REPLY_TIMEOUT):
            while True:
                raw = await self.ws.recv()
                reply = self.dialect.reply_to(raw)
                if reply is not None:
                    await self.ws.send(reply)
                    continue
                if isinstance(raw, str) and answered(raw):
                    return raw
                if self.dialect.is_error(raw):
                    raise RuntimeError(f"server error: {raw[:200]!r}")

    async def subscribe(self, channel: str) -> float:
        """Seconds from sending subscribe to its answer."""
        assert self.ws is not None
        started = time.perf_counter()
        await self.ws.send(self.dialect.subscribe(channel))
        await self.expect(self.dialect.is_subscribed)
        return time.perf_counter() - started

    async def unsubscribe(self, channel: str) -> None:
        assert self.ws is not None
        await self.ws.send(self.dialect.unsubscribe(channel))
        await self.expect(self.dialect.is_unsubscribed)

    def quiet(self) -> bool:
        """Whether `websockets` holds nothing received and not yet read, so
        the transport can change hands without losing or splitting a frame.
        (A read that ended exactly after a frame's header would leave the
        buffer empty with the header consumed; after an answered subscribe,
        with nothing else due, that is not seen in practice.)"""
        ws = self.ws
        assert ws is not None
        return (
            ws.close_code is None
            and not ws.protocol.extensions
            and not ws.protocol.reader.buffer
            and len(ws.recv_messages.frames) == 0
        )

    def take_over(
        self, on_message: Callable[[str | bytes], str | None]
    ) -> LeanReceiver:
        assert self.ws is not None
        transport = self.ws.transport
        self.lean = LeanReceiver(transport, on_message)
        transport.set_protocol(self.lean)
        # websockets may have paused reading when its queue was full.
        transport.resume_reading()
        return self.lean

    async def close(self) -> None:
        if self.lean is not None:
            self.lean.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.lean.closed), 5)
            return
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)


class Worker:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.role = config["role"]
        self.reader = config.get("reader", "lean")
        if self.reader not in READERS:
            raise ValueError(f"unknown reader {self.reader!r}")
        self.lean_connections = 0
        self.channel = config["channel"]
        self.clients: list[Client] = []
        self.readers: list[asyncio.Task[None]] = []
        self.account: StepAccount | None = None
        self.received_total = 0
        self.late = 0
        self.closed: dict[str, int] = {}
        self.errors: list[str] = []
        self.error_frames = 0
        self.other_frames = 0
        """Frames neither location events nor answers: status changes, mostly."""
        self._signer: Any = None
        if config.get("secret"):
            # Minting tokens with the hub's key stands in for 10,000 logins,
            # each an Argon2 verification of about 50 ms.
            from hub.auth.tokens import TokenSigner

            self._signer = TokenSigner(config["secret"], 24 * 3600)

    def client(self, user: str, *, caretaker: bool) -> Client:
        token = ""
        if self._signer is not None:
            token = self._signer.issue(user, "caretaker" if caretaker else "tenant")
        return Client(self.config, user, token, caretaker=caretaker)

    # -- connecting ----------------------------------------------------------

    async def connect(self) -> dict[str, Any]:
        if self.role == "subscribers":
            first, count = self.config["first"], self.config["count"]
            users = [(tenant_id(first + i), False) for i in range(count)]
        else:
            users = [(caretaker_id(p), True) for p in range(self.config["publishers"])]
        self.clients = [self.client(user, caretaker=c) for user, c in users]
        subscribe_times = Histogram()
        failed = 0
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(index: int, client: Client) -> None:
            nonlocal failed
            async with gate:
                try:
                    await client.open()
                    if self.role == "subscribers":
                        subscribe_times.add(1000 * await client.subscribe(self.channel))
                except Exception as exc:  # counted and reported
                    failed += 1
                    if len(self.errors) < 5:
                        self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    await client.close()
                    client.ws = None
                    return
            self.readers.append(asyncio.create_task(self.read(index, client)))

        started = time.monotonic()
        await asyncio.gather(*(one(i, c) for i, c in enumerate(self.clients)))
        seconds = time.monotonic() - started
        settle_heap()
        return {
            "connected": len(self.clients) - failed,
            "failed": failed,
            "seconds": seconds,
            "subscribe": subscribe_times.to_json(),
            "errors": self.errors,
        }

    def on_message(self, index: int, dialect: Dialect, raw: str | bytes) -> str | None:
        """Account for one message; the frame to answer with, if any."""
        found = dialect.event(raw)
        if found is None:
            reply = dialect.reply_to(raw)
            if reply is not None:
                return reply
            if dialect.is_error(raw):
                self.error_frames += 1
            else:
                self.other_frames += 1
            return None
        self.received_total += 1
        account = self.account
        if account is None:
            self.late += 1
        else:
            account.record(index, found[0], found[1], time.time() * 1000.0)
        return None

    async def read(self, index: int, client: Client) -> None:
        assert client.ws is not None
        ws, dialect = client.ws, client.dialect
        if self.reader == "lean" and self.role == "subscribers":
            # Whatever websockets queued since the subscribe answer, then hand
            # the transport over if nothing is left half-read.
            while len(ws.recv_messages.frames):
                reply = self.on_message(index, dialect, await ws.recv())
                if reply is not None:
                    await ws.send(reply)
            if client.quiet():
                self.lean_connections += 1
                lean = client.take_over(partial(self.on_message, index, dialect))
                # Shielded: stopping cancels this task, not the connection.
                code = await asyncio.shield(lean.closed)
                self.closed[str(code)] = self.closed.get(str(code), 0) + 1
                return
        try:
            async for raw in ws:
                reply = self.on_message(index, dialect, raw)
                if reply is not None:
                    await ws.send(reply)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else 1006
            self.closed[str(code)] = self.closed.get(str(code), 0) + 1

    # -- measuring -----------------------------------------------------------

    async def probe(self, rounds: int) -> dict[str, Any]:
        """Subscribe and unsubscribe `rounds` times on a connection of its own."""
        client = self.client(PROBE_TENANT, caretaker=False)
        times = Histogram()
        try:
            await client.open()
            for _ in range(rounds):
                times.add(1000 * await client.subscribe(self.channel))
                await client.unsubscribe(self.channel)
        except Exception as exc:  # reported
            return {
                "error": f"{type(exc).__name__}: {exc}"[:300],
                "subscribe": times.to_json(),
            }
        finally:
            await client.close()
        return {"subscribe": times.to_json()}

    async def step(self, command: dict[str, Any]) -> dict[str, Any]:
        schedule = Schedule(
            t0_ms=command["t0_ms"],
            rate=command["rate"],
            publishers=self.config["publishers"],
            duration_s=command["duration"],
        )
        end = (schedule.end_ms() / 1000.0) + command["drain"]
        if self.role == "subscribers":
            self.account = StepAccount(schedule, len(self.clients))
            others_before = self.other_frames
            alive = sum(1 for c in self.clients if c.alive)
            await asyncio.sleep(max(0.0, end - time.time()))
            account, self.account = self.account, None
            return {
                **account.to_json(),
                "alive_at_start": alive,
                "reader": self.reader,
                "lean_connections": self.lean_connections,
                "closed": self.closed,
                "error_frames": self.error_frames,
                "other_frames": self.other_frames - others_before,
            }
        tickets: dict[str, Any] | None = None
        if self.config.get("ticket_rate"):
            (sent, statuses, lag), tickets = await asyncio.gather(
                self.publish(schedule), self.ticket_stream(schedule)
            )
        else:
            sent, statuses, lag = await self.publish(schedule)
        await asyncio.sleep(max(0.0, end - time.time()))
        return {
            "sent": sent,
            "statuses_sent": statuses,
            "tickets": tickets,
            "lag": lag.to_json(),
            "error_frames": self.error_frames,
            "closed": self.closed,
        }

    async def publish(self, schedule: Schedule) -> tuple[int, int, Histogram]:
        """Send every location of the step on time; with ``status_every``, a
        status change after every that many locations. (sent, statuses, lag)."""
        lag = Histogram()
        sent = statuses = 0
        status_every = int(self.config.get("status_every") or 0)

        async def run(publisher: int, client: Client) -> None:
            nonlocal sent, statuses
            if client.ws is None:
                return
            for index in range(schedule.count(publisher)):
                at_ms = schedule.send_ms(publisher, index)
                # Never early: the hub takes a fix time in its future as "now",
                # which would make the message unrecognisable.
                while (delay := at_ms / 1000.0 - time.time()) > 0:
                    await asyncio.sleep(max(delay, 0.0002))
                frame = client.dialect.publish(
                    self.channel, location_data(publisher, index, at_ms)
                )
                lag.add(time.time() * 1000.0 - at_ms)
                try:
                    await client.ws.send(frame)
                    sent += 1
                    if status_every and (index + 1) % status_every == 0:
                        turn = (index + 1) // status_every % len(STATUS_CYCLE)
                        await client.ws.send(
                            client.dialect.status(
                                self.channel, publisher, STATUS_CYCLE[turn]
                            )
                        )
                        statuses += 1
                except ConnectionClosed:
                    return

        await asyncio.gather(*(run(p, c) for p, c in enumerate(self.clients)))
        return sent, statuses, lag

    async def ticket_stream(self, schedule: Schedule) -> dict[str, Any]:
        """The district's reports and transitions over the hub's REST API, one
        request at a time at ``ticket_rate`` requests a second, during the step:
        a tenant reports, the agent assigns, the caretaker works it through."""
        import httpx

        assert self._signer is not None
        rate = float(self.config["ticket_rate"])
        users = {
            "tenant": tenant_id(0),
            "agent": DISTRICT_AGENT,
            "caretaker": caretaker_id(0),
        }
        headers = {
            role: {"Authorization": f"Bearer {self._signer.issue(user, role)}"}
            for role, user in users.items()
        }
        answered = Histogram()
        made, refused = 0, 0
        ticket: str | None = None
        turn = 0
        base = self.config["url"].replace("ws://", "http://")
        end_s = schedule.end_ms() / 1000.0
        async with httpx.AsyncClient(base_url=base, timeout=10.0) as http:
            for index in range(int(schedule.duration_s * rate)):
                at = schedule.t0_ms / 1000.0 + index / rate
                if at >= end_s:
                    break
                await asyncio.sleep(max(0.0, at - time.time()))
                if ticket is None:
                    role, path = "tenant", "/api/tickets"
                    body: dict[str, Any] = {
                        "category": "leak",
                        "description": "Lekkage onder het aanrecht",
                    }
                else:
                    role, to, extra = TICKET_STEPS[turn]
                    path, body = (
                        f"/api/tickets/{ticket}/transitions",
                        {
                            "to": to,
                            **extra,
                        },
                    )
                started = time.perf_counter()
                try:
                    response = await http.post(path, json=body, headers=headers[role])
                except httpx.HTTPError:
                    refused += 1
                    continue
                answered.add((time.perf_counter() - started) * 1000.0)
                if response.status_code >= 300:
                    refused += 1
                    ticket, turn = None, 0  # start again with a new report
                    continue
                made += 1
                if ticket is None:
                    ticket = str(response.json()["id"])
                elif turn == len(TICKET_STEPS) - 1:
                    ticket, turn = None, 0
                else:
                    turn += 1
        return {"made": made, "refused": refused, "rest": answered.to_json()}

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            emit({"event": "tick", "received": self.received_total})

    async def stop(self) -> None:
        for reader in self.readers:
            reader.cancel()
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY * 4)

        async def close(client: Client) -> None:
            async with gate:
                await client.close()

        await asyncio.gather(*(close(c) for c in self.clients))


async def serve(config: dict[str, Any]) -> None:
    worker = Worker(config)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    ticker = asyncio.create_task(worker.tick())
    try:
        while line := await reader.readline():
            command = json.loads(line)
            kind = command["cmd"]
            if kind == "connect":
                emit({"event": "connect", **await worker.connect()})
            elif kind == "probe":
                emit({"event": "probe", **await worker.probe(command["rounds"])})
            elif kind == "step":
                emit({"event": "step", **await worker.step(command)})
            elif kind == "stop":
                break
    finally:
        ticker.cancel()
        await worker.stop()
        emit({"event": "stopped"})


def main() -> None:
    raise_open_files_limit()
    with open(sys.argv[1], "rb") as file:
        config = json.load(file)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(config))
    else:
        uvloop.run(serve(config))


if __name__ == "__main__":
    main()

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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

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

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)


class Worker:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.role = config["role"]
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
        return {
            "connected": len(self.clients) - failed,
            "failed": failed,
            "seconds": time.monotonic() - started,
            "subscribe": subscribe_times.to_json(),
            "errors": self.errors,
        }

    async def read(self, index: int, client: Client) -> None:
        assert client.ws is not None
        ws, dialect = client.ws, client.dialect
        clock = time.time
        try:
            async for raw in ws:
                found = dialect.event(raw)
                if found is None:
                    reply = dialect.reply_to(raw)
                    if reply is not None:
                        await ws.send(reply)
                    elif dialect.is_error(raw):
                        self.error_frames += 1
                    else:
                        self.other_frames += 1
                    continue
                self.received_total += 1
                account = self.account
                if account is None:
                    self.late += 1
                else:
                    account.record(index, found[0], found[1], clock() * 1000.0)
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
            alive = sum(
                1 for c in self.clients if c.ws is not None and c.ws.close_code is None
            )
            await asyncio.sleep(max(0.0, end - time.time()))
            account, self.account = self.account, None
            return {
                **account.to_json(),
                "alive_at_start": alive,
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

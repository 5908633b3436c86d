"""The demo's actors: caretakers, tenants and an agent, as real clients of a hub.

Every actor talks to the served hub the way the pages do, over the network:
caretakers hold a websocket (`presence` and `location` frames) and work their
tickets through REST; tenants post reports with an `Idempotency-Key` and follow
them; the agent triages the queue. The only shortcut is the login: tokens are
minted in-process with the hub's own signer, which skips a password hash per
actor and is the same token `POST /api/login` would return.

Decisions come from `hub.demo.plans` (pure); this module does the waiting and
the I/O. `supervise` runs each actor and restarts it after an error, so one
failing actor never stops the demo. State an actor must keep across a restart
(where a caretaker is on the route, which report comes next) lives on the actor
object, not in the coroutine.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from hub.auth.tokens import TokenSigner
from hub.demo import plans
from hub.demo.complaints import DemoReport
from hub.demo.routes import Fix
from hub.tickets.categories import CATEGORIES

logger = logging.getLogger("hub.demo")

SUBPROTOCOL = "homi.v1.json"
MIN_FIX_INTERVAL = 0.5
"""Seconds; at high speeds fixes closer together than this are skipped, well
inside the hub's frame rate limit."""
MAX_FOLLOWERS = 300
"""Tickets followed by their tenants at once; beyond this new ones are not."""

_LABELS = {category.id: category.nl for category in CATEGORIES}


class DemoStepFailed(Exception):
    """The hub answered a demo request with an unexpected status."""

    def __init__(self, what: str, status: int, body: str) -> None:
        super().__init__(f"{what}: HTTP {status} {body[:200]}")
        self.status = status


EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    DemoStepFailed,
    httpx.HTTPError,
    websockets.ConnectionClosed,
    websockets.InvalidHandshake,
    OSError,
    TimeoutError,
)
"""What a live hub can do to an actor: logged briefly, then the actor restarts."""


@dataclass
class Stats:
    """What the progress line shows, written by the actors."""

    caretakers: dict[str, plans.PhaseKind] = field(default_factory=dict)
    """Connected caretakers and the phase each is in."""
    reports: int = 0
    followers: int = 0


@dataclass
class World:
    """What every actor shares: where the hub is, how to log in, how fast time runs."""

    base_url: str
    ws_url: str
    http: httpx.AsyncClient
    tokens: TokenSigner
    speed: float
    stats: Stats = field(default_factory=Stats)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def token(self, user_id: str, role: str) -> str:
        return self.tokens.issue(user_id, role)

    def seconds(self, demo_seconds: float) -> float:
        """Wall-clock seconds for a duration in the demo's world."""
        return demo_seconds / self.speed

    async def call(
        self,
        what: str,
        method: str,
        path: str,
        token: str,
        expect: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> httpx.Response:
        """One REST request as a user; `DemoStepFailed` for any other status."""
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        response = await self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code not in expect:
            raise DemoStepFailed(what, response.status_code, response.text)
        return response

    def spawn(self, name: str, make: Callable[[], Awaitable[None]]) -> None:
        """Run an actor under `supervise` until it ends or the demo stops."""
        task = asyncio.create_task(supervise(name, make), name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


async def supervise(name: str, make: Callable[[], Awaitable[None]]) -> None:
    """Run `make()` until it returns; after an error log it and start again,
    waiting a little longer each time (reset once it ran for a minute)."""
    backoff = 1.0
    while True:
        started = time.monotonic()
        try:
            await make()
            return
        except asyncio.CancelledError:
            raise
        except EXPECTED_ERRORS as exc:
            logger.warning(
                "demo %s stopped (%s: %s); restarting in %.0f s",
                name,
                type(exc).__name__,
                exc,
                backoff,
            )
        except Exception:
            logger.exception("demo %s failed; restarting in %.0f s", name, backoff)
        if time.monotonic() - started > 60:
            backoff = 1.0
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 30.0)


# -- caretakers ----------------------------------------------------------------


class Caretaker:
    """One caretaker's phone: on and off duty, walking, working tickets."""

    def __init__(
        self,
        world: World,
        caretaker_id: str,
        fixes: Iterator[Fix],
        shifts: Iterator[plans.Phase],
        rng: random.Random,
    ) -> None:
        self.world = world
        self.id = caretaker_id
        self.fixes = fixes
        self.shifts = shifts
        self.rng = rng
        self.phase: plans.Phase | None = None
        self.walking = asyncio.Event()
        self._ref = 0

    async def run(self) -> None:
        token = self.world.token(self.id, "caretaker")
        async with websockets.connect(
            self.world.ws_url,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            open_timeout=10,
            close_timeout=1,
        ) as ws:
            await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
            welcome = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            if welcome.get("type") != "welcome":
                raise DemoStepFailed(f"{self.id} auth", 401, str(welcome))

            # Read every frame the hub sends, so the socket never backs up and
            # a closed connection ends the actor even while it is waiting.
            reader = asyncio.create_task(self._read(ws))
            day = asyncio.create_task(self._day(ws, token))
            try:
                done, _ = await asyncio.wait(
                    {reader, day}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    task.result()
            finally:
                for task in (reader, day):
                    task.cancel()
                await asyncio.gather(reader, day, return_exceptions=True)
                self.world.stats.caretakers.pop(self.id, None)

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            frame = orjson.loads(raw)
            if frame.get("type") == "error":
                logger.warning(
                    "demo caretaker %s: hub answered %s: %s",
                    self.id,
                    frame.get("code"),
                    frame.get("message"),
                )
        raise websockets.ConnectionClosedOK(None, None)

    async def _day(self, ws: ClientConnection, token: str) -> None:
        while True:
            # A restarted actor carries on with the phase it was in.
            if self.phase is None:
                self.phase = next(self.shifts)
            phase = self.phase
            deadline = time.monotonic() + self.world.seconds(phase.seconds)
            self.world.stats.caretakers[self.id] = phase.kind
            if phase.kind == "work":
                await self._presence(ws, True, "available", plans.ROUND_ACTIVITY)
                await self._work_until(ws, token, deadline)
            else:
                if phase.kind == "break":
                    await self._presence(ws, True, "break", plans.BREAK_ACTIVITY)
                else:
                    await self._presence(ws, False)
                await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            self.phase = None

    async def _presence(
        self,
        ws: ClientConnection,
        on_duty: bool,
        status: str | None = None,
        activity: str = "",
        ticket_id: str = "",
    ) -> None:
        self._ref += 1
        frame: dict[str, Any] = {
            "type": "presence",
            "on_duty": on_duty,
            "ref": self._ref,
        }
        if on_duty:
            frame.update(status=status, activity=activity, ticket_id=ticket_id)
        await ws.send(orjson.dumps(frame).decode())

    async def _walk(self, ws: ClientConnection) -> None:
        """Send the route's fixes at their recorded pace while not on a job."""
        waited = MIN_FIX_INTERVAL
        while True:
            await self.walking.wait()
            fix = next(self.fixes)
            await asyncio.sleep(fix.delay)
            waited += fix.delay
            if waited < MIN_FIX_INTERVAL or not self.walking.is_set():
                continue
            waited = 0.0
            frame = {
                "type": "location",
                "lat": fix.lat,
                "lon": fix.lon,
                "accuracy": 8,
                "ts": int(time.time() * 1000),
            }
            await ws.send(orjson.dumps(frame).decode())

    async def _work_until(
        self, ws: ClientConnection, token: str, deadline: float
    ) -> None:
        self.walking.set()
        walker = asyncio.create_task(self._walk(ws))
        try:
            while time.monotonic() < deadline:
                if walker.done():
                    walker.result()
                ticket = await self._next_ticket(token)
                if ticket is None:
                    poll = self.world.seconds(self.rng.uniform(3.0, 6.0))
                    await asyncio.sleep(
                        max(0.3, min(poll, deadline - time.monotonic()))
                    )
                    continue
                # Walking stops at the door: the position stays where the job is.
                self.walking.clear()
                await self._work(ws, token, ticket)
                self.walking.set()
                await self._presence(ws, True, "available", plans.ROUND_ACTIVITY)
        finally:
            walker.cancel()
            await asyncio.gather(walker, return_exceptions=True)

    async def _next_ticket(self, token: str) -> dict[str, Any] | None:
        """Own work first (in progress, then accepted), then the most severe,
        oldest assigned ticket of the district."""
        for status in ("in_progress", "accepted", "assigned"):
            response = await self.world.call(
                "list tickets",
                "GET",
                "/api/tickets",
                token,
                params={"status": status, "limit": 100},
            )
            tickets: list[dict[str, Any]] = [
                t
                for t in response.json()["tickets"]
                if status == "assigned" or t.get("assignee") == self.id
            ]
            if tickets:
                return min(
                    tickets,
                    key=lambda t: (
                        plans.SEVERITY_ORDER.get(t.get("severity") or "normal", 2),
                        t["number"],
                    ),
                )
        return None

    async def _step(
        self, token: str, ticket: dict[str, Any], body: dict[str, Any]
    ) -> bool:
        """One transition; False when someone else moved the ticket first."""
        response = await self.world.call(
            f"{self.id} {body.get('to') or body.get('action')}",
            "POST",
            f"/api/tickets/{ticket['id']}/transitions",
            token,
            expect=(200, 404, 409),
            json=body,
        )
        return response.status_code == 200

    async def _work(
        self, ws: ClientConnection, token: str, ticket: dict[str, Any]
    ) -> None:
        pause = self.world.seconds
        if ticket["status"] == "assigned":
            visit = datetime.now(UTC) + timedelta(minutes=self.rng.randint(20, 180))
            body = {
                "to": "accepted",
                "note": plans.ACCEPT_NOTE,
                "planned_for": visit.isoformat(timespec="seconds"),
            }
            if not await self._step(token, ticket, body):
                return
            await asyncio.sleep(pause(self.rng.uniform(3.0, 8.0)))
        started = ticket["status"] == "in_progress"
        if not started and not await self._step(token, ticket, {"to": "in_progress"}):
            return

        label = _LABELS.get(ticket["category"], ticket["category"])
        activity = plans.busy_activity(ticket["number"], label, ticket.get("place", ""))
        await self._presence(ws, True, "busy", activity, ticket["id"])
        await asyncio.sleep(pause(self.rng.uniform(12.0, 35.0)))
        note = plans.resolve_note(ticket["category"], self.rng)
        await self._step(token, ticket, {"to": "resolved", "note": note})


# -- tenants -------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    id: str
    district: str


class Reporters:
    """The tenants who report: one report at a time, in the data's rhythm."""

    def __init__(
        self,
        world: World,
        tenants: list[Tenant],
        reports: Iterator[DemoReport],
        rng: random.Random,
    ) -> None:
        self.world = world
        self.tenants = tenants
        self.reports = reports
        self.rng = rng
        self.run_id = uuid.uuid4().hex[:8]
        self.sent = 0
        self.pending: tuple[DemoReport, Tenant] | None = None

    async def run(self) -> None:
        while True:
            if self.pending is None:
                report = next(self.reports)
                # The first report comes at once: a demo should show life early.
                delay = 0.0 if self.sent == 0 else report.delay_seconds
                await asyncio.sleep(delay)
                self.pending = (report, self.rng.choice(self.tenants))
            report, tenant = self.pending
            # The same key on a retry after an error: never a second ticket.
            key = f"demo-{self.run_id}-{self.sent}"
            body: dict[str, Any] = {
                "category": report.category,
                "description": report.description,
                "place": report.place,
            }
            if self.rng.random() < 0.4:
                body["preferred_times"] = [self.rng.choice(_PREFERRED_TIMES)]
            response = await self.world.call(
                "report",
                "POST",
                "/api/tickets",
                self.world.token(tenant.id, "tenant"),
                expect=(200, 201),
                json=body,
                headers={"Idempotency-Key": key},
            )
            self.pending = None
            self.sent += 1
            self.world.stats.reports += 1
            ticket_id = response.json()["id"]
            if self.world.stats.followers < MAX_FOLLOWERS:
                follower = Follower(
                    self.world, tenant, ticket_id, random.Random(f"{key}:follow")
                )
                self.world.spawn(f"tenant {tenant.id}", follower.run)


_PREFERRED_TIMES = (
    "liefst 's ochtends",
    "na 17:00",
    "woensdagmiddag",
    "elke dag na 13:00",
)


class Follower:
    """A tenant following one ticket: closes or retries advice, confirms or
    (now and then) reopens a repair."""

    def __init__(
        self, world: World, tenant: Tenant, ticket_id: str, rng: random.Random
    ) -> None:
        self.world = world
        self.tenant = tenant
        self.ticket_id = ticket_id
        self.rng = rng

    async def run(self) -> None:
        self.world.stats.followers += 1
        try:
            await self._follow()
        finally:
            self.world.stats.followers -= 1

    async def _follow(self) -> None:
        token = self.world.token(self.tenant.id, "tenant")
        path = f"/api/tickets/{self.ticket_id}"
        interval = 3.0
        while True:
            await asyncio.sleep(
                self.world.seconds(interval * self.rng.uniform(0.8, 1.2))
            )
            response = await self.world.call(
                "follow", "GET", path, token, expect=(200, 404)
            )
            if response.status_code == 404:
                return
            status = response.json()["status"]
            if status in ("closed", "cancelled"):
                return
            step = self._answer(status)
            if step is None:
                # Waiting on someone else: look less often, up to every 30 s.
                interval = min(interval * 1.3, 30.0)
                continue
            await asyncio.sleep(self.world.seconds(self.rng.uniform(3.0, 8.0)))
            await self.world.call(
                "tenant step",
                "POST",
                f"{path}/transitions",
                token,
                expect=(200, 404, 409),
                json=step,
            )
            interval = 3.0

    def _answer(self, status: str) -> dict[str, Any] | None:
        if status == "advised":
            if self.rng.random() < 0.8:
                return {"to": "closed", "note": plans.CLOSE_NOTE}
            return {"to": "submitted", "note": plans.RETRY_NOTE}
        if status == "resolved":
            if self.rng.random() < 0.92:
                return {"to": "closed", "note": plans.CONFIRM_NOTE}
            return {"to": "in_progress", "note": plans.REOPEN_NOTE}
        return None


# -- customer service ----------------------------------------------------------


class Agent:
    """The demo's customer-service agent: takes reports from the queue after
    a moment's reading, advises or assigns."""

    READING_SECONDS = 10.0
    """How long a report waits before the agent picks it up: the dashboard
    always has a short queue to show."""

    def __init__(self, world: World, agent_id: str, rng: random.Random) -> None:
        self.world = world
        self.id = agent_id
        self.rng = rng

    async def run(self) -> None:
        token = self.world.token(self.id, "agent")
        while True:
            ticket = await self._next(token)
            if ticket is None:
                await asyncio.sleep(max(0.3, self.world.seconds(2.0)))
                continue
            await self._triage(token, ticket)
            await asyncio.sleep(self.world.seconds(self.rng.uniform(1.5, 3.0)))

    async def _next(self, token: str) -> dict[str, Any] | None:
        response = await self.world.call(
            "queue", "GET", "/api/tickets/queue", token, params={"limit": 20}
        )
        ready_before = (
            time.time() * 1000 - self.world.seconds(self.READING_SECONDS) * 1000
        )
        for ticket in response.json()["tickets"]:
            if ticket["updated_at"] <= ready_before:
                return {**ticket}
        return None

    async def _triage(self, token: str, ticket: dict[str, Any]) -> None:
        decision = plans.triage(ticket["category"], ticket["description"])
        if decision.action == "advise":
            # Came back after advice ("that did not help")? Then assign it.
            detail = await self.world.call(
                "ticket", "GET", f"/api/tickets/{ticket['id']}", token
            )
            if any(e.get("action") == "advise" for e in detail.json()["timeline"]):
                decision = plans.triage(
                    ticket["category"], ticket["description"], advised_before=True
                )
        target = "advised" if decision.action == "advise" else "assigned"
        await self.world.call(
            f"agent {decision.action}",
            "POST",
            f"/api/tickets/{ticket['id']}/transitions",
            token,
            expect=(200, 404, 409),
            json={"to": target, "severity": decision.severity, "note": decision.note},
        )

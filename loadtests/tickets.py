"""The ticket benchmark: transitions over REST, their events on the websocket, resume.

One hub process on the run's own Redis; a directory with one district, its
caretaker, one agent and `tenants` tenants. Every tenant follows
`tickets:mine`, the agent `dashboard`, the caretaker `tickets:district:<d>`.

1. *Report*: tenants report tickets over REST (`POST /api/tickets`).
2. *Transitions*: each ticket goes assign (agent, with severity) → accept →
   start → resolve (caretaker), `concurrency` requests in flight. Measured:
   transitions a second, the server's CPU per transition, and the delay from
   sending a request to its event reaching the owning tenant's connection
   and the dashboard; every follower is audited for lost, duplicated,
   reordered and foreign events (`loadtests.ticket_stats`).
3. *Resume*: one tenant (`PROBE_TENANT`) disconnects, `resume_events`
   transitions are made on its tickets (reopen, resolve, reopen, resolve),
   it reconnects and subscribes with `since`; measured from sending the
   subscribe to holding every missed event, checked to be exactly those, in
   order. Repeated `resume_rounds` times.

The generator runs in this process, pinned to the generator's cores, so a
request's send time and its event's receipt time come from one clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.exceptions import ConnectionClosed

from loadtests.protocols import PROBE_TENANT, caretaker_id, tenant_id
from loadtests.runner import (
    BUSY_CPU,
    DISTRICT,
    HUB_SECRET,
    Cores,
    CpuClock,
    Progress,
    load_directory,
    on_cpu_seconds,
    run_queue_seconds,
    write_directory,
)
from loadtests.servers import (
    SERVERS,
    RedisProcess,
    RunningServer,
    ServerFailed,
    hub_env,
)
from loadtests.stats import Histogram
from loadtests.ticket_stats import (
    Audit,
    EventKey,
    Receipt,
    check_replay,
    delays,
    read_event,
)
from loadtests.worker import CONNECT_CONCURRENCY, Client, settle_heap

AGENT = "agent0"
CARETAKER = caretaker_id(0)
DRAIN_TIMEOUT = 10.0
"""Seconds to wait, after the last request, for the events still on their way."""
CATCH_UP_TIMEOUT = 30.0
TOKEN_TTL = 24 * 3600

REPORT_BODY = {"category": "leak", "description": "Lekkage onder het aanrecht"}
WORK_STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("agent", {"to": "assigned", "severity": "normal"}),
    ("caretaker", {"to": "accepted"}),
    ("caretaker", {"to": "in_progress"}),
    ("caretaker", {"to": "resolved"}),
)
"""Report is version 1, so these make versions 2 to 5."""
REOPEN_STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("tenant", {"to": "in_progress"}),
    ("caretaker", {"to": "resolved"}),
) * 2
"""From resolved back to resolved: a resolved ticket can take any number of these."""


@dataclass
class TicketScenario:
    name: str
    tenants: int = 2000
    transitions: int = 4000
    concurrency: int = 16
    resume_events: int = 1000
    resume_rounds: int = 10
    send_queue_frames: int = 0
    """HUB_SEND_QUEUE_FRAMES for the hub; 0 keeps the hub's default."""

    @property
    def tickets(self) -> int:
        return math.ceil(self.transitions / len(WORK_STEPS))

    @property
    def resume_tickets(self) -> int:
        return math.ceil(self.resume_events / len(REOPEN_STEPS))


class Tally:
    """A count of received events that can be waited on until it reaches a target."""

    def __init__(self) -> None:
        self.count = 0
        self._target = 0
        self._reached = asyncio.Event()

    def add(self) -> None:
        self.count += 1
        if self.count >= self._target:
            self._reached.set()

    async def wait_for(self, target: int, timeout: float) -> bool:
        self._target = target
        if self.count < target:
            self._reached.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._reached.wait()
        return self.count >= target


class Follower:
    """One connection on one ticket channel, keeping every event it receives."""

    def __init__(self, client: Client, channel: str, tally: Tally) -> None:
        self.client = client
        self.channel = channel
        self.tally = tally
        self.receipts: list[Receipt] = []
        self.closed: int | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self.client.open()
        await self.client.subscribe(self.channel)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.client.ws is not None
        clock = time.perf_counter
        try:
            async for raw in self.client.ws:
                frame = orjson.loads(raw)
                found = read_event(frame)
                if found is not None:
                    self.receipts.append(Receipt(*found, frame["id"], clock()))
                    self.tally.add()
        except ConnectionClosed as closed:
            self.closed = closed.rcvd.code if closed.rcvd is not None else 1006

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.client.close()


class Rest:
    """The hub's REST API, with each step's send time kept by (ticket, version)."""

    def __init__(self, base_url: str, concurrency: int, tokens: dict[str, str]) -> None:
        limits = httpx.Limits(
            max_connections=concurrency, max_keepalive_connections=concurrency
        )
        self.http = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0)
        self.tokens = tokens
        self.sent: dict[EventKey, float] = {}
        self.answered = Histogram()
        self.refused: dict[str, int] = {}

    async def _post(self, user: str, path: str, body: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        started = time.perf_counter()
        response = await self.http.post(path, json=body, headers=headers)
        self.answered.add((time.perf_counter() - started) * 1000.0)
        if response.status_code >= 300:
            key = f"{response.status_code} {response.json()['error']['code']}"
            self.refused[key] = self.refused.get(key, 0) + 1
            return None
        return response.json(), started

    async def report(self, tenant: str) -> str | None:
        answer = await self._post(tenant, "/api/tickets", REPORT_BODY)
        if answer is None:
            return None
        ticket, started = answer
        self.sent[ticket["id"], ticket["version"]] = started
        return str(ticket["id"])

    async def move(self, user: str, ticket: str, body: dict[str, Any]) -> bool:
        answer = await self._post(user, f"/api/tickets/{ticket}/transitions", body)
        if answer is None:
            return False
        data, started = answer
        self.sent[ticket, data["transition"]["version"]] = started
        return True

    async def close(self) -> None:
        await self.http.aclose()


async def bounded(
    concurrency: int, jobs: Iterable[Callable[[], Awaitable[int]]]
) -> int:
    """Run jobs with at most `concurrency` at once; the sum of what they return."""
    queue = list(jobs)
    queue.reverse()
    total = 0

    async def lane() -> None:
        nonlocal total
        while queue:
            done = await queue.pop()()
            total += done

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return total


class TicketBench:
    def __init__(
        self, scenario: TicketScenario, url: str, pids: dict[str, int], cores: Cores
    ) -> None:
        self.scenario = scenario
        self.url = url
        self.clock = CpuClock(pids)
        self.cores = cores
        self.tally = Tally()
        self.tenants = [tenant_id(i) for i in range(scenario.tenants)]
        self.tokens = self._tokens()
        self.rest = Rest(
            url.replace("ws://", "http://"), scenario.concurrency, self.tokens
        )
        self.followers: dict[str, Follower] = {}
        self.owner: dict[str, str] = {}
        self.resume_tickets: list[str] = []

    def _tokens(self) -> dict[str, str]:
        # Minted with the hub's key instead of 2,000 Argon2 logins.
        from hub.auth.tokens import TokenSigner

        signer = TokenSigner(HUB_SECRET, TOKEN_TTL)
        roles = {AGENT: "agent", CARETAKER: "caretaker", PROBE_TENANT: "tenant"}
        roles.update({tenant: "tenant" for tenant in self.tenants})
        return {user: signer.issue(user, role) for user, role in roles.items()}

    def client(self, user: str) -> Client:
        config = {"dialect": "homi", "url": self.url}
        return Client(config, user, self.tokens[user], caretaker=user == CARETAKER)

    # -- the whole run ---------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        progress = Progress(4, f"tickets x{self.scenario.tenants}")
        try:
            result["connect"] = await self.connect()
            progress.advance(f"connected {result['connect']['connected']}")
            result["report"] = await self.phase(self.report_all, expected_per_event=3)
            progress.advance(f"{result['report']['per_s']:.0f} reports/s")
            result["transitions"] = await self.phase(
                self.work_all, expected_per_event=3
            )
            progress.advance(f"{result['transitions']['per_s']:.0f} transitions/s")
            result["delivery"] = self.audit()
            result["resume"] = await self.resume()
            resumed = result["resume"]["all_events"]["p50_ms"]
            progress.advance(f"resume p50 {resumed or 0:.0f} ms")
        finally:
            progress.close()
            await asyncio.gather(*(f.close() for f in self.followers.values()))
            await self.rest.close()
        result["rest"] = {**self.rest.answered.summary(), "refused": self.rest.refused}
        return result

    async def connect(self) -> dict[str, Any]:
        wanted = {tenant: "tickets:mine" for tenant in self.tenants}
        wanted[AGENT] = "dashboard"
        wanted[CARETAKER] = f"tickets:district:{DISTRICT}"
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        errors: list[str] = []

        async def one(user: str, channel: str) -> None:
            follower = Follower(self.client(user), channel, self.tally)
            async with gate:
                try:
                    await follower.open()
                except Exception as exc:  # counted and reported
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    await follower.close()
                    return
            self.followers[user] = follower

        started = time.monotonic()
        await asyncio.gather(*(one(user, channel) for user, channel in wanted.items()))
        seconds = time.monotonic() - started
        settle_heap()
        if AGENT not in self.followers or CARETAKER not in self.followers:
            raise ServerFailed(
                f"the agent or caretaker could not connect: {errors[:3]}"
            )
        return {
            "connected": len(self.followers),
            "failed": len(errors),
            "seconds": seconds,
            "errors": errors[:5],
        }

    async def phase(
        self, work: Callable[[], Awaitable[int]], expected_per_event: int
    ) -> dict[str, Any]:
        """Run `work` (it returns how many events it made) and what it cost."""
        start, waited = self.clock.read(), run_queue_seconds(self.clock.pids)
        received_before = self.tally.count
        began = time.perf_counter()
        made = await work()
        elapsed = time.perf_counter() - began
        busy, waited_busy = self.clock.read(), run_queue_seconds(self.clock.pids)
        expected = received_before + made * expected_per_event
        drained = await self.tally.wait_for(expected, DRAIN_TIMEOUT)
        end = self.clock.read()
        share = {name: (busy[name] - start[name]) / elapsed for name in start}
        server_cpu = end["server"] - start["server"]
        generator_side = share["generator"] + share["redis"]
        if share["generator"] >= BUSY_CPU or generator_side >= (
            BUSY_CPU * self.cores.generator_count
        ):
            bottleneck = "generator"
        elif share["server"] >= BUSY_CPU:
            bottleneck = "server"
        else:
            bottleneck = "-"
        return {
            "made": made,
            "seconds": elapsed,
            "per_s": made / elapsed if elapsed else None,
            "server_us_per_step": server_cpu / made * 1e6 if made else None,
            "redis_us_per_step": (end["redis"] - start["redis"]) / made * 1e6
            if made
            else None,
            "cpu_share": share,
            "server_starved": (waited_busy["server"] - waited["server"]) / elapsed,
            "drained": drained,
            "bottleneck": bottleneck,
            "load_average": os.getloadavg()[0],
        }

    # -- reports and transitions ---------------------------------------------

    async def report_all(self) -> int:
        owners = [
            self.tenants[i % len(self.tenants)] for i in range(self.scenario.tickets)
        ]

        def job(tenant: str) -> Callable[[], Awaitable[int]]:
            async def run() -> int:
                ticket = await self.rest.report(tenant)
                if ticket is None:
                    return 0
                self.owner[ticket] = tenant
                return 1

            return run

        return await bounded(self.scenario.concurrency, (job(t) for t in owners))

    def steps_job(
        self, ticket: str, steps: Iterable[tuple[str, dict[str, Any]]]
    ) -> Callable[[], Awaitable[int]]:
        """One ticket's steps in order; a refused step ends the ticket's run."""

        async def run() -> int:
            done = 0
            for who, body in steps:
                user = {"agent": AGENT, "caretaker": CARETAKER}.get(
                    who, self.owner[ticket]
                )
                if not await self.rest.move(user, ticket, body):
                    break
                done += 1
            return done

        return run

    async def work_all(self) -> int:
        jobs = (self.steps_job(ticket, WORK_STEPS) for ticket in list(self.owner))
        return await bounded(self.scenario.concurrency, jobs)

    def audit(self) -> dict[str, Any]:
        """Each tenant every version of its own tickets once, in order; the
        dashboard and the district every version of every ticket."""
        versions = range(1, len(WORK_STEPS) + 2)
        mine: dict[str, dict[str, range]] = {}
        for ticket, tenant in self.owner.items():
            mine.setdefault(tenant, {})[ticket] = versions
        everything = dict.fromkeys(self.owner, versions)
        transitions = range(2, len(WORK_STEPS) + 2)
        result: dict[str, Any] = {}
        groups = {
            "tenants": [u for u in self.tenants if u in self.followers],
            "dashboard": [AGENT],
            "district": [CARETAKER],
        }
        for group, users in groups.items():
            audit, created, moved = Audit(), Histogram(), Histogram()
            for user in users:
                receipts = self.followers[user].receipts
                audit.add(
                    everything if group != "tenants" else mine.get(user, {}), receipts
                )
                delays(self.rest.sent, receipts, created, range(1, 2))
                delays(self.rest.sent, receipts, moved, transitions)
            closed = [
                self.followers[u].closed for u in users if self.followers[u].closed
            ]
            result[group] = {
                **audit.to_json(),
                "clean": audit.clean,
                "closed": len(closed),
                "report_delay": created.summary(),
                "transition_delay": moved.summary(),
            }
        return result

    # -- resume ----------------------------------------------------------------

    async def resume(self) -> dict[str, Any]:
        # Tickets of their own, taken to resolved before the rounds begin.
        owners = [PROBE_TENANT] * self.scenario.resume_tickets
        reports = [self.rest_report_job(tenant) for tenant in owners]
        await bounded(self.scenario.concurrency, reports)
        work = (self.steps_job(t, WORK_STEPS) for t in self.resume_tickets)
        await bounded(self.scenario.concurrency, work)

        rounds = []
        since: str | None = None
        for _ in range(self.scenario.resume_rounds):
            outcome, since = await self.resume_round(since)
            rounds.append(outcome)
        whole, first = Histogram(), Histogram()
        for outcome in rounds:
            if outcome["exact"]:
                whole.add(outcome["all_events_ms"])
                first.add(outcome["subscribed_ms"])
        return {
            "rounds": rounds,
            "exact_rounds": sum(1 for r in rounds if r["exact"]),
            "all_events": whole.summary(),
            "subscribed": first.summary(),
        }

    def rest_report_job(self, tenant: str) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            ticket = await self.rest.report(tenant)
            if ticket is None:
                return 0
            self.owner[ticket] = tenant
            self.resume_tickets.append(ticket)
            return 1

        return run

    async def resume_round(
        self, since: str | None
    ) -> tuple[dict[str, Any], str | None]:
        """Miss the events of `resume_events` steps, then resume from `since`."""
        if since is None:
            since = await self.newest_position()

        before = set(self.rest.sent)
        jobs = (self.steps_job(t, REOPEN_STEPS) for t in self.resume_tickets)
        made = await bounded(self.scenario.concurrency, jobs)
        missed = set(self.rest.sent) - before

        client = self.client(PROBE_TENANT)
        server_pid = self.clock.pids["server"]
        cpu_start = on_cpu_seconds(server_pid)
        try:
            receipts, subscribed, closed = await self.catch_up(
                client, since, len(missed)
            )
        finally:
            await client.close()
        cpu_end = on_cpu_seconds(server_pid)

        replay = check_replay(since, missed, receipts)
        done = receipts[-1].at if len(receipts) >= len(missed) and receipts else None
        outcome = {
            "made": made,
            **asdict(replay),
            "exact": replay.exact and closed is None,
            "closed": closed,
            "subscribed_ms": subscribed,
            "all_events_ms": done * 1000.0 if done is not None else None,
            "server_cpu_ms": (cpu_end - cpu_start) * 1000.0,
        }
        # After a failed round start the next from the newest position, so
        # that each round misses exactly `resume_events` events again.
        next_since = receipts[-1].position if outcome["exact"] else None
        return outcome, next_since

    async def newest_position(self) -> str:
        client = self.client(PROBE_TENANT)
        try:
            await client.open()
            assert client.ws is not None
            await client.ws.send(client.dialect.subscribe("tickets:mine"))
            reply = orjson.loads(await client.expect(client.dialect.is_subscribed))
            return str(reply["position"])
        finally:
            await client.close()

    async def catch_up(
        self, client: Client, since: str, count: int
    ) -> tuple[list[Receipt], float | None, int | None]:
        """Subscribe with `since`; the events until `count` arrived (times relative
        to sending the subscribe), the ms to `subscribed`, the close code if any."""
        await client.open()
        assert client.ws is not None
        frame = {"type": "subscribe", "channel": "tickets:mine", "since": since}
        receipts: list[Receipt] = []
        subscribed: float | None = None
        started = time.perf_counter()
        await client.ws.send(orjson.dumps(frame).decode())
        try:
            async with asyncio.timeout(CATCH_UP_TIMEOUT):
                while len(receipts) < count:
                    raw = await client.ws.recv()
                    now = time.perf_counter() - started
                    reply = orjson.loads(raw)
                    found = read_event(reply)
                    if found is not None:
                        receipts.append(Receipt(*found, reply["id"], now))
                    elif reply.get("type") == "subscribed":
                        subscribed = now * 1000.0
                    elif reply.get("type") in ("reset", "error"):
                        return receipts, subscribed, None
        except ConnectionClosed as closed:
            return receipts, subscribed, closed.rcvd.code if closed.rcvd else 1006
        except TimeoutError:
            pass
        return receipts, subscribed, None


# -- the coordinator ------------------------------------------------------------


def measure_tickets(
    out_dir: Path, scenario: TicketScenario, pin: bool, server_name: str = "hub"
) -> dict[str, Any]:
    """Start Redis and the hub (or one of its `hub-*` variants), run the bench
    in this process, stop both."""
    cores = Cores.plan(pin)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = SERVERS[server_name]
    base: dict[str, Any] = {
        "scenario": scenario.name,
        "profile": "tickets",
        "server": spec.name,
        "label": spec.label,
        "subscribers": scenario.tenants,
        "settings": asdict(scenario),
    }
    redis = RedisProcess(cores.generator, out_dir)
    server: RunningServer | None = None
    own_cores = os.sched_getaffinity(0)
    try:
        env = hub_env(redis.url, HUB_SECRET, f"bench:{time.strftime('%Y%m%d%H%M%S')}:")
        if scenario.send_queue_frames:
            env["HUB_SEND_QUEUE_FRAMES"] = str(scenario.send_queue_frames)
        path = out_dir / "directory.json"
        write_directory(path, scenario.tenants, publishers=1, agents=[AGENT])
        load_directory(env, path)
        path.unlink()
        base["hub_env"] = {
            k: v
            for k, v in env.items()
            if k.startswith("HUB_") and k != "HUB_SECRET_KEY"
        }

        server = RunningServer(
            spec, env, cores.server, out_dir / f"{spec.name}-{scenario.name}.log"
        )
        server.wait_ready()
        if cores.generator:
            os.sched_setaffinity(0, cores.generator)
        pids = {"server": server.pid, "redis": redis.pid, "generator": os.getpid()}
        bench = TicketBench(scenario, f"ws://127.0.0.1:{server.port}", pids, cores)
        return {**base, **run_loop(bench.run())}
    except (ServerFailed, OSError, TimeoutError, httpx.HTTPError) as exc:
        return {**base, "failed": f"{type(exc).__name__}: {exc}"}
    finally:
        os.sched_setaffinity(0, own_cores)
        if server is not None:
            server.stop()
        redis.stop()


def run_loop(main: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    async def wrapped() -> dict[str, Any]:
        return await main

    try:
        import uvloop
    except ImportError:
        return asyncio.run(wrapped())
    return uvloop.run(wrapped())

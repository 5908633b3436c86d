"""`homi-hub demo`: the hub, the demo directory and the actors in one process.

In order: listen on the port (a port in use is a one-line error before
anything starts), serve the app with uvicorn as a task in this event loop (its
lifespan starts the embedded Redis when `REDIS_URL` is unset), load the demo
directory into that Redis, print the pages and the logins, then start the
actors of `hub.demo.actors` and print a progress line every few seconds.

Stopping (Ctrl-C, SIGTERM or `--duration`) runs the other way round: the
actors are cancelled and close their sockets, then uvicorn shuts down, which
closes the remaining connections and stops the embedded Redis. Its data folder
is kept, so the next run finds the tickets of this one. uvicorn's own signal
capture is switched off: it would take SIGINT and SIGTERM away from this
module's handlers and stop the server under the running actors. Here the
actors stop first; a second Ctrl-C skips the graceful wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

import click
import httpx
import orjson
import uvicorn

from hub.app import create_app
from hub.auth.passwords import hash_password
from hub.cli import check_redis, listening_socket, uvicorn_config
from hub.config import Settings
from hub.context import HubContext
from hub.demo import DEMO_SEED, actors, plans
from hub.demo.complaints import compression_for, demo_reports
from hub.demo.directory import (
    AGENT_PASSWORD,
    CARETAKER_PASSWORD,
    TENANT_PASSWORD,
    build_demo_directory,
)
from hub.demo.directory import DirectoryFile as DemoDirectory
from hub.demo.faq import plan_faq
from hub.demo.routes import demo_routes, walk
from hub.directory.model import DirectoryFile

logger = logging.getLogger("hub.demo")

MEAN_REPORT_INTERVAL = 4.0
"""Seconds between reports on average at speed 1 (the real rhythm, compressed)."""
MAX_REPORT_DELAY = 20.0
"""The real gaps have a long tail; a demo quiet for longer than this looks broken."""
PROGRESS_INTERVAL = 5.0
START_TIMEOUT = 60.0
ACTORS_STOP_TIMEOUT = 5.0
GRACEFUL_SHUTDOWN = 5
DIGEST_KEY = "demo:directory-digest"
"""Under the key prefix: which demo directory is loaded, so a restart skips it."""
FAQ_SEEDED_KEY = "demo:faq-seeded"
"""Under the key prefix: set once the demo FAQ is written, so it is written once."""


class _Server(uvicorn.Server):
    """uvicorn without its signal capture; `run_demo` owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_demo(
    settings: Settings, host: str, port: int, duration: float | None, speed: float
) -> None:
    """Run the demo until Ctrl-C, SIGTERM or `duration` seconds after it is live."""
    sock = listening_socket(host, port, settings.socket_send_buffer)
    if settings.redis_url:
        check_redis(settings.redis_url)
    click.echo("Starting the Homi hub demo…")
    try:
        asyncio.run(_Demo(settings, sock, host, port, speed).run(duration))
    except SystemExit as exc:
        # uvicorn exits this way when the app's start-up fails; it has logged why.
        if exc.code not in (None, 0):
            raise click.ClickException(
                "the hub did not start; see the log above"
            ) from None
    finally:
        sock.close()


def _client_host(host: str) -> str:
    """Where this process reaches its own server, and what the URLs show."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


async def seed_faq(
    hub: HubContext, directory: DemoDirectory, reserved: frozenset[str]
) -> int:
    """Write the demo's FAQ (`hub.demo.faq`) through the FAQ service, once per
    Redis; answers how many questions were written now."""
    claimed = await hub.redis.set(
        f"{hub.settings.key_prefix}{FAQ_SEEDED_KEY}", "1", nx=True
    )
    if not claimed:
        return 0
    posts = plan_faq(
        directory["tenants"],
        directory["caretakers"],
        directory["agents"],
        reserved=reserved,
    )
    try:
        for post in posts:
            asker = await hub.directory.user(post.author_id)
            assert asker is not None  # plan_faq picks from the loaded directory
            question = await hub.faq.ask(asker, post.title, post.body)
            for answer in post.answers:
                author = await hub.directory.user(answer.author_id)
                assert author is not None
                await hub.faq.answer(author, question["id"], answer.body)
    except BaseException:
        # Stopped halfway (Ctrl-C, Redis gone): let the next start seed again.
        # What was written stays, so that start may repeat a question or two.
        with contextlib.suppress(Exception):
            await hub.redis.delete(f"{hub.settings.key_prefix}{FAQ_SEEDED_KEY}")
        raise
    return len(posts)


class _Demo:
    def __init__(
        self, settings: Settings, sock: Any, host: str, port: int, speed: float
    ) -> None:
        self.settings = settings
        self.sock = sock
        self.base_url = f"http://{_client_host(host)}:{port}"
        self.speed = speed
        self.stop = asyncio.Event()
        self.app = create_app(settings, tune_gc=True)
        config = uvicorn_config(
            self.app, settings, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN
        )
        self.server = _Server(config)
        self.world: actors.World | None = None

    async def run(self, duration: float | None) -> None:
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._on_signal, signum)
        serving = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        try:
            if not await self._wait_started(serving):
                return
            hub: HubContext = self.app.state.hub
            directory = build_demo_directory()
            await self._load_directory(hub, directory)
            logins = plans.choose_logins(
                directory["tenants"], directory["caretakers"], directory["agents"]
            )
            await seed_faq(hub, directory, logins.reserved_tenants)
            self._print_banner(directory, logins, time.monotonic() - started)
            async with httpx.AsyncClient(base_url=self.base_url, timeout=15.0) as http:
                self.world = actors.World(
                    base_url=self.base_url,
                    ws_url=self.base_url.replace("http", "ws", 1) + "/ws",
                    http=http,
                    tokens=hub.tokens,
                    speed=self.speed,
                )
                self._start_actors(self.world, directory, logins)
                await self._resume_followers(self.world, logins)
                await self._until_stopped(serving, duration)
                await self._stop_actors(self.world)
        finally:
            self.server.should_exit = True
            await serving
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        where = (
            f" in {self.settings.data_dir}"
            if self.settings.redis_url is None
            else " in Redis"
        )
        click.echo(f"Demo stopped. Tickets are kept{where}; run it again to carry on.")

    def _on_signal(self, signum: int) -> None:
        if self.stop.is_set() and signum == signal.SIGINT:
            # A second Ctrl-C: stop waiting for connections to close.
            self.server.force_exit = True
        self.stop.set()

    async def _wait_started(self, serving: asyncio.Task[None]) -> bool:
        """True once uvicorn serves; False if the demo was stopped first."""
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if serving.done():
                serving.result()
                raise click.ClickException("the hub did not start; see the log above")
            if self.stop.is_set():
                return False
            if time.monotonic() > deadline:
                raise click.ClickException(
                    f"the hub did not start in {START_TIMEOUT:.0f} s"
                )
            await asyncio.sleep(0.02)
        return True

    async def _load_directory(self, hub: HubContext, directory: DemoDirectory) -> None:
        """Load the demo directory unless this very one is loaded already.

        Each distinct password is hashed once (Argon2 is slow on purpose, and
        the demo has three passwords for some 330 users).
        """
        text = orjson.dumps(directory, option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(text).hexdigest()
        key = f"{self.settings.key_prefix}{DIGEST_KEY}"
        stored = await hub.redis.get(key)
        if isinstance(stored, bytes) and stored.decode() == digest:
            return
        click.echo("Loading the demo directory…")
        passwords = (TENANT_PASSWORD, CARETAKER_PASSWORD, AGENT_PASSWORD)
        hashes = {p: await asyncio.to_thread(hash_password, p) for p in passwords}
        data: dict[str, Any] = orjson.loads(text)
        for group in ("caretakers", "tenants", "agents"):
            for user in data[group]:
                user["password_hash"] = hashes[user.pop("password")]
        await hub.directory.load(DirectoryFile.model_validate(data))
        await hub.redis.set(key, digest)

    def _print_banner(
        self, directory: DemoDirectory, logins: plans.Logins, took: float
    ) -> None:
        names = {d["id"]: d["name"] for d in directory["districts"]}
        caretakers = {c["id"]: c["name"] for c in directory["caretakers"]}
        agents = {a["id"]: a["name"] for a in directory["agents"]}
        url = self.base_url
        first, last = min(logins.reserved_tenants), max(logins.reserved_tenants)
        lines = [
            "",
            f"Homi hub demo is live (ready in {took:.1f} s): "
            f"{len(directory['districts'])} Rotterdam districts, "
            f"{len(directory['caretakers'])} caretakers, "
            f"{len(directory['tenants'])} tenants.",
            "",
            "Open in a browser:",
            f"  tenant page      {url}/tenant",
            f"  caretaker page   {url}/caretaker",
            f"  dashboard        {url}/dashboard",
            "",
            "Log in as (the demo's own actors never use these accounts):",
        ]
        for tenant_id, district in logins.tenants:
            lines.append(
                f"  tenant      {tenant_id:<8} password {TENANT_PASSWORD:<15} "
                f"lives in {names[district]}"
            )
        lines += [
            f"              (or any tenant {first} to {last}: "
            "the first of each district)",
            f"  caretaker   {logins.caretaker:<8} password {CARETAKER_PASSWORD:<15} "
            f"{caretakers[logins.caretaker]}, {names[logins.caretaker_district]}",
            "              (the demo does not drive this caretaker: its tickets wait "
            "for you)",
            f"  agent       {logins.agent:<8} password {AGENT_PASSWORD:<15} "
            f"{agents[logins.agent]}, customer service",
            "",
            "Caretakers walk routes derived from real GPS traces recorded elsewhere",
            "(not in Rotterdam) and moved onto their district; reports follow real",
            "public housing complaints. Sources: hub/demo/data/README.md.",
            f"Speed {self.speed:g}x. Stop with Ctrl-C.",
            "",
        ]
        click.echo("\n".join(lines))

    def _start_actors(
        self, world: actors.World, directory: DemoDirectory, logins: plans.Logins
    ) -> None:
        routes = demo_routes()
        featured = {
            c["id"]
            for c in directory["caretakers"]
            if set(c["districts"]) & {d for _, d in logins.tenants}
        }
        driven = [c for c in directory["caretakers"] if c["id"] != logins.caretaker]
        starts = plans.first_phases([c["id"] for c in driven], featured)
        for entry in driven:
            caretaker_id = entry["id"]
            shifts = plans.shift_plan(
                caretaker_id,
                starts[caretaker_id],
                may_go_off=caretaker_id not in featured,
            )
            route = routes[entry["districts"][0]]
            caretaker = actors.Caretaker(
                world,
                caretaker_id,
                walk(route, speedup=self.speed),
                shifts,
                random.Random(f"{DEMO_SEED}:{caretaker_id}"),
            )
            world.spawn(f"caretaker {caretaker_id}", caretaker.run)

        tenants = [
            actors.Tenant(t["id"], t["district"])
            for t in directory["tenants"]
            if t["id"] not in logins.reserved_tenants
        ]
        reports = demo_reports(
            DEMO_SEED,
            compression_for(MEAN_REPORT_INTERVAL / self.speed),
            mix="even",
            max_delay=MAX_REPORT_DELAY / self.speed,
        )
        reporters = actors.Reporters(world, tenants, reports, random.Random(DEMO_SEED))
        world.spawn("tenants", reporters.run)

        demo_agent = next(
            a["id"] for a in directory["agents"] if a["id"] != logins.agent
        )
        agent = actors.Agent(world, demo_agent, random.Random(f"{DEMO_SEED}:agent"))
        world.spawn(f"agent {demo_agent}", agent.run)
        self.demo_agent = demo_agent

    async def _resume_followers(
        self, world: actors.World, logins: plans.Logins
    ) -> None:
        """Tenants of an earlier run pick up where they were: tickets waiting
        for their answer (advice given, repair done) are followed again."""
        token = world.token(self.demo_agent, "agent")
        for status in ("advised", "resolved"):
            try:
                response = await world.call(
                    "resume",
                    "GET",
                    "/api/tickets",
                    token,
                    params={"status": status, "limit": 100},
                )
            except actors.EXPECTED_ERRORS as exc:
                logger.warning("demo: cannot resume earlier tickets (%s)", exc)
                return
            for ticket in response.json()["tickets"]:
                if ticket["tenant"] in logins.reserved_tenants:
                    continue
                tenant = actors.Tenant(ticket["tenant"], ticket["district"])
                follower = actors.Follower(
                    world, tenant, ticket["id"], random.Random(ticket["id"])
                )
                world.spawn(f"tenant {tenant.id}", follower.run)

    async def _until_stopped(
        self, serving: asyncio.Task[None], duration: float | None
    ) -> None:
        """Print progress until a signal, the duration, or the server ending."""
        assert self.world is not None
        began = time.monotonic()
        token = self.world.token(self.demo_agent, "agent")
        stop = asyncio.create_task(self.stop.wait())
        try:
            while not stop.done() and not serving.done():
                left = (
                    None if duration is None else duration - (time.monotonic() - began)
                )
                if left is not None and left <= 0:
                    return
                wait = (
                    PROGRESS_INTERVAL if left is None else min(PROGRESS_INTERVAL, left)
                )
                await asyncio.wait(
                    {stop, serving}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                if not stop.done() and not serving.done():
                    await self._print_progress(time.monotonic() - began, token)
        finally:
            stop.cancel()

    async def _print_progress(self, elapsed: float, token: str) -> None:
        assert self.world is not None
        counts: dict[str, int] | None = None
        with contextlib.suppress(*actors.EXPECTED_ERRORS):
            response = await self.world.call(
                "counts", "GET", "/api/tickets/counts", token
            )
            counts = {}
            for per_status in response.json()["districts"].values():
                for status, count in per_status.items():
                    counts[status] = counts.get(status, 0) + count
        phases = list(self.world.stats.caretakers.values())
        click.echo(
            plans.progress_line(
                elapsed,
                len(phases),
                phases.count("work"),
                phases.count("break"),
                phases.count("off"),
                self.world.stats.reports,
                counts,
            )
        )
        sys.stdout.flush()

    async def _stop_actors(self, world: actors.World) -> None:
        tasks = list(world.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=ACTORS_STOP_TIMEOUT)

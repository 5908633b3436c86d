"""A step answered 2xx survives SIGKILL of the hub and a crash of Redis.

The test's own Redis runs with the append-only file on and fsync on every
write, as the embedded one does (`docs/tickets.md`, Durability). Between two
steps the hub process is killed and Redis is killed and started again; a new
hub process then carries on where the old one stopped.
"""

from __future__ import annotations

import itertools
import signal

from tests.conftest import RedisServer
from tests.harness import HubProcess, load_directory
from tests.tickets.wire import Follower, Rest, position


async def test_a_step_survives_hub_and_redis_crashes_and_positions_continue(
    private_redis: RedisServer, key_prefix: str
) -> None:
    await load_directory(private_redis.url, key_prefix)
    before = await HubProcess(private_redis.url, key_prefix).start()
    after = HubProcess(private_redis.url, key_prefix)
    rest = Rest(before.hub)
    try:
        # Tokens are signed, not stored: they outlive both crashes.
        for user_id in ("100001", "k1", "w1"):
            await rest.token(user_id)
        tenant = await Follower.connect(before.hub, rest.tokens["100001"])
        await tenant.subscribe("tickets:mine")
        ticket = await rest.report(before.hub, "100001")
        ticket_id = ticket["id"]
        assigned = await rest.step(
            before.hub, "k1", ticket_id, to="assigned", severity="urgent"
        )
        await tenant.event_of_version(ticket_id, 2)
        since = tenant.last["tickets:mine"]

        before.kill(signal.SIGKILL)
        private_redis.restart(signal.SIGKILL)
        await after.start()
        hub = after.hub

        detail = await rest.ticket(hub, "100001", ticket_id)
        assert (detail["status"], detail["version"]) == ("assigned", 2)
        assert detail["timeline"][-1] == assigned["transition"]
        assert detail["position"] == since

        accepted = await rest.step(hub, "w1", ticket_id, to="accepted")
        back = await Follower.connect(hub, rest.tokens["100001"])
        await back.subscribe("tickets:mine", since)
        missed = await back.next_frame()
        assert missed["type"] == "event", missed
        assert missed["data"]["transition"] == accepted["transition"]
        assert position(missed["id"]) > position(since)
        await rest.step(hub, "w1", ticket_id, to="in_progress")
        live = await back.next_frame()
        assert live["data"]["transition"]["action"] == "start"
        assert back.versions("tickets:mine") == [3, 4]

        # The ticket's whole stream, from the start: every step once, in order,
        # its positions rising across the crash.
        reader = await Follower.connect(hub, rest.tokens["100001"])
        await reader.subscribe(f"ticket:{ticket_id}", "0-0")
        while len(reader.events) < 4:
            await reader.next_frame()
        timeline = (await rest.ticket(hub, "100001", ticket_id))["timeline"]
        assert [e["data"]["transition"] for e in reader.events] == timeline
        ids = [position(event["id"]) for event in reader.events]
        assert all(x < y for x, y in itertools.pairwise(ids))

        # Ticket numbers count on, and the counts kept up with every step.
        second = await rest.report(hub, "100001")
        assert second["number"] == ticket["number"] + 1
        counts = await rest.call(hub, "k1", "GET", "/api/tickets/counts")
        noord = counts.json()["districts"]["noord"]
        assert (noord["in_progress"], noord["submitted"], noord["assigned"]) == (
            1,
            1,
            0,
        )
    finally:
        await rest.aclose()
        await before.close()
        await after.close()

"""Operations: /healthz, /readyz, /metrics counting what happened, and a
graceful shutdown on SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from hub.errors import CloseCode
from tests.conftest import TIMEOUT, RedisServer
from tests.harness import (
    Hub,
    HubProcess,
    eventually,
    hub_settings,
    load_directory,
    running_hub,
)
from tests.test_embedded_redis import redis_servers_in


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_count_a_scenario(hub: Hub) -> None:
    tenant = await hub.connect("100001")
    await tenant.request({"type": "subscribe", "channel": "district:noord"})
    caretaker = await hub.connect("w1")
    await caretaker.request(
        {"type": "presence", "on_duty": True, "status": "available"}
    )
    await tenant.expect(lambda f: f.get("kind") == "presence")
    await tenant.request({"type": "subscribe", "channel": "dashboard"})  # forbidden

    token = await hub.token("100001")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        auth = {"Authorization": f"Bearer {token}"}
        created = await http.post(
            "/api/tickets",
            headers=auth,
            json={
                "category": "leak",
                "description": "Lekkage bij de wc",
                "place": "wc",
            },
        )
        assert created.status_code == 201
        ticket_id = created.json()["id"]
        cancelled = await http.post(
            f"/api/tickets/{ticket_id}/transitions",
            headers=auth,
            json={"to": "cancelled"},
        )
        assert cancelled.status_code == 200, cancelled.text
        assert (await http.get("/healthz")).json() == {"status": "alive"}
        assert (await http.get("/readyz")).status_code == 200
        metrics = samples((await http.get("/metrics")).text)

    assert metrics[("homi_connections", (("role", "tenant"),))] == 1
    assert metrics[("homi_connections", (("role", "caretaker"),))] == 1
    assert metrics[("homi_subscriptions", (("kind", "district"),))] == 1
    assert metrics[("homi_frames_in_total", (("type", "presence"),))] == 1
    assert metrics[("homi_frames_in_total", (("type", "subscribe"),))] == 2
    assert metrics[("homi_error_frames_total", (("code", "forbidden"),))] == 1
    assert metrics[("homi_frames_out_total", ())] >= 5
    assert metrics[("homi_redis_messages_total", ())] >= 1
    assert metrics[("homi_ticket_transitions_total", (("to", "cancelled"),))] == 1
    assert metrics[("homi_http_request_seconds_count", (("route", "login"),))] >= 1


def embedded_redis_url(data_dir: Path) -> str:
    """The URL of the embedded Redis a hub started in `data_dir`."""
    return str(orjson.loads((data_dir / "redis.json").read_bytes())["url"])


@pytest.mark.parametrize("redis_kind", ["own", "embedded"])
async def test_sigterm_closes_every_socket_with_1012_and_exits_cleanly(
    redis_server: RedisServer, key_prefix: str, tmp_path: Path, redis_kind: str
) -> None:
    data_dir = tmp_path / "data"
    embedded = redis_kind == "embedded"
    process = HubProcess(
        None if embedded else redis_server.url, key_prefix, HUB_DATA_DIR=str(data_dir)
    )
    try:
        # The embedded Redis exists only once the hub runs: load users after.
        if embedded:
            await process.start()
            await load_directory(embedded_redis_url(data_dir), key_prefix)
        else:
            await load_directory(redis_server.url, key_prefix)
            await process.start()
        hub = process.hub
        tenant = await hub.connect("100001")
        await tenant.request({"type": "subscribe", "channel": "district:noord"})
        caretaker = await hub.connect("w1")
        await caretaker.request(
            {"type": "presence", "on_duty": True, "status": "available"}
        )
        agent = await hub.connect("k1")
        await agent.request({"type": "subscribe", "channel": "dashboard"})
        if embedded:
            assert len(redis_servers_in(data_dir)) == 1

        assert process.process is not None
        process.process.send_signal(signal.SIGTERM)

        # 1012 "service restart": each client knows to reconnect elsewhere.
        for client in (tenant, caretaker, agent):
            assert await client.closed_with(TIMEOUT * 2) == CloseCode.SERVICE_RESTART
        assert process.process.wait(TIMEOUT * 3) == 0
        assert "Traceback" not in process.stderr()
        # The operator was told where the hub listened.
        assert f"listening on http://127.0.0.1:{process.port}" in process.stderr()
        if embedded:
            # Stopped by the hub itself, not left for the parent-death signal.
            assert not redis_servers_in(data_dir)
        else:
            # The operator's Redis is not the hub's to stop.
            assert redis.Redis.from_url(redis_server.url).ping()
    finally:
        await process.close()
        for leftover in redis_servers_in(data_dir):
            leftover.kill()


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def read_metrics(hub: Hub) -> Samples:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def grew(after: Samples, before: Samples, name: str, **labels: str) -> float:
    """How much one sample grew between two reads (absent counts as 0)."""
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_show_slow_client_redis_restart_and_latencies(
    private_redis: RedisServer, key_prefix: str
) -> None:
    await load_directory(private_redis.url, key_prefix)
    settings = hub_settings(
        private_redis.url,
        key_prefix,
        send_queue_frames=16,
        frames_per_second=10_000,
        frame_burst=10_000,
        # Only the restart below may count as a reconnect, not a canary that
        # was late on a busy machine.
        canary_timeout=TIMEOUT * 2,
    )
    async with running_hub(settings) as hub:
        before = await read_metrics(hub)

        # A tenant that stops reading (a tiny receive window, reading paused).
        stuck = await hub.connect_slow("100001")
        await stuck.request({"type": "subscribe", "channel": "district:noord"})
        stuck.connection.transport.pause_reading()

        healthy = await hub.connect("100002")
        await healthy.request({"type": "subscribe", "channel": "district:noord"})
        caretaker = await hub.connect("w1")
        updates = 1000
        padding = "x" * 190  # big frames fill the stuck client's buffers sooner
        for n in range(updates):
            await caretaker.send(
                {
                    "type": "presence",
                    "on_duty": True,
                    "status": "busy",
                    "activity": f"{n:05d}{padding}",
                }
            )
        for n in range(updates):
            event = await healthy.expect(lambda f: f.get("kind") == "presence")
            assert event["data"]["activity"].startswith(f"{n:05d}")
        stuck.connection.transport.resume_reading()
        assert await stuck.closed_with() == CloseCode.TOO_SLOW

        # A ticket through two transitions, by REST.
        users = {uid: await hub.token(uid) for uid in ("100002", "k1", "w1")}
        async with httpx.AsyncClient(base_url=hub.url) as http:

            async def post(uid: str, path: str, body: dict[str, str]) -> Any:
                auth = {"Authorization": f"Bearer {users[uid]}"}
                response = await http.post(path, headers=auth, json=body)
                assert response.status_code in (200, 201), response.text
                return response.json()

            ticket = await post(
                "100002",
                "/api/tickets",
                {"category": "leak", "description": "Lekkage", "place": "wc"},
            )
            moves = f"/api/tickets/{ticket['id']}/transitions"
            await post("k1", moves, {"to": "assigned", "severity": "normal"})
            await post("w1", moves, {"to": "accepted"})

        middle = await read_metrics(hub)
        assert grew(middle, before, "homi_slow_client_disconnects_total") == 1
        assert grew(middle, before, "homi_closes_total", code="4429") == 1
        assert grew(middle, before, "homi_frames_in_total", type="presence") == updates
        assert grew(middle, before, "homi_frames_in_total", type="subscribe") == 2
        # Every handled frame and request lands in its latency histogram.
        frame_latency = "homi_frame_handling_seconds_count"
        assert grew(middle, before, frame_latency, type="presence") == updates
        assert grew(middle, before, frame_latency, type="subscribe") == 2
        request_latency = "homi_http_request_seconds_count"
        assert grew(middle, before, request_latency, route="tickets_create") == 1
        assert grew(middle, before, request_latency, route="ticket_transition") == 2
        transitions = "homi_ticket_transitions_total"
        assert grew(middle, before, transitions, to="assigned") == 1
        assert grew(middle, before, transitions, to="accepted") == 1
        assert grew(middle, before, "homi_redis_reconnects_total") == 0

        # Redis restarts under the hub: its listener reconnects, once.
        private_redis.restart()

        async def reconnected() -> bool:
            now = await read_metrics(hub)
            return grew(now, middle, "homi_redis_reconnects_total") == 1

        await eventually(reconnected, timeout=TIMEOUT * 3)
        after = await read_metrics(hub)
        assert grew(after, middle, "homi_redis_reconnects_total") == 1
        assert grew(after, middle, "homi_slow_client_disconnects_total") == 0
        assert after[("homi_connections", (("role", "tenant"),))] == 1

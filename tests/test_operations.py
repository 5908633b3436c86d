"""Operations: /healthz, /readyz, /metrics counting what happened, and a
graceful shutdown on SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import orjson
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from hub.errors import CloseCode
from tests.conftest import TIMEOUT, RedisServer
from tests.harness import Hub, HubProcess, load_directory
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

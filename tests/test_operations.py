"""Operations endpoints: /healthz, /readyz, /metrics counting what happened."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import Hub


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

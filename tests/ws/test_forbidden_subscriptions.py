"""End to end: subscriptions a user may not hold are refused with the code the
protocol names, and the connection keeps working after each refusal."""

from __future__ import annotations

import httpx
import pytest

from tests.harness import Hub

REPORT = {
    "category": "leak",
    "description": "Lekkage onder het aanrecht",
    "place": "keuken",
    "preferred_times": ["ma ochtend"],
}


async def report_ticket(hub: Hub, tenant_id: str) -> str:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        response = await http.post(
            "/api/tickets",
            json=REPORT,
            headers={"Authorization": f"Bearer {await hub.token(tenant_id)}"},
        )
    response.raise_for_status()
    return str(response.json()["id"])


# (user, channel, code); NEIGHBOURS_TICKET and SOUTH_TICKET stand for tickets
# reported by tenant 100002 (noord) and tenant 200001 (zuid).
REFUSALS = {
    "w1": [  # caretaker of noord
        ("district:zuid", "forbidden"),
        ("dashboard", "forbidden"),
        ("tickets:district:zuid", "forbidden"),
        ("ticket:SOUTH_TICKET", "not_found"),
    ],
    "100001": [  # tenant of noord
        ("district:zuid", "forbidden"),
        ("tickets:district:noord", "forbidden"),
        ("tickets:district:zuid", "forbidden"),
        ("dashboard", "forbidden"),
        ("ticket:NEIGHBOURS_TICKET", "not_found"),
        ("ticket:SOUTH_TICKET", "not_found"),
        ("ticket:no-such-ticket", "not_found"),
    ],
    "k1": [  # customer service
        ("tickets:mine", "forbidden"),
        ("district:nowhere", "not_found"),
        ("tickets:district:nowhere", "not_found"),
        ("ticket:no-such-ticket", "not_found"),
    ],
}


@pytest.mark.parametrize("user", sorted(REFUSALS))
async def test_forbidden_subscriptions_are_refused_and_the_connection_lives(
    hub: Hub, user: str
) -> None:
    tickets = {
        "NEIGHBOURS_TICKET": await report_ticket(hub, "100002"),
        "SOUTH_TICKET": await report_ticket(hub, "200001"),
    }
    client = await hub.connect(user)
    for channel, code in REFUSALS[user]:
        for placeholder, ticket_id in tickets.items():
            channel = channel.replace(placeholder, ticket_id)
        reply = await client.request({"type": "subscribe", "channel": channel})
        assert (reply["type"], reply.get("code")) == ("error", code), channel
        assert (await client.request({"type": "ping"}))["type"] == "pong"

    # Refusals leave nothing half-subscribed: a channel the user may have works.
    allowed = "dashboard" if user == "k1" else "tickets:mine"
    subscribed = await client.request({"type": "subscribe", "channel": allowed})
    assert subscribed["type"] == "subscribed"
    assert hub.app.state.hub.broker.topic_counts().keys() == {
        allowed if user == "k1" else f"tickets:mine#{user}"
    }

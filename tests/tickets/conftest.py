"""A ticket service on the suite's Redis, with a small directory loaded."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from hub.config import Settings
from hub.directory.model import DirectoryFile, Role, User
from hub.directory.store import DirectoryStore
from hub.tickets.service import TicketService

DIRECTORY: dict[str, Any] = {
    "districts": [
        {"id": "noord", "name": "Noord", "number": 6},
        {"id": "zuid", "name": "Zuid", "number": 10},
    ],
    "caretakers": [
        {"id": "w1", "name": "Sanne", "password_hash": "x", "districts": ["noord"]},
        {"id": "w1b", "name": "Joris", "password_hash": "x", "districts": ["noord"]},
        {"id": "w2", "name": "Ahmed", "password_hash": "x", "districts": ["zuid"]},
    ],
    "tenants": [
        {"id": "100001", "name": "Jansen", "password_hash": "x", "district": "noord"},
        {"id": "100002", "name": "Peters", "password_hash": "x", "district": "noord"},
        {"id": "200001", "name": "Öztürk", "password_hash": "x", "district": "zuid"},
    ],
    "agents": [{"id": "k1", "name": "Kim", "password_hash": "x"}],
}

TENANT = User(id="100001", role=Role.TENANT, name="Jansen", districts=("noord",))
NEIGHBOUR = User(id="100002", role=Role.TENANT, name="Peters", districts=("noord",))
SOUTH_TENANT = User(id="200001", role=Role.TENANT, name="Öztürk", districts=("zuid",))
CARETAKER = User(id="w1", role=Role.CARETAKER, name="Sanne", districts=("noord",))
COLLEAGUE = User(id="w1b", role=Role.CARETAKER, name="Joris", districts=("noord",))
SOUTH_CARETAKER = User(id="w2", role=Role.CARETAKER, name="Ahmed", districts=("zuid",))
AGENT = User(id="k1", role=Role.AGENT, name="Kim")


def make_service(redis: Redis, prefix: str, **settings: Any) -> TicketService:
    return TicketService(redis, Settings(key_prefix=prefix, **settings))


@pytest.fixture
async def service(redis_client: Redis, key_prefix: str) -> TicketService:
    await DirectoryStore(redis_client, key_prefix).load(
        DirectoryFile.model_validate(DIRECTORY)
    )
    return make_service(redis_client, key_prefix)

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import RedisServer
from tests.harness import Hub, hub_settings, load_directory, running_hub


@pytest.fixture
async def hub(redis_server: RedisServer, key_prefix: str) -> AsyncIterator[Hub]:
    await load_directory(redis_server.url, key_prefix)
    async with running_hub(hub_settings(redis_server.url, key_prefix)) as running:
        yield running

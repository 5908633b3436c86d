"""The collector policy: applied by the hub's own process, never by a host."""

from __future__ import annotations

import gc
import subprocess
import sys

import httpx

from tests.conftest import RedisServer
from tests.harness import hub_settings, running_hub


def test_startup_objects_are_frozen_and_young_collections_are_rarer() -> None:
    # In a process of its own: freezing is for the life of a process.
    script = (
        "import gc, hub.app\n"
        "from hub.gcpolicy import YOUNG_THRESHOLD, settle_after_startup\n"
        "before = gc.get_threshold()\n"
        "settle_after_startup()\n"
        "after = gc.get_threshold()\n"
        "assert after == (YOUNG_THRESHOLD, *before[1:]), (before, after)\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


async def test_a_hub_hosted_in_another_process_leaves_its_collector_alone(
    redis_server: RedisServer, key_prefix: str
) -> None:
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    # running_hub returns once the app's startup (where the policy would run)
    # is done and the hub answers.
    async with running_hub(hub_settings(redis_server.url, key_prefix)) as hub:
        async with httpx.AsyncClient(base_url=hub.url) as http:
            assert (await http.get("/readyz")).status_code == 200
        assert gc.get_threshold() == threshold
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == frozen

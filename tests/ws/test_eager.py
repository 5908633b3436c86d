"""`hub.ws.eager`: an awaitable run in the caller until it first waits."""

from __future__ import annotations

import asyncio

import pytest

from hub.ws import eager
from tests.conftest import TIMEOUT


async def test_awaitable_that_never_waits_is_done_when_start_returns() -> None:
    done: list[str] = []

    async def write() -> None:
        done.append("written")

    assert eager.start(write()) is None
    assert done == ["written"]


async def test_error_before_waiting_reaches_the_caller() -> None:
    async def refuse() -> None:
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        eager.start(refuse())


async def test_awaitable_that_waits_is_finished_by_the_task_awaiting_the_rest() -> None:
    writable = asyncio.Event()
    steps: list[str] = []

    async def write() -> None:
        steps.append("before")
        await writable.wait()
        steps.append("after")

    rest = eager.start(write())
    assert rest is not None
    assert steps == ["before"]

    task = asyncio.create_task(_finish(rest))
    await asyncio.sleep(0)
    assert steps == ["before"]
    writable.set()
    await asyncio.wait_for(task, TIMEOUT)
    assert steps == ["before", "after"]


async def test_cancelling_the_task_cancels_the_rest() -> None:
    cleaned_up = asyncio.Event()

    async def write() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned_up.set()

    rest = eager.start(write())
    assert rest is not None
    task = asyncio.create_task(_finish(rest))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned_up.is_set()


async def _finish(rest: eager.Unfinished) -> None:
    await rest

"""`hub.ws.server_protocol`: the slim queue and event under each connection.

The protocol itself runs under every websocket test (the hub serves through
it); these check the two small pieces it swaps in for asyncio's, which must
behave as uvicorn expects of `asyncio.Queue` and `asyncio.Event`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from hub.ws import eager
from hub.ws.server_protocol import LeanWebSocketProtocol, SlimEvent, SlimQueue
from tests.conftest import TIMEOUT


async def test_queue_hands_items_out_in_order_to_a_waiting_reader() -> None:
    queue = SlimQueue()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)  # the reader is waiting now
    queue.put_nowait("connect")
    queue.put_nowait("receive")
    assert await asyncio.wait_for(reader, TIMEOUT) == "connect"
    assert queue.qsize() == 1
    assert await queue.get() == "receive"
    assert queue.empty()


async def test_cancelled_reader_loses_nothing_for_the_next_one() -> None:
    queue = SlimQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    first.cancel()
    queue.put_nowait("disconnect")
    assert await asyncio.wait_for(second, TIMEOUT) == "disconnect"
    assert first.cancelled()
    assert queue.empty()


async def test_two_readers_each_get_one_item() -> None:
    queue = SlimQueue()
    readers = [asyncio.ensure_future(queue.get()) for _ in range(2)]
    await asyncio.sleep(0)
    queue.put_nowait(1)
    queue.put_nowait(2)
    got = await asyncio.wait_for(asyncio.gather(*readers), TIMEOUT)
    assert sorted(got) == [1, 2]


async def test_event_wait_does_not_suspend_while_set() -> None:
    # The hub's write-at-once path counts on this: a send to a client that
    # keeps up finishes inside `eager.start`.
    event = SlimEvent()
    event.set()

    async def send() -> None:
        await event.wait()

    assert eager.start(send()) is None


async def test_event_wakes_every_waiter_when_set_and_blocks_when_cleared() -> None:
    event = SlimEvent()
    waiters = [asyncio.ensure_future(event.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    event.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), TIMEOUT) == [True] * 3
    event.clear()
    assert not event.is_set()
    late = asyncio.ensure_future(event.wait())
    await asyncio.sleep(0)
    assert not late.done()
    late.cancel()


async def test_connections_that_arrive_together_are_not_pinged_together() -> None:
    # A hub that restarts gets every client back in the same second; pinged
    # in step, they would cost it a burst of CPU every interval for ever.
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("no request reaches the app here")

    config = uvicorn.Config(app, ws_ping_interval=20.0)
    config.load()
    loop = asyncio.get_running_loop()
    delays = []
    for _ in range(200):
        connection = LeanWebSocketProtocol(
            config=config, server_state=ServerState(), app_state={}
        )
        connection.start_keepalive()
        assert connection.ping_timer is not None
        delays.append(connection.ping_timer.when() - loop.time())
        connection.ping_timer.cancel()
    # The first pings fall across the second half of the interval, not on one
    # instant, and none comes later than a full interval.
    assert all(9.9 <= delay <= 20.0 for delay in delays), (min(delays), max(delays))
    assert max(delays) - min(delays) > 5.0
    assert len({round(delay, 1) for delay in delays}) > 40


async def test_no_pings_when_the_interval_is_off() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("no request reaches the app here")

    config = uvicorn.Config(app, ws_ping_interval=None)
    config.load()
    connection = LeanWebSocketProtocol(
        config=config, server_state=ServerState(), app_state={}
    )
    connection.start_keepalive()
    assert connection.ping_timer is None

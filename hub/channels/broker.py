"""The broker: one Redis pub/sub connection per process, fanned out locally.

Hub processes are stateless and meet in Redis. Each process holds one Redis
subscription per topic that has local subscribers (reference counted:
subscribed on the first join, unsubscribed when the last one leaves) and one
listener task that reads every message once, prepares the outgoing frame once
and hands that same object to each local subscriber.

The listener is supervised. When its connection breaks (Redis restarted, the
connection killed) it reconnects with backoff, resubscribes every topic and
asks each subscriber to resynchronise, since messages published while it was
away are gone. When its connection stays open but stops delivering (a
half-open TCP connection, a proxy that froze), the canary notices: every
process publishes to its own canary topic and must hear it back within
`canary_timeout`; if not, the process reports not ready and reconnects.

Topic names carry the client channel before an optional ``#qualifier``
(``district:noord#public``, ``tickets:mine#100042``): every subscriber of a
topic sees it under the same channel name, so one prepared frame fits all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import msgpack
import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from hub.channels.codec import PreparedFrame
from hub.channels.positions import Position, parse_position
from hub.channels.streams import pubsub_channel
from hub.errors import Unavailable

logger = logging.getLogger("hub.channels.broker")

SUBSCRIBE_TIMEOUT = 5.0
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0
LISTEN_POLL = 1.0
BATCH_MAX = 64
"""Messages already read from Redis that are dispatched together at most."""

REDIS_CONNECTION_ERRORS = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    OSError,
)


class ListenerDeaf(Exception):
    """The pub/sub connection is open but its own canary no longer arrives."""


class Subscriber(Protocol):
    """What the broker hands messages to; one per subscription."""

    def deliver(self, frame: PreparedFrame, position: Position) -> None:
        """Take one event. Must not block: queue it and return."""

    def deliver_many(self, events: list[tuple[PreparedFrame, Position]]) -> None:
        """Take several events of one topic, in order, that arrived together."""

    def resync(self) -> None:
        """Messages may have been lost; fetch the current state again."""


def channel_of(topic: str) -> str:
    """The client-facing channel name of a topic."""
    return topic.partition("#")[0]


def event_frame(topic: str, position_id: str, kind: str, data: Any) -> PreparedFrame:
    return PreparedFrame(
        {
            "type": "event",
            "channel": channel_of(topic),
            "id": position_id,
            "kind": kind,
            "data": data,
        }
    )


class Broker:
    """Joins local subscribers to topics and keeps the listener alive."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        listener_redis: Redis | None = None,
        canary_interval: float = 2.0,
        canary_timeout: float = 5.0,
        on_reconnect: Callable[[], None] | None = None,
        on_message: Callable[[], None] | None = None,
        on_fanout: Callable[[int], None] | None = None,
    ) -> None:
        self._redis = redis
        # The listener's client must not retry on its own: redis-py would then
        # reconnect and resubscribe silently, and the messages published in
        # between would be lost without anyone resynchronising.
        self._listener_redis = listener_redis or redis
        self._prefix = prefix
        self._pubsub_prefix = pubsub_channel(prefix, "")
        self._canary_interval = canary_interval
        self._canary_timeout = canary_timeout
        self._on_reconnect = on_reconnect or (lambda: None)
        self._on_message = on_message or (lambda: None)
        self._on_fanout = on_fanout or (lambda count: None)

        self.node_id = uuid.uuid4().hex[:12]
        self._canary_topic = f"canary#{self.node_id}"
        self._subscribers: dict[str, dict[Subscriber, None]] = {}
        self._unconfirmed: dict[str, int] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._pubsub: PubSub | None = None
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_canary_heard = time.monotonic()
        self._closing = False
        self._deaf = False

    # -- state ---------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Subscribed and proven to receive within the canary timeout."""
        if not self._connected.is_set():
            return False
        return time.monotonic() - self._last_canary_heard < self._canary_timeout

    def topic_counts(self) -> dict[str, int]:
        """Local subscriber count per topic (for metrics and tests)."""
        return {topic: len(subs) for topic, subs in self._subscribers.items()}

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._supervise(), name="broker-listener"),
            asyncio.create_task(self._canary(), name="broker-canary"),
        ]
        try:
            await asyncio.wait_for(self._connected.wait(), SUBSCRIBE_TIMEOUT)
        except TimeoutError:
            # Not fatal: the supervisor keeps trying and /readyz says not ready.
            logger.warning("broker not connected to Redis yet; retrying")

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self._drop_pubsub()

    # -- joining and leaving -------------------------------------------------

    async def join(self, topic: str, subscriber: Subscriber) -> None:
        """Start delivering `topic` to `subscriber`; returns once Redis confirms.

        Everything published after this returns reaches the subscriber.
        """
        subscribers = self._subscribers.get(topic)
        if subscribers is None:
            subscribers = self._subscribers[topic] = {}
            self._confirmed[topic] = asyncio.Event()
            if self._pubsub is not None and self._connected.is_set():
                await self._send_subscribe([topic])
        subscribers[subscriber] = None
        await self._wait_confirmed(topic, subscriber)

    async def leave(self, topic: str, subscriber: Subscriber) -> None:
        """Stop delivering `topic` to `subscriber`; leaving twice is harmless."""
        subscribers = self._subscribers.get(topic)
        if subscribers is None or subscriber not in subscribers:
            return
        del subscribers[subscriber]
        if subscribers:
            return
        del self._subscribers[topic]
        self._confirmed.pop(topic, None)
        if self._pubsub is not None and self._connected.is_set():
            with contextlib.suppress(*REDIS_CONNECTION_ERRORS):
                await self._pubsub.unsubscribe(self._pubsub_prefix + topic)

    async def _wait_confirmed(self, topic: str, subscriber: Subscriber) -> None:
        confirmed = self._confirmed.get(topic)
        if confirmed is None or confirmed.is_set():
            # Joining a topic others already hold: no timer, no task to wait.
            return
        try:
            await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_TIMEOUT)
        except TimeoutError:
            await self.leave(topic, subscriber)
            raise Unavailable("live updates are unavailable; try again") from None

    async def _send_subscribe(self, topics: list[str]) -> None:
        assert self._pubsub is not None
        for topic in topics:
            self._unconfirmed[topic] = self._unconfirmed.get(topic, 0) + 1
        await self._pubsub.subscribe(*(self._pubsub_prefix + topic for topic in topics))

    # -- publishing ----------------------------------------------------------

    async def publish(self, topic: str, position_id: str, kind: str, data: Any) -> None:
        """Publish a live-only event (durable topics publish from Lua)."""
        message = msgpack.packb(
            {"topic": topic, "id": position_id, "kind": kind, "data": data},
            use_bin_type=True,
        )
        await self._redis.publish(self._pubsub_prefix + topic, message)

    # -- the listener --------------------------------------------------------

    async def _supervise(self) -> None:
        backoff = BACKOFF_FIRST
        first = True
        while not self._closing:
            try:
                await self._connect()
                await self._listen(until_confirmed=True)
                if not first:
                    self._on_reconnect()
                    logger.warning("broker reconnected to Redis; resynchronising")
                    self._resync_all()
                first = False
                backoff = BACKOFF_FIRST
                await self._listen(until_confirmed=False)
            except asyncio.CancelledError:
                raise
            except ListenerDeaf as exc:
                logger.warning("%s; reconnecting", exc)
            except REDIS_CONNECTION_ERRORS as exc:
                logger.warning(
                    "broker lost Redis (%s); reconnecting", type(exc).__name__
                )
            except Exception:
                logger.exception("broker listener failed; restarting it")
            self._connected.clear()
            await self._drop_pubsub()
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _connect(self) -> None:
        self._pubsub = self._listener_redis.pubsub()
        self._unconfirmed.clear()
        self._deaf = False
        for event in self._confirmed.values():
            event.clear()
        await self._send_subscribe([self._canary_topic, *self._subscribers])

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _listen(self, *, until_confirmed: bool) -> None:
        """Read and dispatch messages; with `until_confirmed`, stop once every
        topic's subscription is confirmed (so a resync cannot miss anything).

        The canary watches only a connected listener, so the wait for
        confirmations has its own deadline: a SUBSCRIBE lost on a half-open
        connection would otherwise leave the listener waiting for ever.
        """
        assert self._pubsub is not None
        pubsub = self._pubsub
        prefix_length = len(self._pubsub_prefix)
        confirm_by = time.monotonic() + self._canary_timeout
        while not (until_confirmed and not self._unconfirmed):
            if self._deaf:
                raise ListenerDeaf(
                    f"broker heard no canary for {self._canary_timeout:.0f} s"
                )
            if until_confirmed and time.monotonic() > confirm_by:
                raise ListenerDeaf(
                    f"Redis confirmed no subscription in {self._canary_timeout:.0f} s"
                )
            message = await pubsub.get_message(timeout=LISTEN_POLL)
            if message is None:
                continue
            # Take whatever else Redis has already sent, without waiting: no
            # message is held back, and when several arrived in the same
            # instant (a busy district, or a listener that fell behind) each
            # subscriber gets them in one write instead of one write each.
            batch = [message]
            while len(batch) < BATCH_MAX:
                more = await pubsub.get_message(timeout=0)
                if more is None:
                    break
                batch.append(more)
            arrived: list[tuple[str, bytes]] = []
            for message in batch:
                kind = message["type"]
                if kind == "message":
                    self._on_message()
                    topic = message["channel"][prefix_length:].decode()
                    arrived.append((topic, message["data"]))
                elif kind == "subscribe":
                    # Deliver what came before the confirmation first.
                    self._dispatch_all(arrived)
                    arrived = []
                    self._on_confirmed(message["channel"][prefix_length:].decode())
            self._dispatch_all(arrived)

    def _on_confirmed(self, topic: str) -> None:
        remaining = self._unconfirmed.get(topic, 0) - 1
        if remaining > 0:
            self._unconfirmed[topic] = remaining
            return
        self._unconfirmed.pop(topic, None)
        if topic == self._canary_topic:
            self._last_canary_heard = time.monotonic()
            self._connected.set()
        confirmed = self._confirmed.get(topic)
        if confirmed is not None:
            confirmed.set()

    def _dispatch_all(self, arrived: list[tuple[str, bytes]]) -> None:
        """Hand messages to the local subscribers, in order within each topic."""
        if len(arrived) == 1:
            self._dispatch(*arrived[0])
            return
        by_topic: dict[str, list[tuple[PreparedFrame, Position]]] = {}
        for topic, payload in arrived:
            event = self._prepare(topic, payload)
            if event is not None:
                by_topic.setdefault(topic, []).append(event)
        for topic, events in by_topic.items():
            subscribers = self._subscribers.get(topic)
            if not subscribers:
                continue
            # Copy: a subscriber may leave (and so mutate the dict) meanwhile.
            receivers = tuple(subscribers)
            if len(events) == 1:
                frame, position = events[0]
                for subscriber in receivers:
                    subscriber.deliver(frame, position)
            else:
                for subscriber in receivers:
                    subscriber.deliver_many(events)
            self._on_fanout(len(receivers) * len(events))

    def _prepare(
        self, topic: str, payload: bytes
    ) -> tuple[PreparedFrame, Position] | None:
        """The frame and position of a message, or None when nobody here wants it."""
        if topic == self._canary_topic:
            self._last_canary_heard = time.monotonic()
            return None
        if not self._subscribers.get(topic):
            return None
        try:
            message = msgpack.unpackb(payload, raw=False)
            frame = event_frame(topic, message["id"], message["kind"], message["data"])
            position = parse_position(message["id"])
        except Exception:
            logger.exception("undecodable message on topic %s dropped", topic)
            return None
        return frame, position

    def _dispatch(self, topic: str, payload: bytes) -> None:
        event = self._prepare(topic, payload)
        subscribers = self._subscribers.get(topic)
        if event is None or not subscribers:
            return
        frame, position = event
        # Copy: a subscriber may leave (and so mutate the dict) while we deliver.
        receivers = tuple(subscribers)
        for subscriber in receivers:
            subscriber.deliver(frame, position)
        self._on_fanout(len(receivers))

    def _resync_all(self) -> None:
        for subscribers in list(self._subscribers.values()):
            for subscriber in tuple(subscribers):
                subscriber.resync()

    # -- the canary ----------------------------------------------------------

    async def _canary(self) -> None:
        """Prove the listener still hears its own subscription; reconnect if deaf."""
        channel = self._pubsub_prefix + self._canary_topic
        while not self._closing:
            await asyncio.sleep(self._canary_interval)
            with contextlib.suppress(*REDIS_CONNECTION_ERRORS):
                await self._redis.publish(channel, b"")
            silent_for = time.monotonic() - self._last_canary_heard
            if self._connected.is_set() and silent_for > self._canary_timeout:
                # The listener raises ListenerDeaf at its next poll and reconnects.
                self._connected.clear()
                self._deaf = True

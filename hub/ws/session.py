"""One websocket connection from handshake to close.

A session reads frames in its own task. It writes a frame at once, in the
caller (for fanned-out frames, the broker's listener), while the client keeps
up; only when the ASGI send has to wait for a client that reads slowly does a
writer task take over, behind a bounded outbox. A client that stops reading
fills that outbox and is closed with 4429, while the listener that feeds
every other connection never waits for it.

Subscribing is "join, then read, then release": the subscription joins the
topic first (buffering what arrives), then reads the snapshot or the missed
history from Redis, sends that, and releases the buffer minus what the
snapshot already covered. So no change is lost between snapshot and live
events and none is seen twice.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
import uuid
from typing import Any

import redis.exceptions
from starlette.types import Message
from starlette.types import Receive as ASGIReceive
from starlette.types import Send as ASGISend
from starlette.websockets import WebSocketDisconnect

from hub.api.messages import conversation_of
from hub.auth.tokens import TokenClaims
from hub.channels.broker import REDIS_CONNECTION_ERRORS
from hub.channels.codec import Codec, PreparedFrame, decode, encode
from hub.channels.positions import ORIGIN, Position, format_position, parse_position
from hub.channels.streams import Replay, latest_position, read_since
from hub.context import HubContext
from hub.directory.model import Role, User
from hub.errors import (
    CLIENT_GOING_AWAY,
    BadRequest,
    CloseCode,
    Conflict,
    Forbidden,
    HubError,
    NotFound,
    RateLimited,
    TokenExpired,
    Unauthorized,
    Unavailable,
)
from hub.presence.model import Audience, Coalescer, Fix, Status, fix_time
from hub.tickets.conversation import TypingGate, live_topic
from hub.ws import eager
from hub.ws.access import ChannelKind, Route, resolve
from hub.ws.protocol import (
    AuthFrame,
    LocationFrame,
    MessageFrame,
    PingFrame,
    PresenceFrame,
    ReadFrame,
    SubscribeFrame,
    TypingFrame,
    UnsubscribeFrame,
    parse_frame,
    ref_of,
)
from hub.ws.ratelimit import TokenBucket
from hub.ws.server_protocol import SEND_FRAMES

logger = logging.getLogger("hub.ws")

MAX_SUBSCRIPTIONS = 64
LOCATION_FRAME_COST = 0.25
FLOOD_STRIKES = 20
"""Rate-limited frames in a row after which the connection is closed (4429)."""
FLOOD_DRAIN_TIMEOUT = 1.0
RESYNC_ATTEMPTS = 5
REPLAY_BATCH_FRAMES = 64
"""Replayed events written together (one write of about 20-40 KiB for ticket
events): few enough that a batch never holds the client up for long."""


class Subscription:
    """One connection on one channel; the broker delivers to it."""

    __slots__ = ("buffer", "last", "route", "session", "signals")

    def __init__(self, session: Session, route: Route) -> None:
        self.session = session
        self.route = route
        self.last: Position = ORIGIN
        self.buffer: list[tuple[PreparedFrame, Position]] | None = []
        self.signals: Signals | None = None

    def deliver(self, frame: PreparedFrame, position: Position) -> None:
        if self.buffer is not None:
            if len(self.buffer) >= self.session.queue_limit:
                self.session.drop_slow("subscribe buffer full")
                return
            self.buffer.append((frame, position))
            return
        if position <= self.last:
            return
        self.last = position
        self.session.send_prepared(frame)

    def deliver_many(self, events: list[tuple[PreparedFrame, Position]]) -> None:
        if self.buffer is not None:
            for frame, position in events:
                self.deliver(frame, position)
            return
        fresh = []
        for frame, position in events:
            if position > self.last:
                self.last = position
                fresh.append(frame)
        if fresh:
            self.session.send_prepared_many(fresh)

    def release(self, covered: Position) -> None:
        """Stop buffering; send what arrived after `covered`."""
        self.last = covered
        buffered, self.buffer = self.buffer or [], None
        for frame, position in buffered:
            if position > self.last:
                self.last = position
                self.session.send_prepared(frame)

    def resync(self) -> None:
        if self.buffer is None:
            self.buffer = []
            self.session.spawn(self.session.resynchronise(self))


class Signals:
    """A ticket's live-only signals (typing, read) for one subscription.

    Sent as `signal` frames, not `event`s: they have no position, are never
    stored and are not replayed, so they must not touch the client's resume
    position. Few people follow one ticket, so encoding per connection is fine.
    """

    __slots__ = ("session",)

    def __init__(self, session: Session) -> None:
        self.session = session

    def deliver(self, frame: PreparedFrame, position: Position) -> None:
        event = frame.frame
        self.session.send(
            {
                "type": "signal",
                "channel": event["channel"],
                "kind": event["kind"],
                "data": event["data"],
            }
        )

    def deliver_many(self, events: list[tuple[PreparedFrame, Position]]) -> None:
        for frame, position in events:
            self.deliver(frame, position)

    def resync(self) -> None:
        """Signals missed while Redis was away are stale by now: nothing to do."""


def _send_message(data: str | bytes) -> Message:
    if isinstance(data, str):
        return {"type": "websocket.send", "text": data}
    return {"type": "websocket.send", "bytes": data}


class Session:
    # Slots: one Session per connection, and an idle tenant's connection
    # should cost as little memory as the stack beneath it allows.
    __slots__ = (
        "_asgi_receive",
        "_asgi_send",
        "_bucket",
        "_claims",
        "_close_code",
        "_close_sent",
        "_closed",
        "_coalescer",
        "_expiry",
        "_frames_at_once",
        "_holds_presence",
        "_last_presence",
        "_location_flush",
        "_outbox",
        "_strikes",
        "_subscriptions",
        "_tasks",
        "_typing",
        "_unwritable",
        "_writer",
        "codec",
        "hub",
        "id",
        "queue_limit",
        "user",
    )

    def __init__(
        self,
        hub: HubContext,
        codec: Codec,
        receive: ASGIReceive,
        send: ASGISend,
        *,
        frames_at_once: bool = False,
    ) -> None:
        """A session on an accepted websocket (see `hub.app`); `frames_at_once`
        when the server takes several frames in one message (`SEND_FRAMES`)."""
        self.hub = hub
        self.codec = codec
        # The raw ASGI callables, and no Starlette WebSocket kept: its send and
        # receive add a state check and a coroutine frame per call, on the
        # fan-out path and in every idle connection's pending read, and it
        # holds the handshake's headers for the connection's life.
        self._asgi_receive = receive
        self._asgi_send = send
        self._frames_at_once = frames_at_once
        self.id = uuid.uuid4().hex
        settings = hub.settings
        self.queue_limit = settings.send_queue_frames
        # Both exist only while the client is behind (see `_enqueue`).
        self._outbox: collections.deque[str | bytes] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._unwritable = False
        self.user: User | None = None
        self._claims: TokenClaims | None = None
        self._subscriptions: dict[str, Subscription] = {}
        self._tasks: set[asyncio.Task[Any]] | None = None  # made on first spawn
        self._bucket = TokenBucket(settings.frames_per_second, settings.frame_burst)
        self._strikes = 0
        self._coalescer: Coalescer | None = None  # caretakers only, made on first use
        self._location_flush: asyncio.TimerHandle | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._holds_presence = False
        self._last_presence: PresenceFrame | None = None
        self._closed: asyncio.Future[None] | None = None  # only while authenticating
        self._close_code: int | None = None
        self._close_sent = False
        self._typing: TypingGate | None = None

    # -- sending -------------------------------------------------------------

    def send_prepared(self, frame: PreparedFrame) -> None:
        """Send a fanned-out frame (the broker counts these once per message)."""
        self._enqueue(frame.encoded(self.codec))

    def send_prepared_many(self, frames: list[PreparedFrame]) -> None:
        """Send fanned-out frames that arrived together, in one write if possible."""
        codec = self.codec
        self._enqueue_many([frame.encoded(codec) for frame in frames])

    def send(self, frame: dict[str, Any]) -> None:
        """Send a frame to this connection only."""
        self.hub.metrics.frames_out.inc()
        self._enqueue(encode(self.codec, frame))

    def _enqueue(self, data: str | bytes) -> None:
        if self._close_code is not None or self._unwritable:
            return
        outbox = self._outbox
        if outbox is None:
            # Nothing is waiting to go out before this frame: write it now.
            self._write_now(data)
            return
        if len(outbox) >= self.queue_limit:
            self.drop_slow("send queue full")
            return
        outbox.append(data)

    def _enqueue_many(self, frames: list[str | bytes]) -> None:
        """Send several frames, in one write when the server takes them so."""
        if self._close_code is not None or self._unwritable:
            return
        if self._frames_at_once and self._outbox is None:
            self._write_now(frames)
            return
        # Frame by frame: the server takes no batches, or the client is behind
        # and each frame must count against the outbox's bound.
        for frame in frames:
            self._enqueue(frame)

    def _write_now(self, data: str | bytes | list[str | bytes]) -> None:
        message: Message = (
            {"type": SEND_FRAMES, "frames": data}
            if isinstance(data, list)
            else _send_message(data)
        )
        try:
            rest = eager.start(self._asgi_send(message))
        except Exception as exc:
            self._write_failed(exc)
            return
        if rest is not None:
            # The send waits for the client to read (the transport paused):
            # from here on frames queue, in order, behind this one.
            self._outbox = collections.deque()
            self._writer = asyncio.get_running_loop().create_task(
                self._write_behind(rest), name=f"writer-{self.id[:8]}"
            )

    async def _write_behind(self, first: eager.Unfinished) -> None:
        """Finish the send that had to wait, then drain the outbox; once it is
        empty, go back to writing at once."""
        outbox = self._outbox
        assert outbox is not None
        try:
            await first
            while outbox:
                await self._asgi_send(_send_message(outbox.popleft()))
        except Exception as exc:
            self._write_failed(exc)
        finally:
            self._outbox = None
            self._writer = None

    async def _wait_for_writer(self) -> None:
        """Return once the client has taken what was queued (at once if nothing
        was), so that a long reply goes out at the client's pace."""
        writer = self._writer
        if writer is not None:
            await asyncio.wait({writer})

    def _write_failed(self, exc: Exception) -> None:
        """The server refused a frame: the client is gone, or going."""
        self._unwritable = True
        if isinstance(exc, OSError):  # uvicorn's ClientDisconnected among them
            logger.debug("connection %s: client gone while sending", self.id)
            return
        # Anything else is unexpected; without a way to write, close rather
        # than leave the client believing it is live.
        logger.error("connection %s: send failed", self.id, exc_info=exc)
        self.abort(CloseCode.INTERNAL_ERROR, "send failed")

    def send_error(self, error: HubError, ref: str | int | None) -> None:
        self.hub.metrics.errors_out.labels(str(error.code)).inc()
        frame: dict[str, Any] = {
            "type": "error",
            "code": str(error.code),
            "message": error.message,
        }
        if "retry_after" in error.details:
            frame["retry_after"] = error.details["retry_after"]
        if ref is not None:
            frame["ref"] = ref
        self.send(frame)

    def reply(self, frame: dict[str, Any], ref: str | int | None) -> None:
        if ref is not None:
            frame["ref"] = ref
        self.send(frame)

    # -- closing -------------------------------------------------------------

    def drop_slow(self, reason: str) -> None:
        """Close a client that cannot keep up (4429), counted once."""
        if self._close_code is None:
            self.hub.metrics.slow_disconnects.inc()
            logger.warning("closing slow connection %s: %s", self.id, reason)
        self.abort(CloseCode.TOO_SLOW, reason)

    def abort(self, code: CloseCode, reason: str) -> None:
        """Close from synchronous code (fan-out, timers); idempotent."""
        if self._close_code is None:
            self._close_code = code
            self.spawn(self.close(code, reason))

    async def close(self, code: CloseCode, reason: str) -> None:
        self._close_code = self._close_code or code
        self.hub.metrics.closes.labels(str(int(code))).inc()
        self._cancel_writer()
        if not self._close_sent:
            self._close_sent = True
            # A client already gone makes the server refuse: nothing to tell.
            with contextlib.suppress(Exception):
                await self._asgi_send(
                    {
                        "type": "websocket.close",
                        "code": int(code),
                        "reason": reason[:120],
                    }
                )
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    async def _drain(self, timeout: float) -> None:
        """Give the writer a moment to send what is queued (the errors that
        explain a close) before the socket closes."""
        deadline = time.monotonic() + timeout
        while self._writer is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def _cancel_writer(self) -> None:
        if self._writer is not None:
            self._writer.cancel()

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        if self._tasks is None:
            self._tasks = set()
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if self._tasks is not None:
            self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if isinstance(exc, (*REDIS_CONNECTION_ERRORS, redis.exceptions.RedisError)):
                logger.warning(
                    "background step of connection %s failed: %s", self.id, exc
                )
            else:
                logger.error("background step failed", exc_info=exc)

    # -- the connection's life -----------------------------------------------

    async def run(self) -> None:
        self.hub.sessions.add(self)
        try:
            if await self._authenticate():
                self.hub.metrics.connections.labels(self.role_label).inc()
                try:
                    await self._serve()
                finally:
                    self.hub.metrics.connections.labels(self.role_label).dec()
        except WebSocketDisconnect as disconnect:
            self._close_code = self._close_code or disconnect.code
        finally:
            self.hub.sessions.discard(self)
            await self._cleanup()

    @property
    def role_label(self) -> str:
        return self.user.role.value if self.user else "anonymous"

    async def _receive(self) -> str | bytes | None:
        """The next data frame, or None once the client is gone."""
        message = await self._asgi_receive()
        if message["type"] == "websocket.disconnect":
            self._close_code = self._close_code or int(message.get("code", 1005))
            return None
        text = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    async def _authenticate(self) -> bool:
        receive = asyncio.ensure_future(self._receive())
        # Resolved by `close` (shutdown, say) so that the wait ends at once.
        closed = self._closed = asyncio.get_running_loop().create_future()
        try:
            done, _ = await asyncio.wait(
                {receive, closed},
                timeout=self.hub.settings.auth_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            self._closed = None
        if receive not in done:
            receive.cancel()
            if not closed.done():
                await self.close(CloseCode.AUTH_TIMEOUT, "no auth frame in time")
            return False
        raw = receive.result()
        if raw is None:
            return False
        try:
            frame = parse_frame(decode(self.codec, raw))
            if not isinstance(frame, AuthFrame):
                raise Unauthorized("the first frame must be auth")
            await self._accept_token(frame)
        except TokenExpired:
            await self.close(CloseCode.NOT_AUTHENTICATED, "token expired")
            return False
        except HubError as error:
            reason = (
                "unauthorized" if isinstance(error, Unauthorized) else error.message
            )
            await self.close(CloseCode.NOT_AUTHENTICATED, reason)
            return False
        assert self.user is not None
        self.reply({"type": "welcome", "user": self.user.public()}, frame.ref)
        return True

    async def _accept_token(self, frame: AuthFrame) -> None:
        claims = self.hub.tokens.verify(frame.token)
        if self.user is not None and claims.user_id != self.user.id:
            raise Forbidden("a connection cannot change user")
        if self.user is None:
            user = await self.hub.directory.user(claims.user_id)
            if user is None:
                raise Unauthorized("the token is not valid")
            self.user = user
        self._claims = claims
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = asyncio.get_running_loop().call_later(
            max(0.0, self.hub.tokens.seconds_left(claims)),
            self.abort,
            CloseCode.NOT_AUTHENTICATED,
            "token expired",
        )

    async def _serve(self) -> None:
        while self._close_code is None:
            raw = await self._receive()
            if raw is None:
                return
            await self._handle(raw)

    async def _handle(self, raw: str | bytes) -> None:
        started = time.perf_counter()
        ref: str | int | None = None
        frame_type = "invalid"
        try:
            data = decode(self.codec, raw)
            ref = ref_of(data)
            frame = parse_frame(data)
            frame_type = frame.type
            cost = LOCATION_FRAME_COST if frame_type == "location" else 1.0
            if not self._bucket.take(time.monotonic(), cost):
                self._strikes += 1
                if self._strikes >= FLOOD_STRIKES:
                    await self._drain(FLOOD_DRAIN_TIMEOUT)
                    await self.close(CloseCode.TOO_SLOW, "flooding")
                    return
                raise RateLimited(
                    "too many frames; slow down", retry_after=cost / self._bucket.rate
                )
            self._strikes = 0
            await self._dispatch(frame)
        except HubError as error:
            self.send_error(error, ref)
        except redis.exceptions.RedisError:
            logger.warning("frame %s failed: Redis unavailable", frame_type)
            self.send_error(
                Unavailable("the hub cannot reach its store; try again"), ref
            )
        finally:
            metrics = self.hub.metrics
            metrics.frames_in.labels(frame_type).inc()
            metrics.frame_latency.labels(frame_type).observe(
                time.perf_counter() - started
            )

    async def _dispatch(self, frame: Any) -> None:
        if isinstance(frame, LocationFrame):
            await self._on_location(frame)
        elif isinstance(frame, PingFrame):
            self.reply({"type": "pong"}, frame.ref)
        elif isinstance(frame, SubscribeFrame):
            await self._on_subscribe(frame)
        elif isinstance(frame, UnsubscribeFrame):
            await self._on_unsubscribe(frame)
        elif isinstance(frame, PresenceFrame):
            await self._on_presence(frame)
        elif isinstance(frame, (MessageFrame, TypingFrame, ReadFrame)):
            await self._on_conversation(frame)
        elif isinstance(frame, AuthFrame):
            await self._accept_token(frame)
            assert self.user is not None
            self.reply({"type": "welcome", "user": self.user.public()}, frame.ref)

    async def _cleanup(self) -> None:
        self._cancel_writer()
        for handle in (self._expiry, self._location_flush):
            if handle is not None:
                handle.cancel()
        for subscription in list(self._subscriptions.values()):
            await self._leave(subscription)
        self._subscriptions.clear()
        if self._holds_presence and self.user is not None:
            await self._withdraw_presence()
        tasks = list(self._tasks or ())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    async def _withdraw_presence(self) -> None:
        # A clean goodbye takes the caretaker offline now; a lost connection
        # waits for the presence timeout, so a phone that reconnects within
        # it does not flicker offline on every tenant's screen. A hub
        # restart (1012) is not a goodbye either: the phone reconnects.
        assert self.user is not None
        if self._close_code in (CloseCode.NORMAL, CLIENT_GOING_AWAY):
            with contextlib.suppress(
                *REDIS_CONNECTION_ERRORS, redis.exceptions.RedisError
            ):
                await self.hub.presence.leave(self.user.id, self.id)

    # -- subscriptions -------------------------------------------------------

    async def _on_subscribe(self, frame: SubscribeFrame) -> None:
        assert self.user is not None
        if frame.channel in self._subscriptions:
            raise Conflict(f"already subscribed to {frame.channel}")
        if len(self._subscriptions) >= MAX_SUBSCRIPTIONS:
            raise BadRequest(
                f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection"
            )
        route = resolve(self.user, frame.channel)
        since = parse_position(frame.since) if frame.since is not None else None
        if since is not None and not route.durable:
            raise BadRequest(f"{frame.channel} has no history to resume from")
        await self._check_exists(route)

        subscription = Subscription(self, route)
        self._subscriptions[route.channel] = subscription
        self.hub.metrics.subscriptions.labels(route.kind.value).inc()
        try:
            await self.hub.broker.join(route.topic, subscription)
            if route.kind is ChannelKind.TICKET:
                subscription.signals = Signals(self)
                await self.hub.broker.join(
                    live_topic(route.subject), subscription.signals
                )
            if route.durable:
                await self._open_durable(subscription, since, frame.ref)
            else:
                await self._open_district(subscription, frame.ref)
        except BaseException:
            await self._leave(subscription)
            raise

    async def _check_exists(self, route: Route) -> None:
        assert self.user is not None
        if route.kind in (ChannelKind.DISTRICT, ChannelKind.TICKETS_DISTRICT):
            exists = await self.hub.directory.district_cards(route.subject) is not None
            if not exists:
                raise NotFound(f"no district {route.subject!r}")
        elif route.kind is ChannelKind.TICKET and not await self.hub.tickets.can_see(
            self.user, route.subject
        ):
            raise NotFound(f"no ticket {route.subject!r}")

    async def _open_durable(
        self, subscription: Subscription, since: Position | None, ref: str | int | None
    ) -> None:
        redis, prefix, topic = (
            self.hub.redis,
            self.hub.settings.key_prefix,
            subscription.route.topic,
        )
        channel = subscription.route.channel
        if since is None:
            position = await latest_position(redis, prefix, topic)
            self.reply(
                {"type": "subscribed", "channel": channel, "position": position}, ref
            )
            subscription.release(parse_position(position))
            return
        result = await read_since(redis, prefix, topic, since)
        self.reply(
            {"type": "subscribed", "channel": channel, "position": result.position}, ref
        )
        await self._send_catch_up(subscription, result)

    async def _send_catch_up(self, subscription: Subscription, result: Any) -> None:
        channel = subscription.route.channel
        if isinstance(result, Replay):
            codec = self.codec
            frames = [
                encode(
                    codec,
                    {
                        "type": "event",
                        "channel": channel,
                        "id": event.id,
                        "kind": event.kind,
                        "data": event.data,
                    },
                )
                for event in result.events
            ]
            self.hub.metrics.frames_out.inc(len(frames))
            batch = max(1, min(REPLAY_BATCH_FRAMES, self.queue_limit))
            for start in range(0, len(frames), batch):
                # A replay can hold thousands of events: keep pace with the
                # client rather than pour them all into the bounded outbox
                # (which would close a client that is merely catching up).
                await self._wait_for_writer()
                self._enqueue_many(frames[start : start + batch])
        else:
            self.send(
                {"type": "reset", "channel": channel, "position": result.position}
            )
        subscription.release(parse_position(result.position))

    async def _open_district(
        self, subscription: Subscription, ref: str | int | None
    ) -> None:
        position, snapshot = await self._district_snapshot(subscription.route)
        self.reply(
            {
                "type": "subscribed",
                "channel": subscription.route.channel,
                "position": format_position((position, 0)),
                "snapshot": snapshot,
            },
            ref,
        )
        subscription.release((position, 0))

    async def _district_snapshot(self, route: Route) -> tuple[int, dict[str, Any]]:
        assert self.user is not None
        cards = await self.hub.directory.district_cards(route.subject)
        if cards is None:
            raise NotFound(f"no district {route.subject!r}")
        audience = Audience.PUBLIC if self.user.role is Role.TENANT else Audience.STAFF
        caretaker_ids = [card["id"] for card in cards.caretakers]
        snapshot = await self.hub.presence.snapshot(
            route.subject, caretaker_ids, audience
        )
        caretakers = [
            {**card, "presence": snapshot.caretakers[card["id"]]}
            for card in cards.caretakers
        ]
        district = cards.district
        data = {
            "district": {"id": district["id"], "name": district["name"]},
            "caretakers": caretakers,
        }
        return snapshot.position, data

    async def resynchronise(self, subscription: Subscription) -> None:
        """After the broker lost messages: send what changed, then go live again."""
        for attempt in range(RESYNC_ATTEMPTS):
            if subscription.route.channel not in self._subscriptions:
                return
            try:
                await self._resynchronise_once(subscription)
                return
            except (*REDIS_CONNECTION_ERRORS, redis.exceptions.RedisError):
                await asyncio.sleep(0.2 * 2**attempt)
        # Could not catch up: the client must not believe it is live.
        self.abort(CloseCode.SERVICE_RESTART, "could not resynchronise")

    async def _resynchronise_once(self, subscription: Subscription) -> None:
        route = subscription.route
        if route.durable:
            redis, prefix = self.hub.redis, self.hub.settings.key_prefix
            result = await read_since(redis, prefix, route.topic, subscription.last)
            await self._send_catch_up(subscription, result)
        else:
            position, snapshot = await self._district_snapshot(route)
            self.send(
                {
                    "type": "event",
                    "channel": route.channel,
                    "id": format_position((position, 0)),
                    "kind": "snapshot",
                    "data": snapshot,
                }
            )
            subscription.release((position, 0))

    async def _on_unsubscribe(self, frame: UnsubscribeFrame) -> None:
        subscription = self._subscriptions.get(frame.channel)
        if subscription is None:
            raise NotFound(f"not subscribed to {frame.channel[:64]}")
        await self._leave(subscription)
        self.reply({"type": "unsubscribed", "channel": frame.channel}, frame.ref)

    async def _leave(self, subscription: Subscription) -> None:
        if self._subscriptions.pop(subscription.route.channel, None) is not None:
            self.hub.metrics.subscriptions.labels(subscription.route.kind.value).dec()
        await self.hub.broker.leave(subscription.route.topic, subscription)
        if subscription.signals is not None:
            topic = live_topic(subscription.route.subject)
            await self.hub.broker.leave(topic, subscription.signals)

    # -- conversation on a ticket (hub.tickets.conversation decides) ----------

    async def _on_conversation(
        self, frame: MessageFrame | TypingFrame | ReadFrame
    ) -> None:
        assert self.user is not None
        conversation = conversation_of(self.hub)
        if isinstance(frame, MessageFrame):
            message = await conversation.post(
                self.user, frame.ticket_id, frame.text, list(frame.photos)
            )
            self.reply({"type": "ok", "message": message}, frame.ref)
        elif isinstance(frame, ReadFrame):
            receipt = await conversation.mark_read(
                self.user, frame.ticket_id, frame.message_id
            )
            self.reply({"type": "ok", "read": receipt}, frame.ref)
        else:
            if self._typing is None:
                self._typing = TypingGate(conversation.limits.typing_interval)
            # Like location, typing gets no reply; only a refusal is answered.
            if self._typing.open(frame.ticket_id, time.monotonic()):
                await conversation.typing(self.user, frame.ticket_id)

    # -- caretaker presence --------------------------------------------------

    def _require_caretaker(self) -> User:
        if self.user is None or self.user.role is not Role.CARETAKER:
            raise Forbidden("only caretakers share presence and location")
        return self.user

    async def _on_presence(self, frame: PresenceFrame) -> None:
        user = self._require_caretaker()
        if frame.on_duty and frame.status is None:
            raise BadRequest("status: required when on duty")
        await self.hub.presence.set_state(
            user.id,
            list(user.districts),
            on_duty=frame.on_duty,
            status=Status(frame.status) if frame.status else None,
            activity=frame.activity,
            ticket_id=frame.ticket_id,
            connection_id=self.id,
        )
        if not frame.on_duty and self._coalescer is not None:
            self._coalescer.clear()
        if not self._holds_presence:
            self._holds_presence = True
            self.spawn(self._heartbeat(user, frame))
        self._last_presence = frame
        self.reply({"type": "ok"}, frame.ref)

    async def _heartbeat(self, user: User, frame: PresenceFrame) -> None:
        """Keep the presence deadline ahead while this connection is open."""
        interval = self.hub.settings.presence_timeout / 3
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.hub.presence.touch(user.id, self.id):
                    # Swept while we were cut off from Redis, or a newer
                    # connection took over: announce this one again only if
                    # it is still the caretaker's live connection.
                    last = self._last_presence or frame
                    await self.hub.presence.set_state(
                        user.id,
                        list(user.districts),
                        on_duty=last.on_duty,
                        status=Status(last.status) if last.status else None,
                        activity=last.activity,
                        ticket_id=last.ticket_id,
                        connection_id=self.id,
                    )
            except (*REDIS_CONNECTION_ERRORS, redis.exceptions.RedisError) as exc:
                logger.warning("presence heartbeat failed: %s", type(exc).__name__)

    async def _on_location(self, frame: LocationFrame) -> None:
        user = self._require_caretaker()
        settings = self.hub.settings
        now_ms = int(time.time() * 1000)
        ts = fix_time(frame.ts, now_ms, int(settings.location_max_age * 1000))
        if ts is None:
            raise BadRequest("ts: this fix is too old to show")
        fix = Fix(lat=frame.lat, lon=frame.lon, accuracy=frame.accuracy, ts=ts)
        now = time.monotonic()
        if self._coalescer is None:
            self._coalescer = Coalescer(settings.location_min_interval)
        if self._coalescer.offer(fix, now):
            await self._publish_location(user, fix, from_frame=True)
        elif self._location_flush is None:
            self._location_flush = asyncio.get_running_loop().call_later(
                self._coalescer.due_in(now), self._flush_location, user
            )

    def _flush_location(self, user: User) -> None:
        self._location_flush = None
        assert self._coalescer is not None
        fix = self._coalescer.take_pending(time.monotonic())
        if fix is not None:
            self.spawn(self._publish_location(user, fix, from_frame=False))

    async def _publish_location(
        self, user: User, fix: Fix, *, from_frame: bool
    ) -> None:
        accepted = await self.hub.presence.set_location(user.id, fix)
        # A coalesced fix flushed after going off duty is dropped without a word.
        if not accepted and from_frame:
            raise Conflict("go on duty before sharing your location")

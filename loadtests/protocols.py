"""How the generator speaks to each server: frames to send, frames to recognise.

Three dialects, one generator:

* ``homi``: the hub's v1 contract (`docs/protocol.md`): auth, subscribe to
  ``district:<id>``, caretakers send presence then location frames, and in
  the district profile a presence frame with a new status now and then.
* ``plain``: the JSON frames of the bare Starlette baseline and the Django
  Channels peer: subscribe, unsubscribe, publish; events come back in the
  hub's event shape, so the subscriber parses the same fields.
* ``engineio``: Socket.IO v5 over Engine.IO v4 on a raw websocket, which both
  python-socketio and Node's socket.io speak. Speaking the wire protocol
  directly (rather than through a Socket.IO client library) keeps the
  generator's cost per message the same for every server.

Building and recognising frames is pure; only `open_client` does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson
from websockets.typing import Subprotocol

CARETAKER_PREFIX = "care"
"""Publisher `p` is caretaker ``care<p>``: the index is read back from the id."""

PROBE_TENANT = "900000"
"""The tenant whose connection measures subscribe latency while the others idle."""

# Engine.IO v4 packet types that matter here, and the Socket.IO packet types
# carried in Engine.IO "message" packets (type 4).
EIO_OPEN, EIO_PING, EIO_PONG, EIO_MESSAGE = "0", "2", "3", "4"
SIO_CONNECT, SIO_EVENT, SIO_ACK = "0", "2", "3"

PONG = "3"


DISTRICT_AGENT = "agent0"
"""The agent who assigns the district profile's tickets."""

STATUS_CYCLE = ("busy", "available", "break", "available")
"""The statuses a caretaker goes through in the district profile, in turn."""


def caretaker_id(publisher: int) -> str:
    return f"{CARETAKER_PREFIX}{publisher}"


def tenant_id(index: int) -> str:
    return f"{200000 + index}"


def location_data(publisher: int, seq: int, ts: int) -> dict[str, Any]:
    """A plausible walk through Rotterdam; only `ts` and the id carry meaning."""
    angle = seq / 50.0
    return {
        "caretaker_id": caretaker_id(publisher),
        "lat": round(51.9225 + 0.002 * math.sin(angle), 6),
        "lon": round(4.4792 + 0.003 * math.cos(angle), 6),
        "accuracy": 8.0,
        "ts": ts,
    }


def read_location(data: Any) -> tuple[int, int] | None:
    """(publisher, ts) of a location event's data, or None for anything else."""
    if not isinstance(data, dict):
        return None
    who, ts = data.get("caretaker_id"), data.get("ts")
    if not isinstance(who, str) or not who.startswith(CARETAKER_PREFIX):
        return None
    if not isinstance(ts, int):
        return None
    try:
        return int(who[len(CARETAKER_PREFIX) :]), ts
    except ValueError:
        return None


class Dialect:
    """Frames of one wire protocol. Subclasses override what differs."""

    name = ""
    path = "/ws"
    subprotocols: tuple[Subprotocol, ...] = ()

    def __init__(self) -> None:
        self._next_ack = 0

    # Handshake steps: a list of (frame to send or None, predicate on the reply).
    def open_steps(self, user: str, token: str, *, caretaker: bool) -> list[Any]:
        return []

    def subscribe(self, channel: str) -> str:
        raise NotImplementedError

    def is_subscribed(self, raw: str) -> bool:
        raise NotImplementedError

    def unsubscribe(self, channel: str) -> str:
        raise NotImplementedError

    def is_unsubscribed(self, raw: str) -> bool:
        raise NotImplementedError

    def publish(self, channel: str, data: dict[str, Any]) -> str:
        raise NotImplementedError

    def status(self, channel: str, publisher: int, status: str) -> str:
        """A caretaker's status change (the district profile); peers carry it
        as one more published message with no `ts`, so it costs them the same
        fan-out without being counted as a location."""
        return self.publish(
            channel, {"caretaker_id": caretaker_id(publisher), "status": status}
        )

    def event(self, raw: str | bytes) -> tuple[int, int] | None:
        """(publisher, ts) when `raw` is a location event, else None."""
        raise NotImplementedError

    def reply_to(self, raw: str | bytes) -> str | None:
        """A frame the protocol obliges us to answer with (Engine.IO pings)."""
        return None

    def is_error(self, raw: str | bytes) -> bool:
        return False


class HomiDialect(Dialect):
    name = "homi"
    subprotocols: tuple[Subprotocol, ...] = (Subprotocol("homi.v1.json"),)

    def open_steps(self, user: str, token: str, *, caretaker: bool) -> list[Any]:
        steps: list[Any] = [
            (
                orjson.dumps({"type": "auth", "token": token}).decode(),
                _has_type("welcome"),
            )
        ]
        if caretaker:
            presence = {
                "type": "presence",
                "on_duty": True,
                "status": "available",
                "ref": 1,
            }
            steps.append((orjson.dumps(presence).decode(), _has_type("ok")))
        return steps

    def subscribe(self, channel: str) -> str:
        return orjson.dumps({"type": "subscribe", "channel": channel}).decode()

    def is_subscribed(self, raw: str) -> bool:
        return _has_type("subscribed")(raw)

    def unsubscribe(self, channel: str) -> str:
        return orjson.dumps({"type": "unsubscribe", "channel": channel}).decode()

    def is_unsubscribed(self, raw: str) -> bool:
        return _has_type("unsubscribed")(raw)

    def status(self, channel: str, publisher: int, status: str) -> str:
        # The hub stores it and tells the district (a presence event).
        frame = {"type": "presence", "on_duty": True, "status": status}
        return orjson.dumps(frame).decode()

    def publish(self, channel: str, data: dict[str, Any]) -> str:
        # The hub knows the caretaker from the token and the district from
        # the directory; the frame carries only the fix.
        frame = {
            "type": "location",
            "lat": data["lat"],
            "lon": data["lon"],
            "accuracy": data["accuracy"],
            "ts": data["ts"],
        }
        return orjson.dumps(frame).decode()

    def event(self, raw: str | bytes) -> tuple[int, int] | None:
        frame = orjson.loads(raw)
        if frame.get("type") != "event" or frame.get("kind") != "location":
            return None
        return read_location(frame.get("data"))

    def is_error(self, raw: str | bytes) -> bool:
        return _has_type("error")(raw)


class PlainDialect(HomiDialect):
    """The baseline's and Django Channels' frames: no auth, publish by channel."""

    name = "plain"
    subprotocols = ()
    status = Dialect.status

    def open_steps(self, user: str, token: str, *, caretaker: bool) -> list[Any]:
        return []

    def publish(self, channel: str, data: dict[str, Any]) -> str:
        return orjson.dumps(
            {"type": "publish", "channel": channel, "data": data}
        ).decode()


class EngineIODialect(Dialect):
    name = "engineio"
    path = "/socket.io/?EIO=4&transport=websocket"

    def open_steps(self, user: str, token: str, *, caretaker: bool) -> list[Any]:
        # The server opens with its handshake; then we join the default
        # namespace and wait for its CONNECT answer.
        return [
            (None, lambda raw: raw.startswith(EIO_OPEN)),
            (
                EIO_MESSAGE + SIO_CONNECT,
                lambda raw: raw.startswith(EIO_MESSAGE + SIO_CONNECT),
            ),
        ]

    def _emit(self, name: str, payload: Any, *, ack: bool) -> str:
        head = EIO_MESSAGE + SIO_EVENT
        if ack:
            self._next_ack += 1
            head += str(self._next_ack)
        return head + orjson.dumps([name, payload]).decode()

    def subscribe(self, channel: str) -> str:
        return self._emit("subscribe", channel, ack=True)

    def is_subscribed(self, raw: str) -> bool:
        return raw.startswith(EIO_MESSAGE + SIO_ACK + str(self._next_ack))

    def unsubscribe(self, channel: str) -> str:
        return self._emit("unsubscribe", channel, ack=True)

    def is_unsubscribed(self, raw: str) -> bool:
        return self.is_subscribed(raw)

    def publish(self, channel: str, data: dict[str, Any]) -> str:
        return self._emit("location", {"channel": channel, "data": data}, ack=False)

    def event(self, raw: str | bytes) -> tuple[int, int] | None:
        if isinstance(raw, bytes) or not raw.startswith(EIO_MESSAGE + SIO_EVENT + "["):
            return None
        name, payload = orjson.loads(raw[2:])[:2]
        if name != "event" or not isinstance(payload, dict):
            return None
        return read_location(payload.get("data"))

    def reply_to(self, raw: str | bytes) -> str | None:
        return PONG if raw == EIO_PING else None


def _has_type(kind: str) -> Callable[[str | bytes], bool]:
    needle = f'"type":"{kind}"'

    def check(raw: str | bytes) -> bool:
        text = raw if isinstance(raw, str) else raw.decode(errors="replace")
        return needle in text

    return check


DIALECTS: dict[str, type[Dialect]] = {
    "homi": HomiDialect,
    "plain": PlainDialect,
    "engineio": EngineIODialect,
}

"""Client frames of the v1 wire contract, validated with pydantic.

Pure: takes a decoded dict, returns a typed frame or raises BadRequest with a
message that names the field, so a client developer can fix their frame
from the error alone. `docs/protocol.md` is the contract these models
implement; keep them the same.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from hub.errors import BadRequest
from hub.tickets.conversation import MAX_PHOTOS, MAX_TEXT

MAX_REF_LENGTH = 64
MAX_CHANNEL_LENGTH = 128
MAX_ACTIVITY_LENGTH = 200
TICKET_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    ref: str | int | None = None


class AuthFrame(_Frame):
    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=2048)


class SubscribeFrame(_Frame):
    type: Literal["subscribe"]
    channel: str = Field(min_length=1, max_length=MAX_CHANNEL_LENGTH)
    since: str | None = Field(default=None, max_length=41)


class UnsubscribeFrame(_Frame):
    type: Literal["unsubscribe"]
    channel: str = Field(min_length=1, max_length=MAX_CHANNEL_LENGTH)


class PresenceFrame(_Frame):
    type: Literal["presence"]
    on_duty: bool
    status: Literal["available", "busy", "break"] | None = None
    activity: str = Field(default="", max_length=MAX_ACTIVITY_LENGTH)
    ticket_id: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")


class LocationFrame(_Frame):
    type: Literal["location"]
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    accuracy: float | None = Field(default=None, ge=0, le=100_000, allow_inf_nan=False)
    ts: int | None = Field(default=None, ge=0, le=10**14)


class PingFrame(_Frame):
    type: Literal["ping"]


class MessageFrame(_Frame):
    """Write on a ticket's conversation; `text` may be empty beside photos."""

    type: Literal["message"]
    ticket_id: str = Field(pattern=TICKET_ID_PATTERN)
    text: str = Field(default="", max_length=MAX_TEXT)
    photos: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=list, max_length=MAX_PHOTOS
    )


class TypingFrame(_Frame):
    type: Literal["typing"]
    ticket_id: str = Field(pattern=TICKET_ID_PATTERN)


class ReadFrame(_Frame):
    type: Literal["read"]
    ticket_id: str = Field(pattern=TICKET_ID_PATTERN)
    message_id: int = Field(ge=0, le=2**31)


ClientFrame = Annotated[
    AuthFrame
    | SubscribeFrame
    | UnsubscribeFrame
    | PresenceFrame
    | LocationFrame
    | PingFrame
    | MessageFrame
    | TypingFrame
    | ReadFrame,
    Field(discriminator="type"),
]
FRAME_TYPES = (
    "auth",
    "subscribe",
    "unsubscribe",
    "presence",
    "location",
    "ping",
    "message",
    "typing",
    "read",
)

# pydantic types the argument as a TypeForm (PEP 747). mypy accepts the union
# on a full run but reads TypeForm back from its cache as `type[T]`, so the
# ignore is needed only on incremental runs and unused on the others.
_adapter: TypeAdapter[Any] = TypeAdapter(ClientFrame)  # type: ignore[arg-type, unused-ignore]


def ref_of(raw: dict[str, Any]) -> str | int | None:
    """The `ref` of a frame if it is a usable one, so even a rejected frame's
    error can be matched to its request."""
    ref = raw.get("ref")
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int) and abs(ref) < 2**53:
        return ref
    if isinstance(ref, str) and len(ref) <= MAX_REF_LENGTH:
        return ref
    return None


def parse_frame(raw: dict[str, Any]) -> Any:
    """Validate one decoded client frame; BadRequest names what is wrong."""
    frame_type = raw.get("type")
    if not isinstance(frame_type, str):
        raise BadRequest("a frame needs a string field 'type'")
    if frame_type not in FRAME_TYPES:
        raise BadRequest(
            f"unknown frame type; expected one of {', '.join(FRAME_TYPES)}"
        )
    ref = raw.get("ref")
    if ref is not None and ref_of(raw) is None:
        raise BadRequest(
            f"'ref' must be an integer or a string of at most {MAX_REF_LENGTH} "
            "characters"
        )
    try:
        return _adapter.validate_python(raw)
    except ValidationError as exc:
        raise BadRequest(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False)[0]
    location = ".".join(str(part) for part in first["loc"][1:]) or "frame"
    return f"{location}: {first['msg']}"

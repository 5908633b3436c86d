"""REST for a ticket's conversation: messages, read markers, photos.

The edge only: bodies and query strings are validated here and handed to
`hub.tickets.conversation.Conversation`, which decides who may do what.

A photo is uploaded first (`POST /api/tickets/{id}/photos`, the image as the
raw body with its Content-Type, or as the field `photo` of a multipart form)
and then sent with a message (`photos: [id]`). Upload bodies are read with a
hard byte limit before anything parses them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response

from hub.api.common import JSONResponse, current_user, hub_of, read_body, read_model
from hub.context import HubContext
from hub.errors import BadRequest
from hub.media import images
from hub.tickets.conversation import (
    DEFAULT_PAGE,
    MAX_PAGE,
    MAX_PHOTOS,
    MAX_TEXT,
    Conversation,
    Size,
)

MULTIPART_OVERHEAD = 64 * 1024
"""Room for the boundaries and part headers around one photo."""
PHOTO_TOO_LARGE = f"a photo may be at most {images.MAX_UPLOAD_BYTES // 2**20} MB"


def conversation_of(hub: HubContext) -> Conversation:
    """The process's conversation service."""
    return hub.conversation


class MessageBody(BaseModel):
    # No whitespace stripping: what was written is what is stored.
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: StrictStr = Field(default="", max_length=MAX_TEXT)
    photos: list[Annotated[StrictStr, Field(max_length=40)]] = Field(
        default_factory=list, max_length=MAX_PHOTOS
    )


class ReadBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: StrictInt = Field(ge=0, le=2**31)


def _number(request: Request, name: str, low: int, high: int) -> int | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 10 or not low <= int(text) <= high:
        raise BadRequest(f"{name}: a whole number from {low} to {high}")
    return int(text)


async def _photo_of(request: Request) -> tuple[bytes, str | None]:
    """The uploaded image and its declared type, from a raw or multipart body."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        images.check_declared(content_type)
        photo = await read_body(request, images.MAX_UPLOAD_BYTES, PHOTO_TOO_LARGE)
        return photo, content_type

    body = await read_body(
        request, images.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD, PHOTO_TOO_LARGE
    )

    # Parse the bytes already held, so the form parser never spools more.
    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    buffered = Request(request.scope, replay)
    try:
        async with buffered.form(max_files=1, max_fields=4) as form:
            upload = form.get("photo")
            if not isinstance(upload, UploadFile):
                raise BadRequest("send the image in the form field 'photo'")
            return await upload.read(), upload.content_type
    except (HTTPException, MultiPartException, ValueError) as exc:
        # Starlette turns a broken multipart body into a 400 HTTPException.
        raise BadRequest("the multipart form is broken") from exc


# -- handlers ------------------------------------------------------------------


async def post_message(request: Request) -> Response:
    user = await current_user(request)
    body = await read_model(request, MessageBody)
    message = await conversation_of(hub_of(request)).post(
        user, request.path_params["ticket_id"], body.text, list(body.photos)
    )
    return JSONResponse(message, status_code=201)


async def list_messages(request: Request) -> Response:
    user = await current_user(request)
    page = await conversation_of(hub_of(request)).page(
        user,
        request.path_params["ticket_id"],
        limit=_number(request, "limit", 1, MAX_PAGE) or DEFAULT_PAGE,
        before=_number(request, "before", 1, 2**31),
    )
    return JSONResponse(page)


async def mark_read(request: Request) -> Response:
    user = await current_user(request)
    body = await read_model(request, ReadBody)
    receipt = await conversation_of(hub_of(request)).mark_read(
        user, request.path_params["ticket_id"], body.message_id
    )
    return JSONResponse(receipt)


async def upload_photo(request: Request) -> Response:
    user = await current_user(request)
    data, content_type = await _photo_of(request)
    photo = await conversation_of(hub_of(request)).upload(
        user, request.path_params["ticket_id"], data, content_type
    )
    return JSONResponse(photo, status_code=201, headers={"Location": photo["url"]})


async def get_photo(request: Request) -> Response:
    user = await current_user(request)
    size_text = request.query_params.get("size") or Size.FULL.value
    try:
        size = Size(size_text)
    except ValueError:
        raise BadRequest("size: full or thumb") from None
    data = await conversation_of(hub_of(request)).photo(
        user, request.path_params["photo_id"], size
    )
    headers = {
        # Private: a shared cache must never hand a tenant's photo to another.
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
        "Content-Disposition": "inline",
    }
    return Response(data, media_type=images.OUTPUT_TYPE, headers=headers)


async def waiting_for_reply(request: Request) -> Response:
    user = await current_user(request)
    found = await conversation_of(hub_of(request)).waiting(user)
    return JSONResponse({"tickets": found})


Handler = Callable[[Request], Awaitable[Response]]

ROUTES: list[tuple[str, Handler, list[str], str]] = [
    ("/api/tickets/{ticket_id}/messages", list_messages, ["GET"], "messages_list"),
    ("/api/tickets/{ticket_id}/messages", post_message, ["POST"], "messages_post"),
    ("/api/tickets/{ticket_id}/read", mark_read, ["POST"], "messages_read"),
    ("/api/tickets/{ticket_id}/photos", upload_photo, ["POST"], "photos_upload"),
    ("/api/photos/{photo_id}", get_photo, ["GET"], "photo"),
    ("/api/conversations/waiting", waiting_for_reply, ["GET"], "conversations_waiting"),
]

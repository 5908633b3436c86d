"""What every REST handler shares: the hub context, the caller, bodies, errors.

Handlers raise `HubError`s; `error_response` turns them into the JSON error
body and status. Bodies are read with a size limit before parsing, and
validated with pydantic models, whose first complaint becomes the message.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from hub.context import HubContext
from hub.directory.model import Role, User
from hub.errors import BadRequest, Forbidden, HubError, TooLarge, Unauthorized

MAX_JSON_BODY = 64 * 1024

Model = TypeVar("Model", bound=BaseModel)


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def hub_of(request: Request) -> HubContext:
    hub: HubContext = request.app.state.hub
    return hub


def error_response(error: HubError) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if "retry_after" in error.details:
        headers["Retry-After"] = str(error.details["retry_after"])
    return JSONResponse(error.as_body(), status_code=error.http_status, headers=headers)


async def current_user(request: Request) -> User:
    """The authenticated caller, from `Authorization: Bearer <token>`."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("log in first: send 'Authorization: Bearer <token>'")
    hub = hub_of(request)
    claims = hub.tokens.verify(token.strip())
    user = await hub.directory.user(claims.user_id)
    if user is None:
        raise Unauthorized("the token is not valid")
    return user


def require_role(user: User, *roles: Role) -> None:
    if user.role not in roles:
        raise Forbidden("your role may not do this")


async def read_body(request: Request, limit: int, too_large: str) -> bytes:
    """The raw body, read no further than `limit` bytes (a lying or missing
    Content-Length cannot make the hub buffer more)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(too_large)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(too_large)
    return bytes(body)


async def read_json(request: Request, limit: int = MAX_JSON_BODY) -> Any:
    """The request body as JSON, refusing bodies over `limit` bytes."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise BadRequest("send a JSON body with Content-Type: application/json")
    body = await read_body(request, limit, f"body over {limit} bytes")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest(
            "body is not valid JSON (or nested over 1,024 levels deep)"
        ) from None


async def read_model(
    request: Request, model: type[Model], limit: int = MAX_JSON_BODY
) -> Model:
    data = await read_json(request, limit)
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadRequest(f"{field}: {first['msg']}") from None


def page_limit(request: Request, default: int, maximum: int) -> int:
    """The `limit` query parameter of a paged list: 1 to `maximum`."""
    text = request.query_params.get("limit")
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise BadRequest(f"limit: a whole number from 1 to {maximum}")
    return int(text)

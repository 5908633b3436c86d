"""Error codes, websocket close codes and the hub's exception tree.

    HubError                 base: carries an ErrorCode and a message
    ├── BadRequest           malformed or invalid input         (bad_request, 400)
    ├── Unauthorized         no, invalid or expired token       (unauthorized, 401)
    ├── Forbidden            authenticated but not allowed      (forbidden, 403)
    ├── NotFound             absent, or not visible to the user (not_found, 404)
    ├── Conflict             lost a race or wrong state          (conflict, 409)
    ├── RateLimited          too many requests                   (rate_limited, 429)
    ├── TooLarge             payload over the limit              (too_large, 413)
    └── Unavailable          Redis down or the hub not ready     (unavailable, 503)

Redis errors are translated to `Unavailable` at one boundary
(`hub.redis_errors.translate`), so handlers deal only in these.
"""

from __future__ import annotations

import enum
import math
from typing import Any


class ErrorCode(enum.StrEnum):
    """The `code` of an `error` frame and of a REST error body."""

    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.UNAVAILABLE: 503,
}


class CloseCode(enum.IntEnum):
    """Websocket close codes the hub sends, and whether a client should retry.

    Only an accepted websocket can be closed with a code: a handshake the hub
    refuses (no subprotocol it speaks, shutting down) gets an HTTP answer
    instead (see `hub.app.refuse_handshake`). A page of a foreign origin is the
    exception: a browser shows the app no HTTP status, so the hub accepts and
    at once closes with FORBIDDEN, which tells the app not to retry. The codes
    a client must not retry blindly are NOT_AUTHENTICATED and FORBIDDEN; the
    rest mean "reconnect, with backoff".
    """

    NORMAL = 1000  # client asked to close; do not reconnect
    MESSAGE_TOO_BIG = 1009  # frame over the size limit; reconnect, send less
    INTERNAL_ERROR = 1011  # hub bug; reconnect with backoff
    SERVICE_RESTART = 1012  # hub restarting; reconnect
    NOT_AUTHENTICATED = 4401  # bad or expired token; log in again first
    FORBIDDEN = 4403  # a page of an origin the hub does not allow; do not retry
    AUTH_TIMEOUT = 4408  # no auth frame in time; reconnect and authenticate
    TOO_SLOW = 4429  # send queue full or flooding; reconnect with backoff


RETRYABLE_CLOSE_CODES = frozenset(
    {
        CloseCode.MESSAGE_TOO_BIG,
        CloseCode.INTERNAL_ERROR,
        CloseCode.SERVICE_RESTART,
        CloseCode.AUTH_TIMEOUT,
        CloseCode.TOO_SLOW,
    }
)

CLIENT_GOING_AWAY = 1001
"""What a browser sends when its page goes away; the hub never sends it, and
takes it, like NORMAL, as a clean goodbye."""


class HubError(Exception):
    """Base of every error the hub reports to a client."""

    code: ErrorCode = ErrorCode.BAD_REQUEST

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def as_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": str(self.code), "message": self.message}
        error.update(self.details)
        return {"error": error}


class BadRequest(HubError):
    code = ErrorCode.BAD_REQUEST


class Unauthorized(HubError):
    code = ErrorCode.UNAUTHORIZED


class TokenExpired(Unauthorized):
    """The token was valid once; the client should log in again."""


class Forbidden(HubError):
    code = ErrorCode.FORBIDDEN


class NotFound(HubError):
    code = ErrorCode.NOT_FOUND


class Conflict(HubError):
    code = ErrorCode.CONFLICT


class RateLimited(HubError):
    """Too many requests. `retry_after` (whole seconds, at least 1) tells the
    client when trying again can succeed; REST answers carry it as the
    `Retry-After` header as well as in the body."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        if retry_after is None:
            super().__init__(message)
        else:
            super().__init__(message, retry_after=max(1, math.ceil(retry_after)))


class TooLarge(HubError):
    code = ErrorCode.TOO_LARGE


class Unavailable(HubError):
    code = ErrorCode.UNAVAILABLE

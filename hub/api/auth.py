"""POST /api/login and GET /api/me.

Failed logins are counted per username and per client address in Redis;
past the limit the answer is 429 until the window passes. Unknown user and
wrong password give the same answer, after the same password hashing work.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from hub.api.common import JSONResponse, current_user, hub_of, read_model
from hub.auth.passwords import check_password
from hub.errors import RateLimited, Unauthorized

logger = logging.getLogger("hub.api")

ADDRESS_FAILURE_FACTOR = 10
"""A whole address (a shared Wi-Fi, a care home) gets this many users' worth."""


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


async def login(request: Request) -> Response:
    hub = hub_of(request)
    body = await read_model(request, LoginBody)
    settings = hub.settings
    username = body.username.strip().lower()
    address = request.client.host if request.client else "unknown"
    user_key = f"{settings.key_prefix}login-failures:user:{username}"
    address_key = f"{settings.key_prefix}login-failures:addr:{address}"

    user_failures, address_failures = await hub.redis.mget(user_key, address_key)
    if (
        int(user_failures or 0) >= settings.login_failures_allowed
        or int(address_failures or 0)
        >= settings.login_failures_allowed * ADDRESS_FAILURE_FACTOR
    ):
        wait = max(await hub.redis.ttl(user_key), await hub.redis.ttl(address_key))
        raise RateLimited(
            "too many failed logins; wait a few minutes and try again",
            retry_after=wait if wait > 0 else settings.login_failure_window,
        )

    found = await hub.directory.credentials(username)
    user, password_hash = found if found else (None, None)
    if user is None or not await check_password(password_hash, body.password):
        async with hub.redis.pipeline(transaction=True) as pipe:
            for key in (user_key, address_key):
                pipe.incr(key)
                pipe.expire(key, settings.login_failure_window)
            await pipe.execute()
        logger.info("login failed", extra={"client": address})
        raise Unauthorized("wrong customer number, employee id or password")

    await hub.redis.delete(user_key)
    token = hub.tokens.issue(user.id, user.role.value)
    return JSONResponse(
        {"token": token, "expires_in": settings.token_ttl, "user": user.public()}
    )


async def me(request: Request) -> Response:
    user = await current_user(request)
    return JSONResponse({"user": user.public()})

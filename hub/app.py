"""The Starlette application: routes, start-up and an orderly shutdown.

Start-up: connect to Redis (starting the embedded one when no `REDIS_URL`
is set), settle the token secret, start the broker's listener and the
presence sweeper. Shutdown, in order: stop accepting, close every socket
with 1012 so clients reconnect elsewhere, stop background tasks, close
Redis, stop the embedded server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio
import redis.exceptions
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from hub.api import auth as auth_api
from hub.api import districts as districts_api
from hub.api import faq as faq_api
from hub.api import messages as messages_api
from hub.api import tickets as tickets_api
from hub.api.common import JSONResponse, error_response
from hub.auth.tokens import TokenSigner
from hub.channels.broker import Broker
from hub.channels.codec import SUBPROTOCOLS, Codec, choose_codec
from hub.config import Settings
from hub.context import HubContext
from hub.directory.store import DirectoryStore
from hub.errors import BadRequest, CloseCode, HubError, Unavailable
from hub.faq.service import FaqService
from hub.gcpolicy import settle_after_startup
from hub.media.storage import DiskMediaStore
from hub.metrics import HubMetrics
from hub.presence.store import PresenceStore, Sweeper
from hub.redis_server import EmbeddedRedis, start_embedded_redis
from hub.tickets.conversation import Conversation
from hub.tickets.service import TicketService
from hub.ws.server_protocol import SEND_FRAMES
from hub.ws.session import Session

logger = logging.getLogger("hub")

WEB_ROOT = Path(__file__).parent / "web"
SHUTDOWN_GRACE = 5.0
REDIS_POOL_SIZE = 64
REDIS_POOL_TIMEOUT = 10.0


async def resolve_secret_key(settings: Settings, client: redis.asyncio.Redis) -> str:
    """HUB_SECRET_KEY, else one random key kept in Redis and shared by every
    hub process on that Redis, so tokens survive restarts and work anywhere."""
    if settings.secret_key:
        return settings.secret_key
    key = f"{settings.key_prefix}secret-key"
    await client.set(key, secrets.token_urlsafe(48), nx=True)
    stored = await client.get(key)
    return stored.decode() if isinstance(stored, bytes) else str(stored)


def origin_allowed(settings: Settings, websocket: WebSocket) -> bool:
    """Browsers send Origin; refuse pages of other sites (cross-site websocket
    hijacking). Clients that are not browsers send none and are let through:
    they must still authenticate."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if "*" in settings.allowed_origins or origin in settings.allowed_origins:
        return True
    host = websocket.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def refuse_handshake(websocket: WebSocket, error: HubError) -> None:
    """Answer a websocket handshake with an HTTP error instead of opening it.

    Before `accept` there is no websocket to close, so no close code can be
    sent: the client sees the HTTP status (browsers only see that it failed),
    and clients that read HTTP answers get the usual JSON error body.
    """
    await websocket.send_denial_response(error_response(error))


async def websocket_handshake(
    hub: HubContext, scope: Scope, receive: Receive, send: Send
) -> Codec | None:
    """Accept the websocket, or refuse it; the codec it will speak if accepted.

    The Starlette `WebSocket` lives only for the handshake: a session keeps
    the raw ASGI callables and nothing that holds the request's headers.
    """
    websocket = WebSocket(scope, receive, send)
    if not hub.accepting:
        await refuse_handshake(websocket, Unavailable("the hub is shutting down"))
        return None
    offered = list(websocket.scope.get("subprotocols", []))
    codec = choose_codec(offered)
    if codec is None:
        spoken = ", ".join(SUBPROTOCOLS)
        await refuse_handshake(websocket, BadRequest(f"speak one of: {spoken}"))
        return None
    subprotocol = codec.subprotocol if offered else None
    if not origin_allowed(hub.settings, websocket):
        # Cross-site websocket hijacking: a page of another site must never
        # use a tenant's session. A browser hides an HTTP refusal from the
        # page (it only sees 1006, and would retry for ever), so accept and
        # close at once with 4403: not one frame of the client's is read.
        logger.info("websocket closed: origin not allowed")
        await websocket.accept(subprotocol=subprotocol)
        await websocket.close(
            code=int(CloseCode.FORBIDDEN), reason="origin not allowed"
        )
        return None
    await websocket.accept(subprotocol=subprotocol)
    return codec


class HubApp:
    """The ASGI app: Starlette for HTTP, and `/ws` served straight from ASGI,
    so frames go out and come in without Starlette's per-frame wrappers."""

    def __init__(self, starlette: Starlette) -> None:
        self.starlette = starlette
        self.state = starlette.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/ws":
            hub: HubContext = self.state.hub
            codec = await websocket_handshake(hub, scope, receive, send)
            if codec is not None:
                at_once = SEND_FRAMES in (scope.get("extensions") or {})
                await Session(hub, codec, receive, send, frames_at_once=at_once).run()
        else:
            await self.starlette(scope, receive, send)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "alive"})


async def readyz(request: Request) -> Response:
    hub: HubContext = request.app.state.hub
    checks = {"accepting": hub.accepting, "listener": hub.broker.ready}
    try:
        checks["redis"] = bool(await asyncio.wait_for(hub.redis.ping(), 2.0))
    except (redis.exceptions.RedisError, OSError, TimeoutError):
        checks["redis"] = False
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def metrics(request: Request) -> Response:
    hub: HubContext = request.app.state.hub
    return Response(
        generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )


def page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        return FileResponse(WEB_ROOT / f"{name}.html")

    return serve


async def index(request: Request) -> Response:
    if (WEB_ROOT / "index.html").exists():
        return FileResponse(WEB_ROOT / "index.html")
    return RedirectResponse("/tenant")


def api(
    handler: Callable[[Request], Awaitable[Response]], name: str
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a REST handler: HubErrors become JSON errors, Redis failures 503."""

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        try:
            return await handler(request)
        except HubError as error:
            return error_response(error)
        except (redis.exceptions.RedisError, OSError):
            logger.warning("request %s failed: Redis unavailable", name)
            return error_response(
                Unavailable("the hub cannot reach its store; try again")
            )
        finally:
            hub: HubContext = request.app.state.hub
            hub.metrics.http_latency.labels(name).observe(time.perf_counter() - started)

    return endpoint


async def page_config(request: Request) -> Response:
    """What the pages need to know before login: the map tiles to use."""
    hub: HubContext = request.app.state.hub
    return JSONResponse(
        {
            "tile_url": hub.settings.tile_url,
            "tile_attribution": hub.settings.tile_attribution,
        }
    )


def api_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/api/config", api(page_config, "config"), methods=["GET"]),
        Route("/api/login", api(auth_api.login, "login"), methods=["POST"]),
        Route("/api/me", api(auth_api.me, "me"), methods=["GET"]),
        Route(
            "/api/districts",
            api(districts_api.list_districts, "districts"),
            methods=["GET"],
        ),
        Route(
            "/api/districts/{district_id}",
            api(districts_api.get_district, "district"),
            methods=["GET"],
        ),
    ]
    for path, handler, methods, name in [
        *tickets_api.ROUTES,
        *messages_api.ROUTES,
        *faq_api.ROUTES,
    ]:
        routes.append(Route(path, api(handler, name), methods=methods))
    return routes


async def not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        from hub.errors import NotFound

        return error_response(NotFound("no such endpoint"))
    return PlainTextResponse("Not found", status_code=404)


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    # The product's error codes have no "method not allowed"; bad_request with
    # the 405 status and Starlette's Allow header says it precisely enough.
    message = f"{request.method} is not allowed here"
    body = {"error": {"code": "bad_request", "message": message}}
    headers = getattr(exc, "headers", None)
    return JSONResponse(body, status_code=405, headers=headers)


def create_app(settings: Settings | None = None, *, tune_gc: bool = False) -> HubApp:
    """The hub as an ASGI app. `tune_gc` applies `hub.gcpolicy` once it has
    started: for a process that is the hub (the CLI), not for one that merely
    hosts it (tests, other apps), whose collector is not the hub's to tune."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        embedded: EmbeddedRedis | None = None
        url = settings.redis_url
        if url is None:
            embedded = await asyncio.to_thread(start_embedded_redis, settings.data_dir)
            url = embedded.url
            logger.info("embedded Redis at %s (data in %s)", url, settings.data_dir)
            if not embedded.owned:
                # Known limit: the embedded Redis lives and dies with the hub
                # process that started it, so this one loses its Redis when
                # that one stops, and does not start another.
                logger.warning(
                    "sharing the embedded Redis of hub process %s: it stops when "
                    "that process stops; for several hub processes run a Redis "
                    "of your own and set REDIS_URL",
                    embedded.pid,
                )
        client = redis_client(url)
        listener_client = redis_client(url, retries=0)
        hub = await build_context(settings, client, listener_client)
        app.state.hub = hub
        sweeper = Sweeper(
            hub.presence, interval=min(1.0, settings.presence_timeout / 10)
        )
        await hub.broker.start()
        sweeper.start()
        if tune_gc:
            settle_after_startup()
        try:
            yield
        finally:
            await shutdown(hub)
            await sweeper.close()
            await hub.broker.close()
            await client.aclose()
            await listener_client.aclose()
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *api_routes(),
        Route("/", index),
        Route("/tenant", page("tenant")),
        Route("/caretaker", page("caretaker")),
        Route("/dashboard", page("dashboard")),
    ]
    if (WEB_ROOT / "static").is_dir():
        routes.append(
            Mount("/static", StaticFiles(directory=WEB_ROOT / "static"), name="static")
        )
    exception_handlers: dict[Any, Any] = {404: not_found, 405: method_not_allowed}
    return HubApp(
        Starlette(
            routes=routes, lifespan=lifespan, exception_handlers=exception_handlers
        )
    )


def redis_client(url: str, *, retries: int = 3) -> redis.asyncio.Redis:
    """A client that retries a command once the connection it used broke (a
    pooled connection goes stale when Redis restarts). The broker's listener
    gets one with `retries=0`: it must see every break to resynchronise."""
    # A blocking pool: at a burst of connects, commands wait for a free
    # connection instead of failing with "too many connections".
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_POOL_SIZE,
        timeout=REDIS_POOL_TIMEOUT,
        health_check_interval=10,
        socket_connect_timeout=5,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries),
        retry_on_error=[
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
        ],
    )
    return redis.asyncio.Redis.from_pool(pool)  # owns the pool: aclose() closes it


async def build_context(
    settings: Settings,
    client: redis.asyncio.Redis,
    listener_client: redis.asyncio.Redis | None = None,
) -> HubContext:
    metrics_ = HubMetrics()
    broker = Broker(
        client,
        settings.key_prefix,
        listener_redis=listener_client,
        canary_interval=settings.canary_interval,
        canary_timeout=settings.canary_timeout,
        on_reconnect=metrics_.redis_reconnects.inc,
        on_message=metrics_.redis_messages.inc,
        on_fanout=metrics_.frames_out.inc,
    )
    presence = PresenceStore(
        client,
        settings.key_prefix,
        timeout=settings.presence_timeout,
        precision_m=settings.tenant_location_precision_m,
        location_max_age=settings.location_max_age,
    )
    secret = await resolve_secret_key(settings, client)
    directory = DirectoryStore(client, settings.key_prefix)
    return HubContext(
        settings=settings,
        redis=client,
        broker=broker,
        presence=presence,
        directory=directory,
        tokens=TokenSigner(secret, settings.token_ttl),
        metrics=metrics_,
        tickets=TicketService(client, settings, metrics_, directory),
        conversation=Conversation(
            client,
            settings,
            broker.publish,
            DiskMediaStore(settings.data_dir / "media"),
        ),
        faq=FaqService(client, settings.key_prefix, directory),
    )


async def shutdown(hub: HubContext) -> None:
    """Close every socket with 1012 (service restart) so clients go elsewhere."""
    hub.accepting = False
    sessions = list(hub.sessions)
    if not sessions:
        return
    logger.info("closing %d connection(s) for shutdown", len(sessions))
    await asyncio.wait(
        [
            asyncio.ensure_future(s.close(CloseCode.SERVICE_RESTART, "hub restarting"))
            for s in sessions
        ],
        timeout=SHUTDOWN_GRACE,
    )

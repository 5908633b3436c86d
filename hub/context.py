"""The services one hub process runs with, built at start-up and shared by
the websocket sessions and the REST handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from redis.asyncio import Redis

from hub.auth.tokens import TokenSigner
from hub.channels.broker import Broker
from hub.config import Settings
from hub.directory.model import User
from hub.directory.store import DirectoryStore
from hub.metrics import HubMetrics
from hub.presence.store import PresenceStore

if TYPE_CHECKING:
    from hub.ws.session import Session


class TicketAccess(Protocol):
    async def can_see(self, user: User, ticket_id: str) -> bool:
        """Whether `user` may follow the ticket (False also when it does not exist)."""


@dataclass
class HubContext:
    settings: Settings
    redis: Redis
    broker: Broker
    presence: PresenceStore
    directory: DirectoryStore
    tokens: TokenSigner
    metrics: HubMetrics
    tickets: Any = None
    """The ticket service (hub.tickets.service.TicketService) once wired in."""
    sessions: set[Session] = field(default_factory=set)
    accepting: bool = True

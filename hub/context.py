"""The services one hub process runs with, built at start-up and shared by
the websocket sessions and the REST handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from hub.auth.tokens import TokenSigner
from hub.channels.broker import Broker
from hub.config import Settings
from hub.directory.store import DirectoryStore
from hub.metrics import HubMetrics
from hub.presence.store import PresenceStore

if TYPE_CHECKING:
    from hub.faq.service import FaqService
    from hub.tickets.conversation import Conversation
    from hub.tickets.service import TicketService
    from hub.ws.session import Session


@dataclass
class HubContext:
    settings: Settings
    redis: Redis
    broker: Broker
    presence: PresenceStore
    directory: DirectoryStore
    tokens: TokenSigner
    metrics: HubMetrics
    tickets: TicketService
    conversation: Conversation
    faq: FaqService
    sessions: set[Session] = field(default_factory=set)
    accepting: bool = True

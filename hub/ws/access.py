"""Who may subscribe to which channel, and which topic that means for them.

Pure: a user and a channel name in, a `Route` out, or Forbidden / NotFound /
BadRequest. Visibility of a single ticket (`ticket:<id>`) needs the ticket
itself, so that check is left to the caller through `Route.needs_ticket`.

Channels (the client's names) and the topics they resolve to:

    district:<id>          -> district:<id>#public (tenant), #staff (others)
    tickets:mine           -> tickets:mine#<user id>     (tenant, caretaker)
    tickets:district:<id>  -> tickets:district:<id>      (its caretaker, agents)
    ticket:<id>            -> ticket:<id>                (people on the ticket)
    dashboard              -> dashboard                  (agents)
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from hub.directory.model import ID_RE, Role, User
from hub.errors import BadRequest, Forbidden
from hub.presence.model import Audience, district_topic

TICKET_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ChannelKind(enum.StrEnum):
    DISTRICT = "district"
    TICKETS_MINE = "tickets_mine"
    TICKETS_DISTRICT = "tickets_district"
    TICKET = "ticket"
    DASHBOARD = "dashboard"


@dataclass(frozen=True, slots=True)
class Route:
    channel: str
    kind: ChannelKind
    topic: str
    subject: str = ""
    """The district or ticket id the channel is about ("" when none)."""

    @property
    def durable(self) -> bool:
        """Durable topics have positions a client can resume from."""
        return self.kind is not ChannelKind.DISTRICT

    @property
    def needs_ticket(self) -> bool:
        return self.kind is ChannelKind.TICKET


def resolve(user: User, channel: str) -> Route:
    """The route for `user` on `channel`, or the error the client should see."""
    if channel == "dashboard":
        _require(user.role is Role.AGENT, "only customer service sees the dashboard")
        return Route(channel, ChannelKind.DASHBOARD, "dashboard")

    if channel == "tickets:mine":
        _require(user.role is not Role.AGENT, "agents follow tickets on the dashboard")
        return Route(channel, ChannelKind.TICKETS_MINE, f"tickets:mine#{user.id}")

    kind_name, _, subject = channel.partition(":")
    if kind_name == "district":
        _valid_id(subject, channel)
        _require(_sees_district(user, subject), "not your district")
        audience = Audience.PUBLIC if user.role is Role.TENANT else Audience.STAFF
        return Route(
            channel, ChannelKind.DISTRICT, district_topic(subject, audience), subject
        )

    if kind_name == "tickets" and subject.startswith("district:"):
        district_id = subject.removeprefix("district:")
        _valid_id(district_id, channel)
        _require(
            user.role is Role.AGENT
            or (user.role is Role.CARETAKER and district_id in user.districts),
            "only the district's caretaker and customer service see its tickets",
        )
        return Route(channel, ChannelKind.TICKETS_DISTRICT, channel, district_id)

    if kind_name == "ticket":
        if not TICKET_ID_RE.match(subject):
            raise BadRequest(f"no such channel: {channel[:64]!r}")
        return Route(channel, ChannelKind.TICKET, channel, subject)

    raise BadRequest(f"no such channel: {channel[:64]!r}")


def _sees_district(user: User, district_id: str) -> bool:
    return user.role is Role.AGENT or district_id in user.districts


def _valid_id(identifier: str, channel: str) -> None:
    if not ID_RE.match(identifier):
        raise BadRequest(f"no such channel: {channel[:64]!r}")


def _require(allowed: bool, reason: str) -> None:
    if not allowed:
        raise Forbidden(reason)

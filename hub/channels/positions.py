"""Positions: the ordered ids of events on a topic.

Durable topics use Redis stream ids (``"<ms>-<seq>"``). Live-only topics such
as presence use a plain counter (``"<n>"``), read as ``n-0``. Both compare as
pairs of integers, which is all the resume and de-duplication logic needs.
"""

from __future__ import annotations

from hub.errors import BadRequest

Position = tuple[int, int]

ORIGIN: Position = (0, 0)
MAX_POSITION_TEXT = 41  # two 20-digit integers and a dash


def parse_position(text: object) -> Position:
    """Parse a client-supplied position, raising BadRequest when it is not one."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_POSITION_TEXT:
        raise BadRequest("a position is a string like '1700000000000-0'")
    head, _, tail = text.partition("-")
    if not head.isdigit() or (tail and not tail.isdigit()) or text.endswith("-"):
        raise BadRequest("a position is a string like '1700000000000-0'")
    return int(head), int(tail or 0)


def format_position(position: Position) -> str:
    return f"{position[0]}-{position[1]}"


def next_position(position: Position) -> Position:
    """The smallest position after `position`."""
    return position[0], position[1] + 1

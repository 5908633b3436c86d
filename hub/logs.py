"""Logging policy and set-up (structlog rendering stdlib records).

Levels:
    ERROR    a bug of ours, with a traceback
    WARNING  degraded but running: Redis reconnecting, a slow client dropped
    INFO     lifecycle (start, stop, embedded Redis) and client misbehaviour
    DEBUG    per-frame traffic

Never logged: tokens, passwords, locations. Log lines name users and
connections by id. As a second line of defence the `redact` processor blanks
any field whose name says it holds a secret or a position.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

REDACTED_FIELDS = frozenset(
    {
        "token",
        "password",
        "password_hash",
        "secret",
        "authorization",
        "lat",
        "lon",
        "latitude",
        "longitude",
        "location",
    }
)


def redact(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for name in event.keys() & REDACTED_FIELDS:
        event[name] = "[redacted]"
    # uvicorn attaches an ANSI-coloured copy of some messages; one is enough.
    event.pop("color_message", None)
    return event


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso"),
            redact,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log would print every request line; keep it at WARNING.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True

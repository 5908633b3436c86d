"""Hub settings, read once from the environment.

Every knob an operator can turn is listed here with its variable name and
default; `docs/configuration.md` mirrors this file. Settings are immutable
after start-up: a process that needs other settings is restarted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from redis.connection import parse_url


def default_data_dir() -> Path:
    """Per-user data folder (XDG on Linux) for the embedded Redis and uploads."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "homi-hub"


class Settings(BaseSettings):
    """All hub configuration. Environment variables use the `HUB_` prefix,
    except `REDIS_URL`, which keeps its conventional name."""

    model_config = SettingsConfigDict(env_prefix="HUB_", frozen=True, extra="ignore")

    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    """Use this Redis. Unset: start an embedded Redis in `data_dir`."""

    data_dir: Path = Field(default_factory=default_data_dir)
    key_prefix: str = "homi:"
    """Namespace for every Redis key and pub/sub channel of this hub."""

    secret_key: str = ""
    """Signs login tokens. Unset: a random key per data folder (see cli)."""

    token_ttl: int = Field(default=12 * 3600, ge=1)
    """Seconds a login token stays valid. Token times are whole seconds, so a
    token lives between `token_ttl - 1` and `token_ttl` seconds."""

    presence_timeout: float = Field(default=45.0, gt=0)
    """Seconds after which a silent caretaker is shown offline."""

    tenant_location_precision_m: float = Field(default=100.0, ge=0)
    """Grid size in metres that tenants' view of a location is rounded to."""

    location_max_age: float = Field(default=300.0, gt=0)
    """Seconds the latest position is kept after the last fix."""

    location_min_interval: float = Field(default=0.25, ge=0)
    """Location frames closer together than this are coalesced."""

    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Origins allowed to open a websocket. Empty: same host only."""

    max_frame_bytes: int = Field(default=64 * 1024, ge=1024)
    send_queue_frames: int = Field(default=256, ge=8)
    """Frames queued for one slow connection before it is closed with 4429."""

    socket_send_buffer: int = Field(default=64 * 1024, ge=4096)
    """Kernel send buffer per connection (bytes). Small, so that a client that
    stops reading fills it soon and meets the send queue limit, instead of
    parking megabytes in the kernel first."""

    auth_timeout: float = Field(default=5.0, gt=0)
    frames_per_second: float = Field(default=20.0, gt=0)
    frame_burst: int = Field(default=40, ge=1)

    login_failures_allowed: int = Field(default=5, ge=1)
    login_failure_window: int = Field(default=300, ge=1)

    stream_max_length: int = Field(default=10_000, ge=10)
    stream_max_age_days: float = Field(default=30.0, gt=0)

    canary_interval: float = Field(default=2.0, gt=0)
    canary_timeout: float = Field(default=5.0, gt=0)

    accept_deadline_hours: dict[str, float] = Field(
        default_factory=lambda: {"emergency": 2.0, "urgent": 24.0, "normal": 120.0}
    )
    resolve_deadline_hours: dict[str, float] = Field(
        default_factory=lambda: {"emergency": 24.0, "urgent": 48.0, "normal": 240.0}
    )

    tile_url: str = ""
    """Map tile URL template for the pages; empty shows outlines only."""
    tile_attribution: str = ""
    """Attribution text the tile provider requires, shown on the maps."""

    log_level: str = "INFO"
    log_format: str = "console"

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_parses(cls, value: str | None) -> str | None:
        # Parse now, so a mistyped URL is a one-line error at start-up
        # instead of a traceback from the first connection attempt.
        if value:
            try:
                parse_url(value)  # type: ignore[no-untyped-call]  # untyped in redis-py
            except ValueError as exc:
                raise ValueError(f"not a Redis URL: {exc}") from None
        return value

    @field_validator("key_prefix")
    @classmethod
    def _prefix_ends_with_colon(cls, value: str) -> str:
        return value if value.endswith(":") else value + ":"

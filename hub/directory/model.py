"""Directory records and the JSON file format they are loaded from.

The file format is documented in `docs/directory-format.md`. Validation uses
pydantic models with strict limits, so a broken file is refused as a whole
with a message naming the bad entry, before anything is written.
"""

from __future__ import annotations

import enum
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
ID_RE = re.compile(ID_PATTERN)


class Role(enum.StrEnum):
    TENANT = "tenant"
    CARETAKER = "caretaker"
    AGENT = "agent"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Profile(_Strict):
    """What a tenant sees of their caretaker."""

    photo_url: str | None = Field(default=None, max_length=500)
    age: int | None = Field(default=None, ge=16, le=100)
    favourite_dish: str = Field(default="", max_length=200)
    hobbies: list[str] = Field(default_factory=list, max_length=20)
    intro_video_url: str | None = Field(default=None, max_length=500)
    work: str = Field(default="", max_length=2000)
    reachable: str = Field(default="", max_length=500)


class DistrictRecord(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    number: int | None = None
    boundary: dict[str, Any] | None = None

    @field_validator("boundary")
    @classmethod
    def _geometry(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and value.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError("boundary must be a GeoJSON Polygon or MultiPolygon")
        return value


class _UserRecord(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    password_hash: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_password(self) -> _UserRecord:
        if (self.password is None) == (self.password_hash is None):
            raise ValueError("give exactly one of password and password_hash")
        return self


class CaretakerRecord(_UserRecord):
    districts: list[str] = Field(min_length=1, max_length=50)
    profile: Profile = Field(default_factory=Profile)


class TenantRecord(_UserRecord):
    district: str = Field(pattern=ID_PATTERN)


class AgentRecord(_UserRecord):
    pass


class DirectoryFile(_Strict):
    version: Literal[1] = 1
    districts: list[DistrictRecord] = Field(default_factory=list)
    caretakers: list[CaretakerRecord] = Field(default_factory=list)
    tenants: list[TenantRecord] = Field(default_factory=list)
    agents: list[AgentRecord] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> DirectoryFile:
        district_ids = {district.id for district in self.districts}
        if len(district_ids) != len(self.districts):
            raise ValueError("district ids must be unique")
        user_ids: set[str] = set()
        for user in [*self.caretakers, *self.tenants, *self.agents]:
            if user.id in user_ids:
                raise ValueError(f"user id {user.id!r} appears twice")
            user_ids.add(user.id)
        for caretaker in self.caretakers:
            unknown = set(caretaker.districts) - district_ids
            if unknown:
                raise ValueError(
                    f"caretaker {caretaker.id!r}: unknown districts {sorted(unknown)}"
                )
        for tenant in self.tenants:
            if tenant.district not in district_ids:
                raise ValueError(
                    f"tenant {tenant.id!r}: unknown district {tenant.district!r}"
                )
        return self


class User(BaseModel):
    """A user as the hub holds it after login (never with the password hash)."""

    model_config = ConfigDict(frozen=True)

    id: str
    role: Role
    name: str
    districts: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role.value,
            "name": self.name,
            "districts": list(self.districts),
        }

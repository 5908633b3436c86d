"""The directory in Redis: users, districts, caretaker profiles.

Keys with prefix P:
    P user:<id>               hash: role, name, districts (comma list), password_hash,
                              profile (JSON, caretakers only)
    P districts               hash: district id -> JSON {id, name, number, caretakers}
    P district-boundary:<id>  the district's GeoJSON geometry
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from hub.auth.passwords import hash_password
from hub.directory.model import (
    AgentRecord,
    CaretakerRecord,
    DirectoryFile,
    Role,
    TenantRecord,
    User,
)

CARD_CACHE_SECONDS = 5.0
"""How long a process reuses a district's caretaker cards. A snapshot is sent
on every subscribe; the cards behind it change a few times a year, so a
profile edit may take this long to show on new subscriptions."""


@dataclass(frozen=True, slots=True)
class DistrictCards:
    """A district and the public profiles of its caretakers, in order."""

    district: dict[str, Any]
    caretakers: list[dict[str, Any]]


class DirectoryStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._cards: dict[str, tuple[float, DistrictCards | None]] = {}

    def _user_key(self, user_id: str) -> str:
        return f"{self._prefix}user:{user_id}"

    # -- writing -------------------------------------------------------------

    async def load(self, directory: DirectoryFile) -> dict[str, int]:
        """Add or replace every district and user in `directory`."""
        caretakers_of: dict[str, list[str]] = {d.id: [] for d in directory.districts}
        for caretaker in directory.caretakers:
            for district_id in caretaker.districts:
                caretakers_of[district_id].append(caretaker.id)

        async with self._redis.pipeline(transaction=True) as pipe:
            for district in directory.districts:
                summary = {
                    "id": district.id,
                    "name": district.name,
                    "number": district.number,
                    "caretakers": caretakers_of[district.id],
                }
                pipe.hset(
                    f"{self._prefix}districts", district.id, orjson.dumps(summary)
                )
                if district.boundary is not None:
                    pipe.set(
                        f"{self._prefix}district-boundary:{district.id}",
                        orjson.dumps(district.boundary),
                    )
            for caretaker in directory.caretakers:
                self._queue_user(pipe, caretaker, Role.CARETAKER)
            for tenant in directory.tenants:
                self._queue_user(pipe, tenant, Role.TENANT)
            for agent in directory.agents:
                self._queue_user(pipe, agent, Role.AGENT)
            await pipe.execute()
        return {
            "districts": len(directory.districts),
            "caretakers": len(directory.caretakers),
            "tenants": len(directory.tenants),
            "agents": len(directory.agents),
        }

    def _queue_user(
        self,
        pipe: Any,
        record: CaretakerRecord | TenantRecord | AgentRecord,
        role: Role,
    ) -> None:
        password_hash = record.password_hash or hash_password(record.password or "")
        if isinstance(record, CaretakerRecord):
            districts = record.districts
        elif isinstance(record, TenantRecord):
            districts = [record.district]
        else:
            districts = []
        mapping: dict[str, str | bytes] = {
            "role": role.value,
            "name": record.name,
            "districts": ",".join(districts),
            "password_hash": password_hash,
        }
        if isinstance(record, CaretakerRecord):
            mapping["profile"] = orjson.dumps(record.profile.model_dump())
        key = self._user_key(record.id)
        pipe.delete(key)
        pipe.hset(key, mapping=mapping)

    async def add_user(
        self, user_id: str, role: Role, name: str, districts: list[str], password: str
    ) -> None:
        """Add one user; caretakers are also listed on each of their districts."""
        known = await self.districts()
        unknown = [d for d in districts if d not in known]
        if unknown:
            raise LookupError(f"unknown district(s): {', '.join(unknown)}")
        record: CaretakerRecord | TenantRecord | AgentRecord
        if role is Role.CARETAKER:
            record = CaretakerRecord(
                id=user_id, name=name, districts=districts, password=password
            )
        elif role is Role.TENANT:
            if len(districts) != 1:
                raise ValueError("a tenant lives in exactly one district")
            record = TenantRecord(
                id=user_id, name=name, district=districts[0], password=password
            )
        else:
            record = AgentRecord(id=user_id, name=name, password=password)
        async with self._redis.pipeline(transaction=True) as pipe:
            self._queue_user(pipe, record, role)
            if role is Role.CARETAKER:
                for district_id in districts:
                    summary = known[district_id]
                    if user_id not in summary["caretakers"]:
                        summary["caretakers"].append(user_id)
                    pipe.hset(
                        f"{self._prefix}districts", district_id, orjson.dumps(summary)
                    )
            await pipe.execute()

    # -- reading -------------------------------------------------------------

    async def credentials(self, user_id: str) -> tuple[User, str] | None:
        """The user and their password hash, for login only."""
        fields = await self._redis.hgetall(self._user_key(user_id))
        if not fields:
            return None
        return _user(user_id, fields), _text(fields[b"password_hash"])

    async def user(self, user_id: str) -> User | None:
        fields = await self._redis.hmget(
            self._user_key(user_id), ["role", "name", "districts"]
        )
        if fields[0] is None:
            return None
        return _user(
            user_id,
            {
                b"role": fields[0],
                b"name": fields[1] or b"",
                b"districts": fields[2] or b"",
            },
        )

    async def districts(self) -> dict[str, dict[str, Any]]:
        raw = await self._redis.hgetall(f"{self._prefix}districts")
        summaries = {_text(key): orjson.loads(value) for key, value in raw.items()}
        return dict(sorted(summaries.items(), key=lambda item: item[1]["name"]))

    async def district(self, district_id: str) -> dict[str, Any] | None:
        raw = await self._redis.hget(f"{self._prefix}districts", district_id)
        return orjson.loads(raw) if raw else None

    async def boundary(self, district_id: str) -> dict[str, Any] | None:
        raw = await self._redis.get(f"{self._prefix}district-boundary:{district_id}")
        return orjson.loads(raw) if raw else None

    async def district_cards(self, district_id: str) -> DistrictCards | None:
        """The district and its caretakers' cards (cached briefly, see above)."""
        now = time.monotonic()
        cached = self._cards.get(district_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        district = await self.district(district_id)
        cards = None
        if district is not None:
            async with self._redis.pipeline(transaction=False) as pipe:
                for caretaker_id in district["caretakers"]:
                    pipe.hmget(self._user_key(caretaker_id), ["name", "profile"])
                rows = await pipe.execute()
            caretakers = [
                _card(caretaker_id, name, profile)
                for caretaker_id, (name, profile) in zip(
                    district["caretakers"], rows, strict=True
                )
                if name is not None
            ]
            cards = DistrictCards(district=district, caretakers=caretakers)
        if len(self._cards) > 10_000:
            self._cards.clear()
        self._cards[district_id] = (now + CARD_CACHE_SECONDS, cards)
        return cards

    async def caretaker_profile(self, caretaker_id: str) -> dict[str, Any] | None:
        name, profile = await self._redis.hmget(
            self._user_key(caretaker_id), ["name", "profile"]
        )
        return None if name is None else _card(caretaker_id, name, profile)


def _text(value: bytes | str) -> str:
    """redis-py answers bytes here (no decode_responses), typed as either."""
    return value.decode() if isinstance(value, bytes) else value


def _card(
    caretaker_id: str, name: bytes | str, profile: bytes | str | None
) -> dict[str, Any]:
    return {
        "id": caretaker_id,
        "name": _text(name),
        **(orjson.loads(profile) if profile else {}),
    }


def _user(user_id: str, fields: Mapping[Any, bytes | str]) -> User:
    districts = _text(fields.get(b"districts", b""))
    return User(
        id=user_id,
        role=Role(_text(fields[b"role"])),
        name=_text(fields.get(b"name", b"")),
        districts=tuple(d for d in districts.split(",") if d),
    )

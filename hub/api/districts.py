"""GET /api/districts and GET /api/districts/{id}: districts, caretaker profiles,
live presence.

Tenants see only their own district; the list shows them just that one.
The presence in these answers is the same view the websocket snapshot gives
(coarse location for tenants).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.api.common import JSONResponse, current_user, hub_of
from hub.directory.model import ID_RE, Role
from hub.errors import NotFound
from hub.presence.model import Audience


async def list_districts(request: Request) -> Response:
    user = await current_user(request)
    hub = hub_of(request)
    districts = await hub.directory.districts()
    items: list[dict[str, Any]] = []
    for district in districts.values():
        if user.role is not Role.AGENT and district["id"] not in user.districts:
            continue
        caretakers = []
        for caretaker_id in district["caretakers"]:
            profile = await hub.directory.caretaker_profile(caretaker_id)
            if profile is not None:
                caretakers.append(
                    {
                        "id": caretaker_id,
                        "name": profile["name"],
                        "photo_url": profile.get("photo_url"),
                    }
                )
        items.append(
            {
                "id": district["id"],
                "name": district["name"],
                "number": district["number"],
                "caretakers": caretakers,
            }
        )
    return JSONResponse({"districts": items})


async def get_district(request: Request) -> Response:
    user = await current_user(request)
    hub = hub_of(request)
    district_id = request.path_params["district_id"]
    visible = user.role is Role.AGENT or district_id in user.districts
    district = (
        await hub.directory.district(district_id) if ID_RE.match(district_id) else None
    )
    if district is None or not visible:
        # The same answer for "absent" and "not yours": ids cannot be probed.
        raise NotFound(f"no district {district_id[:64]!r}")
    audience = Audience.PUBLIC if user.role is Role.TENANT else Audience.STAFF
    snapshot = await hub.presence.snapshot(
        district_id, district["caretakers"], audience
    )
    caretakers = []
    for caretaker_id in district["caretakers"]:
        profile = await hub.directory.caretaker_profile(caretaker_id) or {
            "id": caretaker_id
        }
        caretakers.append({**profile, "presence": snapshot.caretakers[caretaker_id]})
    return JSONResponse(
        {
            "id": district["id"],
            "name": district["name"],
            "number": district["number"],
            "boundary": await hub.directory.boundary(district_id),
            "caretakers": caretakers,
            "position": f"{snapshot.position}-0",
        }
    )

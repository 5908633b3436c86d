"""What a tenant can report about, in Dutch and English.

The list follows how Dutch housing corporations sort repair requests (the
home; common areas; glass; doors, locks and hinges; facades and roofs; drains;
kitchen, shower and toilet; installations; garden and path; nuisance). The
ids are part of the wire contract and the demo uses them: add, never rename.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    nl: str
    en: str

    def as_data(self) -> dict[str, Any]:
        return {"id": self.id, "label": {"nl": self.nl, "en": self.en}}


CATEGORIES: tuple[Category, ...] = (
    Category("leak", "Lekkage", "Leak"),
    Category("heating", "Verwarming en warm water", "Heating and hot water"),
    Category("drains", "Afvoer en riolering", "Drains and sewage"),
    Category("doors_locks", "Deuren, sloten en scharnieren", "Doors, locks and hinges"),
    Category("electrics", "Elektra", "Electrics"),
    Category("windows_glass", "Ramen en glas", "Windows and glass"),
    Category(
        "kitchen_bathroom", "Keuken, douche en toilet", "Kitchen, shower and toilet"
    ),
    Category("ventilation_mould", "Ventilatie en schimmel", "Ventilation and mould"),
    Category("pests", "Ongedierte", "Pests"),
    Category("nuisance", "Overlast", "Nuisance"),
    Category("common_areas", "Algemene ruimtes", "Common areas"),
    Category("garden_paths", "Tuin en paden", "Garden and paths"),
    Category("roof_facade", "Dak en gevel", "Roof and facade"),
    Category("other", "Overig", "Other"),
)

CATEGORY_IDS: tuple[str, ...] = tuple(category.id for category in CATEGORIES)

"""Rotterdam's real districts (*gebieden*) and the residential ones the demo uses.

The boundaries are the municipality's own TIR *gebieden* (21 of them, identical
to the CBS *wijken* of Rotterdam), shipped as
`data/rotterdam_gebieden_wgs84.geojson`; see `data/README.md` for the source.

Which districts are residential
-------------------------------
Seven of the 21 gebieden are port, industrial or business areas where almost
nobody rents a home, so a caretaker there would be a fiction. The names alone do
not say this (Spaanse Polder sounds like a village), so the rule is an explicit
list, `NON_RESIDENTIAL`, each with its reason. Every other gebied is residential.
That leaves fourteen: Rotterdam Centrum, Delfshaven, Overschie, Noord,
Hillegersberg-Schiebroek, Kralingen-Crooswijk, Feijenoord, IJsselmonde, Pernis,
Prins Alexander, Charlois, Hoogvliet, Hoek van Holland and Rozenburg.

A district id is a lowercase slug of the real name ("Hoek van Holland" becomes
"hoek-van-holland"), so the id in a channel name (`district:hoek-van-holland`)
can be read by a person and traced back to the map.

Geometry is kept as tuples of (lon, lat) rings, the GeoJSON order, because that
is how the file stores it; every public method takes and returns (lat, lon).
Point-in-polygon is plain ray casting on lon/lat: at the size of a city district
the error of treating degrees as a flat plane is far below the 0.1 m rounding of
the data, and it saves a dependency on shapely.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from hub.demo._files import read_data_text

GEBIEDEN_FILE = "rotterdam_gebieden_wgs84.geojson"

Ring = tuple[tuple[float, float], ...]
"""A closed ring of (lon, lat) vertices; the last vertex repeats the first."""

Polygon = tuple[Ring, ...]
"""An outer ring followed by zero or more holes."""

NON_RESIDENTIAL: dict[str, str] = {
    "Spaanse Polder": "industrial estate",
    "Nieuw Mathenesse": "industrial and harbour area",
    "Waalhaven-Eemhaven": "port",
    "Vondelingenplaat": "port and industry",
    "Botlek-Europoort-Maasvlakte": "port and petrochemical industry",
    "Rotterdam-Noord-West": "airport and business park",
    "Rivium": "business park",
}
"""Gebieden left out of the demo, by their real name, with the reason."""


@dataclass(frozen=True)
class District:
    """One gebied: its slug id, real name, municipal number and boundary."""

    id: str
    name: str
    number: int
    polygons: tuple[Polygon, ...]

    @property
    def boundary(self) -> dict[str, Any]:
        """The boundary as a GeoJSON geometry, a fresh dict on every call."""
        as_lists = [
            [[list(vertex) for vertex in ring] for ring in polygon]
            for polygon in self.polygons
        ]
        if len(as_lists) == 1:
            return {"type": "Polygon", "coordinates": as_lists[0]}
        return {"type": "MultiPolygon", "coordinates": as_lists}

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(min_lat, min_lon, max_lat, max_lon) of the outer rings."""
        lons = [lon for polygon in self.polygons for lon, _ in polygon[0]]
        lats = [lat for polygon in self.polygons for _, lat in polygon[0]]
        return min(lats), min(lons), max(lats), max(lons)

    @property
    def centroid(self) -> tuple[float, float]:
        """The area-weighted centre as (lat, lon).

        For a concave or split district (Charlois includes Heijplaat across the
        river) this point can fall outside the boundary; use `interior_point`
        for a point that is guaranteed to be inside.
        """
        return _centroid(self.polygons)

    @functools.cached_property
    def interior_point(self) -> tuple[float, float]:
        """A point inside the district, as near the centroid as a scan finds."""
        return _interior_point(self)

    def contains(self, lat: float, lon: float) -> bool:
        """Whether (lat, lon) lies inside the district (not in one of its holes)."""
        return any(_polygon_contains(polygon, lon, lat) for polygon in self.polygons)


def slugify(name: str) -> str:
    """Lowercase ASCII words joined by hyphens ("Prins Alexander": "prins-alexander").

    Letters with accents lose them, so the id is safe in a URL and a channel name.
    """
    ascii_name = (
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    )
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def load_gebieden(geojson_text: str | None = None) -> tuple[District, ...]:
    """All 21 gebieden in file order, from the shipped file unless text is given."""
    if geojson_text is None:
        geojson_text = read_data_text(GEBIEDEN_FILE)
    collection = json.loads(geojson_text)
    return tuple(_district_from_feature(feature) for feature in collection["features"])


@functools.cache
def residential_districts() -> tuple[District, ...]:
    """The fourteen residential districts, ordered by municipal number."""
    chosen = [d for d in load_gebieden() if d.name not in NON_RESIDENTIAL]
    return tuple(sorted(chosen, key=lambda district: district.number))


def district_by_id(district_id: str) -> District:
    """The residential district with this id; KeyError names the known ids."""
    for district in residential_districts():
        if district.id == district_id:
            return district
    known = ", ".join(d.id for d in residential_districts())
    raise KeyError(f"no residential district {district_id!r}; known: {known}")


def district_at(lat: float, lon: float) -> District | None:
    """The residential district that contains (lat, lon), if any."""
    for district in residential_districts():
        if district.contains(lat, lon):
            return district
    return None


def _district_from_feature(feature: dict[str, Any]) -> District:
    properties = feature["properties"]
    geometry = feature["geometry"]

    if geometry["type"] == "Polygon":
        raw_polygons = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        raw_polygons = geometry["coordinates"]
    else:
        raise ValueError(f"unexpected geometry type {geometry['type']!r}")

    polygons = tuple(
        tuple(tuple((float(lon), float(lat)) for lon, lat in ring) for ring in polygon)
        for polygon in raw_polygons
    )
    name = str(properties["gebied_naam"])
    return District(
        id=slugify(name),
        name=name,
        number=int(properties["gebied_nr"]),
        polygons=polygons,
    )


def _ring_contains(ring: Ring, x: float, y: float) -> bool:
    # Ray casting: count the edges a horizontal ray from (x, y) crosses.
    inside = False
    x1, y1 = ring[-1]
    for x2, y2 in ring:
        if (y1 > y) != (y2 > y):
            crossing_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < crossing_x:
                inside = not inside
        x1, y1 = x2, y2
    return inside


def _polygon_contains(polygon: Polygon, x: float, y: float) -> bool:
    outer, *holes = polygon
    if not _ring_contains(outer, x, y):
        return False
    return not any(_ring_contains(hole, x, y) for hole in holes)


def _ring_area_and_centre(ring: Ring) -> tuple[float, float, float]:
    # Shoelace formula; the sign of the area follows the winding order.
    twice_area = 0.0
    cx = 0.0
    cy = 0.0
    for (x1, y1), (x2, y2) in pairwise(ring):
        cross = x1 * y2 - x2 * y1
        twice_area += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    if twice_area == 0.0:
        return 0.0, ring[0][0], ring[0][1]
    return twice_area / 2.0, cx / (3.0 * twice_area), cy / (3.0 * twice_area)


def _centroid(polygons: tuple[Polygon, ...]) -> tuple[float, float]:
    # Holes count negatively whatever their winding, so take absolute areas and
    # subtract. Degrees are treated as a plane: an axis scaling (cos of the
    # latitude) does not move a centroid.
    total = 0.0
    sum_x = 0.0
    sum_y = 0.0
    for polygon in polygons:
        for index, ring in enumerate(polygon):
            area, x, y = _ring_area_and_centre(ring)
            weight = abs(area) if index == 0 else -abs(area)
            total += weight
            sum_x += weight * x
            sum_y += weight * y
    return sum_y / total, sum_x / total


def _interior_point(district: District) -> tuple[float, float]:
    lat, lon = district.centroid
    if district.contains(lat, lon):
        return lat, lon

    # Scan a grid over the bounding box and keep the inside point nearest the
    # centroid; 60 x 60 is fine enough for every gebied's narrowest part.
    min_lat, min_lon, max_lat, max_lon = district.bbox
    steps = 60
    best: tuple[float, float] | None = None
    best_distance = float("inf")
    for i in range(1, steps):
        for j in range(1, steps):
            p_lat = min_lat + (max_lat - min_lat) * i / steps
            p_lon = min_lon + (max_lon - min_lon) * j / steps
            distance = (p_lat - lat) ** 2 + (p_lon - lon) ** 2
            if distance < best_distance and district.contains(p_lat, p_lon):
                best, best_distance = (p_lat, p_lon), distance
    if best is None:
        raise ValueError(f"no interior point found for {district.name}")
    return best

"""Walking routes for the demo caretakers, derived from real GPS traces.

THESE ARE NOT ROTTERDAM TRACES. No openly licensed walking trace of Rotterdam
was found, so each route is a real recording made elsewhere and moved onto a
Rotterdam district:

    dc_run_garmin_2012.gpx            a run in Washington DC (206 fixes, 16 min)
    sf_walk_strava_2015.gpx           a short run in San Francisco (42 fixes, 41 s)
    dc_osm_public_traces_2007_2009    OpenStreetMap traces of Washington DC

The shape of the path and the time between fixes are real; the place is not.
Whatever shows a route to a person must call it *derived*, never a real
Rotterdam trace. Sources and licence: `data/README.md`.

Which traces become routes
--------------------------
Only traces a person could have walked or run: at least `MIN_FIXES` timed fixes
and a median speed of at most `MAX_HUMAN_SPEED`. That keeps the DC run and the
SF run. Of the OSM file, the first track is 60 fixes of a device lying still,
the second is a car on a highway (about 11 m/s), and the third has no times; the
parser reads all three, and the rule leaves them out.

How a trace is moved onto a district
------------------------------------
1. Project the trace and the district to metres on a local plane (plenty exact
   over a few kilometres).
2. Pick a point deep inside the district: seeded random points inside it, each
   scored by its distance to the nearest boundary edge, one of the deepest
   taken. A disc of that radius around it lies wholly inside the district.
3. Rotate the trace by a seeded angle about the centre of its bounding box,
   move that centre onto the chosen point, and shrink it (never enlarge) so
   that (a) every fix falls within 90 % of the disc and (b) the pace is no
   faster than a brisk walk, `WALKING_SPEED`. The times are untouched, so the
   caretaker keeps the recorded rhythm of stops and starts, only slower.
4. Keep only the fixes inside the boundary. Step 3 makes that all of them; the
   check stays so that a change to step 3 cannot put a caretaker in the river.

`walk()` replays a route as fixes with the recorded delays, optionally sped up,
and by default goes back along the same path when it reaches the end, so the
demo caretaker never jumps.
"""

from __future__ import annotations

import functools
import math
import random
import statistics
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from hub.demo import DEMO_SEED
from hub.demo._files import read_data_text
from hub.demo.districts import District, residential_districts

TRACE_FILES = (
    "dc_run_garmin_2012.gpx",
    "sf_walk_strava_2015.gpx",
    "dc_osm_public_traces_2007_2009.gpx",
)

MIN_FIXES = 20
MAX_HUMAN_SPEED = 4.5
"""Metres per second; a fast runner, well below a car in town."""

WALKING_SPEED = 1.4
"""Metres per second; a route is shrunk until its pace is no faster than this."""

_EARTH_RADIUS = 6_371_000.0
_CANDIDATE_POINTS = 40
_DEEPEST_TO_CHOOSE_FROM = 5
_DISC_MARGIN = 0.9


@dataclass(frozen=True)
class TracePoint:
    """One fix: position and time in seconds (POSIX for a trace, from 0 for a route)."""

    lat: float
    lon: float
    t: float


@dataclass(frozen=True)
class Trace:
    """One recorded track segment, its fixes in strictly increasing time."""

    name: str
    points: tuple[TracePoint, ...]

    @property
    def duration(self) -> float:
        """Seconds from the first fix to the last."""
        return self.points[-1].t - self.points[0].t if self.points else 0.0

    @property
    def length(self) -> float:
        """Metres along the track."""
        return sum(_distance(a, b) for a, b in pairwise(self.points))

    @property
    def median_speed(self) -> float:
        """Median metres per second between successive fixes."""
        speeds = [_distance(a, b) / (b.t - a.t) for a, b in pairwise(self.points)]
        return statistics.median(speeds) if speeds else 0.0


@dataclass(frozen=True)
class Route:
    """A trace moved onto a district; every point lies inside it, t from 0."""

    district_id: str
    trace_name: str
    scale: float
    rotation_degrees: float
    points: tuple[TracePoint, ...]


@dataclass(frozen=True)
class Fix:
    """A position to send, after waiting `delay` seconds since the previous fix."""

    lat: float
    lon: float
    delay: float


def parse_gpx(text: str, source: str = "gpx") -> tuple[Trace, ...]:
    """Every track segment with timed fixes, as a Trace named after its origin.

    Works for GPX 1.0 and 1.1 (elements are matched by local name, whatever the
    namespace). Fixes without a time are skipped, and so is a fix whose time is
    not after the previous one, so a Trace's time deltas are always positive.
    """
    root = ET.fromstring(text)
    traces: list[Trace] = []

    for track_number, track in enumerate(_children(root, "trk"), start=1):
        track_name = _child_text(track, "name") or f"track {track_number}"
        for segment_number, segment in enumerate(_children(track, "trkseg"), start=1):
            points = _timed_points(_children(segment, "trkpt"))
            if points:
                name = f"{source}: {track_name} #{segment_number}"
                traces.append(Trace(name=name, points=points))

    return tuple(traces)


@functools.cache
def load_traces() -> tuple[Trace, ...]:
    """All timed traces from the shipped GPX files."""
    traces: list[Trace] = []
    for filename in TRACE_FILES:
        traces.extend(parse_gpx(read_data_text(filename), source=filename))
    return tuple(traces)


def walkable_traces(traces: Iterable[Trace] | None = None) -> tuple[Trace, ...]:
    """The traces a person could have made on foot (see the module docstring)."""
    candidates = load_traces() if traces is None else tuple(traces)
    return tuple(
        trace
        for trace in candidates
        if len(trace.points) >= MIN_FIXES and 0 < trace.median_speed <= MAX_HUMAN_SPEED
    )


def derive_route(
    district: District,
    seed: int = DEMO_SEED,
    traces: Iterable[Trace] | None = None,
) -> Route:
    """Move one walkable trace onto `district`; the same seed gives the same route.

    The choice depends only on the seed and the district id, so adding a
    district does not change the others' routes.
    """
    rng = random.Random(f"{seed}:{district.id}")
    pool = walkable_traces(traces)
    if not pool:
        raise ValueError("no walkable trace to derive a route from")

    # Longer traces are chosen more often: they make a fuller round.
    trace = rng.choices(pool, weights=[len(t.points) for t in pool])[0]
    centre_lat, centre_lon, depth = _deep_point(district, rng)
    rotation = rng.uniform(0.0, 360.0)

    # The trace on its own plane, centred on the middle of its bounding box.
    origin = trace.points[0]
    xy = [_to_plane(p.lat, p.lon, origin.lat, origin.lon) for p in trace.points]
    mid_x = (min(x for x, _ in xy) + max(x for x, _ in xy)) / 2
    mid_y = (min(y for _, y in xy) + max(y for _, y in xy)) / 2
    radius = max(math.hypot(x - mid_x, y - mid_y) for x, y in xy) or 1.0

    scale = min(1.0, _DISC_MARGIN * depth / radius)
    pace = trace.length / trace.duration if trace.duration > 0 else 0.0
    if pace > WALKING_SPEED:
        scale = min(scale, WALKING_SPEED / pace)

    cos_r = math.cos(math.radians(rotation))
    sin_r = math.sin(math.radians(rotation))
    start_t = trace.points[0].t
    placed: list[TracePoint] = []
    for (x, y), point in zip(xy, trace.points, strict=True):
        dx, dy = (x - mid_x) * scale, (y - mid_y) * scale
        lat, lon = _from_plane(
            dx * cos_r - dy * sin_r, dx * sin_r + dy * cos_r, centre_lat, centre_lon
        )
        lat, lon = round(lat, 6), round(lon, 6)
        if district.contains(lat, lon):
            placed.append(TracePoint(lat=lat, lon=lon, t=point.t - start_t))

    return Route(
        district_id=district.id,
        trace_name=trace.name,
        scale=scale,
        rotation_degrees=rotation,
        points=_rebase(placed),
    )


def demo_routes(seed: int = DEMO_SEED) -> dict[str, Route]:
    """A derived route for every residential district, by district id."""
    return {d.id: derive_route(d, seed=seed) for d in residential_districts()}


def walk(route: Route, speedup: float = 1.0, loop: bool = True) -> Iterator[Fix]:
    """Yield the route's fixes with the recorded delays divided by `speedup`.

    The first fix has delay 0. With `loop`, the walk turns round at each end
    and goes back along the same path, for ever; without it, it stops at the
    last fix. The caller does the waiting: this generator never sleeps.
    """
    if speedup <= 0:
        raise ValueError(f"speedup must be positive, got {speedup}")
    if not route.points:
        return

    first = route.points[0]
    yield Fix(lat=first.lat, lon=first.lon, delay=0.0)

    legs: list[tuple[TracePoint, ...]] = [route.points, route.points[::-1]]
    leg = 0
    while True:
        for previous, current in pairwise(legs[leg]):
            delay = abs(current.t - previous.t) / speedup
            yield Fix(lat=current.lat, lon=current.lon, delay=delay)
        if not loop or len(route.points) < 2:
            return
        leg = 1 - leg


def _children(element: ET.Element, local_name: str) -> Iterator[ET.Element]:
    for child in element:
        if child.tag.rsplit("}", 1)[-1] == local_name:
            yield child


def _child_text(element: ET.Element, local_name: str) -> str | None:
    for child in _children(element, local_name):
        return (child.text or "").strip() or None
    return None


def _timed_points(elements: Iterable[ET.Element]) -> tuple[TracePoint, ...]:
    points: list[TracePoint] = []
    for element in elements:
        stamp = _child_text(element, "time")
        if stamp is None:
            continue
        t = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        if points and t <= points[-1].t:
            continue
        points.append(
            TracePoint(
                lat=float(element.attrib["lat"]), lon=float(element.attrib["lon"]), t=t
            )
        )
    return tuple(points)


def _rebase(points: list[TracePoint]) -> tuple[TracePoint, ...]:
    # If clipping removed the first fixes, the route still starts at t = 0.
    if not points:
        return ()
    t0 = points[0].t
    return tuple(TracePoint(lat=p.lat, lon=p.lon, t=p.t - t0) for p in points)


def _to_plane(lat: float, lon: float, lat0: float, lon0: float) -> tuple[float, float]:
    # Equirectangular projection around (lat0, lon0), in metres east and north.
    x = math.radians(lon - lon0) * _EARTH_RADIUS * math.cos(math.radians(lat0))
    y = math.radians(lat - lat0) * _EARTH_RADIUS
    return x, y


def _from_plane(x: float, y: float, lat0: float, lon0: float) -> tuple[float, float]:
    lat = lat0 + math.degrees(y / _EARTH_RADIUS)
    lon = lon0 + math.degrees(x / (_EARTH_RADIUS * math.cos(math.radians(lat0))))
    return lat, lon


def _distance(a: TracePoint, b: TracePoint) -> float:
    x, y = _to_plane(b.lat, b.lon, a.lat, a.lon)
    return math.hypot(x, y)


def _segment_distance(
    px: float, py: float, ax: float, ay: float, bx: float, by: float
) -> float:
    dx, dy = bx - ax, by - ay
    length_squared = dx * dx + dy * dy
    if length_squared == 0.0:
        return math.hypot(px - ax, py - ay)
    along = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length_squared))
    return math.hypot(px - (ax + along * dx), py - (ay + along * dy))


def _deep_point(district: District, rng: random.Random) -> tuple[float, float, float]:
    """A seeded point inside `district`, and its distance in metres to the boundary."""
    lat0, lon0 = district.centroid
    rings = [
        [_to_plane(lat, lon, lat0, lon0) for lon, lat in ring]
        for polygon in district.polygons
        for ring in polygon
    ]
    min_lat, min_lon, max_lat, max_lon = district.bbox

    scored: list[tuple[float, float, float]] = []
    attempts = 0
    while len(scored) < _CANDIDATE_POINTS:
        attempts += 1
        if attempts > 100 * _CANDIDATE_POINTS:
            raise ValueError(f"cannot find points inside {district.name}")
        lat = rng.uniform(min_lat, max_lat)
        lon = rng.uniform(min_lon, max_lon)
        if not district.contains(lat, lon):
            continue
        px, py = _to_plane(lat, lon, lat0, lon0)
        depth = min(
            _segment_distance(px, py, ax, ay, bx, by)
            for ring in rings
            for (ax, ay), (bx, by) in pairwise(ring)
        )
        scored.append((depth, lat, lon))

    scored.sort(reverse=True)
    depth, lat, lon = rng.choice(scored[:_DEEPEST_TO_CHOOSE_FROM])
    return lat, lon, depth

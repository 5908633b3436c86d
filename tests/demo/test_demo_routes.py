"""Derived walking routes: inside their district, at the recorded rhythm."""

from __future__ import annotations

import math
from itertools import islice, pairwise

import pytest

from hub.demo.districts import district_by_id, residential_districts
from hub.demo.routes import (
    MIN_FIXES,
    WALKING_SPEED,
    Fix,
    Route,
    TracePoint,
    demo_routes,
    derive_route,
    load_traces,
    parse_gpx,
    walk,
    walkable_traces,
)

DISTRICT_IDS = [district.id for district in residential_districts()]

GPX_10 = """<?xml version="1.0"?>
<gpx version="1.0" xmlns="http://www.topografix.com/GPX/1/0">
  <trk><name>test</name><trkseg>
    <trkpt lat="52.0" lon="4.0"><time>2020-01-01T10:00:00Z</time></trkpt>
    <trkpt lat="52.1" lon="4.1"></trkpt>
    <trkpt lat="52.2" lon="4.2"><time>2020-01-01T10:00:05Z</time></trkpt>
    <trkpt lat="52.3" lon="4.3"><time>2020-01-01T10:00:05Z</time></trkpt>
    <trkpt lat="52.4" lon="4.4"><time>2020-01-01T10:00:09.500Z</time></trkpt>
  </trkseg></trk>
  <trk><trkseg><trkpt lat="1" lon="1"/></trkseg></trk>
</gpx>
"""


def route_of(points: list[tuple[float, float, float]]) -> Route:
    return Route(
        district_id="test",
        trace_name="test",
        scale=1.0,
        rotation_degrees=0.0,
        points=tuple(TracePoint(lat, lon, t) for lat, lon, t in points),
    )


@pytest.fixture(scope="module")
def routes() -> dict[str, Route]:
    return demo_routes()


def test_gpx_fixes_without_time_or_going_back_in_time_are_skipped() -> None:
    (trace,) = parse_gpx(GPX_10, source="inline")

    assert [(p.lat, p.t - trace.points[0].t) for p in trace.points] == [
        (52.0, 0.0),
        (52.2, 5.0),
        (52.4, 9.5),
    ]
    assert trace.name == "inline: test #1"


def test_only_traces_a_person_could_walk_become_routes() -> None:
    names = {trace.name.split(":")[0] for trace in walkable_traces()}

    # The OSM file holds a device lying still and a car on a highway.
    assert names == {"dc_run_garmin_2012.gpx", "sf_walk_strava_2015.gpx"}
    assert len(load_traces()) > len(walkable_traces())


def test_every_district_gets_a_route(routes: dict[str, Route]) -> None:
    assert sorted(routes) == sorted(DISTRICT_IDS)
    for route in routes.values():
        assert len(route.points) >= MIN_FIXES


@pytest.mark.parametrize("district_id", DISTRICT_IDS)
def test_route_lies_inside_its_district(
    routes: dict[str, Route], district_id: str
) -> None:
    district = district_by_id(district_id)

    outside = [
        p for p in routes[district_id].points if not district.contains(p.lat, p.lon)
    ]

    assert outside == []


@pytest.mark.parametrize("district_id", DISTRICT_IDS)
def test_route_keeps_the_recorded_time_deltas(
    routes: dict[str, Route], district_id: str
) -> None:
    route = routes[district_id]
    trace = next(t for t in load_traces() if t.name == route.trace_name)

    route_deltas = [b.t - a.t for a, b in pairwise(route.points)]
    trace_deltas = [b.t - a.t for a, b in pairwise(trace.points)]

    assert route.points[0].t == 0.0
    assert all(delta > 0 for delta in route_deltas)
    assert route_deltas == pytest.approx(trace_deltas)


@pytest.mark.parametrize("district_id", DISTRICT_IDS)
def test_route_is_walked_not_run(routes: dict[str, Route], district_id: str) -> None:
    route = routes[district_id]
    metres = 0.0
    for a, b in pairwise(route.points):
        dy = math.radians(b.lat - a.lat) * 6_371_000
        dx = math.radians(b.lon - a.lon) * 6_371_000 * math.cos(math.radians(a.lat))
        metres += math.hypot(dx, dy)

    assert metres / route.points[-1].t <= WALKING_SPEED * 1.01


def test_same_seed_gives_the_same_route_and_another_seed_another() -> None:
    district = district_by_id("delfshaven")

    assert derive_route(district, seed=7) == derive_route(district, seed=7)
    assert (
        derive_route(district, seed=7).points != derive_route(district, seed=8).points
    )


def test_walk_replays_the_delays_sped_up_and_turns_back_at_the_end() -> None:
    route = route_of([(52.0, 4.0, 0.0), (52.1, 4.1, 4.0), (52.2, 4.2, 10.0)])

    fixes = list(islice(walk(route, speedup=2.0), 6))

    assert fixes == [
        Fix(52.0, 4.0, 0.0),
        Fix(52.1, 4.1, 2.0),
        Fix(52.2, 4.2, 3.0),
        Fix(52.1, 4.1, 3.0),
        Fix(52.0, 4.0, 2.0),
        Fix(52.1, 4.1, 2.0),
    ]


def test_walk_without_loop_stops_at_the_last_fix() -> None:
    route = route_of([(52.0, 4.0, 0.0), (52.1, 4.1, 4.0)])

    assert list(walk(route, loop=False)) == [
        Fix(52.0, 4.0, 0.0),
        Fix(52.1, 4.1, 4.0),
    ]


def test_walk_refuses_a_speedup_that_is_not_positive() -> None:
    route = route_of([(52.0, 4.0, 0.0)])

    with pytest.raises(ValueError, match="speedup"):
        next(walk(route, speedup=0))

"""The real Rotterdam districts: which are residential, and where a point lies."""

from __future__ import annotations

import pytest

from hub.demo.districts import (
    NON_RESIDENTIAL,
    District,
    district_at,
    district_by_id,
    load_gebieden,
    residential_districts,
    slugify,
)

EXPECTED_RESIDENTIAL = {
    "Rotterdam Centrum",
    "Delfshaven",
    "Overschie",
    "Noord",
    "Hillegersberg-Schiebroek",
    "Kralingen-Crooswijk",
    "Feijenoord",
    "IJsselmonde",
    "Pernis",
    "Prins Alexander",
    "Charlois",
    "Hoogvliet",
    "Hoek van Holland",
    "Rozenburg",
}


def square(lat: float, lon: float, size: float) -> tuple[tuple[float, float], ...]:
    """A closed (lon, lat) ring around a corner point."""
    return (
        (lon, lat),
        (lon + size, lat),
        (lon + size, lat + size),
        (lon, lat + size),
        (lon, lat),
    )


def test_residential_districts_are_the_fourteen_where_people_live() -> None:
    names = {district.name for district in residential_districts()}

    assert names == EXPECTED_RESIDENTIAL


def test_port_and_business_areas_are_left_out() -> None:
    names = {district.name for district in residential_districts()}
    all_names = {district.name for district in load_gebieden()}

    for port_area in ("Waalhaven-Eemhaven", "Botlek-Europoort-Maasvlakte", "Rivium"):
        assert port_area not in names
    # The exclusion list names real gebieden, so it cannot go stale silently.
    assert set(NON_RESIDENTIAL) <= all_names
    assert len(all_names) == 21


def test_district_ids_are_slugs_of_the_real_names() -> None:
    ids = [district.id for district in residential_districts()]

    for expected in (
        "rotterdam-centrum",
        "delfshaven",
        "feijenoord",
        "charlois",
        "prins-alexander",
        "hoek-van-holland",
        "hillegersberg-schiebroek",
        "ijsselmonde",
    ):
        assert expected in ids
    assert len(ids) == len(set(ids))


def test_district_by_id_returns_the_real_name_and_number() -> None:
    delfshaven = district_by_id("delfshaven")

    assert (delfshaven.name, delfshaven.number) == ("Delfshaven", 3)
    with pytest.raises(KeyError, match="waalhaven"):
        district_by_id("waalhaven-eemhaven")


def test_markthal_is_in_rotterdam_centrum() -> None:
    district = district_at(lat=51.9200, lon=4.4864)

    assert district is not None
    assert district.name == "Rotterdam Centrum"


@pytest.mark.parametrize(
    ("lat", "lon", "name"),
    [(51.9050, 4.4880, "Feijenoord"), (51.8830, 4.4890, "Charlois")],
    ids=["kop-van-zuid", "ahoy"],
)
def test_landmarks_fall_in_their_district(lat: float, lon: float, name: str) -> None:
    district = district_at(lat, lon)

    assert district is not None
    assert district.name == name


def test_a_point_in_the_port_is_in_no_residential_district() -> None:
    waalhaven = next(d for d in load_gebieden() if d.name == "Waalhaven-Eemhaven")

    assert district_at(*waalhaven.interior_point) is None


def test_a_point_in_a_hole_is_outside() -> None:
    district = District(
        id="ring",
        name="Ring",
        number=99,
        polygons=((square(0.0, 0.0, 10.0), square(4.0, 4.0, 2.0)),),
    )

    assert district.contains(lat=1.0, lon=1.0)
    assert not district.contains(lat=5.0, lon=5.0)
    assert not district.contains(lat=11.0, lon=1.0)


def test_centroid_of_a_square_is_its_middle() -> None:
    district = District(
        id="sq", name="Sq", number=98, polygons=((square(50.0, 4.0, 2.0),),)
    )

    lat, lon = district.centroid

    assert lat == pytest.approx(51.0)
    assert lon == pytest.approx(5.0)


def test_every_residential_centroid_lies_inside_its_district() -> None:
    for district in residential_districts():
        assert district.contains(*district.centroid), district.name
        assert district.contains(*district.interior_point), district.name


def test_boundary_is_a_geojson_geometry() -> None:
    charlois = district_by_id("charlois")
    centrum = district_by_id("rotterdam-centrum")

    # Charlois includes Heijplaat, across the river: two polygons.
    assert charlois.boundary["type"] == "MultiPolygon"
    assert len(charlois.boundary["coordinates"]) == 2
    assert centrum.boundary["type"] == "Polygon"
    lon, lat = centrum.boundary["coordinates"][0][0]
    assert 4.3 < lon < 4.6 and 51.8 < lat < 52.0


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Rotterdam Centrum", "rotterdam-centrum"),
        ("Hoek van Holland", "hoek-van-holland"),
        ("IJsselmonde", "ijsselmonde"),
        ("Kralingen-Crooswijk", "kralingen-crooswijk"),
        ("Café  Zuid ", "cafe-zuid"),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug

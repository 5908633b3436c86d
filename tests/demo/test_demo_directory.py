"""The demo directory: one caretaker per district, tenants and agents, avatars."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hub.demo.directory import (
    AVATAR_COLOURS,
    AVATAR_DIR,
    avatar_svg,
    build_demo_directory,
    contrast_ratio,
    initials,
    write_avatars,
    write_demo_directory,
)
from hub.demo.districts import residential_districts

PROFILE_FIELDS = {
    "photo_url",
    "age",
    "favourite_dish",
    "hobbies",
    "intro_video_url",
    "work",
    "reachable",
}


def test_every_district_has_exactly_one_caretaker() -> None:
    directory = build_demo_directory()
    district_ids = [d["id"] for d in directory["districts"]]

    served = [d for c in directory["caretakers"] for d in c["districts"]]

    assert sorted(served) == sorted(district_ids)
    assert district_ids == [d.id for d in residential_districts()]


def test_districts_carry_name_number_and_boundary() -> None:
    (centrum, *_) = build_demo_directory()["districts"]

    assert centrum["id"] == "rotterdam-centrum"
    assert centrum["name"] == "Rotterdam Centrum"
    assert centrum["number"] == 1
    assert centrum["boundary"]["type"] == "Polygon"


def test_every_tenant_lives_in_a_known_district_and_all_have_some() -> None:
    directory = build_demo_directory()
    district_ids = {d["id"] for d in directory["districts"]}

    tenant_districts = {t["district"] for t in directory["tenants"]}

    assert tenant_districts == district_ids
    assert len(directory["tenants"]) >= 200
    assert directory["tenants"][0]["id"] == "100001"
    assert directory["tenants"][0]["district"] == "rotterdam-centrum"


def test_ids_are_unique_and_customer_numbers_have_six_digits() -> None:
    directory = build_demo_directory()
    ids = [
        entry["id"]
        for section in ("caretakers", "tenants", "agents")
        for entry in directory[section]  # type: ignore[literal-required]
    ]

    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"\d{6}", t["id"]) for t in directory["tenants"])
    assert [a["id"] for a in directory["agents"]] == ["k9001", "k9002"]


def test_caretaker_profiles_are_complete() -> None:
    for caretaker in build_demo_directory()["caretakers"]:
        profile = caretaker["profile"]

        assert set(profile) == PROFILE_FIELDS
        assert caretaker["name"] and profile["favourite_dish"] and profile["work"]
        assert profile["hobbies"]
        assert 18 <= profile["age"] <= 67
        assert profile["intro_video_url"] is None
        assert "demonummer" in profile["reachable"]
        assert profile["photo_url"] == f"/static/avatars/{caretaker['id']}.svg"
        assert (AVATAR_DIR / f"{caretaker['id']}.svg").is_file()


def test_caretaker_names_are_all_different() -> None:
    names = [c["name"] for c in build_demo_directory()["caretakers"]]

    assert len(names) == len(set(names))


def test_demo_passwords_per_role() -> None:
    directory = build_demo_directory()

    assert {t["password"] for t in directory["tenants"]} == {"huurder"}
    assert {c["password"] for c in directory["caretakers"]} == {"beheerder"}
    assert {a["password"] for a in directory["agents"]} == {"klantenservice"}


def test_same_seed_same_directory_other_seed_other_tenant_names() -> None:
    first = build_demo_directory(seed=1)

    assert build_demo_directory(seed=1) == first
    other = build_demo_directory(seed=2)
    assert [t["name"] for t in other["tenants"]] != [
        t["name"] for t in first["tenants"]
    ]


def test_written_file_reads_back_as_the_same_directory(tmp_path: Path) -> None:
    path = write_demo_directory(tmp_path / "directory.json", tenants_per_district=3)

    loaded = json.loads(path.read_text(encoding="utf-8"))

    assert loaded == json.loads(
        json.dumps(build_demo_directory(tenants_per_district=3))
    )
    assert len(loaded["tenants"]) == 3 * len(loaded["districts"])


def test_shipped_avatars_match_the_generator(tmp_path: Path) -> None:
    for fresh in write_avatars(tmp_path):
        shipped = AVATAR_DIR / fresh.name
        assert shipped.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8")


@pytest.mark.parametrize("colour", AVATAR_COLOURS)
def test_avatar_initials_are_readable_on_every_colour(colour: str) -> None:
    assert contrast_ratio("#ffffff", colour) >= 4.5


def test_avatar_shows_initials_and_names_the_person() -> None:
    svg = avatar_svg("Sanne de Vries", "#1d4e89")

    assert ">SV</text>" in svg
    assert 'aria-label="Sanne de Vries"' in svg
    assert initials("Hasan Yıldız") == "HY"
    assert initials('A "quoted" <name>') == "A<"
    assert "&lt;" in avatar_svg('A "quoted" <name>', "#1d4e89")

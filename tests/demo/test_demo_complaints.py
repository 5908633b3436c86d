"""Demo reports from real NYC 311 housing complaints."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from itertools import islice

import pytest

from hub.demo._files import read_data_text
from hub.demo.complaints import (
    CATEGORIES,
    COMPLAINTS_FILE,
    EXCLUDED,
    MAPPING,
    UnmappedComplaint,
    arrival_gaps,
    compression_for,
    demo_reports,
    load_complaints,
    mapping_for,
)


def extract_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(read_data_text(COMPLAINTS_FILE))))


def test_every_complaint_in_the_extract_has_a_category() -> None:
    rows = extract_rows()

    unmapped = set()
    for row in rows:
        try:
            category = mapping_for(row["complaint_type"], row["descriptor"]).category
        except UnmappedComplaint:
            unmapped.add((row["complaint_type"], row["descriptor"]))
            continue
        assert category in CATEGORIES

    assert unmapped == set()
    assert len(load_complaints()) == len(rows)


def test_extract_is_small_and_housing_related_only() -> None:
    rows = extract_rows()

    assert list(rows[0]) == [
        "created_date",
        "complaint_type",
        "descriptor",
        "location_type",
        "housing_related",
    ]
    assert {row["housing_related"] for row in rows} == {"1"}
    assert 100 < len(rows) < 1000


def test_excluded_complaints_are_not_in_the_extract_nor_mapped() -> None:
    types_in_extract = {(r["complaint_type"], r["descriptor"]) for r in extract_rows()}

    for complaint_type, descriptor in EXCLUDED:
        assert (complaint_type, descriptor) not in MAPPING
        assert not any(
            t == complaint_type and descriptor in ("*", d) for t, d in types_in_extract
        )


def test_an_unknown_complaint_is_an_error_not_a_silent_drop() -> None:
    with pytest.raises(UnmappedComplaint) as raised:
        mapping_for("Illegal Fireworks", "Rockets")

    assert raised.value.complaint_type == "Illegal Fireworks"


def test_every_mapping_has_a_known_category_and_dutch_reports() -> None:
    for mapping in MAPPING.values():
        assert mapping.category in CATEGORIES
        assert mapping.reports
        for place, sentence in mapping.reports:
            assert place and sentence.endswith(".")


def test_arrival_gaps_are_real_and_positive() -> None:
    gaps = arrival_gaps(load_complaints())

    assert len(gaps) > 100
    assert min(gaps) > 0


def test_same_seed_gives_the_same_reports() -> None:
    first = list(islice(demo_reports(seed=3), 50))

    assert list(islice(demo_reports(seed=3), 50)) == first
    assert list(islice(demo_reports(seed=4), 50)) != first


def test_report_place_and_sentence_belong_together() -> None:
    pairs = {
        (m.category, place, sentence)
        for m in MAPPING.values()
        for place, sentence in m.reports
    }

    for report in islice(demo_reports(seed=5, mix="even"), 300):
        assert (report.category, report.place, report.description) in pairs


def test_compression_divides_the_real_gaps() -> None:
    slow = list(islice(demo_reports(seed=6), 20))
    fast = list(islice(demo_reports(seed=6, compression=10.0), 20))

    assert [r.delay_seconds / 10 for r in slow] == pytest.approx(
        [r.delay_seconds for r in fast]
    )
    assert [r[1:] for r in slow] == [r[1:] for r in fast]


def test_compression_for_gives_a_report_every_few_seconds() -> None:
    reports = islice(demo_reports(seed=7, compression=compression_for(5.0)), 3000)

    mean = statistics.fmean(report.delay_seconds for report in reports)

    assert 3.5 < mean < 6.5


def test_max_delay_caps_the_long_quiet_gaps() -> None:
    reports = islice(demo_reports(seed=8, compression=1.0, max_delay=30.0), 500)

    assert max(report.delay_seconds for report in reports) == 30.0


def test_real_mix_follows_the_data_and_even_mix_shows_every_category() -> None:
    in_data = {
        mapping_for(c.complaint_type, c.descriptor).category for c in load_complaints()
    }

    real = Counter(r.category for r in islice(demo_reports(seed=9), 1000))
    even = Counter(r.category for r in islice(demo_reports(seed=9, mix="even"), 1000))

    assert real.most_common(1)[0][0] == "nuisance"
    assert set(even) == in_data
    assert even["nuisance"] < 200

"""Search words, checks on text and public names, without Redis."""

from __future__ import annotations

import pytest

from hub.faq import text


def test_accents_and_case_fold_to_one_word() -> None:
    assert text.words("Café CRÈME Ĳsje") == ["cafe", "creme", "ijsje"]
    assert text.query_terms("cafe") == text.query_terms("CAFÉ")


def test_common_and_one_letter_words_are_not_searched() -> None:
    assert text.query_terms("Hoe doe ik dat in de keuken? a b") == ["doe", "keuken"]
    assert text.query_terms("de het een") == []


def test_a_word_is_found_by_its_start_but_not_by_its_end() -> None:
    terms = text.index_terms("De radiatorkraan lekt")
    assert {"radiator", "radiatorkraan", "rad", "lekt"} <= terms
    assert "kraan" not in terms and "ra" not in terms


def test_a_query_has_at_most_eight_words() -> None:
    assert len(text.query_terms(" ".join(f"woord{n}" for n in range(20)))) == 8


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("", "title: at least 3 characters"),
        ("  \n ", "title: at least 3 characters"),
        ("x" * 151, "title: at most 150 characters"),
        ("zo\x00", "title: contains control characters"),
        ("Lek?", None),
        ("regel 1\nregel 2\ttab", None),
    ],
)
def test_text_problems_are_named(value: str, found: str | None) -> None:
    assert text.problem(value, "title", low=3, high=150) == found


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Fatima el Amrani", "Fatima"),
        ("Mevrouw Jansen", "Mevrouw"),
        ("dhr. Peters", "Dhr"),
        ("Yıldız Koç", "Yıldız"),
        ("Jansen", "Jansen"),
    ],
)
def test_other_people_see_only_a_first_name(name: str, shown: str) -> None:
    assert text.public_name(name) == shown

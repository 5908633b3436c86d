"""A few real-sounding questions and answers for the demo's community FAQ.

Pure, like the rest of `hub.demo` apart from the runner: `plan_faq` picks
authors from the demo directory with a seeded generator and returns the posts;
`hub.demo.runner` writes them once through the FAQ service.

The subjects come from the Dutch *Besluit kleine herstellingen*, the list of
small repairs that are the tenant's own job (bleeding radiators, a new tap
washer, unblocking the indoor drain, greasing hinges and locks), plus two
everyday questions about the building. The texts are written for the demo.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hub.demo import DEMO_SEED

Who = Literal["tenant", "caretaker", "agent"]


@dataclass(frozen=True)
class SeedAnswer:
    author_id: str
    body: str


@dataclass(frozen=True)
class SeedQuestion:
    author_id: str
    title: str
    body: str
    answers: tuple[SeedAnswer, ...]


_POSTS: tuple[tuple[str, str, tuple[tuple[Who, str], ...]], ...] = (
    (
        "Mijn radiator wordt bovenaan niet warm, moet ik iemand bellen?",
        "Onderaan is hij heet, bovenaan koud. Hij tikt ook een beetje.",
        (
            (
                "tenant",
                "Dat is lucht. Zet de verwarming uit, houd een doekje onder het "
                "ventiel bovenaan en draai het met een radiatorsleutel een "
                "kwartslag open tot er water komt. Sleutel kost een euro of twee.",
            ),
            (
                "caretaker",
                "Klopt: ontluchten is een kleine herstelling die u zelf doet. "
                "Kijk daarna op de cv-ketel: de druk hoort tussen 1,5 en 2 bar. "
                "Blijft hij koud, doe dan een melding, dan kom ik kijken.",
            ),
        ),
    ),
    (
        "De keukenkraan blijft druppelen. Wie moet dat maken?",
        "",
        (
            (
                "tenant",
                "Een nieuw kraanleertje doet u zelf. Eerst de stopkraan onder het "
                "aanrecht dicht, dan de kraankop losdraaien. Neem het oude leertje "
                "mee naar de bouwmarkt, dan krijgt u de goede maat.",
            ),
            (
                "agent",
                "Lekt de kraan bij de voet of is hij zelf kapot, dan is het niet aan "
                "u: doe een melding via Iets melden.",
            ),
        ),
    ),
    (
        "De douche loopt heel langzaam leeg",
        "Het water staat na het douchen nog een tijd in de bak.",
        (
            (
                "tenant",
                "Bij mij zat het putje vol haar. Rooster eruit, haren eruit halen "
                "met een haakje, daarna een pan heet water met soda erdoor.",
            ),
            (
                "caretaker",
                "Ontstoppen binnen de woning is voor de huurder. Liever geen "
                "agressieve ontstopper, die tast de leidingen aan. Zit het verder "
                "in de standleiding en hebben de buren het ook, meld het dan.",
            ),
        ),
    ),
    (
        "Mijn voordeur piept en het slot draait zwaar",
        "",
        (
            (
                "tenant",
                "Scharnieren een druppel olie, en in het slot een beetje "
                "grafietpoeder (geen olie, daar gaat vuil aan plakken).",
            ),
        ),
    ),
    (
        "Wie vervangt de kapotte lamp in ons trappenhuis?",
        "Al een week donker op de tweede verdieping, 's avonds eng.",
        (
            (
                "caretaker",
                "Lampen in de gemeenschappelijke ruimtes zijn voor ons. Doe een "
                "melding of spreek mij aan op mijn ronde; ik neem lampen mee.",
            ),
        ),
    ),
    (
        "Hoe kom ik van een oude bank af?",
        "",
        (
            (
                "tenant",
                "Grofvuil haalt de gemeente op afspraak op. Zet het pas de avond "
                "ervoor buiten, anders krijgt het hele portiek last van de rommel.",
            ),
        ),
    ),
)


def plan_faq(
    tenants: Sequence[Mapping[str, Any]],
    caretakers: Sequence[Mapping[str, Any]],
    agents: Sequence[Mapping[str, Any]],
    *,
    reserved: frozenset[str] = frozenset(),
    seed: int = DEMO_SEED,
) -> list[SeedQuestion]:
    """The demo's FAQ posts with their authors, oldest first.

    Questions and tenants' answers come from tenants that are not `reserved`
    (the ones a person logs in as), so that person finds the FAQ written by
    their neighbours; a caretaker answers as the caretaker of the asker's
    district.
    """
    rng = random.Random(seed)
    pool = [tenant for tenant in tenants if tenant["id"] not in reserved]
    chosen = rng.sample(pool, 2 * len(_POSTS))
    caretaker_of = {
        district: caretaker["id"]
        for caretaker in caretakers
        for district in caretaker["districts"]
    }
    questions = []
    for n, (title, body, answers) in enumerate(_POSTS):
        asker, neighbour = chosen[2 * n], chosen[2 * n + 1]
        by_role = {
            "tenant": str(neighbour["id"]),
            "caretaker": str(caretaker_of.get(asker["district"], caretakers[0]["id"])),
            "agent": str(agents[0]["id"]),
        }
        questions.append(
            SeedQuestion(
                author_id=str(asker["id"]),
                title=title,
                body=body,
                answers=tuple(SeedAnswer(by_role[who], text) for who, text in answers),
            )
        )
    return questions

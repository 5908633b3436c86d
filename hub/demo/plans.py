"""What the demo's actors decide: triage, shifts, texts, who is left to a person.

Pure, like the rest of `hub.demo` apart from the runner: functions take data
and return data, with no socket and no clock, so every decision the live demo
makes can be checked in a unit test. `hub.demo.actors` carries them out against
a running hub; `hub.demo.runner` starts it all.

Triage follows the idea of the Dutch *Besluit kleine herstellingen*: small
repairs the law leaves to the tenant (a dripping tap needs a new washer, a
radiator that stays cold at the bottom needs bleeding, a slow sink needs its
trap cleaned, a stiff lock or hinge needs grease) get advice; everything else
becomes a ticket for the district's caretaker, with a severity after the
response norms in the product brief (water pouring in, no power, a smell of
burning: emergency; no heat, a lock that no longer works: urgent). The rules
match the demo's own report sentences (`hub.demo.complaints.MAPPING`); a
sentence no rule knows falls back on its category.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hub.demo import DEMO_SEED

# -- triage --------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """Customer service's answer to one report."""

    action: Literal["advise", "assign"]
    severity: Literal["emergency", "urgent", "normal"]
    note: str


_ADVICE: tuple[tuple[str, str], ...] = (
    (
        "kraan blijft druppen",
        "Een druppende kraan is een kleine reparatie voor de huurder: draai de "
        "stopkraan dicht en vervang het kraanleertje (een paar euro bij de "
        "bouwmarkt). Lukt het niet? Laat het ons weten.",
    ),
    (
        "alleen bovenaan een beetje lauw",
        "Er zit lucht in de radiator. Ontlucht hem met een radiatorsleutel "
        "(bouwmarkt) en vul daarna de cv-ketel bij tot 1,5 bar. Lukt het niet? "
        "Laat het ons weten.",
    ),
    (
        "zakt niet meer weg",
        "Draai de sifon onder de wastafel los en maak hem schoon; ontstoppen tot "
        "de gezamenlijke afvoer doet de huurder zelf. Lukt het niet? Laat het "
        "ons weten.",
    ),
    (
        "loopt heel langzaam leeg",
        "Maak de sifon onder de gootsteen schoon en spoel na met heet water en "
        "soda. Lukt het niet? Laat het ons weten.",
    ),
    (
        "heel stroef in het slot",
        "Een stroef slot kunt u zelf smeren: een beetje grafietpoeder of "
        "slotspray in het sleutelgat, geen olie. Lukt het niet? Laat het ons "
        "weten.",
    ),
    (
        "deur klemt",
        "Smeer de scharnieren en het slot van de deur; vaak klemt hij dan niet "
        "meer. Lukt het niet? Laat het ons weten.",
    ),
    (
        "ramen beslaan",
        "Beslagen ramen komen door vocht in huis: zet de ventilatieroosters open "
        "en lucht na het douchen en koken. Wordt het niet beter? Laat het ons "
        "weten.",
    ),
    (
        "ventilatierooster zuigt niets",
        "Maak het ventilatieventiel schoon met warm sop, zonder de stand te "
        "verdraaien. Lukt het niet? Laat het ons weten.",
    ),
)
"""A phrase of the report and the self-help advice for it (advise, not assign)."""

_EMERGENCY_PHRASES = (
    "veel water door het plafond",
    "blijft maar komen",
    "spuit water",
    "brandlucht",
    "losse draden",
    "vonkt",
    "zwart geblakerd",
    "helemaal geen stroom",
    "geen stroom meer",
    "helemaal geen water",
    "geen water in huis",
    "stopt tussen twee verdiepingen",
    "nooduitgang",
    "branddeur",
    "oplosmiddel",
)
_URGENT_PHRASES = (
    "slot draait door",
    "opengebroken",
    "staat al twee dagen stil",
    "ratten",
    "stroom valt steeds uit",
    "doorzakt",
)
_URGENT_CATEGORIES = frozenset({"heating", "leak", "electrics"})

_ASSIGN_NOTE = {
    "emergency": "Spoed: de wijkbeheerder komt zo snel mogelijk, vandaag nog.",
    "urgent": "Urgent: de wijkbeheerder komt binnen 24 uur langs.",
    "normal": "De wijkbeheerder plant binnen vijf werkdagen een afspraak met u.",
}


def triage(
    category: str, description: str, *, advised_before: bool = False
) -> Decision:
    """How the demo's agent answers a report.

    A report that already had advice and came back ("that did not help") is
    never advised again: it goes to the caretaker.
    """
    text = description.lower()
    if not advised_before:
        for phrase, advice in _ADVICE:
            if phrase in text:
                return Decision("advise", "normal", advice)

    if any(phrase in text for phrase in _EMERGENCY_PHRASES):
        severity: Literal["emergency", "urgent", "normal"] = "emergency"
    elif any(phrase in text for phrase in _URGENT_PHRASES) or (
        category in _URGENT_CATEGORIES
    ):
        severity = "urgent"
    else:
        severity = "normal"
    return Decision("assign", severity, _ASSIGN_NOTE[severity])


SEVERITY_ORDER = {"emergency": 0, "urgent": 1, "normal": 2}
"""Caretakers take the most severe ticket first, then the oldest."""


# -- shifts --------------------------------------------------------------------

PhaseKind = Literal["work", "break", "off"]


@dataclass(frozen=True)
class Phase:
    """A stretch of a caretaker's day, in demo seconds (divide by the speed)."""

    kind: PhaseKind
    seconds: float


WORK_SECONDS = (90.0, 240.0)
BREAK_SECONDS = (20.0, 45.0)
OFF_SECONDS = (40.0, 90.0)


def shift_plan(
    caretaker_id: str,
    first: PhaseKind,
    *,
    may_go_off: bool = True,
    seed: int = DEMO_SEED,
) -> Iterator[Phase]:
    """An endless, seeded day: work, then a break or off duty, then work again.

    `first` sets where the caretaker starts, so that the runner can start
    most at work and a few on a break or off duty. A caretaker with
    `may_go_off` False only takes breaks: the caretaker of a district whose
    tenant login is printed stays visible on the map.
    """
    rng = random.Random(f"{seed}:shift:{caretaker_id}")
    kind: PhaseKind = first
    while True:
        low, high = {"work": WORK_SECONDS, "break": BREAK_SECONDS, "off": OFF_SECONDS}[
            kind
        ]
        yield Phase(kind, rng.uniform(low, high))
        if kind != "work":
            kind = "work"
        elif may_go_off and rng.random() < 0.35:
            kind = "off"
        else:
            kind = "break"


def first_phases(
    caretaker_ids: Sequence[str], featured: set[str]
) -> dict[str, PhaseKind]:
    """Where each caretaker starts: most at work, about one in six on a break
    and one in six off duty; featured caretakers always at work."""
    starts: dict[str, PhaseKind] = {c: "work" for c in caretaker_ids}
    others = [c for c in caretaker_ids if c not in featured]
    for position, caretaker_id in enumerate(others):
        if position % 6 == 2:
            starts[caretaker_id] = "break"
        elif position % 6 == 5:
            starts[caretaker_id] = "off"
    return starts


# -- texts ---------------------------------------------------------------------

ROUND_ACTIVITY = "Ronde door de wijk"
BREAK_ACTIVITY = "Even pauze"


def busy_activity(number: int, category_label: str, place: str) -> str:
    """What tenants read while the caretaker works on a ticket, as a caretaker
    would type it: "lekkage (keuken), melding #12". The pages put "Bezig met:"
    in front of it, so it must not start with those words itself."""
    where = f" ({place})" if place else ""
    return f"{category_label.lower()}{where}, melding #{number}"[:200]


def resolve_note(category: str, rng: random.Random) -> str:
    """A short, plausible note for a finished job."""
    notes = _RESOLVE_NOTES.get(category, _RESOLVE_NOTES["other"])
    return rng.choice(notes)


_RESOLVE_NOTES: dict[str, tuple[str, ...]] = {
    "leak": ("Lekkage verholpen, leiding opnieuw afgedicht.",
             "Oorzaak bij de bovenburen gevonden en gerepareerd; vlek droogt op."),
    "heating": ("Cv-ketel gereset en bijgevuld; verwarming doet het weer.",
                "Thermostaat vervangen, radiatoren worden weer warm."),
    "drains": ("Afvoer ontstopt met de veer, loopt weer vrij.",),
    "doors_locks": ("Slot vervangen, twee nieuwe sleutels bij de bewoner.",
                    "Deur afgesteld en scharnier vastgezet."),
    "electrics": ("Groep gecontroleerd en stopcontact vervangen.",
                  "Installateur ingeschakeld, storing is verholpen."),
    "kitchen_bathroom": ("Kitrand vernieuwd en kraan vervangen.",
                         "Onderdeel vervangen, alles werkt weer."),
    "ventilation_mould": ("Ventilatie gereinigd en schimmel behandeld.",),
    "pests": ("Ongediertebestrijder is geweest; gaten dichtgemaakt.",),
    "nuisance": ("Gesprek gehad met de buren; we houden het in de gaten.",
                 "Trappenhuis vrijgemaakt en bewoners aangeschreven."),
    "common_areas": ("Monteur is geweest, het werkt weer.",
                     "Gerepareerd en gecontroleerd op veiligheid."),
    "garden_paths": ("Pad schoongemaakt, extra controle ingepland.",),
    "other": ("Gerepareerd.", "Hersteld en gecontroleerd."),
}  # fmt: skip

ACCEPT_NOTE = "Ik pak dit op en kom bij u langs."
CONFIRM_NOTE = "Top, het is opgelost. Dank u wel!"
REOPEN_NOTE = "Het is helaas nog niet goed, het probleem is terug."
CLOSE_NOTE = "Het advies hielp, ik heb het zelf opgelost."
RETRY_NOTE = "Dat heb ik geprobeerd, maar het hielp niet."


# -- who is left to the person watching ----------------------------------------


@dataclass(frozen=True)
class Logins:
    """The accounts printed for a person; the demo's actors never use them."""

    tenants: tuple[tuple[str, str], ...]
    """(customer number, district id) of one printed tenant per shown district."""
    reserved_tenants: frozenset[str]
    """Every tenant the actors leave alone: the first of each district."""
    caretaker: str
    """A caretaker the demo does not drive, so a person can work its tickets."""
    caretaker_district: str
    agent: str
    """The agent to log in as; the demo's own agent is another one."""


SHOWN_TENANT_DISTRICTS = ("rotterdam-centrum", "noord", "feijenoord")
HUMAN_CARETAKER_DISTRICT = "delfshaven"


def choose_logins(
    tenants: Sequence[Mapping[str, Any]],
    caretakers: Sequence[Mapping[str, Any]],
    agents: Sequence[Mapping[str, Any]],
) -> Logins:
    """The first tenant of every district is reserved; three are printed. The
    caretaker of `HUMAN_CARETAKER_DISTRICT` and the first agent are the
    person's."""
    first_of: dict[str, str] = {}
    for tenant in tenants:
        first_of.setdefault(str(tenant["district"]), str(tenant["id"]))
    shown = tuple(
        (first_of[district], district)
        for district in SHOWN_TENANT_DISTRICTS
        if district in first_of
    )
    human = next(c for c in caretakers if HUMAN_CARETAKER_DISTRICT in c["districts"])
    return Logins(
        tenants=shown,
        reserved_tenants=frozenset(first_of.values()),
        caretaker=str(human["id"]),
        caretaker_district=HUMAN_CARETAKER_DISTRICT,
        agent=str(agents[0]["id"]),
    )


# -- progress ------------------------------------------------------------------

_STATUS_LABELS = (
    ("submitted", "new"),
    ("advised", "advised"),
    ("assigned", "assigned"),
    ("accepted", "accepted"),
    ("in_progress", "in progress"),
    ("resolved", "resolved"),
    ("closed", "closed"),
)


def progress_line(
    elapsed: float,
    connected: int,
    working: int,
    on_break: int,
    off: int,
    reports: int,
    counts: Mapping[str, int] | None,
) -> str:
    """One short status line, e.g. `  1:05  caretakers 13 online (10 at work,
    2 on a break, 1 off duty) | reports 12 | tickets new 3, assigned 2`.

    Statuses with no tickets are left out; closed tickets count all runs."""
    minutes, seconds = divmod(int(elapsed), 60)
    line = (
        f"{minutes:3d}:{seconds:02d}  caretakers {connected} online "
        f"({working} at work, {on_break} on a break, {off} off duty) "
        f"| reports {reports}"
    )
    if counts is not None:
        shown = [
            f"{label} {counts[status]}"
            for status, label in _STATUS_LABELS
            if counts.get(status)
        ]
        line += " | tickets " + (", ".join(shown) or "none")
    return line

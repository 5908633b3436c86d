"""Demo tenants' reports, drawn from real NYC 311 housing complaints.

The data: `data/nyc311_housing_complaints.csv`, real NYC 311 service requests
(NYC Open Data) that are about a home, reduced to five columns. See
`data/README.md` for the source, the filter and what was left out.

What is real and what is written for the demo
---------------------------------------------
Real: which kinds of problem come in and how often (the category mix), and the
rhythm of their arrival (the gaps between `created_date` timestamps). Written
for the demo: every Dutch description. NYC publishes no requester text, so the
sentences in `MAPPING` were written by us in a tenant's voice, several per kind
of complaint, so that a description always fits its category and place.

The mapping
-----------
`MAPPING` maps each (complaint_type, descriptor) in the extract to one of our
ticket categories and to demo reports: pairs of a Dutch place (a room or a
common space) and a sentence that fits it. An entry with descriptor "*" covers
every descriptor of that type. In short:

    HEAT/HOT WATER, HEATING                       -> heating
    WATER LEAK                                    -> leak
    PLUMBING  BASIN/SINK                          -> drains
    PLUMBING  BATHTUB/SHOWER, GENERAL  CABINET,
      GENERAL  COOKING GAS, Water System  no water -> kitchen_bathroom
    DOOR/WINDOW  DOOR, GENERAL CONSTRUCTION  LOCKS -> doors_locks
    ELECTRIC                                      -> electrics
    Indoor Air Quality, UNSANITARY CONDITION MOLD -> ventilation_mould
    UNSANITARY CONDITION PESTS, Rodent            -> pests
    Noise - Residential, Smoking, animal odour    -> nuisance
    Elevator, mail-box, fire escape               -> common_areas
    Unsanitary Animal Pvt Property  Animal Waste  -> garden_paths
    PAINT/PLASTER, FLOORING/STAIRS                -> other

The extract has no window, roof or facade complaints, so `windows_glass` and
`roof_facade` never come up in the real mix (the "even" mix cannot invent them
either: it only evens out the categories the data has).

Types that are not a repair request were left out of the extract on purpose
and are listed in `EXCLUDED` with the reason. A pair that is in neither table
raises `UnmappedComplaint`: nothing is dropped without a word.

The arrival rhythm
------------------
The gaps between successive complaints on the same day, in seconds, taken from
the real timestamps (records stamped exactly midnight carry a date only and are
left out of the gaps). The generator draws gaps from that empirical set and
divides them by a compression factor; `compression_for(5.0)` gives the factor
for a report about every five seconds on average.
"""

from __future__ import annotations

import csv
import functools
import io
import random
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Literal, NamedTuple

from hub.demo import DEMO_SEED
from hub.demo._files import read_data_text

COMPLAINTS_FILE = "nyc311_housing_complaints.csv"

CATEGORIES = (
    "leak",
    "heating",
    "drains",
    "doors_locks",
    "electrics",
    "windows_glass",
    "kitchen_bathroom",
    "ventilation_mould",
    "pests",
    "nuisance",
    "common_areas",
    "garden_paths",
    "roof_facade",
    "other",
)
"""The ticket category ids, as the ticket module defines them."""

_TIMESTAMP_FORMAT = "%m/%d/%Y %I:%M:%S %p"


class UnmappedComplaint(ValueError):
    """A (complaint_type, descriptor) pair that is neither mapped nor excluded."""

    def __init__(self, complaint_type: str, descriptor: str) -> None:
        super().__init__(f"no mapping for {complaint_type!r} / {descriptor!r}")
        self.complaint_type = complaint_type
        self.descriptor = descriptor


@dataclass(frozen=True)
class Mapping:
    """Where one kind of NYC complaint lands: a category and demo reports.

    `reports` pairs a Dutch place with a sentence that fits it, so a demo
    report never says "keuken" above a sentence about the shower.
    """

    category: str
    reports: tuple[tuple[str, str], ...]

    @property
    def places(self) -> tuple[str, ...]:
        """The places this kind of complaint can be in, each once."""
        return tuple(dict.fromkeys(place for place, _ in self.reports))


@dataclass(frozen=True)
class Complaint:
    """One real row of the extract."""

    created: datetime
    complaint_type: str
    descriptor: str
    location_type: str


class DemoReport(NamedTuple):
    """One report to submit, after waiting `delay_seconds` since the previous one.

    A named tuple so that `for delay, category, place, text in reports` works.
    """

    delay_seconds: float
    category: str
    place: str
    description: str


def _said(
    places: str | tuple[str, ...], *sentences: str
) -> tuple[tuple[str, str], ...]:
    """Each sentence paired with each place; a sentence must fit all its places."""
    where = (places,) if isinstance(places, str) else places
    return tuple((place, sentence) for sentence in sentences for place in where)


_HEATING_HOME = Mapping(
    "heating",
    _said(
        ("woonkamer", "slaapkamer", "hele woning"),
        "De verwarming blijft koud, ook als ik de thermostaat hoger zet.",
        "De radiator wordt alleen bovenaan een beetje lauw.",
    )
    + _said(
        ("keuken", "badkamer"),
        "Sinds vanochtend komt er geen warm water meer uit de kraan.",
    )
    + _said("zolder", "De cv-ketel geeft steeds een storing en slaat af.")
    + _said(
        "badkamer", "Onder de douche blijft het water koud, ik kan me niet wassen."
    ),
)

MAPPING: dict[tuple[str, str], Mapping] = {
    ("HEAT/HOT WATER", "APARTMENT ONLY"): _HEATING_HOME,
    ("HEATING", "*"): _HEATING_HOME,
    ("HEAT/HOT WATER", "ENTIRE BUILDING"): Mapping(
        "heating",
        _said(
            "hele complex",
            "Het hele complex zit zonder verwarming, de buren hebben het ook.",
            "Bij ons in de flat is sinds gisteren nergens warm water.",
            "De blokverwarming doet het niet, het is koud in alle woningen.",
        ),
    ),
    ("WATER LEAK", "HEAVY FLOW"): Mapping(
        "leak",
        _said(
            ("woonkamer", "badkamer", "slaapkamer"),
            "Er loopt veel water door het plafond, het komt van de bovenburen.",
            "Er staat water op de vloer en het blijft maar komen.",
        )
        + _said(
            "keuken",
            "Onder het aanrecht spuit water uit een leiding. Hoofdkraan is dicht.",
        ),
    ),
    ("WATER LEAK", "SLOW LEAK"): Mapping(
        "leak",
        _said(
            ("woonkamer", "slaapkamer"),
            "Er druppelt water langs de muur naast het raam.",
            "Op het plafond zit een bruine vlek die steeds groter wordt.",
        )
        + _said(
            ("keuken", "badkamer"),
            "De kraan blijft druppen, ook als hij helemaal dicht is.",
        )
        + _said("badkamer", "Onder de wastafel staat elke ochtend een plasje water."),
    ),
    ("PLUMBING", "BASIN/SINK"): Mapping(
        "drains",
        _said("keuken", "De gootsteen loopt heel langzaam leeg en het stinkt.")
        + _said("badkamer", "Het water in de wastafel zakt niet meer weg.")
        + _said(
            ("keuken", "badkamer"), "De afvoer is verstopt, ontstopper helpt niet."
        ),
    ),
    ("PLUMBING", "BATHTUB/SHOWER"): Mapping(
        "kitchen_bathroom",
        _said(
            "badkamer",
            "De mengkraan van de douche lekt en wordt niet meer warm genoeg.",
            "De kitrand rond het bad laat los, er loopt water achter.",
            "De douchebak heeft een barst en er lekt water naar beneden.",
        ),
    ),
    ("GENERAL", "CABINET"): Mapping(
        "kitchen_bathroom",
        _said(
            "keuken",
            "Een keukenkastje hangt los van de muur.",
            "Het deurtje van het keukenkastje is afgebroken.",
        ),
    ),
    ("GENERAL", "COOKING GAS"): Mapping(
        "kitchen_bathroom",
        _said(
            "keuken",
            "De gaskookplaat ontsteekt niet meer, geen gaslucht.",
            "Twee pitten van het gasfornuis doen het niet.",
        ),
    ),
    ("Water System", "No Water (WNW)"): Mapping(
        "kitchen_bathroom",
        _said(
            ("keuken", "badkamer"),
            "Er komt helemaal geen water uit de kraan.",
            "Geen water in huis sinds vanmiddag, bij de buren wel.",
        ),
    ),
    ("Water System", "No Water/Low Pressure (WA5)"): Mapping(
        "kitchen_bathroom",
        _said("badkamer", "De waterdruk is heel laag, de douche geeft bijna niets.")
        + _said("keuken", "Er komt maar een straaltje water uit de kraan."),
    ),
    ("DOOR/WINDOW", "DOOR"): Mapping(
        "doors_locks",
        _said(
            ("voordeur", "achterdeur", "balkondeur"),
            "De deur sluit niet meer goed, ik moet hem hard dichtduwen.",
            "De deur klemt en gaat bijna niet meer open.",
            "Het scharnier is los en de deur hangt scheef.",
        ),
    ),
    ("GENERAL CONSTRUCTION", "LOCKS"): Mapping(
        "doors_locks",
        _said(
            ("voordeur", "berging"),
            "Het slot draait door, de sleutel pakt niet meer.",
            "De sleutel gaat heel stroef in het slot, ik ben bang dat hij afbreekt.",
        ),
    ),
    ("GENERAL CONSTRUCTION", "MAIL-BOX"): Mapping(
        "common_areas",
        _said(
            "entree",
            "Mijn brievenbus in de hal beneden is opengebroken.",
            "Het klepje van mijn brievenbus in de entree is eraf.",
        ),
    ),
    ("ELECTRIC", "BELL-BUZZER/INTERCOM"): Mapping(
        "electrics",
        _said(
            ("voordeur", "entree"),
            "De bel en de intercom doen het niet, bezoek kan niet aanbellen.",
        )
        + _said("entree", "De deuropener van de intercom werkt niet meer."),
    ),
    ("ELECTRIC", "ELECTRIC-SUPPLY"): Mapping(
        "electrics",
        _said(
            "meterkast",
            "De stroom valt steeds uit, de aardlekschakelaar springt eruit.",
        )
        + _said("hele woning", "De helft van de woning heeft geen stroom meer."),
    ),
    ("ELECTRIC", "POWER OUTAGE"): Mapping(
        "electrics",
        _said(
            "hele woning",
            "Ik heb helemaal geen stroom, de buren wel.",
            "Na de storing van gisteren doet de stroom het nog steeds niet.",
        ),
    ),
    ("ELECTRIC", "OUTLET/SWITCH"): Mapping(
        "electrics",
        _said(
            ("keuken", "woonkamer", "slaapkamer"),
            "Een stopcontact zit los in de muur.",
            "Het stopcontact is zwart geblakerd en werkt niet meer.",
        )
        + _said(("gang", "woonkamer"), "De lichtschakelaar vonkt als ik hem aanzet."),
    ),
    ("ELECTRIC", "WIRING"): Mapping(
        "electrics",
        _said(("gang", "slaapkamer"), "Er hangen losse draden uit het plafond.")
        + _said("meterkast", "Ik ruik een brandlucht bij de meterkast."),
    ),
    ("Elevator", "*"): Mapping(
        "common_areas",
        _said(
            "lift",
            "De lift staat al twee dagen stil en ik woon op de achtste.",
            "De liftdeur gaat niet meer goed dicht.",
            "De lift stopt tussen twee verdiepingen en schokt.",
        ),
    ),
    ("SAFETY", "FIRE ESCAPE"): Mapping(
        "common_areas",
        _said(
            ("trappenhuis", "galerij"),
            "De nooduitgang staat vol met spullen van bewoners.",
        )
        + _said(
            "trappenhuis",
            "De branddeur naar het trappenhuis valt niet meer in het slot.",
        ),
    ),
    ("Indoor Air Quality", "Chemical Vapors/Gases/Odors"): Mapping(
        "ventilation_mould",
        _said(
            ("woonkamer", "keuken"),
            "Er hangt een vreemde chemische lucht in huis, vooral 's avonds.",
        )
        + _said(
            "trappenhuis",
            "In het trappenhuis ruikt het sterk naar oplosmiddel, ik krijg er "
            "hoofdpijn van.",
        ),
    ),
    ("Indoor Air Quality", "Other (Explain Below)"): Mapping(
        "ventilation_mould",
        _said(
            ("woonkamer", "slaapkamer"),
            "Het is erg benauwd in huis, er lijkt geen verse lucht binnen te komen.",
            "De ramen beslaan elke ochtend helemaal.",
        ),
    ),
    ("Indoor Air Quality", "Ventilation"): Mapping(
        "ventilation_mould",
        _said(
            ("badkamer", "keuken"),
            "Het ventilatierooster zuigt niets meer af.",
        )
        + _said("zolder", "De mechanische ventilatie bromt heel hard, ook 's nachts."),
    ),
    ("UNSANITARY CONDITION", "MOLD"): Mapping(
        "ventilation_mould",
        _said("badkamer", "Er zit zwarte schimmel op het plafond.")
        + _said(
            "slaapkamer",
            "In de hoek achter de kast groeit schimmel, het komt steeds terug.",
        ),
    ),
    ("UNSANITARY CONDITION", "PESTS"): Mapping(
        "pests",
        _said("keuken", "Kakkerlakken in de keuken, ook na grondig schoonmaken.")
        + _said(
            ("keuken", "badkamer"),
            "Ik zie 's avonds steeds beestjes bij de afvoer.",
        ),
    ),
    ("Rodent", "Condition Attracting Rodents"): Mapping(
        "pests",
        _said("bergingen", "Bij de bergingen ligt afval en daar komen ratten op af.")
        + _said(
            "binnenplaats",
            "Vuilniszakken naast de container trekken ongedierte aan.",
        ),
    ),
    ("Rodent", "Mouse Sighting"): Mapping(
        "pests",
        _said("keuken", "Muizenkeutels in het keukenkastje.")
        + _said(
            ("keuken", "woonkamer"),
            "Er loopt een muis door het huis, ik hoor ze 's nachts.",
        ),
    ),
    ("Rodent", "Rat Sighting"): Mapping(
        "pests",
        _said("bergingen", "Ik heb ratten gezien bij de bergingen onder de flat.")
        + _said("tuin", "Er zit een rat in de tuin, hij gaat onder de schuur."),
    ),
    ("Noise - Residential", "Banging/Pounding"): Mapping(
        "nuisance",
        _said(
            ("woonkamer", "slaapkamer"),
            "Elke avond gebonk en geboor bij de bovenburen, ook na elf uur.",
            "Er wordt 's nachts op de muur geklopt en met deuren gesmeten.",
            "Al weken harde klappen uit de woning naast ons.",
        ),
    ),
    ("Noise - Residential", "Loud Music/Party"): Mapping(
        "nuisance",
        _said(
            ("woonkamer", "slaapkamer"),
            "Harde muziek bij de buren tot diep in de nacht.",
            "Elk weekend een feest in de woning boven ons, tot vier uur.",
            "De bas van de buren dreunt door de hele woning.",
        ),
    ),
    ("Noise - Residential", "Loud Talking"): Mapping(
        "nuisance",
        _said("trappenhuis", "Iedere avond geschreeuw en ruzie in het trappenhuis.")
        + _said("galerij", "Een groep hangt 's avonds luid pratend op de galerij."),
    ),
    ("Noise - Residential", "Loud Television"): Mapping(
        "nuisance",
        _said(
            ("woonkamer", "slaapkamer"),
            "De tv van de buren staat zo hard dat ik elk woord versta.",
            "Tot 's nachts laat de televisie van hiernaast op vol volume.",
        ),
    ),
    ("Smoking", "Smoking Violation"): Mapping(
        "nuisance",
        _said(
            "trappenhuis",
            "Er wordt steeds gerookt in het trappenhuis, het trekt mijn woning in.",
        )
        + _said("lift", "In de lift hangt elke dag sigarettenrook."),
    ),
    ("Unsanitary Animal Pvt Property", "Animal Odor"): Mapping(
        "nuisance",
        _said(
            ("galerij", "trappenhuis"),
            "Uit de woning naast ons komt een sterke dierenlucht.",
        )
        + _said("galerij", "Op de galerij stinkt het naar de kattenbak van de buren."),
    ),
    ("Unsanitary Animal Pvt Property", "Animal Waste"): Mapping(
        "garden_paths",
        _said(
            ("tuin", "achterpad"),
            "Elke dag hondenpoep op het pad naar de voordeur.",
        )
        + _said(
            ("binnenplaats", "tuin"),
            "In de gemeenschappelijke tuin ligt overal kattenpoep.",
        ),
    ),
    ("PAINT/PLASTER", "CEILING"): Mapping(
        "other",
        _said(
            ("woonkamer", "slaapkamer", "badkamer"),
            "Het stucwerk van het plafond bladdert af en valt naar beneden.",
            "Er zit een grote scheur in het plafond.",
        ),
    ),
    ("PAINT/PLASTER", "WALL"): Mapping(
        "other",
        _said(
            ("woonkamer", "slaapkamer", "gang"),
            "Het pleisterwerk van de muur brokkelt af.",
            "Er loopt een lange scheur door de muur.",
        ),
    ),
    ("FLOORING/STAIRS", "FLOOR"): Mapping(
        "other",
        _said(
            ("woonkamer", "gang", "slaapkamer"),
            "De vloer geeft mee op één plek, ik ben bang dat hij doorzakt.",
            "Er zit een gat in de vloer bij de drempel.",
        ),
    ),
}
"""(complaint_type, descriptor or "*") -> where it lands; see the module docstring."""

EXCLUDED: dict[tuple[str, str], str] = {
    ("DHS Advantage - Tenant", "*"): "rent and lease question, not a repair",
    ("DHS Advantage -Landlord/Broker", "*"): "landlord's payment question",
    ("HPD Literature Request", "*"): "request for a brochure",
    ("Lead", "*"): "request for a lead test kit",
    ("Mold", "*"): "mould at a workplace or shop, not in a home",
    ("Water System", "Hydrant Defective (WC2)"): "street hydrant",
    ("Water System", "Hydrant Leaking (WC1)"): "street hydrant",
    ("Water System", "Possible Water Main Break (Use Comments) (WA1)"): "water main",
    ("Water System", "Leak (Use Comments) (WA2)"): "leak in the street network",
}
"""Housing-flagged NYC complaints that are not a tenant's repair, with the reason.

They are not in the shipped extract; the table records why.
"""

_PLACE_BY_LOCATION: dict[tuple[str, str], str] = {
    ("Unsanitary Animal Pvt Property", "1-2 Family Dwelling"): "tuin",
    ("Unsanitary Animal Pvt Property", "3+ Family Apartment Building"): "binnenplaats",
}
"""Where the row's location_type says more about the place than the descriptor."""


def mapping_for(complaint_type: str, descriptor: str) -> Mapping:
    """The mapping of a complaint; `UnmappedComplaint` if it has none."""
    for key in ((complaint_type, descriptor), (complaint_type, "*")):
        if key in MAPPING:
            return MAPPING[key]
    raise UnmappedComplaint(complaint_type, descriptor)


def is_excluded(complaint_type: str, descriptor: str) -> bool:
    """Whether the complaint is one of the non-repairs in `EXCLUDED`."""
    return (complaint_type, descriptor) in EXCLUDED or (complaint_type, "*") in EXCLUDED


def place_and_text(complaint: Complaint, rng: random.Random) -> tuple[str, str]:
    """A Dutch place and a sentence that fits it, for one real complaint.

    The place comes from the descriptor (through the mapping) and, where it
    says more, from the row's location_type.
    """
    reports = mapping_for(complaint.complaint_type, complaint.descriptor).reports
    by_location = _PLACE_BY_LOCATION.get(
        (complaint.complaint_type, complaint.location_type)
    )
    fitting = [report for report in reports if report[0] == by_location]
    return rng.choice(fitting or reports)


def parse_complaints(csv_text: str) -> tuple[Complaint, ...]:
    """The rows of an extract in the shipped format (see `data/README.md`)."""
    rows = csv.DictReader(io.StringIO(csv_text))
    return tuple(
        Complaint(
            created=datetime.strptime(row["created_date"], _TIMESTAMP_FORMAT),
            complaint_type=row["complaint_type"],
            descriptor=row["descriptor"],
            location_type=row["location_type"],
        )
        for row in rows
    )


@functools.cache
def load_complaints() -> tuple[Complaint, ...]:
    """The shipped extract, each row checked to have a mapping."""
    complaints = parse_complaints(read_data_text(COMPLAINTS_FILE))
    for complaint in complaints:
        mapping_for(complaint.complaint_type, complaint.descriptor)
    return complaints


def arrival_gaps(complaints: tuple[Complaint, ...]) -> tuple[float, ...]:
    """Seconds between successive complaints on the same day, all positive.

    Gaps across days are left out: the extract joins slices from 2011, 2013
    and 2025, and a jump between them says nothing about a rhythm. A timestamp
    of exactly midnight is a date without a time and is left out too.
    """
    stamps = sorted(
        c.created
        for c in complaints
        if (c.created.hour, c.created.minute, c.created.second) != (0, 0, 0)
    )
    return tuple(
        (later - earlier).total_seconds()
        for earlier, later in pairwise(stamps)
        if later.date() == earlier.date() and later > earlier
    )


def compression_for(mean_interval: float) -> float:
    """The compression that makes reports come every `mean_interval` s on average."""
    if mean_interval <= 0:
        raise ValueError(f"mean_interval must be positive, got {mean_interval}")
    return statistics.fmean(arrival_gaps(load_complaints())) / mean_interval


def demo_reports(
    seed: int = DEMO_SEED,
    compression: float = 1.0,
    mix: Literal["real", "even"] = "real",
    max_delay: float | None = None,
) -> Iterator[DemoReport]:
    """An endless, seeded stream of demo reports.

    Each report's kind is a real complaint drawn from the extract: with
    `mix="real"` in the real proportions (about two in three are noise, as in
    the data), with `mix="even"` first a category uniformly, then a real
    complaint of it. The delay is a real gap divided by `compression`, cut to
    `max_delay` if given: the real gaps have a long tail (the longest is over
    seven hours), and a demo that goes quiet for minutes looks broken. The same
    seed and arguments give the same stream. The caller does the waiting.
    """
    if compression <= 0:
        raise ValueError(f"compression must be positive, got {compression}")
    if max_delay is not None and max_delay <= 0:
        raise ValueError(f"max_delay must be positive, got {max_delay}")

    rng = random.Random(seed)
    complaints = load_complaints()
    gaps = arrival_gaps(complaints)
    by_category: dict[str, list[Complaint]] = {}
    for complaint in complaints:
        category = mapping_for(complaint.complaint_type, complaint.descriptor).category
        by_category.setdefault(category, []).append(complaint)
    categories = sorted(by_category)

    while True:
        if mix == "even":
            complaint = rng.choice(by_category[rng.choice(categories)])
        else:
            complaint = rng.choice(complaints)
        mapping = mapping_for(complaint.complaint_type, complaint.descriptor)
        place, description = place_and_text(complaint, rng)
        delay = rng.choice(gaps) / compression
        if max_delay is not None:
            delay = min(delay, max_delay)
        yield DemoReport(
            delay_seconds=delay,
            category=mapping.category,
            place=place,
            description=description,
        )

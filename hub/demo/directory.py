"""The demo directory: who is who in the demo, as `homi-hub directory load` reads it.

`build_demo_directory()` returns, and `write_demo_directory(path)` writes, the
JSON document described in `docs/directory-format.md`:

    districts   the fourteen residential Rotterdam districts, real boundaries
    caretakers  one per district, with a full profile written for the demo
    tenants     22 per district by default, customer numbers 100001 upwards
    agents      two customer-service agents

Everything is fictional except the districts. The caretakers' profiles were
written by hand for the demo; the names of tenants and agents are drawn from
lists of common names in Rotterdam with a seeded generator, so the same seed
always gives the same directory.

Demo passwords, the same for everyone in a role: tenants "huurder", caretakers
"beheerder", agents "klantenservice". They are for the demo only and are
written in plain text because the loader, not this file, decides how they are
stored.

The phone numbers in the profiles (010-000 00 nn) are made up and say so in
the text itself ("demonummer"); 010-000 was picked because it does not look
like a number anyone could really have.

Photos are SVG avatars, the initials on a coloured circle, written by
`write_avatars()` into `hub/web/static/avatars/<caretaker id>.svg`. Every
colour keeps white initials at a contrast ratio of at least 4.5:1. Intro videos
are not provided (`intro_video_url` is null): no openly licensed footage of a
caretaker introducing themselves exists for us to ship.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict
from xml.sax.saxutils import escape

from hub.demo import DEMO_SEED
from hub.demo.districts import District, residential_districts

TENANT_PASSWORD = "huurder"
CARETAKER_PASSWORD = "beheerder"
AGENT_PASSWORD = "klantenservice"

FIRST_CUSTOMER_NUMBER = 100001

AVATAR_DIR = Path(__file__).resolve().parent.parent / "web" / "static" / "avatars"
AVATAR_URL = "/static/avatars/{caretaker_id}.svg"

AVATAR_COLOURS = (
    "#1d4e89",  # blue
    "#8a3b12",  # rust
    "#2e6930",  # green
    "#6a2c70",  # plum
    "#0f5e63",  # teal
    "#a02c43",  # raspberry
    "#3d4a5c",  # slate
)
"""Backgrounds for the avatars; each gives white text a contrast of 4.5:1 or more."""


class DistrictEntry(TypedDict):
    id: str
    name: str
    number: int
    boundary: dict[str, Any]


class ProfileEntry(TypedDict):
    photo_url: str
    age: int
    favourite_dish: str
    hobbies: list[str]
    intro_video_url: str | None
    work: str
    reachable: str


class CaretakerEntry(TypedDict):
    id: str
    name: str
    password: str
    districts: list[str]
    profile: ProfileEntry


class TenantEntry(TypedDict):
    id: str
    name: str
    district: str
    password: str


class AgentEntry(TypedDict):
    id: str
    name: str
    password: str


class DirectoryFile(TypedDict):
    districts: list[DistrictEntry]
    caretakers: list[CaretakerEntry]
    tenants: list[TenantEntry]
    agents: list[AgentEntry]


@dataclass(frozen=True)
class _Caretaker:
    name: str
    age: int
    favourite_dish: str
    hobbies: tuple[str, ...]
    work: str
    hours: str


# One per residential district, by district id. The work sentence names real
# neighbourhoods of that district (the municipality's TIR buurten).
_CARETAKERS: dict[str, _Caretaker] = {
    "rotterdam-centrum": _Caretaker(
        "Ruud Verhoeven",
        52,
        "stamppot andijvie met spekjes",
        ("jazz luisteren", "fotograferen"),
        "Ruud loopt elke dag langs onze complexen in Cool, het Oude Westen en de "
        "Stadsdriehoek en kijkt of trappenhuizen, liften en bergingen schoon, heel "
        "en veilig zijn.",
        "ma–vr 8:00–16:30",
    ),
    "delfshaven": _Caretaker(
        "Sanne de Vries",
        44,
        "erwtensoep met roggebrood en spek",
        ("moestuinieren", "hardlopen langs de Schie"),
        "Sanne is uw wijkbeheerder in Spangen, Bospolder, Tussendijken en "
        "Middelland: ze maakt haar vaste ronde langs de portieken en galerijen en "
        "pakt kleine reparaties en overlast meteen op.",
        "ma–vr 8:00–16:30",
    ),
    "overschie": _Caretaker(
        "Hasan Yıldız",
        38,
        "lahmacun zoals zijn moeder die maakt",
        ("zaalvoetbal", "vissen"),
        "Hasan zorgt voor de complexen in Kleinpolder, Overschie en Landzicht: hij "
        "loopt zijn rondes, houdt de gemeenschappelijke ruimtes op orde en is het "
        "eerste aanspreekpunt bij een klacht.",
        "ma–do 7:30–16:00, vr 7:30–12:00",
    ),
    "noord": _Caretaker(
        "Priscilla Kasanwiredjo",
        41,
        "bami met saté",
        ("zingen in een koor", "legpuzzels"),
        "Priscilla werkt in het Oude Noorden, Bergpolder, het Liskwartier en "
        "Blijdorp. Ze controleert trappenhuizen en bergingen, spreekt bewoners aan "
        "bij overlast en zet reparaties voor u in gang.",
        "ma–vr 8:00–16:30",
    ),
    "hillegersberg-schiebroek": _Caretaker(
        "Jeroen van Dijk",
        57,
        "kibbeling met ravigotesaus",
        ("zeilen op de Bergse Plassen", "klussen"),
        "Jeroen houdt een oogje op de complexen in Schiebroek, Hillegersberg en "
        "Terbregge: schoon, heel en veilig, van de entree tot de bergingen.",
        "ma–vr 7:30–16:00",
    ),
    "kralingen-crooswijk": _Caretaker(
        "Nadia El Amrani",
        35,
        "couscous met zeven groenten",
        ("boksen", "thrillers lezen"),
        "Nadia is wijkbeheerder in Oud- en Nieuw-Crooswijk, Rubroek en Kralingen "
        "West. Ze loopt vaste rondes, ruimt of meldt wat kapot is en kent de "
        "meeste bewoners bij naam.",
        "ma–vr 8:00–16:30",
    ),
    "feijenoord": _Caretaker(
        "Ricardo Tavares",
        46,
        "cachupa",
        ("voetbal kijken", "gitaar spelen"),
        "Ricardo werkt in de Afrikaanderwijk, Bloemhof, Hillesluis, Katendrecht en "
        "Vreewijk: hij controleert de portieken en binnenplaatsen en helpt als er "
        "iets stuk is in of om uw woning.",
        "ma–vr 8:00–16:30",
    ),
    "ijsselmonde": _Caretaker(
        "Marieke Jansen",
        49,
        "hutspot met klapstuk",
        ("wandelen met haar hond", "breien"),
        "Marieke is uw wijkbeheerder in Lombardijen, Groot-IJsselmonde en de "
        "Beverwaard. Ze kijkt of de galerijen, liften en trappenhuizen schoon en "
        "veilig zijn en pakt meldingen op.",
        "ma–vr 8:00–16:30",
    ),
    "pernis": _Caretaker(
        "Piet Schouten",
        61,
        "gebakken schol met sla",
        ("duiven houden", "dammen"),
        "Piet kent heel Pernis: hij loopt zijn ronde langs alle complexen in het "
        "dorp en regelt reparaties en overlast, vaak nog dezelfde dag.",
        "ma–vr 7:30–15:30",
    ),
    "prins-alexander": _Caretaker(
        "Agnieszka Kowalska",
        39,
        "pierogi met zuurkool",
        ("yoga", "fietsen rond de Zevenhuizerplas"),
        "Agnieszka werkt in Ommoord, Zevenkamp, Het Lage Land en Nesselande: "
        "vaste rondes langs de flats, toezicht op de liften en bergingen en hulp "
        "bij uw meldingen.",
        "ma–vr 8:00–16:30",
    ),
    "charlois": _Caretaker(
        "Mustafa Demir",
        50,
        "köfte met bulgur",
        ("tafeltennis", "zijn volkstuin"),
        "Mustafa is wijkbeheerder in de Tarwewijk, Carnisse, Zuidwijk en "
        "Pendrecht. Hij controleert de complexen, spreekt bewoners aan bij "
        "overlast en zorgt dat kapotte dingen gemaakt worden.",
        "ma–vr 8:00–16:30",
    ),
    "hoogvliet": _Caretaker(
        "Yvonne de Groot",
        55,
        "nasi goreng met een gebakken ei",
        ("linedance", "kaarten maken"),
        "Yvonne zorgt voor de complexen in Hoogvliet-Noord en -Zuid: ze loopt "
        "haar vaste rondes en is er voor vragen over uw woning en de buurt.",
        "ma–vr 8:00–16:30",
    ),
    "hoek-van-holland": _Caretaker(
        "Bram Visser",
        33,
        "mosselen uit de pan",
        ("surfen", "strandjutten"),
        "Bram werkt in het dorp Hoek van Holland en in Rijnpoort: hij houdt de "
        "complexen schoon, heel en veilig en komt langs als er iets kapot is.",
        "ma–vr 8:00–16:30",
    ),
    "rozenburg": _Caretaker(
        "Gerda Hoogendoorn",
        58,
        "boerenkool met rookworst",
        ("fietsen over de dijk", "taarten bakken"),
        "Gerda is de wijkbeheerder van Rozenburg: ze loopt langs alle complexen op "
        "het eiland en zet reparaties en meldingen voor u in gang.",
        "ma–vr 8:00–16:30",
    ),
}

_AGENTS = (("k9001", "Linda Vermeulen"), ("k9002", "Youssef Benali"))

_FIRST_NAMES = (
    "Anna", "Bas", "Chantal", "Daan", "Emma", "Fatima", "Gert", "Hanneke", "Ibrahim",
    "Jan", "Kevin", "Lotte", "Mohamed", "Naima", "Oscar", "Patricia", "Rachid",
    "Samira", "Tom", "Ülkü", "Vera", "Wim", "Yara", "Zeynep", "Ahmet", "Bianca",
    "Cor", "Dewi", "Esra", "Fleur", "Gijs", "Ilse", "Joyce", "Kofi", "Lucas",
    "Marisol", "Nicole", "Piotr", "Rina", "Sven", "Tamara", "Ugo", "Willemijn",
)  # fmt: skip

_SURNAMES = (
    "de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit",
    "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
    "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Yılmaz", "Kaya",
    "El Idrissi", "Bouzid", "Ramdin", "Sewnarain", "Lopes", "Fernandes",
    "Nowak", "Kowalczyk", "Nguyen", "Mensah", "Pinas", "Doelwijt", "Verbeek",
    "Koç", "Aydın", "van der Linden", "Kramer", "Willems", "Boukhari", "Soares",
)  # fmt: skip


def caretaker_id(district: District) -> str:
    """The caretaker id of a district: "w" and 3000 plus the municipal number."""
    return f"w{3000 + district.number}"


def demo_phone(district: District) -> str:
    """The made-up phone number shown for the district's caretaker."""
    return f"010-000 00 {district.number:02d}"


def build_demo_directory(
    seed: int = DEMO_SEED, tenants_per_district: int = 22
) -> DirectoryFile:
    """The demo directory as a JSON-ready dict; the same seed gives the same dict.

    Tenants get customer numbers from 100001 upwards, dealt round the districts
    in order of their municipal number: 100001 lives in Rotterdam Centrum,
    100002 in Delfshaven, and so on, so every district has tenants to log in as.
    """
    if tenants_per_district < 1:
        raise ValueError("every district needs at least one tenant")

    rng = random.Random(seed)
    districts = residential_districts()
    missing = [d.id for d in districts if d.id not in _CARETAKERS]
    if missing:
        raise ValueError(f"no demo caretaker written for {', '.join(missing)}")

    return DirectoryFile(
        districts=[_district_entry(d) for d in districts],
        caretakers=[_caretaker_entry(d) for d in districts],
        tenants=_tenant_entries(districts, tenants_per_district, rng),
        agents=[
            AgentEntry(id=agent_id, name=name, password=AGENT_PASSWORD)
            for agent_id, name in _AGENTS
        ],
    )


def write_demo_directory(
    path: str | os.PathLike[str],
    seed: int = DEMO_SEED,
    tenants_per_district: int = 22,
) -> Path:
    """Write the demo directory as UTF-8 JSON to `path` and return the path."""
    target = Path(path)
    directory = build_demo_directory(seed, tenants_per_district)
    # Compact separators: the boundaries are most of the file and nobody reads
    # them by eye; non-ASCII names (Yıldız, Koç) stay readable.
    text = json.dumps(directory, ensure_ascii=False, separators=(",", ":"))
    target.write_text(text + "\n", encoding="utf-8")
    return target


def initials(name: str) -> str:
    """First letter of the first and of the last word: "Sanne de Vries" -> "SV"."""
    words = name.split()
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:1].upper()
    return (words[0][:1] + words[-1][:1]).upper()


def avatar_svg(name: str, colour: str) -> str:
    """An SVG avatar: white initials on a circle of `colour`, labelled with the name."""
    label = escape(name, {'"': "&quot;"})
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96" width="96" '
        f'height="96" role="img" aria-label="{label}">'
        f"<title>{label}</title>"
        f'<circle cx="48" cy="48" r="48" fill="{colour}"/>'
        '<text x="48" y="48" dy="0.35em" text-anchor="middle" '
        'font-family="system-ui, -apple-system, Segoe UI, Arial, sans-serif" '
        f'font-size="38" font-weight="700" fill="#ffffff">{escape(initials(name))}'
        "</text></svg>\n"
    )


def write_avatars(folder: str | os.PathLike[str] = AVATAR_DIR) -> list[Path]:
    """Write one avatar per demo caretaker into `folder`; return the files."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for index, district in enumerate(residential_districts()):
        caretaker = _CARETAKERS[district.id]
        colour = AVATAR_COLOURS[index % len(AVATAR_COLOURS)]
        path = target / f"{caretaker_id(district)}.svg"
        path.write_text(avatar_svg(caretaker.name, colour), encoding="utf-8")
        written.append(path)
    return written


def contrast_ratio(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two "#rrggbb" colours, from 1 to 21."""
    lighter, darker = sorted(
        (_relative_luminance(foreground), _relative_luminance(background)),
        reverse=True,
    )
    return (lighter + 0.05) / (darker + 0.05)


def _relative_luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _district_entry(district: District) -> DistrictEntry:
    return DistrictEntry(
        id=district.id,
        name=district.name,
        number=district.number,
        boundary=district.boundary,
    )


def _caretaker_entry(district: District) -> CaretakerEntry:
    caretaker = _CARETAKERS[district.id]
    identifier = caretaker_id(district)
    reachable = (
        f"{caretaker.hours}, via de app of {demo_phone(district)} "
        "(demonummer, werkt niet)"
    )
    return CaretakerEntry(
        id=identifier,
        name=caretaker.name,
        password=CARETAKER_PASSWORD,
        districts=[district.id],
        profile=ProfileEntry(
            photo_url=AVATAR_URL.format(caretaker_id=identifier),
            age=caretaker.age,
            favourite_dish=caretaker.favourite_dish,
            hobbies=list(caretaker.hobbies),
            intro_video_url=None,
            work=caretaker.work,
            reachable=reachable,
        ),
    )


def _tenant_entries(
    districts: tuple[District, ...], per_district: int, rng: random.Random
) -> list[TenantEntry]:
    tenants: list[TenantEntry] = []
    for index in range(per_district * len(districts)):
        name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_SURNAMES)}"
        tenants.append(
            TenantEntry(
                id=str(FIRST_CUSTOMER_NUMBER + index),
                name=name,
                district=districts[index % len(districts)].id,
                password=TENANT_PASSWORD,
            )
        )
    return tenants

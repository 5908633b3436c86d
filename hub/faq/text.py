"""Text of the FAQ, without I/O: checks on what is written, and search words.

Search is an inverted index of *terms*. A text is folded (Unicode NFKD,
accents and other marks dropped, case folded: "Ćé" and "ce" are one word,
"ĳ" becomes "ij"), split on everything that is not a letter or digit, and
stripped of short and very common Dutch and English words. Each remaining
word is indexed whole and by its beginnings of MIN_PREFIX letters or more,
so that the query "radiator" finds "radiatoren" and "radiatorkraan".

Known limits, by design of so small an index:

- no stemming: "lekt" does not find "lekkage", "fixed" does not find "fix";
- a query word matches only the *start* of a word: "kraan" does not find
  "radiatorkraan" (Dutch compounds are not split);
- no typo tolerance, synonyms or relevance ranking: every query word must
  occur (AND), and matches come newest first;
- words are cut at MAX_WORD characters before indexing.
"""

from __future__ import annotations

import re
import unicodedata

MIN_WORD = 2
MIN_PREFIX = 3
MAX_WORD = 24
MAX_QUERY_WORDS = 8

# Words too common to search for. Short on purpose: a word missing here only
# makes an index set larger, a word wrongly here can never be found.
_COMMON = """
de het een en of in op aan te van voor met bij om dat die dit deze is zijn
ben was er ik je jij u we wij ze zij hij mijn uw als dan maar ook nog wel
niet geen wat hoe wie waar kan mag moet wordt naar uit tot zo
the an and or of in on at to for with by is are was be it this that these
my your you we they he she as if but not no what how who where can do does
"""
STOP_WORDS = frozenset(_COMMON.split())

# C0 controls other than tab, newline and carriage return, and DEL: nothing a
# person types, and what binary junk decoded as text is full of.
_CONTROL = frozenset(
    chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))
)
_CONTROL |= {"\x7f"}

_WORD = re.compile(r"[^\W_]+")

# Forms of address some directory names start with ("Mevrouw Jansen").
_ADDRESS = "mevrouw meneer mevr mw mvr dhr mr mrs ms miss dr ir ing"
_TITLES = frozenset(_ADDRESS.split())


def fold(text: str) -> str:
    """Lower case without accents: what is compared when searching."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.casefold()


def words(text: str) -> list[str]:
    """The searchable words of `text`, folded, in order, each once."""
    found: dict[str, None] = {}
    for word in _WORD.findall(fold(text)):
        if len(word) >= MIN_WORD and word not in STOP_WORDS:
            found[word[:MAX_WORD]] = None
    return list(found)


def index_terms(*texts: str) -> set[str]:
    """Every term the texts are found by: their words and the words' starts."""
    terms: set[str] = set()
    for text in texts:
        for word in words(text):
            terms.add(word)
            terms.update(word[:end] for end in range(MIN_PREFIX, len(word)))
    return terms


def query_terms(query: str) -> list[str]:
    """The terms a search asks for (all must match); [] finds nothing."""
    return words(query)[:MAX_QUERY_WORDS]


def problem(text: str, field: str, *, low: int, high: int) -> str | None:
    """Why `text` cannot be posted as `field`, or None.

    Length is counted in characters, as written; the text is stored as
    written (no trimming, no escaping: the pages show it as text).
    """
    if len(text) > high:
        return f"{field}: at most {high} characters"
    if low > 0 and len(text.strip()) < low:
        return (
            f"{field}: at least {low} characters"
            if low > 1
            else f"{field}: write something"
        )
    if any(char in _CONTROL for char in text):
        return f"{field}: contains control characters"
    return None


def public_name(full_name: str) -> str:
    """What other tenants see of a name: the first name only.

    "Fatima el Amrani" shows as "Fatima"; a name that starts with a form of
    address ("Mevrouw Jansen") shows only that ("Mevrouw"), never the
    surname. A name of one word is shown whole: the directory cannot tell a
    first name from a surname there.
    """
    parts = full_name.split()
    if not parts:
        return ""
    first = parts[0]
    if fold(first).rstrip(".") in _TITLES:
        return first.rstrip(".").capitalize()
    return first

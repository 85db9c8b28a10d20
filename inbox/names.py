"""A sender's name in reading order, as a letter would write it.

Outlook and Exchange directories give names surname first ("Smith, John"), and a letter
that took the From header as it came would begin "Dear Smith, John". Only a plain
"Surname, Given names", each word capitalised, turns round: anything else (a suffix, an
organisation, a title in brackets, "van der Berg, Jan") is kept as written.
"""

from __future__ import annotations

import re

_WORDS = r"[^\W\d_](?:[^\W\d_]|['’.\- ])*"
_SURNAME_FIRST = re.compile(rf"\s*({_WORDS})\s*,\s*({_WORDS})\s*")
# What may follow a comma without being a given name ("John Smith, Jr", "Jane Doe, MBE").
_AFTER_A_COMMA = frozenset(
    {"jr", "sr", "ii", "iii", "iv", "mbe", "obe", "cbe", "phd", "mp", "qc", "kc", "esq", "cllr"}
)
_MOST_WORDS = 3  # on either side: more is a phrase, not a name


def reading_order(name: str) -> str:
    """ "Smith, John" → "John Smith"; any other name as it was."""
    found = _SURNAME_FIRST.fullmatch(name)
    if found is None:
        return name
    surname, given = (part.strip() for part in found.groups())
    if given.lower().rstrip(".") in _AFTER_A_COMMA:
        return name
    parts = (surname.split(), given.split())
    if any(len(words) > _MOST_WORDS for words in parts):
        return name
    if not all(word[0].isupper() for words in parts for word in words):
        return name  # "Work, and Pensions" is no name
    return f"{given} {surname}"

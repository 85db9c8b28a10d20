"""UK postcode areas, districts and sectors: how an office says where its patch is."""

from __future__ import annotations

import re
from collections.abc import Iterable

_FULL = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?) ?(\d)([A-Z]{2})$")
_SECTOR = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?) (\d)$")
_DISTRICT = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?$")
_AREA = re.compile(r"^[A-Z]{1,2}$")


def normalise_area(text: str) -> str:
    """ "ex4 6" -> "EX4 6", "ex46ab" -> "EX4 6AB"; ValueError when it is no postcode prefix."""
    value = " ".join(text.upper().split())
    full = _FULL.match(value)
    if full:
        return f"{full[1]} {full[2]}{full[3]}"
    if _SECTOR.match(value) or _DISTRICT.match(value) or _AREA.match(value):
        return value
    raise ValueError(f"{text.strip()!r} is not a postcode area, district or sector (e.g. EX4 6)")


def normalise_areas(items: Iterable[str]) -> tuple[str, ...]:
    """Each prefix checked and spelt one way, duplicates dropped, order kept."""
    seen: dict[str, None] = {}
    for item in items:
        if item.strip():
            seen.setdefault(normalise_area(item), None)
    return tuple(seen)


def postcode_forms(postcode: str) -> tuple[str, ...]:
    """Area, district, sector and full form of a postcode ("EX", "EX4", "EX4 6", "EX4 6AB")."""
    full = _FULL.match(" ".join(postcode.upper().split()))
    if not full:
        return ()
    district, sector_digit, unit = full[1], full[2], full[3]
    area = re.match(r"[A-Z]+", district)
    assert area is not None
    sector = f"{district} {sector_digit}"
    return area[0], district, sector, f"{sector}{unit}"


def within(postcode: str, areas: frozenset[str]) -> str | None:
    """The listed prefix that contains the postcode, or None (also for an unreadable postcode)."""
    for form in postcode_forms(postcode):
        if form in areas:
            return form
    return None

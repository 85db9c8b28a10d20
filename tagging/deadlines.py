"""Working days and English bank holidays, computed by rule for any year (no network)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from tagging.axes import HIGH, IMMEDIATE, LOW, NORMAL

# Working days to answer, by urgency; an office can change them (settings).
DEFAULT_RESPONSE_DAYS: dict[str, int] = {IMMEDIATE: 1, HIGH: 5, NORMAL: 15, LOW: 20}

# Proclaimed one-off days and moved holidays no rule can predict, by year.
_MOVED: dict[tuple[int, str], date] = {
    (1995, "Early May bank holiday"): date(1995, 5, 8),  # VE day 50th anniversary
    (2020, "Early May bank holiday"): date(2020, 5, 8),  # VE day 75th anniversary
    (2002, "Spring bank holiday"): date(2002, 6, 4),  # Golden Jubilee
    (2012, "Spring bank holiday"): date(2012, 6, 4),  # Diamond Jubilee
    (2022, "Spring bank holiday"): date(2022, 6, 2),  # Platinum Jubilee
}
_EXTRA: dict[date, str] = {
    date(1999, 12, 31): "Millennium celebrations",
    date(2002, 6, 3): "Golden Jubilee bank holiday",
    date(2011, 4, 29): "Royal wedding",
    date(2012, 6, 5): "Diamond Jubilee bank holiday",
    date(2022, 6, 3): "Platinum Jubilee bank holiday",
    date(2022, 9, 19): "State funeral of Queen Elizabeth II",
    date(2023, 5, 8): "Coronation of King Charles III",
}


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous algorithm, as in Meeus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=256)
def bank_holidays(year: int) -> dict[date, str]:
    """England and Wales bank holidays of one year, with substitute days for weekends."""
    easter = easter_sunday(year)
    days: dict[date, str] = {
        easter - timedelta(days=2): "Good Friday",
        easter + timedelta(days=1): "Easter Monday",
    }
    for name, default in (
        ("Early May bank holiday", _first_monday(year, 5)),
        ("Spring bank holiday", _last_monday(year, 5)),
        ("Summer bank holiday", _last_monday(year, 8)),
    ):
        days[_MOVED.get((year, name), default)] = name
    fixed = (
        (date(year, 1, 1), "New Year's Day"),
        (date(year, 12, 25), "Christmas Day"),
        (date(year, 12, 26), "Boxing Day"),
    )
    days.update({day: name for day, name in fixed if day.weekday() < 5})
    for day, name in fixed:  # weekend ones after, so a substitute skips a weekday holiday
        if day.weekday() >= 5:
            days[_substitute(day, days)] = f"{name} (substitute day)"
    days.update({day: name for day, name in _EXTRA.items() if day.year == year})
    return dict(sorted(days.items()))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in bank_holidays(day.year)


@lru_cache(maxsize=4096)  # a councillor's list asks for fifty, most of them alike
def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start`; 0 days is start, or the next working day."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    if days == 0:
        while not is_working_day(current):
            current += timedelta(days=1)
        return current
    while days:
        current += timedelta(days=1)
        if is_working_day(current):
            days -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (negative when end is earlier)."""
    sign, low, high = (1, start, end) if end >= start else (-1, end, start)
    count, current = 0, low
    while current < high:
        current += timedelta(days=1)
        count += is_working_day(current)
    return sign * count


def _first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=last.weekday())


def _substitute(day: date, taken: dict[date, str]) -> date:
    """A fixed holiday on a weekend moves to the next weekday that is not already a holiday."""
    while day.weekday() >= 5 or day in taken:
        day += timedelta(days=1)
    return day

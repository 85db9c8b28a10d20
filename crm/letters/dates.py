"""Dates as a UK letter writes them: "24 November 2026", never "11/24/2026"."""

from __future__ import annotations

from datetime import date, datetime

from crm.types import OFFICE_ZONE

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def uk_long_date(value: date | datetime) -> str:
    """The day as the office sees it (London time), without a locale that may be missing."""
    if isinstance(value, datetime):
        value = value.astimezone(OFFICE_ZONE).date() if value.tzinfo else value.date()
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def uk_today(now: datetime) -> date:
    """Today in London: a letter written at 00:30 BST is dated that day, not yesterday."""
    return now.astimezone(OFFICE_ZONE).date()

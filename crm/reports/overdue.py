"""Overdue as SQL: a case whose response deadline (crm.tags.deadlines) passed before a day.

The deadline is `days` working days after the London day its urgency was set. Working days
do not translate into SQL, but the deadline only moves later as that day does, so for each
urgency there is a last day on which setting it leaves the case overdue by `as_of`: one
instant per urgency, compared with `tagged_at` in the query.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, func, or_
from sqlalchemy.orm import InstrumentedAttribute

from crm.reports.period import london_midnight
from crm.settings import Settings
from crm.tags.deadlines import response_days
from tagging.deadlines import add_working_days

# Far longer than any response period an office would set in working days.
_SEARCH_LIMIT = 800


def cutoffs(settings: Settings, as_of: date) -> dict[str, datetime]:
    """Per urgency name (lower case): urgency set before this instant means overdue by as_of."""
    return {name: _cutoff(days, as_of) for name, days in response_days(settings).items()}


def _cutoff(days: int, as_of: date) -> datetime:
    start = as_of - timedelta(days=1)
    for _ in range(_SEARCH_LIMIT):
        if add_working_days(start, days) < as_of:
            return london_midnight(start + timedelta(days=1))
        start -= timedelta(days=1)
    return london_midnight(start)


def overdue_condition(
    urgency_name: ColumnElement[str] | InstrumentedAttribute[str],
    tagged_at: ColumnElement[datetime] | InstrumentedAttribute[datetime],
    limits: dict[str, datetime],
) -> ColumnElement[bool]:
    """True where the urgency's deadline fell before the day the limits were made for."""
    if not limits:
        return false()
    lowered = func.lower(urgency_name)
    return or_(*(and_(lowered == name, tagged_at < limit) for name, limit in limits.items()))

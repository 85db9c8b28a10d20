"""The week a review covers: seven London days, as UTC instants for the queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from crm.types import OFFICE_ZONE

TREND_WEEKS = 12


@dataclass(frozen=True)
class Week:
    """Monday-to-Sunday or any seven days: from the start of `first` to the end of `ending`."""

    ending: date

    @property
    def first(self) -> date:
        return self.ending - timedelta(days=6)

    @property
    def start(self) -> datetime:
        return london_midnight(self.first)

    @property
    def end(self) -> datetime:
        """The first instant after the week: the figures are "as at" this moment."""
        return london_midnight(self.ending + timedelta(days=1))

    @property
    def as_of(self) -> date:
        """The day after the week: a deadline before it was missed within the week or earlier."""
        return self.ending + timedelta(days=1)

    def earlier(self, weeks: int) -> Week:
        return Week(self.ending - timedelta(weeks=weeks))

    def trend(self, weeks: int = TREND_WEEKS) -> list[Week]:
        """This week and the ones before it, oldest first."""
        return [self.earlier(n) for n in range(weeks - 1, -1, -1)]

    def describe(self) -> str:
        return f"{self.first:%a %d %b %Y} to {self.ending:%a %d %b %Y}"


def london_midnight(day: date) -> datetime:
    """The start of a London day as an aware UTC datetime (midnight exists on DST days)."""
    return datetime.combine(day, time(), OFFICE_ZONE).astimezone(UTC)


def default_week_ending(now: datetime) -> date:
    """Yesterday in London: the review covers seven whole days, never a day still running."""
    return now.astimezone(OFFICE_ZONE).date() - timedelta(days=1)


def office_time(moment: datetime | None) -> datetime | None:
    """A stored UTC instant as the office's wall-clock time, naive, as Excel wants dates."""
    if moment is None:
        return None
    return moment.astimezone(OFFICE_ZONE).replace(tzinfo=None)

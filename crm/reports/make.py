"""Make the workbook from the database: figures and rows read in one session, then written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO

from crm import audit
from crm.db import Database
from crm.reports.weekly import WeeklyReview, case_rows, gather, week_for
from crm.reports.workbook import Written, write_workbook
from crm.settings import Settings
from crm.users.models import OFFICE_MANAGER


@dataclass(frozen=True)
class Made:
    review: WeeklyReview
    written: Written

    @property
    def filename(self) -> str:
        suffix = "" if self.review.audience == OFFICE_MANAGER else f"-{self.review.audience}"
        return f"weekly-review-{self.review.week.ending:%Y-%m-%d}{suffix}.xlsx"


def make_workbook(
    database: Database,
    settings: Settings,
    target: str | Path | IO[bytes],
    *,
    week_ending: date | None = None,
    audience: str = OFFICE_MANAGER,
    now: datetime | None = None,
    who: str = "mailbag",
) -> Made:
    """The review of the week ending `week_ending` (yesterday by default), for `audience`.

    Every workbook made is an export, and goes in the audit log with who asked for it.
    """
    week = week_for(week_ending, now)
    with database.session() as session:
        review = gather(session, settings, week, audience=audience, now=now)
        written = write_workbook(review, case_rows(session, week, review.audience), target)
        audit.record(session, "export", who=who, detail=_describe(review, written))
    return Made(review, written)


def _describe(review: WeeklyReview, written: Written) -> str:
    restricted = "described" if review.describes_restricted else "withheld"
    return (
        f"weekly review, week ending {review.week.ending:%Y-%m-%d}, for {review.audience}: "
        f"{written.cases} cases, restricted ones {restricted}"
    )

"""Response deadlines from urgency: computed when asked, never stored, so a change to the
days per urgency (MAILBAG_RESPONSE_DAYS) or to a case's urgency applies at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from crm.models import Case
from crm.settings import Settings
from crm.tags.models import CaseTag
from tagging.axes import Axis
from tagging.deadlines import DEFAULT_RESPONSE_DAYS, add_working_days

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Deadline:
    """When a reply is due: `days` working days after the day the urgency took effect."""

    urgency: str
    days: int
    start: date
    due: date


def response_days(settings: Settings) -> dict[str, int]:
    """Working days per urgency value: the defaults, with the office's own on top."""
    return DEFAULT_RESPONSE_DAYS | dict(settings.response_days)


def response_deadline(session: Session, case: Case, settings: Settings) -> Deadline | None:
    """None when the case has no urgency yet, or one the office gave no number of days."""
    return response_deadlines(session, [case.id], settings).get(case.id)


def response_deadlines(
    session: Session, case_ids: Sequence[int], settings: Settings
) -> dict[int, Deadline]:
    """The same for many cases in one query (a councillor's list of fifty)."""
    if not case_ids:
        return {}
    rows = session.scalars(
        select(CaseTag)
        .where(CaseTag.case_id.in_(list(case_ids)), CaseTag.slot == Axis.URGENCY)
        .options(joinedload(CaseTag.tag))
    )
    days_for = response_days(settings)
    found = {}
    for row in rows:
        days = days_for.get(row.tag.name.casefold())
        if days is not None:
            start = row.tagged_at.astimezone(LONDON).date()
            found[row.case_id] = Deadline(row.tag.name, days, start, add_working_days(start, days))
    return found

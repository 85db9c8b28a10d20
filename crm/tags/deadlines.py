"""Response deadlines from urgency: computed when asked, never stored, so a change to the
days per urgency (MAILBAG_RESPONSE_DAYS) or to a case's urgency applies at once."""

from __future__ import annotations

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
    row = session.scalar(
        select(CaseTag)
        .where(CaseTag.case_id == case.id, CaseTag.slot == Axis.URGENCY)
        .options(joinedload(CaseTag.tag))
    )
    if row is None:
        return None
    days = response_days(settings).get(row.tag.name.casefold())
    if days is None:
        return None
    start = row.tagged_at.astimezone(LONDON).date()
    return Deadline(row.tag.name, days, start, add_working_days(start, days))

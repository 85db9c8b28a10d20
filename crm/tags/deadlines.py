"""Response deadlines from urgency: computed when asked, never stored, so a change to the
days per urgency (MAILBAG_RESPONSE_DAYS) or to a case's urgency applies at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.db import AnySelect, built_once, one_of_ids_given, plain_rows
from crm.settings import Settings
from crm.tags.models import CaseTag, TagValue
from crm.types import OFFICE_ZONE
from tagging.axes import Axis
from tagging.deadlines import DEFAULT_RESPONSE_DAYS, add_working_days


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


def response_deadline(tags: Sequence[CaseTag], settings: Settings) -> Deadline | None:
    """From a case's tags as loaded (the case page has them); None when the case has no
    urgency yet, or one the office gave no number of days."""
    urgency = next((t for t in tags if t.slot == Axis.URGENCY), None)
    if urgency is None:
        return None
    return _deadline(urgency.tag.name, urgency.tagged_at, response_days(settings))


def response_deadlines(
    session: Session, case_ids: Sequence[int], settings: Settings
) -> dict[int, Deadline]:
    """The same for many cases in one query of plain columns (a councillor's list of fifty)."""
    if not case_ids:
        return {}
    rows = plain_rows(session, _urgencies(session), {"ids": list(case_ids)})
    days_for = response_days(settings)
    found = {}
    for case_id, urgency, tagged_at in rows:
        deadline = _deadline(urgency, tagged_at, days_for)
        if deadline is not None:
            found[case_id] = deadline
    return found


def _deadline(urgency: str, tagged_at: datetime, days_for: dict[str, int]) -> Deadline | None:
    days = days_for.get(urgency.casefold())
    if days is None:
        return None
    start = tagged_at.astimezone(OFFICE_ZONE).date()
    return Deadline(urgency, days, start, add_working_days(start, days))


@built_once
def _urgencies(dialect: str) -> AnySelect:
    return (
        select(CaseTag.case_id, TagValue.name, CaseTag.tagged_at)
        .join(TagValue, TagValue.id == CaseTag.tag_id)
        .where(one_of_ids_given(dialect, CaseTag.case_id), CaseTag.slot == Axis.URGENCY)
    )

"""How long a third party has to reply: per case, per organisation, or the office default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.followups.errors import FollowUpError
from crm.followups.models import FollowUp, GraceRule
from crm.outgoing.models import Organisation
from crm.settings import Settings
from crm.types import OFFICE_ZONE
from tagging.deadlines import add_working_days

MAX_DAYS = 365


@dataclass(frozen=True)
class Grace:
    """A number of days, counted as calendar or working days, and where it came from."""

    days: int
    working_days: bool
    source: str

    def unit(self) -> str:
        return "working days" if self.working_days else "days"


def grace_for(
    session: Session, settings: Settings, case_id: int, organisation: Organisation | None
) -> Grace:
    """The case's own rule first, then the organisation's, then the office default."""
    case_rule = session.scalar(select(GraceRule).where(GraceRule.case_id == case_id))
    org_rule = (
        session.scalar(select(GraceRule).where(GraceRule.organisation_id == organisation.id))
        if organisation is not None
        else None
    )
    days, source = settings.chase_grace_days, "the office default (MAILBAG_CHASE_GRACE_DAYS)"
    if organisation is not None:
        days, source = organisation.reply_standard_days, f"{organisation.name}'s reply standard"
    if org_rule is not None and org_rule.days is not None:
        days, source = org_rule.days, f"the rule for {organisation.name if organisation else ''}"
    if case_rule is not None and case_rule.days is not None:
        days, source = case_rule.days, "this case's own rule"
    working = next(
        (
            rule.working_days
            for rule in (case_rule, org_rule)
            if rule is not None and rule.working_days is not None
        ),
        False,
    )
    return Grace(days, working, source)


def second_chase_days(session: Session, settings: Settings, follow_up: FollowUp) -> int:
    """Days from a chase to the next (and from the last to escalation): case, organisation, office.

    The case's grace rule, else the organisation's directory entry (one place for it, which
    the office manager edits), else MAILBAG_SECOND_CHASE_DAYS. Read when a chase is recorded
    as sent, so a change applies from the next chase on.
    """
    case_rule = session.scalar(select(GraceRule).where(GraceRule.case_id == follow_up.case_id))
    if case_rule is not None and case_rule.second_chase_days is not None:
        return case_rule.second_chase_days
    if follow_up.organisation_id is not None:
        organisation = session.get(Organisation, follow_up.organisation_id)
        if organisation is not None and organisation.second_chase_days is not None:
            return organisation.second_chase_days
    return settings.second_chase_days


def set_second_chase_days(session: Session, organisation: Organisation, days: int) -> None:
    """An organisation's own interval between chases; 0 goes back to the office default."""
    _check_interval(days, allow_default=True)
    organisation.second_chase_days = days or None
    session.flush()


def _check_interval(days: int, *, allow_default: bool = False) -> None:
    if allow_default and days == 0:
        return
    if not 1 <= days <= MAX_DAYS:
        raise FollowUpError(f"the interval between chases is between 1 and {MAX_DAYS} days")


def add_days(start: datetime, days: int, working_days: bool) -> datetime:
    """Calendar days exactly, or working days (English bank holidays) at the same UK time."""
    if not working_days:
        return start + timedelta(days=days)
    local = start.astimezone(OFFICE_ZONE)
    day = add_working_days(local.date(), days)
    return datetime.combine(day, local.time().replace(tzinfo=None), OFFICE_ZONE).astimezone(UTC)


def set_rule(
    session: Session,
    *,
    case_id: int | None = None,
    organisation_id: int | None = None,
    days: int | None,
    working_days: bool | None,
    reason: str,
    who: str,
    second_chase_days: int | None = None,
) -> GraceRule:
    """Create or change the grace rule of one case or one organisation (given fields only).

    A case's `second_chase_days` of 0 drops its own interval (back to its organisation's).
    """
    if second_chase_days is not None:
        if case_id is None:
            raise FollowUpError("an organisation's interval between chases is in the directory")
        _check_interval(second_chase_days, allow_default=True)
    column = GraceRule.case_id if case_id is not None else GraceRule.organisation_id
    rule = session.scalar(select(GraceRule).where(column == (case_id or organisation_id)))
    if rule is None:
        rule = GraceRule(case_id=case_id, organisation_id=organisation_id)
        session.add(rule)
    if days is not None:
        rule.days = days
    if working_days is not None:
        rule.working_days = working_days
    if second_chase_days is not None:
        rule.second_chase_days = second_chase_days or None
    rule.reason, rule.set_by = reason, who
    session.flush()
    return rule

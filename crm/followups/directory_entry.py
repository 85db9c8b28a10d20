"""One organisation as the office manager edits it: who it is and how it is chased.

The grace period is kept twice on purpose, equal: as the organisation's reply standard (which
referral letters quote) and as its grace rule (which also says whether the days are working
days, and which `grace_for` reads before the reply standard).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crm import audit
from crm.errors import NotFound
from crm.followups import grace
from crm.followups.models import GraceRule
from crm.outgoing import directory
from crm.outgoing.directory import KINDS, DirectoryError
from crm.outgoing.models import Organisation, OrganisationAddress

MAX_GRACE_DAYS = 365


@dataclass(frozen=True)
class EntryForm:
    """What the directory form says about one organisation."""

    name: str
    kind: str
    emails: Sequence[str]
    domains: Sequence[str]
    postal_address: str
    grace_days: int
    working_days: bool
    auto_chase: bool
    second_chase_days: int | None = None  # None: the office default (MAILBAG_SECOND_CHASE_DAYS)
    notes: str = ""


@dataclass(frozen=True)
class Entry:
    """An organisation with the grace period the next follow-up to it would get."""

    organisation: Organisation
    grace_days: int
    working_days: bool

    @property
    def grace(self) -> str:
        return f"{self.grace_days} {'working days' if self.working_days else 'days'}"


def entries(session: Session) -> list[Entry]:
    rules = {
        rule.organisation_id: rule
        for rule in session.scalars(select(GraceRule).where(GraceRule.organisation_id.is_not(None)))
    }
    return [_entry(org, rules.get(org.id)) for org in directory.organisations(session)]


def entry(session: Session, organisation_id: int) -> Entry:
    org = _organisation(session, organisation_id)
    rule = session.scalar(select(GraceRule).where(GraceRule.organisation_id == org.id))
    return _entry(org, rule)


def save_entry(
    session: Session, organisation_id: int | None, form: EntryForm, *, who: str
) -> Organisation:
    """Add (no id) or change an organisation; its addresses become exactly those given."""
    name = " ".join(form.name.split())
    _check(session, organisation_id, name, form)
    if organisation_id is not None:
        org = _organisation(session, organisation_id)
        org.name = name[:200]
        session.execute(
            delete(OrganisationAddress).where(OrganisationAddress.organisation_id == org.id)
        )
        session.flush()
        session.expire(org, ["addresses"])
    org = directory.add_organisation(  # finds the (renamed) organisation by its name
        session,
        name,
        kind=form.kind,
        emails=[e for e in form.emails if e.strip()],
        domains=[d for d in form.domains if d.strip()],
        postal_address=form.postal_address.strip(),
        reply_standard_days=form.grace_days,
        auto_chase=form.auto_chase,
        notes=form.notes.strip(),
    )
    grace.set_second_chase_days(session, org, form.second_chase_days or 0)  # 0: office default
    grace.set_rule(
        session,
        organisation_id=org.id,
        days=form.grace_days,
        working_days=form.working_days,
        reason="set in the office directory",
        who=who,
    )
    chases = "automatically" if form.auto_chase else "after approval"
    unit = "working days" if form.working_days else "days"
    interval = form.second_chase_days
    second = f"{interval} days" if interval else "the office default"
    detail = (
        f"organisation {org.id} ({org.name}): grace {form.grace_days} {unit}, chased {chases}, "
        f"second chase after {second}"
    )
    audit.record(session, "directory_change", who=who, detail=detail)
    return org


def _check(session: Session, organisation_id: int | None, name: str, form: EntryForm) -> None:
    if not name:
        raise DirectoryError("an organisation needs a name")
    if form.kind not in KINDS:
        raise DirectoryError(f"unknown kind {form.kind!r}: use one of {', '.join(KINDS)}")
    if not 1 <= form.grace_days <= MAX_GRACE_DAYS:
        raise DirectoryError(f"the grace period is between 1 and {MAX_GRACE_DAYS} days")
    same_name = session.scalar(
        select(Organisation.id).where(func.lower(Organisation.name) == name.lower())
    )
    if same_name is not None and same_name != organisation_id:
        raise DirectoryError(f"there is already an organisation called {name!r}")


def _organisation(session: Session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(f"no organisation {organisation_id} in the directory")
    return org


def _entry(org: Organisation, rule: GraceRule | None) -> Entry:
    days = rule.days if rule is not None and rule.days is not None else org.reply_standard_days
    working = bool(rule.working_days) if rule is not None else False
    return Entry(org, days, working)

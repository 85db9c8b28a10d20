"""What a case is waiting for, and since when: for the case list, the case page, reviews."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from crm.db import AnySelect, built_once, one_of_ids_given, plain_rows
from crm.followups.models import (
    ACTIVE,
    AWAITING_APPROVAL,
    ESCALATED,
    FAILED,
    HELD,
    UNKNOWN,
    ChaseAttempt,
    FollowUp,
)
from crm.letters.dates import uk_long_date
from crm.models import Case
from crm.outgoing.models import Organisation

# What a case is still waiting for: live follow-ups and those escalated to the representative.
OUTSTANDING = (*ACTIVE, ESCALATED)


@dataclass(frozen=True)
class Waiting:
    """One follow-up as people read it: who, since when, what happens next."""

    follow_up_id: int
    case_id: int
    case_reference: str
    party: str
    status: str
    since: datetime
    due_at: datetime
    chases_sent: int
    held_for: str  # why a held follow-up waits for staff, else ""

    @property
    def live(self) -> bool:
        """The office still waits: it may be marked replied to or given more time (an
        escalated one is the representative's to pursue)."""
        return self.status != ESCALATED

    def describe(self) -> str:
        """One line for a case list: who, since when, and the next step."""
        chased = {0: "", 1: " (chased once)"}.get(
            self.chases_sent, f" (chased {self.chases_sent} times)"
        )
        text = f"reply from {self.party} since {uk_long_date(self.since)}{chased}"
        if self.status == ESCALATED:
            return text + "; escalated to the representative"
        if self.held_for:
            return f"{text}; {self.held_for}"
        step = "escalation" if self.chases_sent >= 2 else "chase"
        return f"{text}; {step} due {uk_long_date(self.due_at)}"


_HELD_FOR = {
    AWAITING_APPROVAL: "a chase is waiting for approval",
    UNKNOWN: "a chase may or may not have gone: staff to check",
    FAILED: "a chase could not be sent: staff to act",
}


def waiting_for(
    session: Session, case_ids: Sequence[int], *, escalated: bool = False
) -> dict[int, list[Waiting]]:
    """For each case in a list, what it is waiting for: live follow-ups, and with
    `escalated` also those left to the representative after the last chase."""
    statement = _for_cases_escalated(session) if escalated else _for_cases(session)
    found: dict[int, list[Waiting]] = {}
    for row in _waits(plain_rows(session, statement, {"ids": list(case_ids)})):
        found.setdefault(row.case_id, []).append(row)
    return found


def live(session: Session, limit: int = 200) -> list[Waiting]:
    """Every live follow-up, soonest due first."""
    return _rows(session, [FollowUp.status.in_(ACTIVE)], limit)


def escalated(session: Session, limit: int = 200) -> list[Waiting]:
    """Cases flagged for the representative after two unanswered chases (weekly review)."""
    return _rows(session, [FollowUp.status == ESCALATED], limit)


def to_approve(session: Session) -> list[tuple[ChaseAttempt, Waiting]]:
    """The "chases to approve" list, with chases staff must settle (unknown, failed)."""
    attempts = session.scalars(
        select(ChaseAttempt)
        .join(FollowUp, FollowUp.id == ChaseAttempt.follow_up_id)
        .where(
            FollowUp.status == HELD,
            ChaseAttempt.attempt_number == FollowUp.attempts_reserved,
            ChaseAttempt.state.in_(tuple(_HELD_FOR)),
        )
        .order_by(ChaseAttempt.reserved_at, ChaseAttempt.id)
    ).all()
    by_id = {
        w.follow_up_id: w
        for w in _rows(session, [FollowUp.id.in_([a.follow_up_id for a in attempts])])
    }
    return [(attempt, by_id[attempt.follow_up_id]) for attempt in attempts]


def _rows(session: Session, where: list[object], limit: int | None = None) -> list[Waiting]:
    """Plain columns, not follow-up objects: a list page reads dozens."""
    return _waits(plain_rows(session, _query(where, limit)))


@built_once
def _for_cases(dialect: str) -> AnySelect:
    """A page's cases' live follow-ups: built once, the ids bound when it runs."""
    return _query([one_of_ids_given(dialect, FollowUp.case_id), FollowUp.status.in_(ACTIVE)])


def waits(case_id: Any) -> ColumnElement[bool]:
    """Whether the case has a follow-up `waiting_for(..., escalated=True)` would give: asked
    with the case itself, so a case page without any asks nothing more."""
    outstanding = FollowUp.status.in_(OUTSTANDING)
    return exists(select(FollowUp.id).where(FollowUp.case_id == case_id, outstanding))


@built_once
def _for_cases_escalated(dialect: str) -> AnySelect:
    """... and those escalated to the representative."""
    return _query([one_of_ids_given(dialect, FollowUp.case_id), FollowUp.status.in_(OUTSTANDING)])


def _query(where: list[object], limit: int | None = None) -> AnySelect:
    return (
        select(
            FollowUp.id,
            FollowUp.case_id,
            FollowUp.party_key,
            FollowUp.status,
            FollowUp.opened_at,
            FollowUp.due_at,
            FollowUp.chases_sent,
            Case.reference,
            Organisation.name,
            ChaseAttempt.state,
        )
        .join(Case, Case.id == FollowUp.case_id)
        .outerjoin(Organisation, Organisation.id == FollowUp.organisation_id)
        .outerjoin(
            ChaseAttempt,
            (ChaseAttempt.follow_up_id == FollowUp.id)
            & (ChaseAttempt.attempt_number == FollowUp.attempts_reserved),
        )
        .where(*where)  # type: ignore[arg-type]
        .order_by(FollowUp.due_at, FollowUp.id)
        .limit(limit)
    )


def _waits(rows: Iterable[Any]) -> list[Waiting]:
    return [
        Waiting(
            follow_up_id=row.id,
            case_id=row.case_id,
            case_reference=row.reference,
            party=row.name or row.party_key.partition(":")[2],
            status=row.status,
            since=row.opened_at,
            due_at=row.due_at,
            chases_sent=row.chases_sent,
            held_for=_HELD_FOR.get(row.state or "", "") if row.status == HELD else "",
        )
        for row in rows
    ]

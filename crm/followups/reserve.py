"""Claim due follow-ups and reserve their chase attempts, a group of rows per statement.

Rows that need the same step (same attempt count and chases sent) are claimed with one
conditional UPDATE ... RETURNING (still due, still that many attempts: a concurrent sweep
that got there first makes the row drop out) and their attempt rows are inserted in one
statement under the unique (follow-up, attempt number) constraint. Should that constraint
ever fire, the group is redone row by row, so one bad row cannot hold up the others.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.followups.chasing import MAX_CHASES, RECHECK, TEMPLATES, ordinal
from crm.followups.models import (
    AWAITING_APPROVAL,
    ESCALATED,
    FAILED,
    HELD,
    RESERVED,
    SWEPT,
    ChaseAttempt,
    FollowUp,
)
from crm.followups.service import TIMELINE_KIND
from crm.models import TimelineEntry

RESUME, CHASE, APPROVAL, ESCALATE = "resume", "chase", "approval", "escalate"


@dataclass(frozen=True)
class Due:
    """One due follow-up as the selection returns it: enough to decide its next step."""

    id: int
    due_at: datetime
    case_id: int
    party: str  # the organisation's name, or the domain of an unlisted body
    attempts_reserved: int
    chases_sent: int
    needs_approval: bool
    auto_chase: bool
    attempt_state: str | None
    attempt_permanent: bool

    def step(self) -> str:
        """Resume an unsettled attempt, chase (now or once approved), or escalate."""
        if self.attempt_state == RESERVED or (
            self.attempt_state == FAILED and not self.attempt_permanent
        ):
            return RESUME
        if self.chases_sent >= MAX_CHASES:
            return ESCALATE
        first_late = self.needs_approval and self.chases_sent == 0
        return CHASE if self.auto_chase and not first_late else APPROVAL


@dataclass
class Reserved:
    """What reserving a batch did: attempts to send now, and how many of each outcome."""

    to_send: list[int] = field(default_factory=list)
    for_approval: int = 0
    escalated: int = 0
    skipped: int = 0

    def merge(self, other: Reserved) -> None:
        self.to_send += other.to_send
        self.for_approval += other.for_approval
        self.escalated += other.escalated
        self.skipped += other.skipped


def reserve(session: Session, rows: list[Due], now: datetime) -> Reserved:
    """Claim and reserve a batch; a group that hits the constraint is redone row by row."""
    groups: dict[tuple[str, int, int], list[Due]] = defaultdict(list)
    for row in rows:
        groups[(row.step(), row.attempts_reserved, row.chases_sent)].append(row)
    done = Reserved()
    for group in groups.values():
        try:
            with session.begin_nested():
                done.merge(_reserve_group(session, group, now))
        except IntegrityError:
            for row in group:
                done.merge(_reserve_alone(session, row, now))
    return done


def _reserve_alone(session: Session, row: Due, now: datetime) -> Reserved:
    try:
        with session.begin_nested():
            return _reserve_group(session, [row], now)
    except IntegrityError:  # another sweep reserved this very attempt: it is theirs
        return Reserved(skipped=1)


def _reserve_group(session: Session, group: list[Due], now: datetime) -> Reserved:
    step, attempts, sent = group[0].step(), group[0].attempts_reserved, group[0].chases_sent
    by_id = {row.id: row for row in group}
    changes: dict[str, dict[str, Any]] = {
        RESUME: {"due_at": now + RECHECK},
        CHASE: {"attempts_reserved": attempts + 1, "due_at": now + RECHECK},
        APPROVAL: {"attempts_reserved": attempts + 1, "status": HELD},
        ESCALATE: {"status": ESCALATED, "escalated_at": now},
    }
    values = changes[step]
    claimed = [by_id[i] for i in _claim(session, list(by_id), attempts, now, values)]
    done = Reserved(skipped=len(group) - len(claimed))
    if not claimed:
        return done
    if step == RESUME:
        done.to_send = _attempt_ids(session, [row.id for row in claimed], attempts)
    elif step == ESCALATE:
        done.escalated = len(claimed)
        _notes(session, now, [(row, _escalation(row)) for row in claimed])
    else:
        state = RESERVED if step == CHASE else AWAITING_APPROVAL
        new = _insert_attempts(session, claimed, attempts + 1, state, TEMPLATES[sent], now)
        if step == CHASE:
            done.to_send = list(new.values())
        else:
            done.for_approval = len(claimed)
            _notes(session, now, [(row, _ready(row, new[row.id])) for row in claimed])
    return done


def _claim(
    session: Session, ids: list[int], attempts: int, now: datetime, values: dict[str, Any]
) -> list[int]:
    """Only rows unchanged since the selection: still swept, still due, same attempt count."""
    return list(
        session.scalars(
            update(FollowUp)
            .where(
                FollowUp.id.in_(ids),
                FollowUp.status.in_(SWEPT),
                FollowUp.due_at <= now,
                FollowUp.attempts_reserved == attempts,
            )
            .values(updated_at=now, **values)
            .returning(FollowUp.id)
            .execution_options(synchronize_session=False)
        )
    )


def _insert_attempts(
    session: Session, rows: list[Due], number: int, state: str, template: str, now: datetime
) -> dict[int, int]:
    """Attempt rows for the claimed follow-ups: follow-up id -> attempt id."""
    inserted = session.execute(
        insert(ChaseAttempt).returning(
            ChaseAttempt.follow_up_id, ChaseAttempt.id, sort_by_parameter_order=True
        ),
        [
            {
                "follow_up_id": row.id,
                "attempt_number": number,
                "state": state,
                "template": template,
                "reserved_at": now,
                "approved_by": "",
                "confirmed_unsent": False,
                "error": "",
                "permanent": False,
                "updated_at": now,
            }
            for row in rows
        ],
    )
    return {follow_up_id: attempt_id for follow_up_id, attempt_id in inserted}


def _attempt_ids(session: Session, follow_up_ids: list[int], number: int) -> list[int]:
    return list(
        session.scalars(
            select(ChaseAttempt.id).where(
                ChaseAttempt.follow_up_id.in_(follow_up_ids),
                ChaseAttempt.attempt_number == number,
            )
        )
    )


def _notes(session: Session, now: datetime, lines: list[tuple[Due, str]]) -> None:
    session.execute(
        insert(TimelineEntry),
        [
            {
                "case_id": row.case_id,
                "kind": TIMELINE_KIND,
                "occurred_at": now,
                "summary": text[:500],
                "created_at": now,
            }
            for row, text in lines
        ],
    )


def _ready(row: Due, attempt_id: int) -> str:
    return (
        f"No reply from {row.party}: the {ordinal(row.chases_sent + 1)} chase is ready and "
        f"waiting for approval (`mailbag chases approve {attempt_id}`)"
    )


def _escalation(row: Due) -> str:
    return (
        f"Escalate: no reply from {row.party} after {MAX_CHASES} chases. Flagged for the "
        "representative (a letter to the minister or chief executive)"
    )

"""The periodic sweep: find due follow-ups by their due_at column, and chase or escalate.

Each due follow-up is claimed with a conditional UPDATE (still due, still the same number
of attempts) and its attempt row is inserted under a unique (follow-up, attempt number)
constraint, so two sweeps running at once reserve each chase once (`crm.followups.reserve`).
Sending happens after the reservation commits, one attempt at a time, each failure kept to
its own row.

A reserved attempt moves the follow-up's due_at a few minutes on: if the worker dies
before the chase is settled, the next sweep finds the follow-up again and resumes the
same attempt (see `crm.followups.chasing` for how a send that may have happened is told
apart from one that certainly did not).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from crm.db import Database
from crm.followups import chasing
from crm.followups.chasing import ChaseOutcome
from crm.followups.models import SWEPT, ChaseAttempt, FollowUp
from crm.followups.reserve import Due, reserve
from crm.outgoing import smtp
from crm.outgoing.models import Organisation
from crm.settings import Settings
from crm.types import utcnow

log = logging.getLogger(__name__)

BATCH = 200
LIMIT = 10_000  # per sweep; the next sweep carries on

# Hands a reserved attempt to whoever sends it: inline (returns the outcome) or a worker
# queue (returns None: sent later).
Dispatch = Callable[[int], ChaseOutcome | None]


@dataclass
class SweepCounts:
    """What one sweep did, for the command line, the logs and the tests (no personal data)."""

    processed: int = 0
    sent: int = 0
    dispatched: int = 0
    queued_for_approval: int = 0
    escalated: int = 0
    skipped: int = 0
    failed: int = 0
    unknown: int = 0
    server_down: bool = field(default=False, repr=False)

    def add(self, outcome: ChaseOutcome | None) -> None:
        if outcome is None:
            self.dispatched += 1
        elif outcome.status == chasing.SENT_NOW:
            self.sent += 1
        elif outcome.status == chasing.FAILED_NOW:
            self.failed += 1
            self.server_down = self.server_down or not outcome.permanent
        elif outcome.status == chasing.UNKNOWN_NOW:
            self.unknown += 1
        else:
            self.skipped += 1

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.repr}

    def describe(self) -> str:
        return ", ".join(
            f"{value} {name.replace('_', ' ')}" for name, value in self.as_dict().items()
        )


def run(
    database: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    dispatch: Dispatch | None = None,
    batch: int = BATCH,
    limit: int = LIMIT,
) -> SweepCounts:
    """One sweep: reserve what is due in batches, then hand each reserved attempt on."""
    smtp.SmtpConfig.from_settings(settings)  # chasing needs sending: say so before reserving
    now = now or utcnow()
    if dispatch is None:
        dispatch = _inline(database, settings, now)
    counts = SweepCounts()
    after: tuple[datetime, int] | None = None
    while counts.processed < limit and not counts.server_down:
        with database.session() as session:
            rows = due(session, now, batch, after)
        if not rows:
            break
        after = (rows[-1].due_at, rows[-1].id)
        with database.session() as session:
            done = reserve(session, rows, now)
        counts.processed += len(rows)
        counts.queued_for_approval += done.for_approval
        counts.escalated += done.escalated
        counts.skipped += done.skipped
        for position, attempt_id in enumerate(done.to_send):
            counts.add(dispatch(attempt_id))
            if counts.server_down:  # the rest stay reserved: a later sweep resumes them
                counts.skipped += len(done.to_send) - position - 1
                break
        if len(rows) < batch:
            break
    log.info("sweep: %s", counts.describe())
    return counts


def due(
    session: Session, now: datetime, batch: int, after: tuple[datetime, int] | None = None
) -> list[Due]:
    """Open and chased follow-ups due by now, oldest first (index on status, due_at)."""
    latest = and_(
        ChaseAttempt.follow_up_id == FollowUp.id,
        ChaseAttempt.attempt_number == FollowUp.attempts_reserved,
    )
    query = (
        select(
            FollowUp.id,
            FollowUp.due_at,
            FollowUp.case_id,
            FollowUp.party_key,
            Organisation.name,
            FollowUp.attempts_reserved,
            FollowUp.chases_sent,
            FollowUp.needs_approval,
            Organisation.auto_chase,
            ChaseAttempt.state,
            ChaseAttempt.permanent,
        )
        .outerjoin(Organisation, Organisation.id == FollowUp.organisation_id)
        .outerjoin(ChaseAttempt, latest)
        .where(FollowUp.status.in_(SWEPT), FollowUp.due_at <= now)
        .order_by(FollowUp.due_at, FollowUp.id)
        .limit(batch)
    )
    if after is not None:
        query = query.where(
            or_(
                FollowUp.due_at > after[0],
                and_(FollowUp.due_at == after[0], FollowUp.id > after[1]),
            )
        )
    return [
        Due(
            id=row[0],
            due_at=row[1],
            case_id=row[2],
            party=row[4] or row[3].partition(":")[2],
            attempts_reserved=row[5],
            chases_sent=row[6],
            needs_approval=row[7],
            auto_chase=bool(row[8]),  # an unlisted body (no directory entry) needs approval
            attempt_state=row[9],
            attempt_permanent=bool(row[10]),
        )
        for row in session.execute(query)
    ]


def _inline(database: Database, settings: Settings, now: datetime) -> Dispatch:
    """Send each attempt here and now (the `mailbag chase --due` way)."""

    def send(attempt_id: int) -> ChaseOutcome:
        return chasing.send_attempt(database, settings, attempt_id, now=now)

    return send

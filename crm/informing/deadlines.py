"""A case's deadlines in one list, soonest first, and the next of them.

Nothing new is stored here: the reply due to the constituent comes from urgency
(crm.tags.deadlines), a third party's reply from its follow-up (crm.followups), and a
councillor's "by when" from their request. Only open cases have deadlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.cases import OPEN
from crm.db import one_of_ids
from crm.followups.models import CHASED
from crm.followups.models import OPEN as FOLLOW_UP_OPEN
from crm.followups.status import waiting_for
from crm.informing.models import CouncillorRequest
from crm.letters.dates import uk_today
from crm.models import Case
from crm.settings import Settings
from crm.tags.deadlines import Deadline, response_deadlines

RESPONSE, COUNCILLOR, THIRD_PARTY = "response", "councillor", "third_party"


@dataclass(frozen=True)
class CaseDeadline:
    """One date something is due on a case, and what."""

    case_id: int
    due: date
    what: str
    kind: str

    def overdue(self, today: date) -> bool:
        return self.due < today


def case_deadlines(
    session: Session, settings: Settings, case_ids: Sequence[int]
) -> dict[int, list[CaseDeadline]]:
    """Every open case's deadlines, soonest first (cases with none are left out)."""
    ids = list(
        session.scalars(
            select(Case.id).where(one_of_ids(session, Case.id, case_ids), Case.status == OPEN)
        )
    )
    found: dict[int, list[CaseDeadline]] = {}
    for deadline in [
        *_responses(session, settings, ids),
        *_requested(session, ids),
        *_third_parties(session, ids),
    ]:
        found.setdefault(deadline.case_id, []).append(deadline)
    return {case_id: sorted(rows, key=_order) for case_id, rows in found.items()}


def next_deadlines(
    session: Session, settings: Settings, case_ids: Sequence[int]
) -> dict[int, CaseDeadline]:
    """The soonest deadline of each open case in a list (the councillor's view)."""
    return {
        case_id: rows[0] for case_id, rows in case_deadlines(session, settings, case_ids).items()
    }


def next_deadline(session: Session, case: Case, response: Deadline | None) -> CaseDeadline | None:
    """The soonest deadline of one case (the case page), whose reply due to the constituent
    (`response`) the page has already worked out: not asked of the database twice."""
    if case.status != OPEN:
        return None
    rows = [*_requested(session, [case.id]), *_third_parties(session, [case.id])]
    if response is not None:
        rows += [_response(case.id, response)]
    return min(rows, key=_order, default=None)


def due_between(
    session: Session, settings: Settings, case_ids: Sequence[int], first: date, last: date
) -> list[CaseDeadline]:
    """Deadlines falling from `first` to `last` inclusive, soonest first (the digest)."""
    rows = [
        deadline
        for deadlines in case_deadlines(session, settings, case_ids).values()
        for deadline in deadlines
        if first <= deadline.due <= last
    ]
    return sorted(rows, key=_order)


def _responses(session: Session, settings: Settings, case_ids: list[int]) -> list[CaseDeadline]:
    deadlines = response_deadlines(session, case_ids, settings)
    return [_response(case_id, d) for case_id, d in deadlines.items()]


def _response(case_id: int, deadline: Deadline) -> CaseDeadline:
    return CaseDeadline(
        case_id, deadline.due, f"reply to the constituent ({deadline.urgency})", RESPONSE
    )


def _requested(session: Session, case_ids: list[int]) -> list[CaseDeadline]:
    rows = session.scalars(
        select(CouncillorRequest).where(CouncillorRequest.case_id.in_(case_ids))
    ).all()
    return [
        CaseDeadline(row.case_id, row.due_on, f"asked for by {row.raised_by_label}", COUNCILLOR)
        for row in rows
    ]


def _third_parties(session: Session, case_ids: list[int]) -> list[CaseDeadline]:
    """Replies still awaited on the sweep's clock (held or escalated ones wait for staff)."""
    return [
        CaseDeadline(w.case_id, uk_today(w.due_at), f"reply from {w.party}", THIRD_PARTY)
        for rows in waiting_for(session, case_ids).values()
        for w in rows
        if w.status in (FOLLOW_UP_OPEN, CHASED)
    ]


def _order(deadline: CaseDeadline) -> tuple[date, str, str]:
    return (deadline.due, deadline.kind, deadline.what)

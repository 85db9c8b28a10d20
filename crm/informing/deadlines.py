"""A case's deadlines in one list, soonest first, and the next of them.

Nothing new is stored here: the reply due to the constituent comes from urgency
(crm.tags.deadlines), a third party's reply from its follow-up (crm.followups), and a
councillor's "by when" from their request. Only open cases have deadlines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.caselist import ListedCase
from crm.cases import OPEN
from crm.db import AnySelect, built_once, one_of_ids, one_of_ids_given, plain_rows
from crm.followups.models import CHASED
from crm.followups.models import OPEN as FOLLOW_UP_OPEN
from crm.followups.status import Waiting, waiting_for
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
        plain_rows(
            session,
            select(Case.id).where(one_of_ids(session, Case.id, case_ids), Case.status == OPEN),
        ).scalars()
    )
    asked = [_asked(r) for r in _requests(session, ids)]
    return _gathered(session, settings, ids, waiting_for(session, ids), asked)


@dataclass(frozen=True)
class ListedDeadlines:
    """For a page of the councillor's list: each open case's soonest deadline, and the
    cases the councillor raised from the request form (read in the same query)."""

    soonest: dict[int, CaseDeadline]
    raised: set[int]


def listed_deadlines(
    session: Session, settings: Settings, rows: Sequence[ListedCase], councillor_id: int
) -> ListedDeadlines:
    """The page's own status and waits are used, not asked of the database again."""
    waiting = {row.id: [w.waiting for w in row.waiting] for row in rows if row.status == OPEN}
    requests = _requests(session, [row.id for row in rows])
    asked = [_asked(r) for r in requests if r.case_id in waiting]
    found = _gathered(session, settings, list(waiting), waiting, asked)
    soonest = {case_id: deadlines[0] for case_id, deadlines in found.items()}
    raised = {r.case_id for r in requests if r.raised_by_id == councillor_id}
    return ListedDeadlines(soonest, raised)


def _gathered(
    session: Session,
    settings: Settings,
    open_ids: list[int],
    waiting: Mapping[int, Sequence[Waiting]],
    asked: list[CaseDeadline],
) -> dict[int, list[CaseDeadline]]:
    """Each case's deadlines, soonest first: its reply due, the councillors' requests
    (`asked`, read by the caller) and the replies awaited from third parties."""
    found: dict[int, list[CaseDeadline]] = {}
    for deadline in [
        *_responses(session, settings, open_ids),
        *asked,
        *_third_parties(waiting),
    ]:
        found.setdefault(deadline.case_id, []).append(deadline)
    return {case_id: sorted(rows, key=_order) for case_id, rows in found.items()}


def next_deadline(
    case: Case,
    response: Deadline | None,
    request: CouncillorRequest | None,
    waiting: Sequence[Waiting],
) -> CaseDeadline | None:
    """The soonest deadline of one case (the case page), from what the page has already
    read: its reply due to the constituent (`response`), the councillor's request, and its
    follow-ups (`waiting`, escalated ones too: only those on the sweep's clock count)."""
    if case.status != OPEN:
        return None
    rows = _third_parties({case.id: waiting})
    if request is not None:
        rows += [_asked(request)]
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


def _requests(session: Session, case_ids: list[int]) -> list[Any]:
    """The councillors' requests behind these cases: when by, and who asked."""
    if not case_ids:
        return []
    return list(plain_rows(session, _requests_of(session), {"ids": case_ids}))


def _asked(request: Any) -> CaseDeadline:
    """A councillor's request (its row, or the CouncillorRequest) as a deadline."""
    label = request.raised_by_label
    return CaseDeadline(request.case_id, request.due_on, f"asked for by {label}", COUNCILLOR)


@built_once
def _requests_of(dialect: str) -> AnySelect:
    request = CouncillorRequest
    return select(
        request.case_id, request.due_on, request.raised_by_label, request.raised_by_id
    ).where(one_of_ids_given(dialect, request.case_id))


def _third_parties(waiting: Mapping[int, Sequence[Waiting]]) -> list[CaseDeadline]:
    """Replies still awaited on the sweep's clock (held or escalated ones wait for staff)."""
    return [
        CaseDeadline(w.case_id, uk_today(w.due_at), f"reply from {w.party}", THIRD_PARTY)
        for rows in waiting.values()
        for w in rows
        if w.status in (FOLLOW_UP_OPEN, CHASED)
    ]


def _order(deadline: CaseDeadline) -> tuple[date, str, str]:
    return (deadline.due, deadline.kind, deadline.what)

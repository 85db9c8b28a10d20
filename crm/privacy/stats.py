"""Anonymous counts of what was erased, per month and kind (and a case's issue), so figures
about the past still add up after the people in them are gone."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from crm.db import upsert
from crm.models import Case, Constituent, Message, QuarantineEntry
from crm.privacy.models import ErasedCount
from crm.privacy.plan import Plan, chunks
from crm.tags.models import CaseTag, TagValue
from tagging.axes import Axis

Tally = Counter[tuple[str, str, str]]  # (month, kind, issue) -> how many


def tally(session: Session, plan: Plan) -> Tally:
    """Count the plan's cases, messages, quarantined mail and constituents, nothing else."""
    counts: Tally = Counter()
    for chunk in chunks(plan.ids("cases")):
        rows = session.execute(
            select(Case.opened_at, TagValue.path)
            .outerjoin(CaseTag, and_(CaseTag.case_id == Case.id, CaseTag.slot == Axis.ISSUE))
            .outerjoin(TagValue, TagValue.id == CaseTag.tag_id)
            .where(Case.id.in_(chunk))
        )
        counts.update((_month(opened), "case", issue or "") for opened, issue in rows)
    for chunk in chunks(plan.ids("messages")):
        mail = session.execute(
            select(Message.received_at, Message.kind).where(Message.id.in_(chunk))
        )
        counts.update((_month(at), f"message/{kind}", "") for at, kind in mail)
    for chunk in chunks(plan.ids("quarantine")):
        held = session.scalars(
            select(QuarantineEntry.created_at).where(QuarantineEntry.id.in_(chunk))
        )
        counts.update((_month(at), "quarantined", "") for at in held)
    for chunk in chunks(plan.ids("constituents")):
        people = session.scalars(select(Constituent.created_at).where(Constituent.id.in_(chunk)))
        counts.update((_month(at), "constituent", "") for at in people)
    return counts


def keep(session: Session, counts: Tally) -> None:
    """Add the counts to the table (one upsert per month, kind and issue)."""
    for (month, kind, issue), number in sorted(counts.items()):
        statement = upsert(session, ErasedCount).values(
            month=month, kind=kind, issue=issue[:210], count=number
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["month", "kind", "issue"],
                set_={"count": ErasedCount.count + statement.excluded.count},
            )
        )


def erased_between(session: Session, first_month: str, last_month: str) -> dict[str, int]:
    """Totals per kind for the months from `first_month` to `last_month` (YYYY-MM), for
    reports that count the past."""
    rows = session.execute(
        select(ErasedCount.kind, func.sum(ErasedCount.count))
        .where(ErasedCount.month >= first_month, ErasedCount.month <= last_month)
        .group_by(ErasedCount.kind)
        .order_by(ErasedCount.kind)
    )
    return {kind: int(total or 0) for kind, total in rows}


def _month(at: datetime) -> str:
    return at.strftime("%Y-%m")

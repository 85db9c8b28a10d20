"""Erasure: one machine for the retention policy and for a person's request. It deletes a
plan's rows and blobs, keeps anonymous counts, and records references and numbers only."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm.models import Case, Message
from crm.privacy import campaigns, stats
from crm.privacy.execute import carry_out
from crm.privacy.models import REQUEST, ErasureLog
from crm.privacy.person import find_person, person_ids
from crm.privacy.plan import Plan, chunks, plan_erasure


@dataclass(frozen=True)
class Erasure:
    """What one erasure took (or, in a dry run, would take)."""

    rule: str
    references: list[str]
    constituent_ids: list[int]
    counts: dict[str, int]
    log_id: int | None = None

    @property
    def empty(self) -> bool:
        return not self.counts

    def describe(self) -> str:
        parts = [f"{n} {name}" for name, n in self.counts.items()]
        return ", ".join(parts) if parts else "nothing"


def summarise(session: Session, plan: Plan, rule: str) -> Erasure:
    """The plan as people read it: case references, constituent numbers, rows per table."""
    return Erasure(
        rule=rule,
        references=_references(session, plan),
        constituent_ids=sorted(plan.ids("constituents")),
        counts=plan.counts(),
    )


def erase(session: Session, plan: Plan, *, reason: str, rule: str, who: str) -> Erasure:
    """Count, log and delete in the caller's transaction; nothing is logged for nothing."""
    summary = summarise(session, plan, rule)
    if plan.empty:
        return summary
    stats.keep(session, stats.tally(session, plan))
    log = ErasureLog(
        reason=reason,
        rule=rule,
        who=who[:320],
        case_references=summary.references,
        constituent_ids=summary.constituent_ids,
        counts=summary.counts,
    )
    session.add(log)
    touched_campaigns = campaigns.affected(session, plan)
    carry_out(session, plan)
    campaigns.recount(session, touched_campaigns)
    session.flush()
    audit.record(session, "erasure", who=who, detail=_audit_detail(summary, reason, log.id))
    return replace(summary, log_id=log.id)


def plan_person(session: Session, who_or_id: str) -> Plan:
    """A person's record, every record merged into it, all their cases and their own mail
    that is on no case. Cases they are only mentioned in are not touched."""
    person = find_person(session, who_or_id)
    ids = person_ids(session, person)
    cases = set(session.scalars(select(Case.id).where(Case.constituent_id.in_(ids))))
    loose = set(
        session.scalars(
            select(Message.id).where(Message.constituent_id.in_(ids), Message.case_id.is_(None))
        )
    )
    return plan_erasure(session, {"constituents": ids, "cases": cases, "messages": loose})


def erase_person(session: Session, who_or_id: str, *, who: str) -> Erasure:
    """Erase one person on their request."""
    plan = plan_person(session, who_or_id)
    return erase(session, plan, reason=REQUEST, rule=REQUEST, who=who)


def _references(session: Session, plan: Plan) -> list[str]:
    found: list[str] = []
    for chunk in chunks(plan.ids("cases")):
        found += session.scalars(select(Case.reference).where(Case.id.in_(chunk)))
    return sorted(found)


def _audit_detail(summary: Erasure, reason: str, log_id: int) -> str:
    """References and numbers only: never a name, an address or a word of the mail."""
    why = "on request" if reason == REQUEST else f"retention {summary.rule}"
    people = ", ".join(str(i) for i in summary.constituent_ids) or "none"
    refs = ", ".join(summary.references) or "none"
    return f"{why}: erasure log {log_id}; constituents {people}; cases {refs}; {summary.describe()}"

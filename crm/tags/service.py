"""Tags on cases: rule proposals applied at ingest, manual overrides, re-tagging.

A manual tag is never replaced by a rule; tagging.assign says how proposals land.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from crm import cases
from crm.db import AnySelect
from crm.models import Case
from crm.settings import Settings
from crm.tags import sources
from crm.tags.errors import TagError
from crm.tags.models import CaseTag
from crm.tags.names import require_active
from crm.tags.replay import case_messages
from crm.tags.rulebook import TaxonomyIndex, rule_book, taxonomy_index
from crm.tags.store import Change, load_assignment, save_assignment
from crm.types import utcnow
from tagging import assign
from tagging.assign import Assignment
from tagging.axes import Axis
from tagging.engine import Proposal, RuleSet
from tagging.features import MessageFeatures
from tagging.taxonomy import ACTIVE

__all__ = ["TAGGED_KINDS", "Change", "apply_rules", "case_tags", "retag", "set_manual"]

# Auto-replies and bounces say nothing about what a case is about.
TAGGED_KINDS = frozenset({"constituent", "third_party", "outgoing"})


def apply_rules(
    session: Session,
    case_id: int,
    features: MessageFeatures,
    settings: Settings,
    at: datetime,
    *,
    book: tuple[TaxonomyIndex, RuleSet] | None = None,
    rows: list[CaseTag] | None = None,
    history: list[dict[str, object]] | None = None,
) -> list[Change]:
    """One message's proposals onto its case; every axis ends up with a value.

    Ingest passes the rule book it already holds for the batch, the case's tag rows when it
    has them (none for a case this very message opened; read with a whole batch's), and
    gathers the history lines of a whole batch to write them together (`history`).
    """
    case = session.get(Case, case_id)
    if case is None:
        return []
    index, rules = book if book is not None else rule_book(session, settings)
    proposals = _proposals(index, rules, features)
    stored = load_assignment(session, case.id, index, rows)
    updated = assign.apply(stored.assignment, proposals, at, index.fallback)
    who = assign.RULES_WHO
    return save_assignment(session, case, stored, updated, who=who, index=index, history=history)


def set_manual(
    session: Session,
    reference: str,
    axis: Axis,
    value: str,
    *,
    who: str,
    reason: str = "",
    secondary: bool = False,
) -> list[Change]:
    """Staff set a value; no rule changes it afterwards."""
    if secondary and axis is not Axis.ISSUE:
        raise TagError(f"only issues can be secondary; a case has one {axis.value} value")
    case = cases.get(session, reference)
    index = taxonomy_index(session)
    tag = require_active(session, axis, value)
    now = utcnow()
    stored = load_assignment(session, case.id, index)
    current = stored.assignment.copy()
    assign.fill_fallbacks(current, now, index.fallback)
    updated = assign.set_manual(
        current, axis, tag.path, who=who, reason=reason, at=now, secondary=secondary
    )
    return save_assignment(session, case, stored, updated, who=who, index=index)


def retag(
    session: Session, settings: Settings, references: Sequence[str] | None = None
) -> list[Change]:
    """Re-run the rules over the messages of the cases (all by default); manual and screener
    tags stay (see crm.tags.sources)."""
    index, rules = rule_book(session, settings)
    query = select(Case).order_by(Case.id)
    if references is not None:
        wanted = [r.strip().upper() for r in references]
        query = query.where(Case.reference.in_(wanted))
        found = set(session.scalars(select(Case.reference).where(Case.reference.in_(wanted))))
        missing = [r for r in wanted if r not in found]
        if missing:
            raise TagError(f"no case {missing[0]}")
    changes: list[Change] = []
    for case in session.scalars(query).all():
        changes.extend(_retag_case(session, index, rules, case))
    return changes


def case_tags(session: Session, case_id: int) -> list[CaseTag]:
    """The case's tags, the one-per-axis values first, in axis order."""
    rows = session.scalars(_tags_of_case(), {"case_id": case_id}).all()
    order = {axis: i for i, axis in enumerate(Axis)}
    return sorted(rows, key=lambda r: (r.slot is None, order[r.axis], r.tag.path))


@functools.cache  # one statement object, reused: see crm.db.built_once
def _tags_of_case() -> AnySelect:
    """Built once: every case page reads it."""
    wanted = CaseTag.case_id == bindparam("case_id")
    return select(CaseTag).where(wanted).options(joinedload(CaseTag.tag))


def _retag_case(session: Session, index: TaxonomyIndex, rules: RuleSet, case: Case) -> list[Change]:
    """Start again from the manual tags alone and replay every message in order; the
    screener's tags, which no message can give again, land again where they were set."""
    stored = load_assignment(session, case.id, index)
    current = stored.assignment
    state = Assignment(
        {a: t for a, t in current.slots.items() if t.source == assign.MANUAL},
        {k: t for k, t in current.secondary.items() if t.source == assign.MANUAL},
    )
    events: list[tuple[datetime, int, list[Proposal]]] = [
        (at, 0, proposals) for at, proposals in sources.as_proposals(current.all()).items()
    ]  # 0: at the same moment the screener comes first, as when the enquiry opened the case
    for features, at in case_messages(session, case):
        events.append((at, 1, _proposals(index, rules, features)))
    for at, _order, proposals in sorted(events, key=lambda event: event[:2]):
        state = assign.apply(state, proposals, at, index.fallback)
    assign.fill_fallbacks(state, case.opened_at, index.fallback)
    return save_assignment(session, case, stored, state, who=assign.RULES_WHO, index=index)


def _proposals(index: TaxonomyIndex, rules: RuleSet, features: MessageFeatures) -> list[Proposal]:
    """The rules' proposals, each value spelt as today's tag; retired values dropped."""
    if features.kind not in TAGGED_KINDS:
        return []
    proposals = []
    for proposal in rules.propose(features):
        tag = index.find(proposal.axis, proposal.value)
        if tag is None or tag.status != ACTIVE:
            continue
        spelt = tag.path == proposal.value  # as a rule's value usually is
        proposals.append(proposal if spelt else dataclasses.replace(proposal, value=tag.path))
    return proposals

"""The screener's answers as tag proposals: each with its question and answer as the reason.

They land like any rule's (tagging.assign): a higher-priority rule may still raise a value
(safeguarding), staff may override, and every change is in the tag history.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from sqlalchemy.orm import Session

from crm.enquiries.screener import Screener
from crm.models import Case
from crm.tags import sources
from crm.tags.rulebook import taxonomy_index
from crm.tags.store import Change, load_assignment, save_assignment
from tagging import assign
from tagging.engine import Proposal
from tagging.taxonomy import ACTIVE

log = logging.getLogger(__name__)
WHO = "enquiry form"


def proposals(screener: Screener, answers: dict[str, str]) -> list[Proposal]:
    """One proposal per tag of each chosen answer, named and explained like a rule; the
    strongest first on each axis, and only that one primary (as the rule engine does)."""
    found: list[Proposal] = []
    for question in screener.questions:
        answer = question.answer(answers.get(question.id, ""))
        if answer is None:
            continue
        for axis, value in answer.tags:
            found.append(
                Proposal(
                    axis=axis,
                    value=value,
                    rule=sources.screener_rule(question.id, answer.id),
                    priority=answer.priority,
                    reason=f"screener “{question.legend}”: answered “{answer.label}”",
                )
            )
    found.sort(key=lambda p: -p.priority)
    firsts = {p.axis: p for p in reversed(found)}
    return [dataclasses.replace(p, primary=firsts[p.axis] is p) for p in found]


def apply_answers(
    session: Session, case: Case, screener: Screener, answers: dict[str, str], at: datetime
) -> list[Change]:
    """Preset the case's tags from the answers; values not in the taxonomy are skipped."""
    index = taxonomy_index(session)
    known: list[Proposal] = []
    for proposal in proposals(screener, answers):
        tag = index.find(proposal.axis, proposal.value)
        if tag is None or tag.status != ACTIVE:
            log.warning("screener tag %s %r is not in the taxonomy", proposal.axis, proposal.value)
            continue
        known.append(dataclasses.replace(proposal, value=tag.path))
    stored = load_assignment(session, case.id, index)
    updated = assign.apply(stored.assignment, known, at, index.fallback)
    return save_assignment(session, case, stored, updated, who=WHO, index=index)

"""Where a case's tag came from beyond tagging's rule, manual and default: the enquiry screener.

A screener answer lands as a rule-sourced tag named `screener: <question> = <answer>`; the
office's rules cannot re-derive it from the case's messages, so re-tagging must keep it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tagging.assign import RULE, Tagging
from tagging.engine import Proposal

SCREENER_PREFIX = "screener: "


def screener_rule(question_id: str, answer_id: str) -> str:
    """The rule name a screener answer's tags carry (the mark re-tagging keeps them by)."""
    return f"{SCREENER_PREFIX}{question_id} = {answer_id}"


def from_screener(tagging: Tagging) -> bool:
    return tagging.source == RULE and (tagging.rule or "").startswith(SCREENER_PREFIX)


def as_proposals(taggings: Iterable[tuple[bool, Tagging]]) -> dict[datetime, list[Proposal]]:
    """Stored screener tags as the proposals that set them, by when they were set, so a
    replay lands them again in their place among the messages (with the same rank)."""
    found: dict[datetime, list[Proposal]] = {}
    for primary, tagging in taggings:
        if not from_screener(tagging):
            continue
        proposal = Proposal(
            axis=tagging.axis,
            value=tagging.value,
            rule=tagging.rule or SCREENER_PREFIX,
            priority=tagging.priority or 0,
            reason=tagging.reason,
            primary=primary,
        )
        found.setdefault(tagging.at, []).append(proposal)
    return found

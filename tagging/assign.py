"""How proposals land on a case that already has tags: staff win, rules only ever climb.

A case holds one value per scale axis, one primary issue and any secondary issues. A manual
tag is never replaced by a rule. A rule's value is replaced only by a rule of strictly higher
priority (so a safeguarding flag raised by one message is not lowered by the next), and a
fallback value by any rule. An outranked primary issue stays on the case as a secondary one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tagging.axes import FALLBACK, SCALE_AXES, Axis
from tagging.engine import Proposal
from tagging.taxonomy import path_key

RULE, MANUAL, DEFAULT = "rule", "manual", "default"
SOURCES = (RULE, MANUAL, DEFAULT)
RULES_WHO = "rules"


@dataclass(frozen=True)
class Tagging:
    """One value on a case and where it came from."""

    axis: Axis
    value: str
    source: str
    reason: str
    at: datetime
    who: str = RULES_WHO
    rule: str | None = None
    priority: int | None = None

    @property
    def key(self) -> str:
        return path_key(self.value)


@dataclass
class Assignment:
    """A case's tags: `slots` has the scale axes and the primary issue; `secondary` the rest."""

    slots: dict[Axis, Tagging] = field(default_factory=dict)
    secondary: dict[str, Tagging] = field(default_factory=dict)

    def copy(self) -> Assignment:
        return Assignment(dict(self.slots), dict(self.secondary))

    def all(self) -> list[tuple[bool, Tagging]]:
        """(is primary/single, tagging) for every tag on the case."""
        return [(True, t) for t in self.slots.values()] + [
            (False, t) for t in self.secondary.values()
        ]


def from_proposal(proposal: Proposal, at: datetime) -> Tagging:
    return Tagging(
        axis=proposal.axis,
        value=proposal.value,
        source=RULE,
        reason=proposal.reason,
        at=at,
        rule=proposal.rule,
        priority=proposal.priority,
    )


def apply(
    assignment: Assignment,
    proposals: Iterable[Proposal],
    at: datetime,
    fallback: dict[Axis, str] | None = None,
) -> Assignment:
    """The case's tags after one message's proposals; the input is left as it was."""
    result = assignment.copy()
    by_axis: dict[Axis, list[Proposal]] = {}
    for proposal in proposals:
        by_axis.setdefault(proposal.axis, []).append(proposal)
    for axis in SCALE_AXES:
        winners = by_axis.get(axis)
        if winners:
            _apply_scale(result, winners[0], at)
    _apply_issues(result, by_axis.get(Axis.ISSUE, []), at)
    fill_fallbacks(result, at, fallback or FALLBACK)
    return result


def fill_fallbacks(assignment: Assignment, at: datetime, fallback: dict[Axis, str]) -> None:
    """Every case has a value on every axis, even before any rule has matched."""
    for axis, value in fallback.items():
        if axis not in assignment.slots:
            reason = "no rule matched: the usual value"
            assignment.slots[axis] = Tagging(axis, value, DEFAULT, reason, at, priority=-1)


def set_manual(
    assignment: Assignment,
    axis: Axis,
    value: str,
    *,
    who: str,
    reason: str,
    at: datetime,
    secondary: bool = False,
) -> Assignment:
    """Staff decide: the value is theirs until they change it; a demoted issue stays secondary."""
    result = assignment.copy()
    tagging = Tagging(axis, value, MANUAL, reason or f"set by {who}", at, who=who)
    if secondary and axis is Axis.ISSUE:
        primary = result.slots.get(Axis.ISSUE)
        if primary is None or primary.key != tagging.key:
            result.secondary[tagging.key] = tagging
        return result
    previous = result.slots.get(axis)
    result.slots[axis] = tagging
    if axis is Axis.ISSUE:
        result.secondary.pop(tagging.key, None)
        if previous is not None and previous.source == RULE and previous.key != tagging.key:
            result.secondary.setdefault(previous.key, previous)
    return result


def _outranks(proposal: Proposal, current: Tagging | None) -> bool:
    if current is None or current.source == DEFAULT:
        return True
    if current.source == MANUAL:
        return False
    return proposal.priority > (current.priority or 0)


def _apply_scale(assignment: Assignment, proposal: Proposal, at: datetime) -> None:
    current = assignment.slots.get(proposal.axis)
    if _outranks(proposal, current):
        assignment.slots[proposal.axis] = from_proposal(proposal, at)


def _apply_issues(assignment: Assignment, proposals: list[Proposal], at: datetime) -> None:
    primary = next((p for p in proposals if p.primary), None)
    current = assignment.slots.get(Axis.ISSUE)
    if primary is not None and _outranks(primary, current):
        demoted = current is not None and current.source == RULE
        if current is not None and demoted and current.key != path_key(primary.value):
            assignment.secondary.setdefault(current.key, current)
        tagging = from_proposal(primary, at)
        assignment.slots[Axis.ISSUE] = tagging
        assignment.secondary.pop(tagging.key, None)
    taken = assignment.slots[Axis.ISSUE].key if Axis.ISSUE in assignment.slots else None
    for proposal in proposals:
        key = path_key(proposal.value)
        if key != taken and key not in assignment.secondary:
            assignment.secondary[key] = from_proposal(proposal, at)

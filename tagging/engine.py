"""The engine: every rule checked against a message in one scan, one winner per axis."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from tagging.axes import Axis
from tagging.features import MessageFeatures
from tagging.keywords import KeywordIndex, prepare
from tagging.rules import Match, Rule, SearchIn, evaluate, scoped_terms

MAX_SECONDARY = 3  # more than a few secondary issues per message is noise, not information


@dataclass(frozen=True)
class Proposal:
    """A value a rule proposes for an axis; `primary` is False only for secondary issues."""

    axis: Axis
    value: str
    rule: str
    priority: int
    reason: str
    primary: bool = True


class RuleSet:
    """Enabled rules compiled once: all their keywords in one pattern, scanned once per text."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rule for rule in rules if rule.enabled)
        self._keywords: KeywordIndex[int] = KeywordIndex(
            (term, index) for index, rule in enumerate(self.rules) for term in rule.keywords
        )
        self._without_keywords = tuple(i for i, r in enumerate(self.rules) if not r.keywords)

    def matches(self, features: MessageFeatures) -> list[Match]:
        """Every rule that applies, in rule order."""
        in_subject = self._keywords.find(prepare(features.subject))
        in_body = self._keywords.find(prepare(features.text))
        candidates = sorted({*in_subject, *in_body, *self._without_keywords})
        found: list[Match] = []
        for index in candidates:
            rule = self.rules[index]
            subject_terms = in_subject.get(index, [])
            terms = scoped_terms(rule, subject_terms, in_body.get(index, []))
            flagged = bool(subject_terms) and rule.search_in is not SearchIn.BODY
            match = evaluate(rule, features, terms, index, flagged)
            if match is not None:
                found.append(match)
        return found

    def propose(self, features: MessageFeatures) -> list[Proposal]:
        return choose(self.matches(features))


def propose(features: MessageFeatures, rules: RuleSet | Sequence[Rule]) -> list[Proposal]:
    """One winning value per scale axis, a primary issue and any secondary issues."""
    rule_set = rules if isinstance(rules, RuleSet) else compiled(tuple(rules))
    return rule_set.propose(features)


@lru_cache(maxsize=8)
def compiled(rules: tuple[Rule, ...]) -> RuleSet:
    """Compiling is the slow part; the same rules give the same compiled set."""
    return RuleSet(rules)


def choose(matches: list[Match], secondary: int = MAX_SECONDARY) -> list[Proposal]:
    """Highest priority wins; at equal priority a rule the subject matched, then the one
    that matched more terms, then the earlier rule. The next issues become secondary."""
    ranked = sorted(
        matches, key=lambda m: (-m.rule.priority, not m.in_subject, -len(m.terms), m.order)
    )
    proposals: list[Proposal] = []
    taken: set[tuple[Axis, str]] = set()
    winners: set[Axis] = set()
    for match in ranked:
        rule = match.rule
        if rule.axis in winners and rule.axis is not Axis.ISSUE:
            continue
        if (rule.axis, rule.value.casefold()) in taken:
            continue
        if rule.axis is Axis.ISSUE and len([a for a, _ in taken if a is Axis.ISSUE]) > secondary:
            continue
        primary = rule.axis not in winners
        winners.add(rule.axis)
        taken.add((rule.axis, rule.value.casefold()))
        proposals.append(
            Proposal(rule.axis, rule.value, rule.name, rule.priority, match.reason, primary)
        )
    return proposals

"""Tagging rules: small objects that say which value they set on which axis, and why."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from tagging.axes import Axis
from tagging.errors import TaggingError
from tagging.features import MessageFeatures
from tagging.keywords import KeywordIndex, prepare
from tagging.postcodes import postcode_forms, within
from tagging.rule_fields import (
    FIELD_CHECKS,
    KIND_NAMES,
    MAX_PRIORITY,
    MIN_PRIORITY,
    SearchIn,
)

__all__ = ["FIELD_CHECKS", "Match", "Rule", "SearchIn", "evaluate", "scoped_terms"]

# What a criterion saw: None when the rule does not use it, False when it does not hold.
Outcome = str | Literal[False] | None


@dataclass(frozen=True)
class Rule:
    """Sets `value` on `axis` when every criterion it names holds (any item of each list)."""

    name: str
    axis: Axis
    value: str
    priority: int = 50
    description: str = ""
    keywords: tuple[str, ...] = ()
    search_in: SearchIn = SearchIn.ANYWHERE
    patterns: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()
    postcodes: tuple[str, ...] = ()
    outside_postcodes: tuple[str, ...] = ()
    attachment_types: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    enabled: bool = True

    def __post_init__(self) -> None:
        try:
            _validate(self)
        except ValueError as error:
            raise TaggingError(f"rule {self.name!r}: {error}") from None

    def check(self, features: MessageFeatures) -> str | None:
        """The reason this rule applies to the message, or None (scans for this rule alone)."""
        found = self._own_keywords.find(prepare(features.subject)) if self.keywords else {}
        body = self._own_keywords.find(prepare(features.text)) if self.keywords else {}
        match = evaluate(self, features, scoped_terms(self, found.get(0, []), body.get(0, [])))
        return match.reason if match else None

    @cached_property
    def _own_keywords(self) -> KeywordIndex[int]:
        return KeywordIndex((term, 0) for term in self.keywords)

    @cached_property
    def criteria(self) -> tuple[Criterion, ...]:
        """Only the checks this rule uses, so a keyword rule costs one call, not six."""
        return tuple(c for field_name, c in _CRITERIA if getattr(self, field_name))

    @cached_property
    def compiled_patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p, re.IGNORECASE) for p in self.patterns)

    @cached_property
    def sender_set(self) -> frozenset[str]:
        return frozenset(s.lower() for s in self.senders)

    @cached_property
    def postcode_set(self) -> frozenset[str]:
        return frozenset(self.postcodes)

    @cached_property
    def outside_set(self) -> frozenset[str]:
        return frozenset(self.outside_postcodes)


@dataclass(frozen=True)
class Match:
    """A rule that applies, the terms that made it apply, and what it saw (for the reason)."""

    rule: Rule
    terms: tuple[str, ...]
    seen: tuple[str, ...]
    order: int = 0
    in_subject: bool = False  # the subject says it: the strongest sign of what mail is about

    @property
    def reason(self) -> str:
        """What staff read: the rule's name and the words that made it apply."""
        return f'rule "{self.rule.name}": ' + "; ".join(self.seen)


def evaluate(
    rule: Rule,
    features: MessageFeatures,
    terms: list[str],
    order: int = 0,
    in_subject: bool = False,
) -> Match | None:
    """Every criterion the rule names must hold; `terms` are its keywords already found."""
    if rule.keywords and not terms:
        return None
    said: list[str] = []
    if terms:
        where = "" if rule.search_in is SearchIn.ANYWHERE else f" in the {rule.search_in.value}"
        said.append("words " + ", ".join(f'"{t}"' for t in terms) + where)
    for criterion in rule.criteria:
        outcome = criterion(rule, features)
        if outcome is False:
            return None
        if outcome:
            said.append(outcome)
    found = _pattern_terms(rule, features) if rule.patterns else []
    if rule.patterns and not found:
        return None
    if found:
        said.append("pattern matched " + ", ".join(f'"{t}"' for t in found))
    return Match(rule, (*terms, *found), tuple(said), order, in_subject)


def scoped_terms(rule: Rule, in_subject: list[str], in_body: list[str]) -> list[str]:
    """The rule's terms found where it looks: the subject, the body, or both."""
    if rule.search_in is SearchIn.SUBJECT:
        return in_subject
    if rule.search_in is SearchIn.BODY or not in_subject:
        return in_body
    if not in_body:
        return in_subject
    return list(dict.fromkeys([*in_subject, *in_body]))


def _pattern_terms(rule: Rule, features: MessageFeatures) -> list[str]:
    found: list[str] = []
    for pattern in rule.compiled_patterns:
        for text in _texts(rule, features):
            hit = pattern.search(text[:200_000])
            if hit:
                found.append(" ".join(hit.group(0).split())[:60])
                break
    return found


def _texts(rule: Rule, features: MessageFeatures) -> tuple[str, ...]:
    if rule.search_in is SearchIn.SUBJECT:
        return (features.subject,)
    if rule.search_in is SearchIn.BODY:
        return (features.text,)
    return (features.subject, features.text)


def _sender(rule: Rule, features: MessageFeatures) -> Outcome:
    if not rule.senders:
        return None
    address = features.sender.lower()
    domain = address.rpartition("@")[2]
    if address in rule.sender_set:
        return f"sender {address}"
    for listed in rule.sender_set:
        if "@" not in listed and (domain == listed or domain.endswith("." + listed)):
            return f"sender domain {listed}"
    return False


def _postcode(rule: Rule, features: MessageFeatures) -> Outcome:
    if not rule.postcodes:
        return None
    inside = within(features.postcode, rule.postcode_set) if features.postcode else None
    return f"postcode in {inside}" if inside else False


def _outside(rule: Rule, features: MessageFeatures) -> Outcome:
    if not rule.outside_postcodes:
        return None
    if not features.postcode or not _readable(features.postcode):
        return False  # an unknown postcode is not evidence of being out of area
    if within(features.postcode, rule.outside_set):
        return False
    return f"postcode {features.postcode.upper()} is outside the listed areas"


def _readable(postcode: str) -> bool:
    return bool(postcode_forms(postcode))


def _attachments(rule: Rule, features: MessageFeatures) -> Outcome:
    if not rule.attachment_types:
        return None
    for content_type in features.attachment_types:
        lowered = content_type.lower()
        for wanted in rule.attachment_types:
            if lowered == wanted or (wanted.endswith("/*") and lowered.startswith(wanted[:-1])):
                return f"attachment of type {lowered}"
    return False


def _kind(rule: Rule, features: MessageFeatures) -> Outcome:
    if not rule.kinds:
        return None
    return f"message is {KIND_NAMES[features.kind]}" if features.kind in rule.kinds else False


# Each returns None when the rule does not use it, False when it fails, else what it saw;
# the cheap ones, as regular expressions are checked last.
Criterion = Callable[[Rule, MessageFeatures], Outcome]
_CRITERIA: tuple[tuple[str, Criterion], ...] = (
    ("senders", _sender),
    ("postcodes", _postcode),
    ("outside_postcodes", _outside),
    ("attachment_types", _attachments),
    ("kinds", _kind),
)


def _validate(rule: Rule) -> None:
    """Normalise the lists in place and reject what could never work, naming the field."""
    if not rule.name.strip():
        raise ValueError("a rule needs a name")
    if "\n" in rule.name or "\r" in rule.name:
        raise ValueError("a rule name must be one line")
    if not isinstance(rule.axis, Axis):
        object.__setattr__(rule, "axis", Axis(rule.axis))
    if not isinstance(rule.search_in, SearchIn):
        object.__setattr__(rule, "search_in", SearchIn(rule.search_in))
    if not rule.value.strip():
        raise ValueError("a rule needs a value to set")
    if not MIN_PRIORITY <= rule.priority <= MAX_PRIORITY:
        raise ValueError(f"priority must be between {MIN_PRIORITY} and {MAX_PRIORITY}")
    for name, check in FIELD_CHECKS.items():
        object.__setattr__(rule, name, check(getattr(rule, name)))
    if not any(getattr(rule, name) for name in FIELD_CHECKS):
        raise ValueError("a rule needs at least one thing to match on")

"""The stored taxonomy and rules as in-memory lookups, rebuilt only when the taxonomy changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.settings import Settings
from crm.tags.errors import TagError
from crm.tags.history import revision
from crm.tags.models import TagName, TagRule, TagValue
from crm.tags.seed import ensure_seeded
from tagging.axes import AXES, FALLBACK, Axis
from tagging.default_rules import out_of_area_rule
from tagging.engine import RuleSet
from tagging.rules import Rule, SearchIn
from tagging.taxonomy import ACTIVE, path_key

_CACHE_SIZE = 16
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class TagInfo:
    id: int
    axis: Axis
    path: str
    status: str


class TaxonomyIndex:
    """Every name and alias of every value, so proposals are resolved without a query each."""

    def __init__(self, session: Session) -> None:
        self.tags: dict[int, TagInfo] = {}
        merged: dict[int, int] = {}
        for tag in session.scalars(select(TagValue)):
            self.tags[tag.id] = TagInfo(tag.id, tag.axis, tag.path, tag.status)
            if tag.merged_into_id is not None:
                merged[tag.id] = tag.merged_into_id
        self._names = {
            (axis, key): _follow(tag_id, merged)
            for axis, key, tag_id in session.execute(
                select(TagName.axis, TagName.key, TagName.tag_id)
            )
        }
        self.fallback = {axis: self._fallback(axis, value) for axis, value in FALLBACK.items()}

    def find(self, axis: Axis, text: str) -> TagInfo | None:
        tag_id = self._names.get((axis, path_key(text)))
        return self.tags.get(tag_id) if tag_id is not None else None

    def _fallback(self, axis: Axis, value: str) -> str:
        tag = self.find(axis, value)
        if tag is None:
            raise TagError(f'the usual {axis.value} value "{value}" is missing from the taxonomy')
        return tag.path


def _follow(tag_id: int, merged: dict[int, int]) -> int:
    seen = set()
    while tag_id in merged and tag_id not in seen:
        seen.add(tag_id)
        tag_id = merged[tag_id]
    return tag_id


_indexes: dict[tuple[str, str], TaxonomyIndex] = {}
_rule_sets: dict[tuple[str, str, tuple[str, ...]], RuleSet] = {}
_choices: dict[tuple[str, str], dict[str, list[str]]] = {}


def taxonomy_index(session: Session) -> TaxonomyIndex:
    """The index for the taxonomy as it is in this transaction (seeded first if need be)."""
    return _index(session, ensure_seeded(session))


def rule_book(session: Session, settings: Settings) -> tuple[TaxonomyIndex, RuleSet]:
    """Index and compiled rules together, for one revision check per message."""
    revision = ensure_seeded(session)
    return _index(session, revision), _rule_set(session, settings, revision)


def rule_set(session: Session, settings: Settings) -> RuleSet:
    """The office's active rules, plus out-of-area when a constituency postcode list is set."""
    return _rule_set(session, settings, ensure_seeded(session))


def active_choices(session: Session) -> dict[str, list[str]]:
    """The active values of each axis, in the office's order, for filters and the tag form:
    read again only when the taxonomy changes (every page offers them)."""
    key = (_database(session), revision(session))
    cached = _choices.get(key)
    if cached is not None:
        return cached
    rows = session.execute(
        select(TagValue.axis, TagValue.path)
        .where(TagValue.status == ACTIVE)
        .order_by(TagValue.axis, TagValue.position, TagValue.path)
    ).all()
    found: dict[str, list[str]] = {axis.value: [] for axis in AXES}
    for axis, path in rows:
        found[axis.value].append(path)
    return _remember(_choices, key, found)


def _index(session: Session, revision: str) -> TaxonomyIndex:
    key = (_database(session), revision)
    index = _indexes.get(key)
    return index if index is not None else _remember(_indexes, key, TaxonomyIndex(session))


def _rule_set(session: Session, settings: Settings, revision: str) -> RuleSet:
    key = (_database(session), revision, settings.constituency_postcodes)
    cached = _rule_sets.get(key)
    if cached is not None:
        return cached
    rules = stored_rules(session, active_only=True)
    if settings.constituency_postcodes:
        rules.append(out_of_area_rule(settings.constituency_postcodes))
    return _remember(_rule_sets, key, RuleSet(rules))


def stored_rules(session: Session, *, active_only: bool = False) -> list[Rule]:
    """Every stored rule in order, its value spelt as the tag's current path."""
    rows = session.execute(
        select(TagRule, TagValue.axis, TagValue.path, TagValue.status)
        .join(TagValue, TagRule.tag_id == TagValue.id)
        .order_by(TagRule.position, TagRule.id)
    ).all()
    return [
        as_rule(row, axis, path)
        for row, axis, path, status in rows
        if not active_only or status == ACTIVE  # a rule for a retired value proposes nothing
    ]


def as_rule(row: TagRule, axis: Axis, path: str) -> Rule:
    return Rule(
        name=row.name,
        description=row.description,
        axis=axis,
        value=path,
        priority=row.priority,
        enabled=row.enabled,
        search_in=SearchIn(row.search_in),
        keywords=tuple(row.keywords),
        patterns=tuple(row.patterns),
        senders=tuple(row.senders),
        postcodes=tuple(row.postcodes),
        outside_postcodes=tuple(row.outside_postcodes),
        attachment_types=tuple(row.attachment_types),
        kinds=tuple(row.kinds),
    )


def _database(session: Session) -> str:
    return str(session.get_bind().engine.url)


def _remember(cache: dict[K, V], key: K, value: V) -> V:
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value

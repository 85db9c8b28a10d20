"""The shipped taxonomy and rules, written once into an empty database."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm.tags import history
from crm.tags.models import TagName, TagRule, TagValue
from tagging.axes import AXES
from tagging.default_taxonomy import default_taxonomy
from tagging.rules import Rule
from tagging.taxonomy import TaxonomySpec, join_path, path_key

SEEDER = "mailbag"


def ensure_seeded(session: Session) -> str:
    """The taxonomy's revision token, seeding the defaults first if this database has none."""
    current = history.revision(session)
    if current:
        return current
    if history.claim_first_seed(session):
        seed(session, default_taxonomy())
    return history.revision(session)


def seed(session: Session, spec: TaxonomySpec) -> None:
    """Bulk insert (few round trips): parents, then children, then names and rules."""
    tags: dict[tuple[str, str], TagValue] = {}
    for level_has_parent in (False, True):
        batch = []
        for axis in AXES:
            for position, item in enumerate(spec.on(axis)):
                if (item.parent is not None) != level_has_parent:
                    continue
                parent = tags[(axis.value, path_key(item.parent))] if item.parent else None
                tag = TagValue(
                    axis=axis,
                    name=item.name,
                    parent_id=parent.id if parent else None,
                    path=join_path(item.parent, item.name),
                    position=position,
                    status=item.status,
                )
                tags[(axis.value, path_key(tag.path))] = tag
                batch.append(tag)
        session.add_all(batch)
        session.flush()
    for tag in tags.values():
        session.add(TagName(axis=tag.axis, key=path_key(tag.path), text=tag.path, tag_id=tag.id))
    for item in spec.tags:
        for alias in item.aliases:
            owner = tags[(item.axis.value, path_key(item.path))]
            session.add(TagName(axis=item.axis, key=path_key(alias), text=alias, tag_id=owner.id))
    for position, rule in enumerate(spec.rules):
        session.add(rule_row(rule, tags[(rule.axis.value, path_key(rule.value))].id, position))
    session.flush()
    detail = f"{len(tags)} values, {len(spec.rules)} rules"
    history.record(session, "seeded", who=SEEDER, detail=detail)


def rule_row(rule: Rule, tag_id: int, position: int) -> TagRule:
    return TagRule(
        name=rule.name,
        description=rule.description,
        tag_id=tag_id,
        priority=rule.priority,
        enabled=rule.enabled,
        position=position,
        search_in=rule.search_in.value,
        keywords=list(rule.keywords),
        patterns=list(rule.patterns),
        senders=list(rule.senders),
        postcodes=list(rule.postcodes),
        outside_postcodes=list(rule.outside_postcodes),
        attachment_types=list(rule.attachment_types),
        kinds=list(rule.kinds),
    )

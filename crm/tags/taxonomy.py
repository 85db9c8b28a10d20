"""Governing the taxonomy: rename, retire, merge and alias values; cases and rules follow."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crm.tags import history, names
from crm.tags.errors import TagError
from crm.tags.models import CaseTag, TagName, TagRule, TagValue
from crm.tags.seed import ensure_seeded
from tagging.axes import AXES, FALLBACK, Axis
from tagging.taxonomy import ACTIVE, RETIRED, join_path, path_key


@dataclass(frozen=True)
class Listed:
    """A value as `tags list` shows it."""

    axis: Axis
    path: str
    status: str
    cases: int
    aliases: tuple[str, ...]


def listing(session: Session, axis: Axis | None = None, *, retired: bool = False) -> list[Listed]:
    """Values in display order (parents before their sub-issues), with how many cases use each."""
    ensure_seeded(session)
    counts = dict(
        session.execute(select(CaseTag.tag_id, func.count()).group_by(CaseTag.tag_id)).all()
    )
    alias_rows = session.execute(
        select(TagName.tag_id, TagName.text).where(TagName.is_alias.is_(True)).order_by(TagName.id)
    ).all()
    aliases: dict[int, list[str]] = {}
    for tag_id, text in alias_rows:
        aliases.setdefault(tag_id, []).append(text)
    return [
        Listed(
            tag.axis, tag.path, tag.status, counts.get(tag.id, 0), tuple(aliases.get(tag.id, ()))
        )
        for tag in ordered(session, axis)
        if retired or tag.status == ACTIVE
    ]


def ordered(session: Session, axis: Axis | None = None) -> list[TagValue]:
    """Live (unmerged) values, axis by axis, each parent followed by its sub-issues."""
    query = select(TagValue).where(TagValue.merged_into_id.is_(None))
    if axis is not None:
        query = query.where(TagValue.axis == axis)
    tags = list(session.scalars(query.order_by(TagValue.position, TagValue.id)))
    result: list[TagValue] = []
    for each in AXES:
        on_axis = [t for t in tags if t.axis is each]
        for parent in (t for t in on_axis if t.parent_id is None):
            result.append(parent)
            result.extend(t for t in on_axis if t.parent_id == parent.id)
    return result


def rename(session: Session, axis: Axis, old: str, new: str, *, who: str) -> TagValue:
    """A new name; the old one stays as an alias, so rules and people using it still match."""
    ensure_seeded(session)
    tag = names.require(session, axis, old)
    parent_name, name = names.split(new, axis)
    parent = tag.parent
    if parent_name is not None and (
        parent is None or path_key(parent_name) != path_key(parent.path)
    ):
        parent = _new_parent(session, tag, parent_name)
    before = tag.path
    set_path(session, tag, parent, name)
    history.record(session, "renamed", who=who, tag=tag, detail=f"{before} → {tag.path}")
    return tag


def retire(session: Session, axis: Axis, text: str, *, who: str) -> TagValue:
    """No rule proposes it and no one can choose it; cases keep it, for the record."""
    ensure_seeded(session)
    tag = names.require(session, axis, text)
    if path_key(tag.path) == path_key(FALLBACK[axis]):
        raise TagError(f'"{tag.path}" is the value every case starts with: it cannot be retired')
    for each in [tag, *names.children(session, tag)]:
        if each.status != RETIRED:
            each.status = RETIRED
            history.record(session, "retired", who=who, tag=each, detail=each.path)
    return tag


def restore(session: Session, axis: Axis, text: str, *, who: str) -> TagValue:
    ensure_seeded(session)
    tag = names.require(session, axis, text)
    if tag.parent is not None and tag.parent.status != ACTIVE:
        raise TagError(f'restore "{tag.parent.path}" first: it is retired')
    if tag.status != ACTIVE:
        tag.status = ACTIVE
        history.record(session, "restored", who=who, tag=tag, detail=tag.path)
    return tag


def alias(session: Session, axis: Axis, text: str, alias_text: str, *, who: str) -> TagValue:
    """Another name that finds the value: an old spelling, a common abbreviation."""
    ensure_seeded(session)
    tag = names.require(session, axis, text)
    parent_name, name = names.split(alias_text, axis)
    spelt = join_path(parent_name, name)
    names.claim(session, tag, spelt, alias=True)
    history.record(session, "alias added", who=who, tag=tag, detail=f"{spelt} → {tag.path}")
    return tag


def merge(session: Session, axis: Axis, source_text: str, target_text: str, *, who: str) -> int:
    """Fold one value into another: its cases, rules, names and sub-issues follow.

    Returns how many cases were moved."""
    ensure_seeded(session)
    source = names.require(session, axis, source_text)
    target = names.require_active(session, axis, target_text)
    if source.id == target.id:
        raise TagError(f'"{source.path}" and "{target.path}" are the same value')
    if target.parent_id == source.id:
        raise TagError(f'"{target.path}" is a sub-issue of "{source.path}"')
    if path_key(source.path) == path_key(FALLBACK[axis]):
        raise TagError(
            f'"{source.path}" is the value every case starts with: merge into it instead'
        )
    children = names.children(session, source)
    if children and target.parent_id is not None:
        raise TagError(
            f'"{source.path}" has sub-issues, so it can only merge into a top-level issue'
        )
    for child in children:
        same = names.resolve(session, axis, join_path(target.path, child.name))
        if same is not None and same.id != child.id:
            merge(session, axis, child.path, same.path, who=who)
        else:
            set_path(session, child, target, child.name)
    moved = _move_cases(session, source, target, who)
    session.execute(update(TagRule).where(TagRule.tag_id == source.id).values(tag_id=target.id))
    session.execute(
        update(TagName).where(TagName.tag_id == source.id).values(tag_id=target.id, is_alias=True)
    )
    source.status, source.merged_into_id = RETIRED, target.id
    detail = f"{source.path} → {target.path} ({moved} case{'s' * (moved != 1)})"
    history.record(session, "merged", who=who, tag=source, other=target, detail=detail)
    return moved


def _move_cases(session: Session, source: TagValue, target: TagValue, who: str) -> int:
    """Every case tagged with `source` now has `target`; a case that had both keeps one row."""
    rows = session.scalars(select(CaseTag).where(CaseTag.tag_id == source.id)).all()
    for row in rows:
        existing = session.scalar(
            select(CaseTag).where(CaseTag.case_id == row.case_id, CaseTag.tag_id == target.id)
        )
        if existing is not None and (row.slot is None or existing.slot is not None):
            session.delete(row)  # the case already carries the target where it matters
        else:
            if existing is not None:
                session.delete(existing)  # a secondary target gives way to the primary slot
                session.flush()
            row.tag_id = target.id
        session.flush()
        detail = f"{source.path} → {target.path} (merged)"
        history.record(
            session, "case tag", who=who, axis=source.axis, case_id=row.case_id, detail=detail
        )
    return len(rows)


def _new_parent(session: Session, tag: TagValue, parent_name: str) -> TagValue:
    parent = names.require_active(session, tag.axis, parent_name)
    if parent.parent_id is not None:
        raise TagError(f'"{parent.path}" is a sub-issue: issues have two levels at most')
    if names.children(session, tag):
        raise TagError(f'"{tag.path}" has sub-issues, so it cannot become one')
    if parent.id == tag.id:
        raise TagError(f'"{tag.path}" cannot be its own parent')
    return parent


def set_path(session: Session, tag: TagValue, parent: TagValue | None, name: str) -> None:
    """Rename (or move) a value and its sub-issues; every old path stays as an alias."""
    new_path = join_path(parent.path if parent else None, name)
    if new_path == tag.path and tag.parent_id == (parent.id if parent else None):
        return
    names.claim(session, tag, new_path, alias=False)  # refuses a name another value holds
    old_row = names.owner_of(session, tag.axis, tag.path)
    if old_row is not None and old_row.tag_id == tag.id and old_row.key != path_key(new_path):
        old_row.is_alias = True
    tag.name, tag.path, tag.parent_id = name, new_path, parent.id if parent else None
    session.flush()
    session.expire(tag, ["parent"])
    for child in names.children(session, tag):
        set_path(session, child, tag, child.name)

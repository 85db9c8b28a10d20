"""Finding a tag by any of its names, following merges; creating one with its name claimed."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm.tags.errors import TagError, TagNameError, TagNotFound
from crm.tags.models import TagName, TagValue
from tagging.axes import Axis
from tagging.taxonomy import ACTIVE, join_path, path_key, split_path


def split(text: str, axis: Axis) -> tuple[str | None, str]:
    """(parent, name) of a typed path; tagging's ValueError becomes our own TagNameError."""
    try:
        return split_path(text, axis)
    except ValueError as error:
        raise TagNameError(str(error)) from None


def resolve(session: Session, axis: Axis, text: str) -> TagValue | None:
    """The live value a name or alias stands for today (a merged value leads to its target)."""
    tag_id = session.scalar(
        select(TagName.tag_id).where(TagName.axis == axis, TagName.key == path_key(text))
    )
    tag = session.get(TagValue, tag_id) if tag_id is not None else None
    seen: set[int] = set()
    while tag is not None and tag.merged_into_id is not None and tag.id not in seen:
        seen.add(tag.id)
        tag = session.get(TagValue, tag.merged_into_id)
    return tag


def require(session: Session, axis: Axis, text: str) -> TagValue:
    tag = resolve(session, axis, text)
    if tag is None:
        raise TagNotFound(f'no {axis.value} value "{text.strip()}"')
    return tag


def require_active(session: Session, axis: Axis, text: str) -> TagValue:
    tag = require(session, axis, text)
    if tag.status != ACTIVE:
        raise TagError(f'the {axis.value} value "{tag.path}" is retired')
    return tag


def owner_of(session: Session, axis: Axis, text: str) -> TagName | None:
    """The name row holding this spelling on the axis, whoever it belongs to."""
    return session.scalar(
        select(TagName).where(TagName.axis == axis, TagName.key == path_key(text))
    )


def claim(session: Session, tag: TagValue, text: str, *, alias: bool) -> TagName:
    """Give `tag` the name `text`; a name already used on the axis is refused."""
    row = owner_of(session, tag.axis, text)
    if row is not None and row.tag_id != tag.id:
        other = session.get(TagValue, row.tag_id)
        taken_by = other.path if other is not None else "another value"
        raise TagError(f'"{text}" is already a name of the {tag.axis.value} value "{taken_by}"')
    if row is None:
        row = TagName(axis=tag.axis, key=path_key(text), text=text, tag_id=tag.id)
        session.add(row)
    row.text, row.is_alias = text, alias
    session.flush()
    return row


def drop_alias(session: Session, tag: TagValue, text: str) -> None:
    session.execute(
        delete(TagName).where(
            TagName.tag_id == tag.id, TagName.key == path_key(text), TagName.is_alias.is_(True)
        )
    )


def aliases(session: Session, tag: TagValue) -> list[str]:
    return list(
        session.scalars(
            select(TagName.text)
            .where(TagName.tag_id == tag.id, TagName.is_alias.is_(True))
            .order_by(TagName.id)
        )
    )


def create(
    session: Session, axis: Axis, text: str, *, position: int = 0, status: str = ACTIVE
) -> TagValue:
    """A new value; a sub-issue's parent must already exist as a top-level issue."""
    parent_name, name = split(text, axis)
    parent = None
    if parent_name is not None:
        parent = require(session, axis, parent_name)
        if parent.parent_id is not None:
            raise TagError(f'"{parent.path}" is a sub-issue: issues have two levels at most')
    tag = TagValue(
        axis=axis,
        name=name,
        parent_id=parent.id if parent else None,
        path=join_path(parent.path if parent else None, name),
        position=position,
        status=status,
    )
    session.add(tag)
    session.flush()
    claim(session, tag, tag.path, alias=False)
    return tag


def children(session: Session, tag: TagValue) -> list[TagValue]:
    return list(
        session.scalars(
            select(TagValue)
            .where(TagValue.parent_id == tag.id, TagValue.merged_into_id.is_(None))
            .order_by(TagValue.position, TagValue.id)
        )
    )

"""Add a value to an axis by hand: last in its list, with a line of tag history."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.tags import history, names
from crm.tags.models import TagValue
from crm.tags.seed import ensure_seeded
from tagging.axes import Axis


def add_value(session: Session, axis: Axis, text: str, *, who: str) -> TagValue:
    """A new active value ("Housing › Damp" for a sub-issue); a taken name is refused."""
    ensure_seeded(session)
    last = session.scalar(select(func.max(TagValue.position)).where(TagValue.axis == axis))
    tag = names.create(session, axis, text, position=(last or 0) + 1)  # TagNameError if bad
    history.record(session, "created", who=who, tag=tag, detail=tag.path)
    return tag

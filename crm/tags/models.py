"""Tables of the four-axis tagging: values, names and aliases, rules, case tags, history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    column,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models import Base
from crm.types import utcnow
from tagging.assign import SOURCES
from tagging.axes import Axis
from tagging.taxonomy import STATUSES

AxisType = Enum(Axis, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class TagValue(Base):
    """One value on one axis; retired values stay for history, merged ones point onward."""

    __tablename__ = "tag_values"

    id: Mapped[int] = mapped_column(primary_key=True)
    axis: Mapped[Axis] = mapped_column(AxisType)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tag_values.id"), index=True)
    path: Mapped[str] = mapped_column(String(210))
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(
        Enum(*STATUSES, name="tag_status", native_enum=False, length=10), default="active"
    )
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tag_values.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[TagValue | None] = relationship(remote_side=[id], foreign_keys=[parent_id])

    __table_args__ = (
        Index("ix_tag_values_axis_position", "axis", "position"),
        # For its statistics: how many values a tag filter takes in (migration 0012).
        Index("ix_tag_values_lower_path", func.lower(column("path")).label("lower_path")),
    )


class TagName(Base):
    """Every name a value answers to on its axis: its own path and its aliases, each once."""

    __tablename__ = "tag_names"

    id: Mapped[int] = mapped_column(primary_key=True)
    axis: Mapped[Axis] = mapped_column(AxisType)
    key: Mapped[str] = mapped_column(String(210))
    text: Mapped[str] = mapped_column(String(210))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag_values.id"), index=True)
    is_alias: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("axis", "key", name="uq_tag_names_axis_key"),)


class TagRule(Base):
    """A tagging rule as an office keeps it; the value it sets follows renames and merges."""

    __tablename__ = "tag_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag_values.id"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=50)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    search_in: Mapped[str] = mapped_column(String(20), default="subject and body")
    keywords: Mapped[list[str]] = mapped_column(default=list)
    patterns: Mapped[list[str]] = mapped_column(default=list)
    senders: Mapped[list[str]] = mapped_column(default=list)
    postcodes: Mapped[list[str]] = mapped_column(default=list)
    outside_postcodes: Mapped[list[str]] = mapped_column(default=list)
    attachment_types: Mapped[list[str]] = mapped_column(default=list)
    kinds: Mapped[list[str]] = mapped_column(default=list)

    tag: Mapped[TagValue] = relationship()


class CaseTag(Base):
    """A value on a case. `slot` is the axis for the one-per-axis values, NULL for secondary
    issues: the unique (case, slot) constraint is what keeps one value per axis."""

    __tablename__ = "case_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag_values.id"), index=True)
    axis: Mapped[Axis] = mapped_column(AxisType)
    slot: Mapped[Axis | None] = mapped_column(AxisType)
    source: Mapped[str] = mapped_column(
        Enum(*SOURCES, name="tag_source", native_enum=False, length=10)
    )
    rule_name: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    who: Mapped[str] = mapped_column(String(200), default="")
    tagged_at: Mapped[datetime] = mapped_column(default=utcnow)

    tag: Mapped[TagValue] = relationship()

    __table_args__ = (
        UniqueConstraint("case_id", "slot", name="uq_case_tags_case_slot"),
        UniqueConstraint("case_id", "tag_id", name="uq_case_tags_case_tag"),
        CheckConstraint("slot IS NULL OR slot = axis", name="slot_is_axis"),
        CheckConstraint("slot IS NOT NULL OR axis = 'issue'", name="only_issues_secondary"),
        Index("ix_case_tags_tag_slot_case", "tag_id", "slot", "case_id"),  # tag filters (0012)
    )


class TagEvent(Base):
    """The history: a value created, renamed, retired, merged, aliased; a case tag changed."""

    __tablename__ = "tag_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(30))
    axis: Mapped[Axis | None] = mapped_column(AxisType)
    tag_id: Mapped[int | None] = mapped_column(ForeignKey("tag_values.id"), index=True)
    other_tag_id: Mapped[int | None] = mapped_column(ForeignKey("tag_values.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    who: Mapped[str] = mapped_column(String(200), default="")


class TagRevision(Base):
    """One row whose token changes with every taxonomy or rule change: compiled rules are
    reused until it does. Empty until the defaults have been seeded."""

    __tablename__ = "tag_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), default="")

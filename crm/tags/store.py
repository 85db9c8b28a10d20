"""A case's tags between the database rows and the pure Assignment, with every change logged."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from crm.db import AnySelect, chunks, insert_rows
from crm.models import Case
from crm.tags import history as tag_history
from crm.tags.errors import TagError
from crm.tags.models import CaseTag
from crm.tags.rulebook import TaxonomyIndex
from tagging.assign import Assignment, Tagging
from tagging.axes import AXES, Axis


@dataclass(frozen=True)
class Change:
    """One value on one case that is not what it was, and why."""

    reference: str
    axis: Axis
    before: str | None
    after: str | None
    primary: bool
    reason: str

    def describe(self) -> str:
        label = self.axis.value if self.primary else f"{self.axis.value} (secondary)"
        before, after = self.before or "—", self.after or "—"
        return f"{self.reference}  {label}: {before} → {after}  ({self.reason})"


@dataclass(frozen=True)
class Stored:
    """A case's tags as read: the pure assignment, and the rows it came from."""

    assignment: Assignment
    rows: list[CaseTag]


def load_assignment(
    session: Session, case_id: int, index: TaxonomyIndex, rows: list[CaseTag] | None = None
) -> Stored:
    """The case's tags, from `rows` when the caller has read them already."""
    assignment = Assignment()
    rows = _rows(session, case_id) if rows is None else rows
    for row in rows:
        tagging = _tagging(row, index)
        if row.slot is not None:
            assignment.slots[row.slot] = tagging
        else:
            assignment.secondary[tagging.key] = tagging
    return Stored(assignment, rows)


def save_assignment(
    session: Session,
    case: Case,
    stored: Stored,
    new: Assignment,
    *,
    who: str,
    index: TaxonomyIndex,
    history: list[dict[str, object]] | None = None,
) -> list[Change]:
    """Write what differs from what was read, in an order the unique constraints allow; log
    each change (into `history` when given: see crm.tags.history.record_case_changes). Only
    this transaction writes the case's tags between load and save."""
    rows = stored.rows
    by_slot = {row.slot: row for row in rows if row.slot is not None}
    secondary = {_tagging(row, index).key: row for row in rows if row.slot is None}
    changes: list[Change] = []
    for key, row in secondary.items():
        if key not in new.secondary:
            session.delete(row)
            path = index.tags[row.tag_id].path
            changes.append(_change(case, row.axis, path, None, False, "removed"))
    session.flush()
    slots = [(axis, new.slots[axis]) for axis in AXES if axis in new.slots]
    for axis, tagging in slots:
        slot_row = by_slot.get(axis)
        if slot_row is None:
            continue
        before = index.tags[slot_row.tag_id].path
        if _fill(slot_row, tagging, index) and before != tagging.value:
            changes.append(_change(case, axis, before, tagging.value, True, tagging.reason))
    session.flush()
    added: list[dict[str, object]] = []
    for axis, tagging in slots:
        if axis not in by_slot:
            added.append(_new_row(case, tagging, axis, index))
            changes.append(_change(case, axis, None, tagging.value, True, tagging.reason))
    for key, tagging in new.secondary.items():
        kept = secondary.get(key)
        if kept is None:
            added.append(_new_row(case, tagging, None, index))
            changes.append(_change(case, tagging.axis, None, tagging.value, False, tagging.reason))
        else:
            _fill(kept, tagging, index)
    session.flush()
    insert_rows(session, CaseTag, added)  # one statement: a new case gets four at once
    lines = [(change.axis, change.describe()) for change in changes]
    tag_history.record_case_changes(session, case.id, lines, who=who, later=history)
    return changes


def rows_of_cases(session: Session, case_ids: Collection[int]) -> dict[int, list[CaseTag]]:
    """Each case's tag rows (an empty list for a case without any), in one query."""
    found: dict[int, list[CaseTag]] = {case_id: [] for case_id in case_ids}
    for chunk in chunks(case_ids):
        query = select(CaseTag).where(CaseTag.case_id.in_(chunk)).order_by(CaseTag.id)
        for row in session.scalars(query):
            found[row.case_id].append(row)
    return found


def _rows(session: Session, case_id: int) -> list[CaseTag]:
    return list(session.scalars(_rows_of_case(), {"case_id": case_id}))


@functools.cache  # one statement object, reused: see crm.db.built_once
def _rows_of_case() -> AnySelect:
    """Ingest reads a case's tags for most replies: one statement, not one per reply."""
    return select(CaseTag).where(CaseTag.case_id == bindparam("case_id")).order_by(CaseTag.id)


def _tagging(row: CaseTag, index: TaxonomyIndex) -> Tagging:
    return Tagging(
        axis=row.axis,
        value=index.tags[row.tag_id].path,
        source=row.source,
        reason=row.reason,
        at=row.tagged_at,
        who=row.who,
        rule=row.rule_name,
        priority=row.priority,
    )


def _tag_id(index: TaxonomyIndex, tagging: Tagging) -> int:
    tag = index.find(tagging.axis, tagging.value)
    if tag is None:
        raise TagError(f'no {tagging.axis.value} value "{tagging.value}"')
    return tag.id


def _fill(row: CaseTag, tagging: Tagging, index: TaxonomyIndex) -> bool:
    """Bring a row in line with the tagging; True when anything about it changed."""
    tag_id = _tag_id(index, tagging)
    if row.tag_id == tag_id and (row.source, row.reason) == (tagging.source, tagging.reason):
        return False
    if row.tag_id != tag_id:
        row.tag_id, row.tagged_at = tag_id, tagging.at
        session = Session.object_session(row)
        if session is not None and "tag" in row.__dict__:
            session.expire(row, ["tag"])  # a loaded relationship would still show the old tag
    row.source, row.reason, row.who = tagging.source, tagging.reason, tagging.who
    row.rule_name, row.priority = tagging.rule, tagging.priority
    return True


def _new_row(
    case: Case, tagging: Tagging, slot: Axis | None, index: TaxonomyIndex
) -> dict[str, object]:
    return {
        "case_id": case.id,
        "tag_id": _tag_id(index, tagging),
        "axis": tagging.axis,
        "slot": slot,
        "source": tagging.source,
        "rule_name": tagging.rule,
        "priority": tagging.priority,
        "reason": tagging.reason,
        "who": tagging.who,
        "tagged_at": tagging.at,
    }


def _change(
    case: Case, axis: Axis, before: str | None, after: str | None, primary: bool, reason: str
) -> Change:
    return Change(case.reference, axis, before, after, primary, reason)

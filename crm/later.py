"""Rows a batch of ingest writes together at its end, in one statement for each kind.

Nothing in the batch reads them back from the database, so a hundred messages' timeline
entries cost one executemany rather than a hundred round trips (most of PostgreSQL's cost).
Whoever writes a row either appends it here or, given no `WrittenLater`, writes it at once.
(crm.heldback holds a batch's new rows back too, but only while the batch runs without
savepoints, and writes them as soon as a statement could see them; these wait for the
batch's end either way.)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

from crm.db import insert_ignore, insert_rows
from crm.models import Case, MessageSource, TimelineEntry
from crm.tags.models import TagEvent

Row = dict[str, object]


@dataclass
class WrittenLater:
    """The rows, in the order they are written (each table's foreign keys exist by then)."""

    sources: list[Row] = field(default_factory=list)  # where messages were seen
    timeline: list[Row] = field(default_factory=list)  # a case's entry for each message
    touches: list[tuple[int, datetime]] = field(default_factory=list)  # case, last activity
    tag_history: list[Row] = field(default_factory=list)

    def mark(self) -> tuple[int, ...]:
        """How many rows each list holds: a mark to go back to."""
        return tuple(len(rows) for rows in self._lists())

    def forget_since(self, mark: tuple[int, ...]) -> None:
        """Drop what was added since `mark` (its message was rolled back)."""
        for rows, kept in zip(self._lists(), mark, strict=True):
            del rows[kept:]

    def write(self, session: Session) -> None:
        insert_ignore(session, MessageSource, self.sources)
        insert_rows(session, TimelineEntry, self.timeline)
        _move_last_activity(session, self.touches)
        insert_rows(session, TagEvent, self.tag_history)

    def _lists(self) -> tuple[list[Any], ...]:
        return self.sources, self.timeline, self.touches, self.tag_history


def _move_last_activity(session: Session, touches: list[tuple[int, datetime]]) -> None:
    """Each case's latest, and only forward: old mail imported late never moves it back."""
    latest: dict[int, datetime] = {}
    for case_id, when in touches:
        if case_id not in latest or when > latest[case_id]:
            latest[case_id] = when
    rows = [{"case_id": case_id, "when": when} for case_id, when in latest.items()]
    if rows:
        session.connection().execute(_forward_statement(), rows)


@functools.cache
def _forward_statement() -> Any:
    table = cast(Table, Case.__table__)
    return (
        update(table)
        .where(table.c.id == bindparam("case_id"), table.c.last_activity_at < bindparam("when"))
        .values(last_activity_at=bindparam("when"))
    )

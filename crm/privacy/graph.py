"""Which rows hang on which, read from the models' foreign keys: erasing a case or a message
takes everything under it, including tables added after this module was written."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import Column, Table

import crm.schema  # noqa: F401 - every table known before the graph is read
from crm.models import Base

# Nullable links that still mean "belongs to": the row goes with the row it points at.
OWNED = frozenset(
    {
        ("messages", "case_id"),
        ("tag_events", "case_id"),
        ("grace_rules", "case_id"),
        ("constituents", "merged_into_id"),
    }
)
# Never erased, whatever they point at: the record of what was done and the statistics.
PERMANENT = frozenset({"audit_log", "erasure_log", "erased_counts"})


@dataclass(frozen=True)
class Link:
    """`child.column` points at `parent`'s primary key."""

    child: Table
    column: Column[object]
    parent: Table

    @property
    def owned(self) -> bool:
        """Erased with its parent; otherwise only the pointer is cleared (set NULL)."""
        return not self.column.nullable or (self.child.name, self.column.name) in OWNED


@cache
def links_to(parent: str) -> tuple[Link, ...]:
    """Every foreign key that points at the table named `parent`."""
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in PERMANENT:
            continue
        for key in table.foreign_keys:
            if key.column.table.name == parent:
                found.append(Link(table, key.parent, key.column.table))
    return tuple(found)


def table(name: str) -> Table:
    return Base.metadata.tables[name]


def deletion_order() -> list[Table]:
    """Children before parents."""
    return list(reversed(Base.metadata.sorted_tables))

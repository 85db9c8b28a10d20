"""Case numbers: a per-year counter, taken one at a time or a batch's worth at once.

MB-2026-000123 is read aloud on the phone and written on letters, so numbers run without
gaps. Ingest opens most of a batch's cases from new letters: it takes a block of numbers in
one statement and, at the batch's end, sets the counter to the last one it gave out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

from crm.db import built_once, upsert_for
from crm.models import CaseCounter


def next_reference(
    session: Session, prefix: str, year: int, block: NumberBlock | None = None
) -> str:
    """The next reference: from `block` when given, else in one upsert of its own (safe
    under concurrent writers, as each holds the counter's row until it commits)."""
    number = block.take(session, prefix, year) if block else _advance(session, prefix, year, 1)
    return f"{prefix}-{year}-{number:06d}"


@dataclass
class NumberBlock:
    """Numbers taken ahead for one transaction, `size` at a time for each prefix and year.

    Only for a transaction that is rolled back whole or not at all: a savepoint's rollback
    would give the counter back, and with it the lock that keeps the numbers ours.
    """

    size: int
    _next: dict[tuple[str, int], int] = field(default_factory=dict)  # the next to give out
    _top: dict[tuple[str, int], int] = field(default_factory=dict)  # the last one taken

    def take(self, session: Session, prefix: str, year: int) -> int:
        key = (prefix, year)
        if key not in self._next or self._next[key] > self._top[key]:
            top = _advance(session, prefix, year, self.size)
            self._next[key], self._top[key] = top - self.size + 1, top
        number = self._next[key]
        self._next[key] = number + 1
        return number

    def settle(self, session: Session) -> None:
        """Before the commit: each counter back to the last number given out, unless
        something else in the transaction has moved it on since (then a gap is left)."""
        rows = [
            {"p": prefix, "y": year, "last": following - 1, "top": self._top[(prefix, year)]}
            for (prefix, year), following in self._next.items()
            if following - 1 < self._top[(prefix, year)]
        ]
        if rows:
            session.connection().execute(_settle_statement(session), rows)


def _advance(session: Session, prefix: str, year: int, count: int) -> int:
    """Move the counter on by `count` and return where it now stands."""
    values = {"prefix": prefix, "year": year, "count": count}
    return int(session.connection().execute(_counter_statement(session), values).scalar_one())


@built_once
def _counter_statement(dialect: str) -> Any:
    """Built once, on the table (not the ORM class, whose bulk path costs more)."""
    table = CaseCounter.__table__
    return (
        upsert_for(dialect, table)
        .values(prefix=bindparam("prefix"), year=bindparam("year"), last=bindparam("count"))
        .on_conflict_do_update(
            index_elements=["prefix", "year"], set_={"last": table.c.last + bindparam("count")}
        )
        .returning(table.c.last)
    )


@built_once
def _settle_statement(dialect: str) -> Any:
    table = cast(Table, CaseCounter.__table__)
    return (
        update(table)
        .where(
            table.c.prefix == bindparam("p"),
            table.c.year == bindparam("y"),
            table.c.last == bindparam("top"),
        )
        .values(last=bindparam("last"))
    )

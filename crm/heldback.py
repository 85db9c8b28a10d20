"""New rows held back and written together, as late as correctness allows.

Ingest inserts several rows for each message (the person, the case, the message, its
tags), each its own round trip; on PostgreSQL the round trips were most of the cost. Held
back, a batch's new rows go in one multi-row INSERT per table, just before the next
statement of any kind runs on the transaction's connection (or before the commit), so
every query still sees every row written before it: the ORM's autoflush, for plain rows.

Rows that the caller needs an id for get one chosen here, from a block taken ahead
(PostgreSQL: the table's sequence; SQLite: above the largest, the transaction holding the
database's one write lock). Only for a transaction that is rolled back whole on error.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, event, func, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import RollbackToSavepointClause

from crm.models import Base

HELD_BACK = "mailbag.held_back"  # the key in session.info while rows are held back


class HeldBack:
    """The rows one transaction has yet to write, by table, in the order they came."""

    def __init__(self, session: Session, block: int) -> None:
        self.connection = session.connection()
        self.block = block
        self._rows: dict[Table, list[dict[str, Any]]] = {}
        self._ids: dict[Table, Iterator[int]] = {}  # what is left of each table's block
        self._writing = False

    def add(self, table: Table, rows: list[dict[str, Any]]) -> None:
        self._rows.setdefault(table, []).extend(rows)

    def waiting(self) -> int:
        """How many rows are held."""
        return sum(map(len, self._rows.values()))

    def next_id(self, table: Table) -> int:
        given = next(self._ids.get(table, iter(())), None)
        if given is None:
            self._ids[table] = iter(self._take_ids(table))
            given = next(self._ids[table])
        return given

    def write(self) -> None:
        """Every held row, a table at a time in foreign-key order (parents first)."""
        if not self._rows or self._writing:
            return
        self._writing = True
        try:
            order = _parents_first()
            for table in sorted(self._rows, key=lambda table: order.get(table, len(order))):
                for same_columns in _by_columns(self._rows[table]):
                    self.connection.execute(insert(table), same_columns)
            self._rows.clear()
        finally:
            self._writing = False

    def _take_ids(self, table: Table) -> list[int]:
        if self.connection.dialect.name == "postgresql":
            ids = self.connection.execute(_NEXT_IDS, {"t": table.name, "n": self.block})
            return sorted(ids.scalars())  # others' ids may fall between: each is ours alone
        largest = self.connection.execute(select(func.max(table.c.id))).scalar() or 0
        return list(range(largest + 1, largest + 1 + self.block))

    def _before_statement(self, _conn: Connection, clause: Any, *args: Any) -> None:
        if isinstance(clause, RollbackToSavepointClause):
            # Whatever is held was added inside the savepoint (its start wrote the rest):
            # rolled back with it, as if it had been written.
            self._rows.clear()
            return
        self.write()


@contextmanager
def holding_back(session: Session, block: int) -> Iterator[HeldBack]:
    """New rows of `session` (through crm.db's inserts) are held back until the block ends,
    the next statement, or the commit, whichever comes first."""
    held = HeldBack(session, block)
    listener = held._before_statement
    event.listen(held.connection, "before_execute", listener)
    session.info[HELD_BACK] = held
    try:
        yield held
        held.write()
    finally:
        session.info.pop(HELD_BACK, None)
        event.remove(held.connection, "before_execute", listener)


def held_back(session: Session) -> HeldBack | None:
    held: HeldBack | None = session.info.get(HELD_BACK)
    return held


_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)")


@functools.cache
def _parents_first() -> dict[Table, int]:
    """Each table's place in foreign-key order (asked once every model is imported)."""
    return {table: place for place, table in enumerate(Base.metadata.sorted_tables)}


def _by_columns(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Runs of rows with the same columns, in order: one executemany takes one set."""
    start = 0
    for end in range(1, len(rows) + 1):
        if end == len(rows) or rows[end].keys() != rows[start].keys():
            yield rows[start:end]
            start = end

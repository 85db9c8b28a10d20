"""New rows held back and written together, as late as correctness allows.

Ingest inserts several rows for each message (the person, the case, the message, its
tags), each its own round trip; on PostgreSQL the round trips were most of the cost. Held
back, a batch's new rows go in one statement per table (crm.bulkrows: on PostgreSQL a
COPY), just before a statement that could see them runs on the transaction's connection
(or before the commit), so every query still sees every row written before it: the ORM's
autoflush, for plain rows. Which rows a statement could see is read from the tables it
names, the tables those refer to, and the triggers that copy one table's rows onto another;
a statement that cannot be read that way (text, the ORM's joined loading, a savepoint)
writes all. `exec_driver_sql` passes no hook: nothing but the writing itself runs it while
rows are held.

Rows that the caller needs an id for get one chosen here, from a block taken ahead
(PostgreSQL: the table's sequence; SQLite: above the largest, the transaction holding the
database's one write lock). Only for a transaction that is rolled back whole on error.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Delete,
    Insert,
    Select,
    Table,
    Update,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import RollbackToSavepointClause
from sqlalchemy.sql.util import find_tables

from crm.bulkrows import can_write, write_rows
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

    def write(self, tables: frozenset[Table] | None = None) -> None:
        """The held rows of these tables (every table by default), a table at a time in
        foreign-key order (parents first)."""
        if not self._rows or self._writing:
            return
        self._writing = True
        try:
            order = _parents_first(len(Base.metadata.tables))
            wanted = [table for table in self._rows if tables is None or table in tables]
            for table in sorted(wanted, key=lambda table: order.get(table, len(order))):
                for same_columns in _by_columns(self._rows.pop(table)):
                    _write(self.connection, table, same_columns)
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
        if self._rows and not self._writing:
            self.write(_needed_by(clause))


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
def _parents_first(_tables: int) -> dict[Table, int]:
    """Each table's place in foreign-key order (again if more models were imported since)."""
    return {table: place for place, table in enumerate(Base.metadata.sorted_tables)}


# Tables whose rows triggers change when another table's are written: case_tags' keep
# copies of a case's tags on the case (migrations 0019, 0020).
_CHANGED_BY_TRIGGERS = {"cases": ("case_tags",)}


@functools.lru_cache(maxsize=1024)
def _needed_by(clause: Any) -> frozenset[Table] | None:
    """The tables whose held rows a statement could see or needs in place: those it names,
    the tables they refer to, and those whose triggers change them. None (all of them) for
    a statement we cannot read that way: text, the ORM's own (it may join what it loads
    with), a savepoint's release."""
    if not isinstance(clause, Select | Insert | Update | Delete) or not _plain(clause):
        return None
    named = {
        _table_of(found)
        for found in find_tables(
            clause, include_aliases=True, include_joins=True, include_crud=True
        )
    }
    needed: set[Table] = set()
    pending: list[Table] = [table for table in named if table is not None]
    every = list(Base.metadata.tables.values())
    while pending:
        table = pending.pop()
        if table in needed:
            continue
        needed.add(table)
        pending.extend(_parents(table))
        changers = (_table(name) for name in _CHANGED_BY_TRIGGERS.get(table.name, ()))
        pending.extend(changer for changer in changers if changer is not None)
        if isinstance(clause, Delete):  # rows that would refer to the deleted ones
            pending.extend(child for child in every if table in _parents(child))
    return frozenset(needed)


def _plain(clause: Any) -> bool:
    """Whether the statement reads only the tables it names: Core's always do; the ORM's
    do unless loader options or joined loading add joins as it is compiled."""
    if clause._propagate_attrs.get("compile_state_plugin") != "orm":
        return True
    if not isinstance(clause, Select) or clause._with_options:
        return False
    mappers = [
        getattr(each.get("entity"), "__mapper__", None) for each in clause.column_descriptions
    ]
    return all(
        mapper is not None
        and mapper.inherits is None
        and all(relation.lazy != "joined" for relation in mapper.relationships)
        for mapper in mappers
    )


def _table_of(found: Any) -> Table | None:
    if isinstance(found, Table):
        return found
    element = getattr(found, "element", None)  # an alias of a table
    return element if isinstance(element, Table) else None


def _parents(table: Table) -> list[Table]:
    """The tables it refers to, by name: a table whose model this process never imported
    holds no rows here, and naming it must not fail."""
    names = {key.target_fullname.rpartition(".")[0] for key in table.foreign_keys}
    return [parent for name in names if (parent := _table(name)) is not None]


def _table(name: str) -> Table | None:
    return Base.metadata.tables.get(name)


def _write(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """In bulk (crm.bulkrows), or as SQLAlchemy's executemany where a default is SQL."""
    if can_write(table, tuple(rows[0])):
        write_rows(connection, table, rows)
    else:
        connection.execute(insert(table), rows)


def _by_columns(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Runs of rows with the same columns, in order: one executemany takes one set."""
    start = 0
    for end in range(1, len(rows) + 1):
        if end == len(rows) or rows[end].keys() != rows[start].keys():
            yield rows[start:end]
            start = end

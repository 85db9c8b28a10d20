"""Many new rows into one table, each value converted as SQLAlchemy converts it, without
SQLAlchemy's work for each row.

A batch's rows went as one executemany INSERT per table. On PostgreSQL that is one
multi-row INSERT of thousands of placeholders, which psycopg finds by parsing the statement
in Python, keeping the result only for short statements: a fifth of ingest's time. COPY
sends the rows as data, with nothing to parse and less for the server to plan. On SQLite,
SQLAlchemy built a parameter dictionary for every row before the driver's executemany; the
rows now go to the driver as tuples.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class _Plan:
    """How rows with one set of keys are written: the statement, then for each column
    written, the row's key (or a default made here) and the conversion."""

    statement: str
    given: tuple[tuple[str, Convert | None], ...]
    made: tuple[tuple[Callable[[], Any], Convert | None], ...]

    def values(self, rows: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
        for row in rows:
            given = [_converted(row[key], convert) for key, convert in self.given]
            made = [_converted(make(), convert) for make, convert in self.made]
            yield (*given, *made)


def can_write(table: Table, keys: tuple[str, ...]) -> bool:
    """Whether every column the rows leave out can be filled here or by the database: not
    one whose default is SQL for SQLAlchemy to put in the statement."""
    return all(
        column.default is None or not column.default.is_clause_element
        for column in table.c
        if column.key not in keys
    )


def write_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Rows that all have the same keys (`can_write`). Columns they leave out get their
    Python-side defaults here, as an INSERT through SQLAlchemy would give them; the rest
    (ids, server defaults, generated columns) the database fills in."""
    plan = _plan(table, tuple(rows[0]), connection.dialect)
    if connection.dialect.name == "postgresql":
        _copy(connection, plan, rows)
    else:
        connection.exec_driver_sql(plan.statement, list(plan.values(rows)))


def _copy(connection: Connection, plan: _Plan, rows: list[dict[str, Any]]) -> None:
    driver = connection.connection.driver_connection
    assert driver is not None  # an open transaction's connection
    try:
        with driver.cursor() as cursor, cursor.copy(plan.statement) as copy:
            for values in plan.values(rows):
                copy.write_row(values)
    except connection.dialect.loaded_dbapi.Error as error:
        base = connection.dialect.loaded_dbapi.Error
        raise DBAPIError.instance(plan.statement, None, error, base) from error


def _converted(value: Any, convert: Convert | None) -> Any:
    return value if convert is None else convert(value)


@functools.lru_cache(maxsize=512)  # a table's few sets of keys, for each engine
def _plan(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Plan:
    quote = dialect.identifier_preparer
    made = [column for column in table.c if column.key not in keys and _python_side(column)]
    written = [table.c[key] for key in keys] + made
    names = ", ".join(quote.quote(column.name) for column in written)
    target = f"{quote.format_table(table)} ({names})"
    if dialect.name == "postgresql":
        statement = f"COPY {target} FROM STDIN"
    else:
        statement = f"INSERT INTO {target} VALUES ({', '.join('?' for _ in written)})"
    return _Plan(
        statement=statement,
        given=tuple((key, _conversion(table.c[key], dialect)) for key in keys),
        made=tuple(
            (functools.partial(python_default, column), _conversion(column, dialect))
            for column in made
        ),
    )


def python_default(column: Column[Any]) -> Any:
    """What SQLAlchemy's INSERT gives a column left out: its Python-side default (a value,
    or a function's result), else None (`can_write` keeps SQL defaults away)."""
    if not _python_side(column):
        return None
    default: Any = column.default
    # SQLAlchemy's wrapper of a default function takes the execution context: none here
    return default.arg(None) if default.is_callable else default.arg


def _python_side(column: Column[Any]) -> bool:
    return column.default is not None and (column.default.is_scalar or column.default.is_callable)


def _conversion(column: Column[Any], dialect: Dialect) -> Convert | None:
    """SQLAlchemy's own bind processing for the column's type (our TypeDecorators, enums)."""
    processor: Convert | None = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor

"""Rows into a PostgreSQL table by COPY, each value converted as SQLAlchemy converts it.

A batch's rows went as one multi-row INSERT per table: thousands of placeholders, which
psycopg finds by parsing the statement in Python, and it keeps the result only for short
statements. That parse was a fifth of ingest's time on PostgreSQL. COPY sends the rows as
data: no statement to parse, and less for the server to plan.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class _Plan:
    """How rows with one set of columns are copied: the statement, then for each column
    copied, the row's key (or None: a default made here) and the conversion."""

    statement: str
    given: tuple[tuple[str, Convert | None], ...]
    made: tuple[tuple[Callable[[], Any], Convert | None], ...]


def can_copy(table: Table, keys: tuple[str, ...]) -> bool:
    """Whether every column the rows leave out can be filled here or by the server: not a
    default given as SQL (COPY cannot run it)."""
    return all(
        column.default is None or not column.default.is_clause_element
        for column in table.c
        if column.key not in keys
    )


def copy_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Rows that all have the same keys (`can_copy`). Columns they leave out get their
    Python-side defaults here, as an INSERT through SQLAlchemy would give them; the rest
    (ids from a sequence, server defaults, generated columns) the server fills in."""
    plan = _plan(table, tuple(rows[0]), connection.dialect)
    driver = connection.connection.driver_connection
    assert driver is not None  # an open transaction's connection
    try:
        with driver.cursor() as cursor, cursor.copy(plan.statement) as copy:
            for row in rows:
                given = [_converted(row[key], convert) for key, convert in plan.given]
                made = [_converted(make(), convert) for make, convert in plan.made]
                copy.write_row(given + made)
    except connection.dialect.loaded_dbapi.Error as error:
        base = connection.dialect.loaded_dbapi.Error
        raise DBAPIError.instance(plan.statement, None, error, base) from error


def _converted(value: Any, convert: Convert | None) -> Any:
    return value if convert is None else convert(value)


@functools.cache
def _plan(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Plan:
    quote = dialect.identifier_preparer
    made = [column for column in table.c if column.key not in keys and _made_here(column)]
    copied = [table.c[key] for key in keys] + made
    names = ", ".join(quote.quote(column.name) for column in copied)
    return _Plan(
        statement=f"COPY {quote.format_table(table)} ({names}) FROM STDIN",
        given=tuple((key, _conversion(table.c[key], dialect)) for key in keys),
        made=tuple((_default(column), _conversion(column, dialect)) for column in made),
    )


def _made_here(column: Column[Any]) -> bool:
    return column.default is not None and (column.default.is_scalar or column.default.is_callable)


def _default(column: Column[Any]) -> Callable[[], Any]:
    default: Any = column.default
    if default.is_callable:
        return lambda: default.arg(None)  # SQLAlchemy's wrapper takes the execution context
    value = default.arg
    return lambda: value


def _conversion(column: Column[Any], dialect: Dialect) -> Convert | None:
    """SQLAlchemy's own bind processing for the column's type (our TypeDecorators, enums)."""
    processor: Convert | None = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor

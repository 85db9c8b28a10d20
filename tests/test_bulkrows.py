"""Held rows are written in bulk (crm.bulkrows: PostgreSQL by COPY, SQLite straight to the
driver): they must read back exactly as the same rows written by SQLAlchemy's INSERT,
defaults included, and a refused row must fail as an INSERT would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, func, insert, select
from sqlalchemy.exc import IntegrityError

from crm.bulkrows import can_write, write_rows
from crm.models import Blob
from crm.tags.models import TagEvent
from tagging.axes import Axis

AWKWARD = [
    "tab\there, newline\nthere, carriage\rreturn",
    "back\\slash \\N and \\x00 written out",
    "quotes ' \" and a comma, ; semicolon",
    "Zoë Łukasz Siobhán 日本語 🙂",
    "",
]


def _events(texts: list[str], who: str) -> list[dict[str, object]]:
    axes = [Axis.ISSUE, Axis.URGENCY, None, Axis.SENSITIVITY, Axis.TRANSFERABILITY]
    return [
        {"action": "case tag", "axis": axis, "detail": text, "who": who}
        for axis, text in zip(axes, texts, strict=True)
    ]


def _table(model: type[object]) -> Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def test_rows_written_in_bulk_read_back_as_inserted_ones_with_the_defaults_filled_in(database):
    events = _table(TagEvent)
    before = datetime.now(UTC)
    with database.engine.begin() as connection:
        write_rows(connection, events, _events(AWKWARD, "bulk"))
        connection.execute(insert(events), _events(AWKWARD, "inserted"))
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(events.c.who, events.c.axis, events.c.detail, events.c.at, events.c.case_id)
        ).all()
    bulk = [row[1:3] for row in rows if row.who == "bulk"]
    inserted = [row[1:3] for row in rows if row.who == "inserted"]
    assert bulk == inserted == [(e["axis"], e["detail"]) for e in _events(AWKWARD, "")]
    # The Python-side default (the time) was filled in, as an INSERT fills it
    assert all(row.at >= before and row.at.tzinfo is not None for row in rows)
    assert all(row.case_id is None for row in rows)


def test_bytes_written_in_bulk_arrive_byte_for_byte(database):
    data = bytes(range(256)) * 3 + b"\\x00\\N\t\n"
    with database.engine.begin() as connection:
        write_rows(
            connection, _table(Blob), [{"sha256": "a" * 64, "size": len(data), "data": data}]
        )
    with database.engine.connect() as connection:
        stored = connection.execute(select(_table(Blob).c.data)).scalar_one()
    assert stored == data


def test_a_refused_row_fails_as_an_insert_would(database):
    row = {"sha256": "b" * 64, "size": 1, "data": b"x"}
    with database.engine.begin() as connection:
        write_rows(connection, _table(Blob), [row])
    with pytest.raises(IntegrityError), database.engine.begin() as connection:
        write_rows(connection, _table(Blob), [row])


def test_rows_leaving_out_a_column_with_an_sql_default_are_left_to_sqlalchemy():
    assert can_write(_table(TagEvent), ("action", "detail"))
    assert not can_write(_fake_table_with_sql_default(), ("id",))


def _fake_table_with_sql_default() -> Table:
    return Table(
        "t",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", DateTime, default=func.now()),
    )


def test_values_go_through_our_column_types_as_for_an_insert(database):
    """A time without a zone is refused (crm.types.UTCDateTime), not stored as local time."""
    naive = {"action": "case tag", "detail": "", "who": "", "at": datetime(2026, 3, 1, 9, 0)}
    with pytest.raises(ValueError, match="naive datetime"), database.engine.begin() as connection:
        write_rows(connection, _table(TagEvent), [naive])

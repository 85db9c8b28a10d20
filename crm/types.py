"""Column types that behave the same on SQLite and PostgreSQL, and the office's clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Moments are stored in UTC; the office reads them, and keeps its days and weeks, on the
# UK's clock, summer time included.
OFFICE_ZONE = ZoneInfo("Europe/London")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes only, stored as UTC: SQLite would silently drop the offset."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        return dialect.type_descriptor(DateTime(timezone=dialect.name != "sqlite"))


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def office_time(moment: datetime) -> datetime:
    """A stored moment on the office's clock, for showing to people."""
    return moment.astimezone(OFFICE_ZONE)

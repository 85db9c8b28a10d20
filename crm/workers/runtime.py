"""What actors work with: the settings and the database, built once per worker process."""

from __future__ import annotations

from dataclasses import dataclass

import crm.schema  # noqa: F401 - every table known before the first query in a worker
from crm.db import Database
from crm.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database


_current: Runtime | None = None


def use(settings: Settings, database: Database) -> None:
    """The composition root hands the actors what they work with (in-process mode)."""
    global _current
    _current = Runtime(settings, database)


def current() -> Runtime:
    """The runtime handed over, or one built from MAILBAG_* (a `dramatiq` worker process)."""
    global _current
    if _current is None:
        settings = Settings.from_env()
        _current = Runtime(settings, Database.from_settings(settings))
    return _current

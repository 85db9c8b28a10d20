"""Build each part once from the settings and hand it what it needs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import OperationalError

from crm import migrate
from crm.db import Database
from crm.errors import MailbagError
from crm.settings import Settings
from inbox.pipeline import Pipeline


@dataclass
class App:
    settings: Settings
    database: Database
    pipeline: Pipeline


def build(settings: Settings | None = None, *, require_schema: bool = True) -> App:
    """Settings from the environment, a database, a pipeline; the schema checked up front."""
    settings = settings or Settings.from_env()
    database = Database.from_settings(settings)
    if require_schema:
        ensure_schema_current(database)
    return App(settings, database, Pipeline(settings))


def ensure_schema_current(database: Database) -> None:
    try:
        current = migrate.is_current(database)
    except OperationalError as error:
        raise MailbagError(f"cannot reach the database: {_first_line(error)}") from None
    if not current:
        raise MailbagError("the database schema is not up to date: run `mailbag db upgrade`")


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__

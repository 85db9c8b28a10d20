"""Build each part once from the settings and hand it what it needs."""

from __future__ import annotations

import gc
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

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
    settings = with_secret(settings or Settings.from_env())
    database = Database.from_settings(settings)
    if require_schema:
        ensure_schema_current(database)
    return App(settings, database, Pipeline(settings))


@contextmanager
def settled_heap() -> Iterator[None]:
    """For a long run (ingest, import): what is loaded by now (modules, mappers, settings)
    lives as long as the run, so it is kept out of the collector's full passes, which a
    long ingest sets off again and again: each walked some 190,000 objects, a tenth of a
    second, 8% of a 2,000-message ingest. Given back at the end, for a caller going on."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


SECRET_FILE = "web-secret-key"


def with_secret(settings: Settings) -> Settings:
    """Embedded (no database URL) and no MAILBAG_SECRET_KEY: a key made once and kept in the
    data dir, so the web view, the ingester and the workers sign with the same one."""
    if settings.secret_key or settings.database_url:
        return settings
    path = Path(settings.data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
    return replace(settings, secret_key=path.read_text(encoding="utf-8").strip())


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

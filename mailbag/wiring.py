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


def freeze_start_up() -> None:
    """For a server process, once its app is built: keep what start-up made (about 200,000
    objects: the app, SQLAlchemy's mappers and tables) out of the garbage collector's way
    for good. They live as long as the process, and each full collection walked them all,
    a pause of 50-100 ms for every request in flight. Not for tests, which build many apps."""
    gc.collect()
    gc.freeze()


@contextmanager
def settled_heap() -> Iterator[None]:
    """The same for a long run (ingest, import), which sets off full collections again and
    again: each walked the start-up objects, a tenth of a second, 8% of a 2,000-message
    ingest. Given back at the end, for a caller that goes on (a test)."""
    freeze_start_up()
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

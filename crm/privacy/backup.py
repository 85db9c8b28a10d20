"""Backups of the embedded SQLite database, and restoring one.

A backup is SQLite's online backup of the live file, taken in one step, so it is a
consistent snapshot even while the ingester writes (WAL mode lets writers carry on). The
raw mail (blobs) lives in the database itself (crm/blobs.py), so the one file is the whole
office. The copy is marked as Mailbag's (`PRAGMA application_id`) and checked on restore:
not a SQLite file, not Mailbag's, damaged, or made by a newer Mailbag: refused.

Restoring copies the backup into the live database through the same API, after keeping the
current database aside as a backup of its own. PostgreSQL has its own tools (README).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from crm import migrate
from crm.db import Database
from crm.privacy.errors import NotABackup, PrivacyError
from crm.types import utcnow

APPLICATION_ID = 0x4D424147  # "MBAG"
POSTGRES = (
    "the database is PostgreSQL: back it up with pg_dump -Fc (nightly) and WAL archiving "
    "or pg_basebackup; see README, 'Backups and data protection'"
)


@dataclass(frozen=True)
class Restored:
    revision: str
    kept_aside: Path | None


def sqlite_path(database: Database) -> Path:
    """The live database file; PostgreSQL is refused with what to use instead."""
    if not database.is_sqlite:
        raise PrivacyError(POSTGRES)
    name = database.engine.url.database
    if not name or name == ":memory:":
        raise PrivacyError("an in-memory database has nothing to back up")
    return Path(name)


def backup(database: Database, out: Path) -> str:
    """Write a consistent copy of the live database to `out`; its schema revision."""
    live = sqlite_path(database)
    if not live.exists():
        raise PrivacyError(f"there is no database at {live} yet")
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    revision = _snapshot(live, partial)
    os.replace(partial, out)  # a failed backup never leaves a half file under the name
    return revision


def inspect(path: Path) -> str:
    """The schema revision of a backup file, or NotABackup saying why it is refused."""
    if not path.is_file():
        raise NotABackup(f"{path} is not a file")
    with path.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise NotABackup(f"{path} is not a Mailbag backup (not a SQLite database)")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as copy:
            if copy.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                raise NotABackup(f"{path} is not a Mailbag backup (made by `mailbag backup`)")
            if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise NotABackup(f"{path} is damaged (SQLite's quick check failed)")
            revision = _revision(copy)
    except sqlite3.DatabaseError as error:
        raise NotABackup(f"{path} cannot be read as a Mailbag backup ({error})") from None
    if revision not in _known_revisions():
        raise NotABackup(
            f"{path} has schema {revision}, newer than this Mailbag knows: upgrade Mailbag first"
        )
    return revision


def restore(database: Database, source: Path) -> Restored:
    """Replace the live database with the backup; the previous one is kept beside it."""
    revision = inspect(source)
    live = sqlite_path(database)
    aside: Path | None = None
    if live.exists():
        aside = live.with_name(f"{live.name}.before-restore-{utcnow():%Y%m%dT%H%M%SZ}")
        _snapshot(live, aside)  # itself a backup: `mailbag restore` takes it back
    database.dispose()  # no pooled connection keeps the old pages
    _copy(source, live)
    with closing(sqlite3.connect(live)) as restored:
        restored.execute("PRAGMA journal_mode = WAL")
    migrate.upgrade(database)  # an older backup is brought up to this Mailbag's schema
    return Restored(revision, aside)


def _snapshot(live: Path, target: Path) -> str:
    """A copy of the live database marked as a Mailbag backup; its schema revision."""
    _copy(live, target)
    with closing(sqlite3.connect(target)) as copy:
        copy.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        copy.commit()
        return _revision(copy)


def _copy(source: Path, target: Path) -> None:
    """SQLite's online backup in one step: a snapshot, whatever writers do meanwhile."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(source, timeout=30)) as src,
        closing(sqlite3.connect(target, timeout=30)) as dst,
    ):
        src.backup(dst)


def _revision(connection: sqlite3.Connection) -> str:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        row = None
    if row is None:
        raise NotABackup("the file has no Mailbag schema (no alembic_version)")
    return str(row[0])


def _known_revisions() -> set[str]:
    scripts = ScriptDirectory.from_config(migrate._config())
    return {script.revision for script in scripts.walk_revisions()}

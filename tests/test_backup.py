"""Backups of the embedded database: taken while mail keeps arriving, restored to a database
`mailbag cases` reads, the previous one kept aside; foreign and newer files refused."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from crm.db import Database
from crm.models import Case, Message
from crm.privacy import backup
from inbox.message import Source
from inbox.pipeline import Pipeline
from mailbag.cli import main
from tests.support import databases
from tests.support.mailbox import build_mailbox
from tests.support.mailgen import generate_messages


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """The embedded mode's database (backups are for SQLite; PostgreSQL has its own tools)."""
    database = databases.sqlite_copy(sqlite_template, tmp_path)
    yield database
    database.dispose()


def cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def url_env(database: Database) -> dict[str, str]:
    return {"MAILBAG_DATABASE_URL": database.url}


def messages_in(path: Path) -> int:
    with closing(sqlite3.connect(path)) as connection:
        return int(connection.execute("SELECT count(*) FROM messages").fetchone()[0])


class Ingester(threading.Thread):
    """Keeps putting generated mail through the pipeline, a small batch per transaction."""

    def __init__(self, database: Database, pipeline: Pipeline) -> None:
        super().__init__(daemon=True)
        self.database, self.pipeline = database, pipeline
        self.stop, self.stored = threading.Event(), 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            mail = generate_messages(100_000, seed=41)
            uid = 0
            while not self.stop.is_set():
                with self.database.session() as session:
                    for raw in [next(mail) for _ in range(5)]:
                        uid += 1
                        self.pipeline.process(session, raw, Source("INBOX", 5, uid))
                self.stored += 5
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error

    def wait_for(self, count: int) -> None:
        while self.stored < count and self.is_alive():
            self.stop.wait(0.05)


def test_a_backup_taken_while_mail_arrives_restores_to_a_consistent_database(
    sqlite_db, pipeline, tmp_path
):
    # Given mail arriving all the time
    ingester = Ingester(sqlite_db, pipeline)
    ingester.start()
    ingester.wait_for(20)
    # When the office backs up in the middle of it
    out = tmp_path / "mailbag-backup.sqlite3"
    code, output = cli(url_env(sqlite_db), "backup", "--out", str(out))
    ingester.wait_for(ingester.stored + 20)
    ingester.stop.set()
    ingester.join(60)
    assert ingester.error is None and code == 0, output
    with sqlite_db.session() as session:
        live = session.scalar(select(func.count()).select_from(Message)) or 0
    # Then the backup restores, in a fresh place, to a whole database
    fresh = {"MAILBAG_DATA_DIR": str(tmp_path / "restored")}
    code, output = cli(fresh, "restore", str(out), "--yes")
    assert code == 0, output
    restored_file = tmp_path / "restored" / "mailbag.sqlite3"
    with closing(sqlite3.connect(restored_file)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        cases = connection.execute("SELECT count(*) FROM cases").fetchone()[0]
        no_blob = connection.execute(
            "SELECT count(*) FROM messages m LEFT JOIN blobs b ON b.sha256 = m.blob_sha256 "
            "WHERE b.sha256 IS NULL"
        ).fetchone()[0]
    assert 20 <= messages_in(restored_file) < live and no_blob == 0
    # And the command line reads it
    code, output = cli(fresh, "cases", "--limit", "100000")
    assert code == 0, output
    assert len(output.strip().splitlines()) == cases > 0


def test_restore_keeps_the_previous_database_aside(sqlite_db, pipeline, tmp_path):
    build_mailbox(sqlite_db, pipeline)
    out = tmp_path / "nightly.sqlite3"
    assert cli(url_env(sqlite_db), "backup", "--out", str(out))[0] == 0
    with sqlite_db.session() as session:
        backed_up = session.scalar(select(func.count()).select_from(Case))
    # Mail that arrives after the backup
    for raw in generate_messages(10, seed=7):
        with sqlite_db.session() as session:
            pipeline.process(session, raw, Source("INBOX", 6, hash(raw) % 10**9))
    with sqlite_db.session() as session:
        later = session.scalar(select(func.count()).select_from(Case))
    assert later is not None and backed_up is not None and later > backed_up

    code, output = cli(url_env(sqlite_db), "restore", str(out), "--yes")

    assert code == 0, output
    live = backup.sqlite_path(sqlite_db)
    (aside,) = live.parent.glob(f"{live.name}.before-restore-*")
    assert f"kept as {aside}" in output
    with sqlite_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == backed_up
    with closing(sqlite3.connect(aside)) as connection:
        assert connection.execute("SELECT count(*) FROM cases").fetchone()[0] == later
    assert backup.inspect(aside)  # the database kept aside is itself a backup


def test_restore_asks_first(sqlite_db, tmp_path):
    out = tmp_path / "b.sqlite3"
    assert cli(url_env(sqlite_db), "backup", "--out", str(out))[0] == 0
    result = CliRunner().invoke(main, ["restore", str(out)], env=url_env(sqlite_db), input="n\n")
    assert result.exit_code == 1 and "nothing restored" in result.output
    assert not list(tmp_path.glob("*.before-restore-*"))


def test_restore_refuses_what_is_not_a_mailbag_backup(sqlite_db, tmp_path):
    env = url_env(sqlite_db)
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    plain = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(plain)) as connection:
        connection.execute("CREATE TABLE t (x)")
    live = backup.sqlite_path(sqlite_db)
    for refused, why in (
        (text, "is not a Mailbag backup (not a SQLite database)"),
        (plain, "is not a Mailbag backup (made by `mailbag backup`)"),
        (live, "is not a Mailbag backup (made by `mailbag backup`)"),
        (tmp_path / "missing.sqlite3", "is not a file"),
    ):
        code, output = cli(env, "restore", str(refused), "--yes")
        assert code == 2, output
        assert output.strip() == f"mailbag: error: {refused} {why}"
    assert not list(tmp_path.glob("*.before-restore-*"))


def test_restore_refuses_a_backup_from_a_newer_mailbag(sqlite_db, tmp_path):
    out = tmp_path / "future.sqlite3"
    assert cli(url_env(sqlite_db), "backup", "--out", str(out))[0] == 0
    with closing(sqlite3.connect(out)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
        connection.commit()
    code, output = cli(url_env(sqlite_db), "restore", str(out), "--yes")
    assert code == 2
    assert "has schema 9999, newer than this Mailbag knows" in output


def test_postgres_backups_are_left_to_pg_dump_with_one_line(postgres_url, tmp_path):
    env = {"MAILBAG_DATABASE_URL": postgres_url}
    for args in (("backup", "--out", str(tmp_path / "x")), ("restore", str(tmp_path / "x"))):
        code, output = cli(env, *args)
        assert code == 2
        lines = output.strip().splitlines()
        assert len(lines) == 1 and "pg_dump -Fc" in lines[0], output
    assert not (tmp_path / "x").exists()

"""The command line: stable names, one clear line for every mistake, the demo end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from crm import checkpoints
from crm.db import Database
from crm.settings import Settings
from mailbag.cli import main


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The real `python -m mailbag`, as an operator would run it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAILBAG_")}
    return subprocess.run(
        [sys.executable, "-m", "mailbag", *args],
        env={**clean, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAILBAG_IMAP_PORT", "imap"),
        ("MAILBAG_IMAP_SSL", "maybe"),
        ("MAILBAG_DATABASE_URL", "mysql://nope"),
        ("MAILBAG_OFFICE_ADDRESSES", "not-an-address"),
        ("MAILBAG_CASE_PREFIX", "MB-2026"),
        ("MAILBAG_WEB_THREADS", "0"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_the_variable(variable, value, tmp_path):
    result = CliRunner().invoke(
        main, ["db", "upgrade"], env={variable: value, "MAILBAG_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mailbag: error: {variable}")
    assert "Traceback" not in result.output


def test_ingest_without_an_imap_host_names_the_variable(tmp_path):
    env = {"MAILBAG_DATA_DIR": str(tmp_path)}
    assert run("db", "upgrade", env=env).returncode == 0
    result = run("ingest", "--once", env=env)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "mailbag: error: MAILBAG_IMAP_HOST is not set: it is needed for this"
    )


def test_commands_refuse_an_old_schema_with_the_fix(tmp_path):
    result = run("cases", env={"MAILBAG_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "run `mailbag db upgrade`" in result.stderr


def test_unreachable_postgres_is_one_line(tmp_path):
    result = run("cases", env={"MAILBAG_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert result.returncode == 2
    assert result.stderr.startswith("mailbag: error: cannot reach the database")
    assert len(result.stderr.strip().splitlines()) == 1


def test_wrong_imap_password_is_one_line(dovecot, imap_account, tmp_path):
    env = {
        "MAILBAG_DATA_DIR": str(tmp_path),
        "MAILBAG_IMAP_HOST": imap_account.host,
        "MAILBAG_IMAP_PORT": str(imap_account.port),
        "MAILBAG_IMAP_USER": imap_account.user,
        "MAILBAG_IMAP_PASSWORD": "not-the-password",
        "MAILBAG_IMAP_SSL": "off",
    }
    assert run("db", "upgrade", env=env).returncode == 0
    result = run("ingest", "--once", env=env)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not-the-password" not in result.stderr
    assert "sign-in" in result.stderr.lower() or "refused" in result.stderr.lower()


def an_office(tmp_path: Path, mail: dict[str, bytes]) -> tuple[dict[str, str], Path]:
    """An embedded office's settings, its database made, and a folder of .eml files."""
    env = {
        "MAILBAG_DATA_DIR": str(tmp_path / "data"),
        "MAILBAG_OFFICE_ADDRESSES": "casework@office.example.org.uk",
    }
    folder = tmp_path / "mail"
    folder.mkdir()
    for name, raw in mail.items():
        (folder / name).write_bytes(raw)
    assert run("db", "upgrade", env=env).returncode == 0
    return env, folder


def test_import_then_quarantine_list_and_retry(tmp_path):
    good = (
        b"From: Ann <ann@example.com>\r\nTo: casework@office.example.org.uk\r\n"
        b"Subject: Noise from the pub\r\nMessage-ID: <cli1@example.com>\r\n\r\n"
        b"It is loud every night.\r\n"
    )
    env, mail = an_office(tmp_path, {"good.eml": good, "empty.eml": b""})
    imported = run("import", str(mail), env=env)
    assert imported.returncode == 0, imported.stderr
    assert "2 messages: 1 new, 0 already held, 1 quarantined" in imported.stdout
    again = run("import", str(mail), env=env)
    assert "2 messages: 0 new, 1 already held, 1 quarantined" in again.stdout
    database = Database.from_settings(Settings.from_env(env))
    with database.session() as session:  # and a message the mail server would not give
        checkpoints.hold_unreadable(session, "office@imap", "INBOX", 7, [(4242, "FETCH failed")])
    database.dispose()
    listed = run("quarantine", "list", env=env)
    assert "empty.eml" in listed.stdout and "1 in quarantine" in listed.stdout
    assert "INBOX UID 4242 (UIDVALIDITY 7), 1 tries" in listed.stdout
    assert "FETCH failed" in listed.stdout
    retried = run("quarantine", "retry", env=env)
    assert "1 quarantined" in retried.stdout
    cases = run("cases", env=env)
    assert "Noise from the pub" in cases.stdout and "Ann" in cases.stdout


def test_import_names_the_files_that_are_not_mail(tmp_path):
    letter = (
        b"From: Ann <ann@example.com>\r\nTo: casework@office.example.org.uk\r\n"
        b"Subject: Bins not collected\r\nMessage-ID: <cli3@example.com>\r\n\r\nAgain.\r\n"
    )
    env, mail = an_office(tmp_path, {"Inbox": b"From MAILER-DAEMON\n" + letter, "Inbox.msf": b"//"})
    imported = run("import", str(mail), env=env)
    assert imported.returncode == 0, imported.stderr
    assert "1 messages: 1 new" in imported.stdout
    assert f"not imported: {mail / 'Inbox.msf'}: not an email message" in imported.stderr


def test_cases_are_listed_on_the_office_clock(tmp_path):
    # Given a letter sent at 23:30 UTC on 1 July: half past midnight on 2 July in London
    late = (
        b"From: Ann <ann@example.com>\r\nTo: casework@office.example.org.uk\r\n"
        b"Subject: Noise after midnight\r\nMessage-ID: <cli2@example.com>\r\n"
        b"Date: Wed, 01 Jul 2026 23:30:00 +0000\r\n\r\nIt is loud every night.\r\n"
    )
    env, mail = an_office(tmp_path, {"late.eml": late})
    assert run("import", str(mail), env=env).returncode == 0
    # Then the list and the timeline say the office's day and time, not UTC's
    listed = run("cases", env=env).stdout
    assert "2026-07-02" in listed and "2026-07-01" not in listed
    shown = run("case", "MB-2026-000001", env=env).stdout
    assert "2026-07-02 00:30" in shown, shown


def test_demo_runs_embedded_and_twice_is_harmless(tmp_path):
    first = run("demo", "--no-serve", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "mailbag-data" / "mailbag.sqlite3").exists()
    assert "0 quarantined" in first.stdout or "quarantined" in first.stdout
    second = run("demo", "--no-serve", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert " 0 new" in second.stdout
    assert "password: mailbag-demo-only" in first.stdout and "(0 new users)" in second.stdout
    case_count = [line for line in first.stdout.splitlines() if " cases in " in line]
    assert case_count and case_count == [
        line for line in second.stdout.splitlines() if " cases in " in line
    ]

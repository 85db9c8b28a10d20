"""Ingest from a real Dovecot: checkpoints, duplicates, UIDVALIDITY, crashes, reconnects, OAuth."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from crm import checkpoints
from crm.db import Database
from crm.models import Case, Message, MessageSource, UnreadableMessage
from crm.settings import Settings
from crm.types import utcnow
from inbox.imap import ImapAuthError, ImapError
from inbox.ingest import Ingester, imap_config
from inbox.pipeline import Pipeline
from tests.support.dovecot import Dovecot
from tests.support.imap_fixtures import ImapAccount
from tests.support.mail import make_message

OFFICE = "casework@office.example.org.uk"


def imap_settings(
    account: ImapAccount, database: Database, tmp_path: Path, **extra: object
) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database.url,
        imap_host=account.host,
        imap_port=account.port,
        imap_user=account.user,
        imap_password=account.password,
        imap_ssl=False,
        imap_timeout=20,
        office_addresses=frozenset({OFFICE}),
        **extra,  # type: ignore[arg-type]
    )


def run_once(settings: Settings, database: Database):
    return Ingester(settings, database, Pipeline(settings)).run_once()


def message_ids(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(session.scalars(select(Message.message_id)))


def scalar_count(database: Database, model: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def thread_messages() -> list[bytes]:
    first = make_message(message_id="<t1@example.com>", subject="Universal Credit stopped")
    reply = make_message(
        message_id="<t2@example.com>",
        in_reply_to="<t1@example.com>",
        subject="Re: Universal Credit stopped",
    )
    other = make_message(
        sender="Ahmed Khan <ahmed@example.org>", message_id="<t3@example.org>", subject="Visa delay"
    )
    return [first, reply, other]


def test_first_ingest_makes_cases_and_second_changes_nothing(
    dovecot, imap_account, database, tmp_path
):
    dovecot.append_many(imap_account.user, "INBOX", thread_messages())
    sent = make_message(
        sender=OFFICE,
        to="ahmed@example.org",
        subject="Re: Visa delay",
        message_id="<s1@office.example.org.uk>",
        in_reply_to="<t3@example.org>",
    )
    dovecot.append(imap_account.user, "Sent", sent)
    settings = imap_settings(imap_account, database, tmp_path)

    first = run_once(settings, database)
    assert (first.stored, first.duplicate, first.quarantined) == (4, 0, 0)
    assert scalar_count(database, Case) == 2
    with database.session() as session:
        out = session.scalar(
            select(Message).where(Message.message_id == "s1@office.example.org.uk")
        )
        visa = session.scalar(select(Message).where(Message.message_id == "t3@example.org"))
        assert out.direction == "out" and out.case_id == visa.case_id
        inbox_cp = checkpoints.get(session, f"{imap_account.user}@{imap_account.host}", "INBOX")
        assert inbox_cp.last_uid == 3

    second = run_once(settings, database)
    assert second.total == 0
    assert scalar_count(database, Message) == 4 and scalar_count(database, Case) == 2

    # mail that arrives while Mailbag is stopped is caught up on the next run
    dovecot.append(
        imap_account.user,
        "INBOX",
        make_message(message_id="<t4@example.com>", in_reply_to="<t2@example.com>"),
    )
    assert run_once(settings, database).stored == 1
    assert scalar_count(database, Case) == 2


def test_fetch_leaves_the_office_unread_mail_unread(dovecot, imap_account, database, tmp_path):
    dovecot.append(imap_account.user, "INBOX", make_message(message_id="<u1@example.com>"))
    run_once(imap_settings(imap_account, database, tmp_path), database)
    client = dovecot.connect(imap_account.user)
    try:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["UNSEEN"]) == [1]
    finally:
        client.logout()


def test_same_message_in_inbox_and_sent_is_stored_once(dovecot, imap_account, database, tmp_path):
    raw = make_message(
        sender=OFFICE,
        to="mary.jones@example.com",
        subject="Your case",
        message_id="<both@office.example.org.uk>",
    )
    dovecot.append(imap_account.user, "INBOX", raw)
    dovecot.append(imap_account.user, "Sent", raw)
    counts = run_once(imap_settings(imap_account, database, tmp_path), database)
    assert (counts.stored, counts.duplicate) == (1, 1)
    assert message_ids(database) == ["both@office.example.org.uk"]
    with database.session() as session:
        folders = sorted(session.scalars(select(MessageSource.folder)))
    assert folders == ["INBOX", "Sent"]


def test_uidvalidity_change_rescans_without_duplicates(dovecot, imap_account, database, tmp_path):
    raws = thread_messages()
    dovecot.append_many(imap_account.user, "INBOX", raws)
    settings = imap_settings(imap_account, database, tmp_path)
    run_once(settings, database)
    mailbox = f"{imap_account.user}@{imap_account.host}"
    with database.session() as session:
        old_validity = checkpoints.get(session, mailbox, "INBOX").uidvalidity

    # the server's folder is recreated: new UIDVALIDITY, UIDs from 1, one new message
    dovecot.reset_mailbox(imap_account.user)
    dovecot.append_many(
        imap_account.user, "INBOX", [*raws, make_message(message_id="<t9@example.com>")]
    )
    counts = run_once(settings, database)
    assert (counts.stored, counts.duplicate) == (1, 3)
    assert scalar_count(database, Message) == 4
    with database.session() as session:
        checkpoint = checkpoints.get(session, mailbox, "INBOX")
        assert checkpoint.uidvalidity != old_validity and checkpoint.last_uid == 4


def unreadable_on_the_server(dovecot: Dovecot, user: str, subject: str) -> Path:
    """Make the message with this subject unreadable to Dovecot (which reads the maildir as
    an unprivileged user): asked for it, Dovecot answers "Internal error" and hangs up."""
    found = [
        path
        for path in (dovecot.home(user) / "Maildir").glob("*/*")
        if path.is_file() and subject.encode() in path.read_bytes()
    ]
    assert len(found) == 1, found
    found[0].chmod(0)
    return found[0]


def an_hour_passes(database: Database) -> None:
    """As if the refused messages were last asked for an hour ago."""
    with database.session() as session:
        session.execute(
            update(UnreadableMessage).values(last_tried_at=utcnow() - timedelta(hours=1, seconds=1))
        )


def test_a_message_the_server_will_not_give_is_remembered_and_the_rest_ingested(
    dovecot, imap_account, database, tmp_path
):
    subjects = [f"Letter {n}" for n in range(5)]
    raws = [
        make_message(
            sender=f"Resident {n} <resident{n}@example.org>",
            message_id=f"<letter-{n}@example.org>",
            subject=subject,
        )
        for n, subject in enumerate(subjects)
    ]
    uids = dovecot.append_many(imap_account.user, "INBOX", raws)
    corrupt = unreadable_on_the_server(dovecot, imap_account.user, "Letter 2")
    settings = imap_settings(imap_account, database, tmp_path)
    mailbox = f"{imap_account.user}@{imap_account.host}"

    # Asked for again by a run an hour later, not by one straight after; nothing doubled.
    for run, attempt in enumerate((1, 1, 2)):
        if run == 2:
            an_hour_passes(database)
        counts = run_once(settings, database)
        assert (counts.stored, counts.refused) == ((4, 1) if run == 0 else (0, run - 1))
        if run == 0:
            assert counts.describe().endswith("0 quarantined, 1 not given by the mail server")
        with database.session() as session:
            subjects_held = sorted(session.scalars(select(Case.subject)))
            [waiting] = checkpoints.pending_unreadable(session)
            assert checkpoints.get(session, mailbox, "INBOX").last_uid == uids[-1]
            assert (waiting.folder, waiting.uid, waiting.attempts) == ("INBOX", uids[2], attempt)
            assert "Internal error" in waiting.error
        assert subjects_held == [s for s in subjects if s != "Letter 2"]

    corrupt.chmod(0o600)  # the server can read it again
    an_hour_passes(database)
    counts = run_once(settings, database)
    assert (counts.stored, counts.duplicate) == (1, 0)
    assert message_ids(database) == sorted(f"letter-{n}@example.org" for n in range(5))
    with database.session() as session:
        assert checkpoints.pending_unreadable(session) == []
    assert run_once(settings, database).total == 0


def test_a_refused_message_the_office_deletes_is_no_longer_waited_for(
    dovecot, imap_account, database, tmp_path
):
    uid = dovecot.append(imap_account.user, "INBOX", make_message(subject="Spoilt"))
    unreadable_on_the_server(dovecot, imap_account.user, "Spoilt")
    settings = imap_settings(imap_account, database, tmp_path)
    run_once(settings, database)
    with database.session() as session:
        assert [m.uid for m in checkpoints.pending_unreadable(session)] == [uid]

    client = dovecot.connect(imap_account.user)
    client.select_folder("INBOX")
    client.delete_messages([uid])
    client.expunge()
    client.logout()
    an_hour_passes(database)
    assert run_once(settings, database).total == 0
    with database.session() as session:
        assert checkpoints.pending_unreadable(session) == []


def test_processed_keyword_is_set_only_when_asked(dovecot, imap_account, database, tmp_path):
    dovecot.append(imap_account.user, "INBOX", make_message(message_id="<kw@example.com>"))
    settings = imap_settings(imap_account, database, tmp_path, imap_processed_keyword="MailbagDone")
    run_once(settings, database)
    client = dovecot.connect(imap_account.user)
    try:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags([1])[1]
    finally:
        client.logout()
    assert b"MailbagDone" in flags


def test_wrong_password_is_a_clear_error(dovecot, imap_account, database, tmp_path):
    settings = dataclasses.replace(
        imap_settings(imap_account, database, tmp_path), imap_password="Zq-not-it-7731"
    )
    with pytest.raises(ImapAuthError) as raised:
        run_once(settings, database)
    assert "Zq-not-it-7731" not in str(raised.value)
    assert imap_account.user in str(raised.value)


def test_oauth2_sign_in_ingests(dovecot, imap_account, oauth_introspect, database, tmp_path):
    token = oauth_introspect.issue(imap_account.user)
    command = f"{sys.executable} -c 'print(\"{token}\")'"
    settings = dataclasses.replace(
        imap_settings(imap_account, database, tmp_path),
        imap_password="",
        imap_auth="xoauth2",
        imap_oauth_token_command=command,
    )
    assert imap_config(settings).token_provider is not None
    dovecot.append(imap_account.user, "INBOX", make_message(message_id="<oauth@example.com>"))
    assert run_once(settings, database).stored == 1


# --- the real process: killed mid-run, and the daemon across a server restart ---------------


def mailbag_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBAG_")}
    env.update(
        MAILBAG_DATABASE_URL=settings.database_url,
        MAILBAG_DATA_DIR=str(settings.data_dir),
        MAILBAG_IMAP_HOST=settings.imap_host,
        MAILBAG_IMAP_PORT=str(settings.imap_port),
        MAILBAG_IMAP_USER=settings.imap_user,
        MAILBAG_IMAP_PASSWORD=settings.imap_password,
        MAILBAG_IMAP_SSL="off",
        MAILBAG_IMAP_BATCH_SIZE="20",
        MAILBAG_OFFICE_ADDRESSES=OFFICE,
    )
    return env


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def children_of(pid: int) -> list[int]:
    """The live child processes of a process (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_killed_mid_ingest_loses_nothing_and_duplicates_nothing(
    dovecot, imap_account, database, tmp_path
):
    from tests.support.mailgen import generate_messages

    raws = list(generate_messages(300, seed=11))
    dovecot.append_many(imap_account.user, "INBOX", raws)
    settings = imap_settings(imap_account, database, tmp_path)
    env = mailbag_env(settings)

    # Given an ingest killed (SIGKILL) after its first committed batch
    process = subprocess.Popen([sys.executable, "-m", "mailbag", "ingest", "--once"], env=env)
    assert wait_for(lambda: scalar_count(database, Message) > 0 or process.poll() is not None)
    workers = children_of(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    stored_before = scalar_count(database, Message)
    assert stored_before < len(raws), "the process finished before it could be killed"
    # And its parse worker, which nobody could tell to stop, leaves by itself
    assert workers, "the ingest had started no parse worker"
    assert wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers))

    # When it runs again
    result = subprocess.run(
        [sys.executable, "-m", "mailbag", "ingest", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr

    # Then every message is stored exactly once
    with database.session() as session:
        held = session.execute(
            select(Message.message_id, func.count()).group_by(Message.message_id)
        ).all()
    assert len(held) == len(raws)
    assert all(n == 1 for _, n in held)
    assert scalar_count(database, Message) == len(raws)


def test_daemon_reconnects_after_server_restart(dovecot, imap_account, database, tmp_path):
    settings = imap_settings(imap_account, database, tmp_path)
    env = mailbag_env(settings)
    process = subprocess.Popen(
        [sys.executable, "-m", "mailbag", "ingest"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        dovecot.append(imap_account.user, "INBOX", make_message(message_id="<d1@example.com>"))
        assert wait_for(lambda: scalar_count(database, Message) == 1), "first message not ingested"
        dovecot.restart()
        dovecot.append(imap_account.user, "INBOX", make_message(message_id="<d2@example.com>"))
        assert wait_for(lambda: scalar_count(database, Message) == 2, timeout=60), "no reconnect"
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert message_ids(database) == ["d1@example.com", "d2@example.com"]


def test_default_folders_find_an_exchange_style_sent_items_folder(database, tmp_path):
    """No folder is called Sent, but "Sent Items" is marked \\Sent: the defaults still work."""
    root = tempfile.mkdtemp(prefix="mailbag-dovecot-")
    server = Dovecot(root, sent_folder="Sent Items")
    server.start()
    try:
        server.add_user("office", "pw-exchange")
        server.append(
            "office", "INBOX", make_message(message_id="<x1@example.org>", subject="Visa delay")
        )
        reply = make_message(
            sender="Someone At The Office <someone@elsewhere.example>",  # Sent, whoever it is
            to="ahmed@example.org",
            subject="Re: Visa delay",
            message_id="<x2@office.example.org.uk>",
            in_reply_to="<x1@example.org>",
        )
        server.append("office", "Sent Items", reply)
        account = ImapAccount(server.host, server.port, "office", "pw-exchange", server)
        settings = imap_settings(account, database, tmp_path)
        assert settings.imap_folders == ("INBOX", "Sent")
        assert run_once(settings, database).stored == 2
        with database.session() as session:
            out = session.scalar(
                select(Message).where(Message.message_id == "x2@office.example.org.uk")
            )
            assert out is not None and out.direction == "out" and out.kind == "outgoing"
            source = session.scalar(select(MessageSource).where(MessageSource.message_pk == out.id))
            assert source is not None and source.folder == "Sent"
            assert checkpoints.get(session, "office@127.0.0.1", "Sent").last_uid == 1
        # And a folder that is not there at all is named in one clear error
        missing = dataclasses.replace(settings, imap_folders=("INBOX", "Archive 2019"))
        with pytest.raises(ImapError, match=r"no folder 'Archive 2019' on .*MAILBAG_IMAP_FOLDERS"):
            run_once(missing, database)
    finally:
        server.stop()

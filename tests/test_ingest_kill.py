"""`mailbag ingest --once` killed (SIGKILL) at random points, run after run: none lost or doubled.

A real Dovecot mailbox with a few hundred generated messages, more arriving between runs and
some held in both INBOX and Sent. The real command runs as a subprocess and is killed after a
random delay (seeded; the seed is printed, and MAILBAG_KILL_SEED replays a run), then a clean
run finishes the job. Afterwards the database must hold exactly the mailbox: the same
Message-IDs, the same raw sha256 hashes, each message once, every (folder, UID) noted once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from sqlalchemy import func, select

from crm import checkpoints
from crm.db import Database
from crm.models import Message, MessageSource, QuarantineEntry
from tests.support.imap_fixtures import ImapAccount
from tests.support.mail import make_message
from tests.support.mailgen import generate_messages

OFFICE = "casework@office.example.org.uk"
FOLDERS = ("INBOX", "Sent")
INITIAL_MESSAGES = 300
ARRIVING = 40  # two batches: a run killed after its first commit is killed mid-way
KILL_RUNS = int(os.environ.get("MAILBAG_KILL_RUNS", "15"))
BATCH_SIZE = 20
CLEAN_RUN_TIMEOUT = 600
ANYTIME_WINDOW = 4.0  # seconds after start (start-up alone takes one or more)
AFTER_COMMIT_WINDOW = 0.15  # seconds after the run's first commit (a fast run ends soon after)
FIRST_COMMIT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Held:
    """One message as the mailbox holds it: where, its Message-ID and its raw hash."""

    folder: str
    uid: int
    message_id: str
    sha256: str


@dataclass
class KillLog:
    """What each run did, printed so a failure can be read (and replayed from the seed)."""

    seed: int
    lines: list[str] = field(default_factory=list)
    killed: int = 0
    progressed_then_killed: int = 0

    def note(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)

    def __str__(self) -> str:
        return f"seed {self.seed} (MAILBAG_KILL_SEED={self.seed} replays it)\n" + "\n".join(
            self.lines
        )


def ingest_env(account: ImapAccount, database: Database, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBAG_")}
    env.update(
        MAILBAG_DATABASE_URL=database.url,
        MAILBAG_DATA_DIR=str(data_dir),
        MAILBAG_IMAP_HOST=account.host,
        MAILBAG_IMAP_PORT=str(account.port),
        MAILBAG_IMAP_USER=account.user,
        MAILBAG_IMAP_PASSWORD=account.password,
        MAILBAG_IMAP_SSL="off",
        MAILBAG_IMAP_TIMEOUT="30",
        MAILBAG_IMAP_BATCH_SIZE=str(BATCH_SIZE),
        MAILBAG_IMAP_FOLDERS=",".join(FOLDERS),
        MAILBAG_OFFICE_ADDRESSES=OFFICE,
    )
    return env


def start_ingest(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """The real command, in a process group of its own so its parse worker dies with it."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "mailbag", "ingest", "--once"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the command and every process it started: no chance to clean up."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def stored_count(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count(Message.id))) or 0


def arriving_mail(seed: int) -> Iterator[bytes]:
    """New constituent mail for the runs to come; the generator is deterministic per seed."""
    yield from generate_messages(INITIAL_MESSAGES + KILL_RUNS * ARRIVING, seed=seed)


def office_copy(run: int, seed: int) -> bytes:
    """A letter of the office's own, filed in both INBOX and Sent (stored once, seen twice)."""
    return make_message(
        sender=f"Office of Jane Doe MP <{OFFICE}>",
        to="mary.jones@example.com",
        subject=f"Your enquiry, part {run}",
        message_id=f"<office-{seed}-{run}@office.example.org.uk>",
    )


def mailbox_contents(account: ImapAccount) -> list[Held]:
    """Everything in the folders, read with imapclient: the truth the database must match."""
    parser = BytesHeaderParser(policy=compat32)
    held: list[Held] = []
    client = account.dovecot.connect(account.user)
    try:
        for folder in FOLDERS:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            for start in range(0, len(uids), 100):
                fetched = client.fetch(uids[start : start + 100], [b"BODY.PEEK[]"])
                for uid, data in fetched.items():
                    raw = data[b"BODY[]"]
                    message_id = str(parser.parsebytes(raw)["Message-ID"] or "").strip()
                    held.append(
                        Held(folder, uid, message_id.strip("<>"), hashlib.sha256(raw).hexdigest())
                    )
    finally:
        client.logout()
    return held


def killed_run(
    env: dict[str, str],
    log_path: Path,
    database: Database,
    rng: random.Random,
    record: KillLog,
    run: int,
) -> None:
    """One run, killed either any time after its start (connecting, fetching, parsing,
    committing) or a random moment after its first commit (mid-way through the backlog)."""
    before = stored_count(database)
    anytime = rng.random() < 1 / 3
    delay = rng.uniform(0.2, ANYTIME_WINDOW) if anytime else rng.uniform(0.0, AFTER_COMMIT_WINDOW)
    process = start_ingest(env, log_path)
    try:
        if not anytime:
            deadline = time.monotonic() + FIRST_COMMIT_TIMEOUT
            while process.poll() is None and stored_count(database) == before:
                assert time.monotonic() < deadline, f"no commit in time\n{record}"
                time.sleep(0.05)
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        record.killed += 1
    else:
        assert process.returncode == 0, f"{record}\n{log_path.read_text()[-3000:]}"
    finally:
        kill_group(process)
    after = stored_count(database)
    record.progressed_then_killed += after > before and process.returncode == -signal.SIGKILL
    when = f"{delay:.2f}s after {'start' if anytime else 'its first commit'}"
    outcome = "finished first" if process.returncode == 0 else "killed"
    record.note(f"run {run}: {outcome}, {when}; messages {before} -> {after}")


def test_ingest_killed_at_random_points_stores_every_message_exactly_once(
    dovecot, imap_account: ImapAccount, database: Database, tmp_path: Path
) -> None:
    seed = int(os.environ.get("MAILBAG_KILL_SEED") or random.SystemRandom().randrange(2**31))
    rng = random.Random(seed)
    record = KillLog(seed)
    record.note(f"ingest kill test: seed {seed}, {KILL_RUNS} killed runs, {database.url[:10]}")
    mail = arriving_mail(seed)
    initial = [next(mail) for _ in range(INITIAL_MESSAGES)]
    dovecot.append_many(imap_account.user, "INBOX", initial)
    env = ingest_env(imap_account, database, tmp_path / "data")
    log_path = tmp_path / "ingest.log"

    # Given runs killed at random points, with new mail arriving between them
    for run in range(1, KILL_RUNS + 1):
        dovecot.append_many(imap_account.user, "INBOX", [next(mail) for _ in range(ARRIVING)])
        if run % 3 == 0:
            copy = office_copy(run, seed)
            dovecot.append(imap_account.user, "INBOX", copy)
            dovecot.append(imap_account.user, "Sent", copy)
        killed_run(env, log_path, database, rng, record, run)

    # When a clean run follows
    result = subprocess.run(
        [sys.executable, "-m", "mailbag", "ingest", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLEAN_RUN_TIMEOUT,
        check=False,
    )
    record.note(f"clean run: exit {result.returncode}: {result.stdout.strip()[-200:]}")
    assert result.returncode == 0, f"{record}\n{result.stderr[-3000:]}"

    # Then the database holds exactly what the mailbox holds, each message once
    held = mailbox_contents(imap_account)
    distinct = {h.message_id for h in held}
    with database.session() as session:
        rows = session.execute(select(Message.message_id, Message.blob_sha256)).all()
        sources = session.execute(
            select(MessageSource.folder, MessageSource.uid, func.count()).group_by(
                MessageSource.folder, MessageSource.uid
            )
        ).all()
        quarantined = session.scalar(select(func.count(QuarantineEntry.id))) or 0
        mailbox = f"{imap_account.user}@{imap_account.host}"
        last_uids = {
            folder: getattr(checkpoints.get(session, mailbox, folder), "last_uid", 0)
            for folder in FOLDERS
        }
    doubled = {mid: n for mid, n in Counter(mid for mid, _ in rows).items() if n > 1}
    assert not doubled, f"stored more than once: {sorted(doubled)[:10]}\n{record}"
    assert quarantined == 0, f"{quarantined} generated messages quarantined\n{record}"
    assert {mid for mid, _ in rows} == distinct, (
        f"missing {sorted(distinct - {m for m, _ in rows})[:10]}, "
        f"unexpected {sorted({m for m, _ in rows} - distinct)[:10]}\n{record}"
    )
    assert {sha for _, sha in rows} == {h.sha256 for h in held}, f"raw hashes differ\n{record}"
    assert len(rows) == len(distinct) == INITIAL_MESSAGES + KILL_RUNS * ARRIVING + (KILL_RUNS // 3)
    noted = {(folder, uid): n for folder, uid, n in sources}
    assert set(noted) == {(h.folder, h.uid) for h in held}, f"sources differ\n{record}"
    assert all(n == 1 for n in noted.values()), f"a (folder, UID) noted twice\n{record}"
    for folder in FOLDERS:
        assert last_uids[folder] == max(h.uid for h in held if h.folder == folder), record

    # And the runs really were killed, some of them after committing work
    assert record.killed >= KILL_RUNS // 4, f"too few runs were killed\n{record}"
    assert record.progressed_then_killed >= 1, f"no run was killed mid-way\n{record}"

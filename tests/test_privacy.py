"""Data protection on a realistic mailbox, on SQLite and PostgreSQL: subject access bundles,
erasure on request, the retention policy (dry run, real run, idempotent), the audit log."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from crm import audit
from crm.audit import AuditEntry
from crm.campaigns.models import Campaign, CampaignMember
from crm.db import Database
from crm.errors import SettingsError
from crm.models import Attachment, Blob, Case, Constituent, Message, QuarantineEntry
from crm.privacy import periodic, retention
from crm.privacy.models import ErasedCount, ErasureLog
from crm.settings import Settings
from crm.types import utcnow
from crm.users.service import create_user
from crm.workers import runtime
from inbox.pipeline import Pipeline
from mailbag.cli import main
from tests.support.mailbox import BOB, MANAGER, MARY, Mailbox, build_mailbox, row_counts
from tests.support.web import csrf_token, sign_in
from web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-key-" + "p" * 32
CASEWORKER = "cara@office.example.org.uk"


@pytest.fixture
def mailbox(database: Database, pipeline: Pipeline) -> Mailbox:
    return build_mailbox(database, pipeline)


def cli(database: Database, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, list(args), env={"MAILBAG_DATABASE_URL": database.url}, input=stdin
    )
    return result.exit_code, result.output


def message(database: Database, message_id: str) -> tuple[Message, bytes]:
    with database.session() as session:
        found = session.scalar(select(Message).where(Message.message_id == message_id))
        assert found is not None, message_id
        blob = session.get(Blob, found.blob_sha256)
        assert blob is not None
        return found, blob.data


# --- subject access ---------------------------------------------------------------------------


def test_a_subject_access_bundle_holds_every_message_of_the_person_byte_for_byte(
    database, mailbox, tmp_path
):
    # Given Mary's two cases, where her neighbour also wrote into one
    out = tmp_path / "sar"
    # When the office exports everything it holds about her
    code, output = cli(database, "sar", MARY, "--out", str(out))
    assert code == 0, output
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # Then each of her messages is there as the original bytes, with its attachments
    for message_id in mailbox.mary_message_ids:
        stored, raw = message(database, message_id)
        assert files[f"messages/{stored.id:06d}.eml"] == raw
    with database.session() as session:
        attached = session.execute(
            select(Attachment.filename, Blob.data)
            .join(Blob, Blob.sha256 == Attachment.blob_sha256)
            .join(Message, Message.id == Attachment.message_pk)
            .where(Message.message_id == "mary-1@example.com")
        ).all()
    in_bundle = {n: data for n, data in files.items() if n.startswith("attachments/")}
    assert sorted(in_bundle.values()) == sorted(bytes(data) for _name, data in attached)
    assert any(n.endswith("-tenancy.pdf") for n in files)
    assert not any(".." in n for n in files)
    # And nothing of another constituent: not Bob's message in her case, not his own case
    _bob_said, bob_raw = message(database, mailbox.bob_in_marys_case)
    assert bob_raw not in files.values()
    index = files["index.html"].decode()
    assert BOB not in index and "coming through my wall" not in index
    assert mailbox.bob_noise not in index and "I can confirm the noise" not in index
    # And the index is readable and escaped: her tags with reasons, notes, follow-ups
    assert mailbox.mary_damp in index and mailbox.mary_bins in index
    assert "special category" in index and "health" in index
    assert "the mould is in the kitchen too" in index
    assert "repairs@exampletown.gov.uk" in index
    assert "<script>" not in index and "&lt;script&gt;alert" in index
    assert len(files) == len(mailbox.mary_message_ids) + 2 + 1


def test_a_subject_access_export_is_audited_without_personal_details(database, mailbox, tmp_path):
    code, output = cli(database, "sar", str(mailbox.mary_id), "--out", str(tmp_path / "sar"))
    assert code == 0, output
    with database.session() as session:
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))
    assert f"constituent {mailbox.mary_id}" in entry.detail and mailbox.mary_damp in entry.detail
    assert MARY not in entry.detail and "Mary" not in entry.detail


def test_a_subject_access_export_never_writes_into_a_used_directory(database, mailbox, tmp_path):
    (tmp_path / "old.txt").write_text("an earlier export")
    code, output = cli(database, "sar", MARY, "--out", str(tmp_path))
    assert code == 2 and output.strip().count("\n") == 0
    assert "not an empty directory" in output


# --- erasure on request -----------------------------------------------------------------------


def test_erasure_takes_the_person_their_cases_and_blobs_and_leaves_others_intact(database, mailbox):
    with database.session() as session:
        on_her_cases = session.scalar(
            select(func.count())
            .select_from(Message)
            .join(Case, Case.id == Message.case_id)
            .where(Case.constituent_id == mailbox.mary_id)
        )
    bob_case_before = case_story(database, mailbox.bob_noise)
    copy_of_reply = blobs_mentioning(database, b"office-1@office.example.org.uk")
    assert len(copy_of_reply) == 2  # the reply and its second copy from another folder
    before = row_counts(database)

    code, output = cli(database, "erase", MARY, "--yes")

    assert code == 0, output
    after = row_counts(database)
    changed = {t: after[t] - before[t] for t in before if after[t] != before[t]}
    assert changed["cases"] == -2 and changed["constituents"] == -1
    assert changed["constituent_emails"] == -1
    assert changed["messages"] == -on_her_cases == -6  # hers, the office's, the council's, Bob's
    assert changed["attachments"] == -2 and changed["case_notes"] == -1
    assert changed["blobs"] == -(6 + 2 + 1)  # messages, attachments, the stray copy
    assert changed["audit_log"] == 1 and changed["erasure_log"] == 1
    assert changed["erased_counts"] > 0
    grew = {t for t, n in changed.items() if n > 0}
    assert grew == {"audit_log", "erasure_log", "erased_counts"}
    assert blobs_mentioning(database, b"office-1@office.example.org.uk") == set()
    assert blobs_mentioning(database, MARY.encode()) == {
        message(database, "mary-3@example.com")[0].blob_sha256
    }
    # Bob's own case, which mentions Mary by name, is untouched: even what she wrote on it
    # stays there, no longer linked to a person who is not held any more
    assert case_story(database, mailbox.bob_noise) == bob_case_before
    assert message(database, "mary-3@example.com")[0].constituent_id is None
    with database.session() as session:
        assert session.get(Constituent, mailbox.bob_id) is not None
        assert session.get(Constituent, mailbox.mary_id) is None
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "erasure"))
        (log,) = session.scalars(select(ErasureLog))
    assert mailbox.mary_damp in entry.detail and f"erasure log {log.id}" in entry.detail
    assert "Mary" not in entry.detail and MARY not in entry.detail and "damp" not in entry.detail
    assert (log.reason, sorted(log.case_references)) == (
        "request",
        sorted([mailbox.mary_damp, mailbox.mary_bins]),
    )
    assert log.counts["messages"] == 6 and "Mary" not in str(log.counts)


def test_erasure_asks_first_and_does_nothing_when_told_no(database, mailbox):
    before = row_counts(database)
    code, output = cli(database, "erase", str(mailbox.mary_id), stdin="n\n")
    assert code == 0 and "nothing erased" in output
    assert mailbox.mary_damp in output and "6 messages" in output
    assert row_counts(database) == before


def test_audit_entries_survive_the_erasure_of_the_case_they_name(database, mailbox):
    with database.session() as session:
        case = session.scalar(select(Case).where(Case.reference == mailbox.mary_damp))
        assert case is not None
        audit.record(session, "view_sensitive_case", who=MANAGER, case_id=case.id, detail="x")
    assert cli(database, "erase", MARY, "--yes")[0] == 0
    with database.session() as session:
        viewed = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "view_sensitive_case")
        ).all()
    assert len(viewed) == 1 and viewed[0].case_id == case.id


# --- retention --------------------------------------------------------------------------------


def age_the_mailbox(database: Database, mailbox: Mailbox) -> None:
    """Mary's damp case closed five years ago; Bob's closed last week; campaign letters,
    the stray auto-reply and the quarantined mail two years old."""
    long_ago, last_week = utcnow() - timedelta(days=5 * 365), utcnow() - timedelta(days=7)
    with database.session() as session:
        for reference, when in ((mailbox.mary_damp, long_ago), (mailbox.bob_noise, last_week)):
            session.execute(
                update(Case)
                .where(Case.reference == reference)
                .values(status="closed", closed_at=when, last_activity_at=when)
            )
        two_years = utcnow() - timedelta(days=730)
        session.execute(
            update(Message).where(Message.case_id.is_(None)).values(received_at=two_years)
        )
        session.execute(update(QuarantineEntry).values(created_at=two_years))


def test_a_retention_dry_run_says_exactly_what_would_go_and_changes_nothing(
    database, mailbox, settings
):
    age_the_mailbox(database, mailbox)
    before = row_counts(database)

    dry = retention.run(database, settings, dry_run=True)

    assert row_counts(database) == before
    planned = {o.rule.name: (o.references, o.counts) for o in dry.outcomes}
    assert planned["closed_cases"][0] == [mailbox.mary_damp]
    assert planned["not_casework"][1]["messages"] >= 1
    assert planned["quarantine"][1] == {"blobs": 1, "quarantine": 1}
    assert planned["campaign_mail"][1]["messages"] >= 1
    # And the real run takes exactly that
    real = retention.run(database, settings)
    assert {o.rule.name: (o.references, o.counts) for o in real.outcomes} == planned
    after = row_counts(database)
    assert before["cases"] - after["cases"] == 1
    assert before["quarantine"] - after["quarantine"] == 1


def test_retention_erases_only_what_is_past_the_policy_keeps_counts_and_is_idempotent(
    database, mailbox, settings
):
    age_the_mailbox(database, mailbox)
    with database.session() as session:
        loose_recent = session.scalar(
            select(func.count()).select_from(Message).where(Message.case_id.is_(None))
        )
        members_before = session.scalar(select(func.sum(Campaign.members))) or 0
    assert loose_recent
    cli_code, output = cli(database, "retention", "run", "--dry-run")
    assert cli_code == 0 and "would erase" in output and mailbox.mary_damp in output

    run = retention.run(database, settings)

    assert run.erased_anything
    with database.session() as session:
        references = set(session.scalars(select(Case.reference)))
        mary = session.get(Constituent, mailbox.mary_id)
        loose = session.scalar(
            select(func.count()).select_from(Message).where(Message.case_id.is_(None))
        )
        quarantined = session.scalar(select(func.count()).select_from(QuarantineEntry))
        counted = session.execute(
            select(ErasedCount.kind, ErasedCount.issue, ErasedCount.count)
        ).all()
        logs = session.scalars(select(ErasureLog)).all()
    assert mailbox.mary_damp not in references
    assert {mailbox.mary_bins, mailbox.bob_noise} <= references  # open, or closed recently
    assert mary is not None  # she still has an open case
    assert loose == 0 and quarantined == 0
    kinds = {kind for kind, _issue, _n in counted}
    assert {"case", "message/constituent", "message/outgoing", "quarantined"} <= kinds
    assert sum(n for kind, _i, n in counted if kind == "case") == 1
    assert all(log.reason == "policy" and log.counts for log in logs)
    with database.session() as session:  # campaigns count only the letters that remain
        campaigns = session.scalars(select(Campaign)).all()
        remaining = dict(
            session.execute(
                select(CampaignMember.campaign_id, func.count()).group_by(
                    CampaignMember.campaign_id
                )
            ).all()
        )
    assert campaigns and all(c.members == remaining.get(c.id, 0) for c in campaigns)
    assert sum(c.members for c in campaigns) < members_before
    assert {log.rule for log in logs} == {
        "closed_cases",
        "campaign_mail",
        "not_casework",
        "quarantine",
    }
    # A second run finds nothing: the same tables, no new log lines
    before = row_counts(database)
    again = retention.run(database, settings)
    assert not again.erased_anything and row_counts(database) == before


def test_a_policy_of_zero_days_keeps_everything(database, mailbox, tmp_path):
    age_the_mailbox(database, mailbox)
    keep_all = Settings(
        data_dir=tmp_path,
        retain_closed_cases_days=0,
        retain_campaign_mail_days=0,
        retain_not_casework_days=0,
        retain_quarantine_days=0,
    )
    before = row_counts(database)
    run = retention.run(database, keep_all)
    assert not run.erased_anything and row_counts(database) == before
    assert not periodic.schedule(BackgroundScheduler(), keep_all)


def test_the_scheduler_runs_the_policy_nightly(database, mailbox, settings, monkeypatch):
    scheduler = BackgroundScheduler()
    assert periodic.schedule(scheduler, settings)
    assert scheduler.get_job("retention") is not None
    age_the_mailbox(database, mailbox)
    monkeypatch.setattr(runtime, "_current", runtime.Runtime(settings, database))
    periodic.apply_retention()  # what the worker does with the scheduler's message
    with database.session() as session:
        assert session.scalar(select(Case.id).where(Case.reference == mailbox.mary_damp)) is None


def test_a_wrong_retention_setting_is_one_line_naming_it():
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"MAILBAG_RETAIN_CLOSED_CASES_DAYS": "four years"})
    assert str(error.value) == (
        "MAILBAG_RETAIN_CLOSED_CASES_DAYS: expected a number of days (0 keeps for ever), "
        "got 'four years'"
    )
    assert Settings.from_env({"MAILBAG_RETAIN_QUARANTINE_DAYS": "30"}).retain_quarantine_days == 30
    assert Settings().retain_closed_cases_days == 1461


# --- the audit log ----------------------------------------------------------------------------


def test_audit_rows_cannot_be_updated_or_deleted(database):
    with database.session() as session:
        audit.record(session, "sign_in", who=MANAGER, detail="from 127.0.0.1")
    for statement in (
        update(AuditEntry).values(detail="nothing happened"),
        AuditEntry.__table__.delete(),
    ):
        with pytest.raises(DBAPIError, match="append-only"), database.session() as session:
            session.execute(statement)
    with database.session() as session:
        (entry,) = session.scalars(select(AuditEntry))
        assert entry.detail == "from 127.0.0.1"


def test_nothing_in_the_application_updates_or_deletes_audit_rows():
    """The application's own code never writes to an audit row after adding it."""
    forbidden = re.compile(
        r"(update|delete)\(\s*AuditEntry|AuditEntry\.__table__\.(update|delete)"
        r"|(UPDATE|DELETE\s+FROM)\s+\"?audit_log"
        r"|session\.delete\(\s*(entry|audit)",
        re.IGNORECASE,
    )
    offenders = []
    for folder in ("crm", "web", "mailbag", "inbox"):
        for path in (ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if forbidden.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_audit_log_exports_as_formula_safe_csv(database, tmp_path):
    with database.session() as session:
        audit.record(session, "sign_in_failed", who='=HYPERLINK("http://x.example","y")')
        audit.record(session, "sign_in", who=MANAGER, detail="+44 dial")
    out = tmp_path / "audit.csv"
    code, output = cli(database, "audit", "--since", "2000-01-01", "--csv", str(out))
    assert code == 0 and "wrote 2 audit entries" in output
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0][:3] == ["id", "at (UTC)", "action"]
    assert rows[1][3] == '\'=HYPERLINK("http://x.example","y")'
    assert rows[2][5] == "'+44 dial"
    code, output = cli(database, "audit")
    assert code == 0 and "sign_in_failed" in output and "export" in output  # the CSV export


# --- the web view -----------------------------------------------------------------------------


@pytest.fixture
def client(database: Database, settings: Settings, mailbox: Mailbox) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with database.session() as session:
        create_user(session, CASEWORKER, "correct horse battery", role="caseworker")
    app = create_app(settings, database, secret_key=SECRET)
    with TestClient(app) as test_client:
        yield test_client


def test_an_office_manager_downloads_a_subject_access_zip_from_the_case_page(
    client, database, mailbox
):
    sign_in(client, MANAGER)
    page = client.get(f"/cases/{mailbox.mary_damp}")
    assert "Subject access export" in page.text
    response = client.post(
        "/privacy/sar",
        data={"person": str(mailbox.mary_id), "_csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    stored, raw = message(database, "mary-1@example.com")
    assert archive.read(f"messages/{stored.id:06d}.eml") == raw
    assert "index.html" in names and BOB not in archive.read("index.html").decode()
    with database.session() as session:
        exports = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert [e.who for e in exports] == [MANAGER]


def test_subject_access_and_the_audit_csv_are_for_office_managers_only(client, mailbox):
    sign_in(client, CASEWORKER)
    page = client.get(f"/cases/{mailbox.mary_bins}")  # her damp case is special category
    assert "Subject access export" not in page.text
    token = csrf_token(page.text)
    refused = client.post("/privacy/sar", data={"person": MARY, "_csrf_token": token})
    assert refused.status_code == 403
    assert client.get("/privacy/audit.csv").status_code == 403


def test_the_subject_access_form_needs_its_csrf_token(client, mailbox):
    sign_in(client, MANAGER)
    assert client.post("/privacy/sar", data={"person": MARY}).status_code == 403


def test_an_office_manager_downloads_the_audit_log_as_csv(client):
    sign_in(client, MANAGER)
    assert "/privacy/audit.csv" in client.get("/admin/audit").text
    response = client.get("/privacy/audit.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "id" and any(r[2] == "sign_in" and r[3] == MANAGER for r in rows[1:])


# --- helpers ----------------------------------------------------------------------------------


def case_story(database: Database, reference: str) -> list[tuple[str, str, bytes]]:
    with database.session() as session:
        rows = session.execute(
            select(Message.message_id, Message.body_text, Blob.data)
            .join(Case, Case.id == Message.case_id)
            .join(Blob, Blob.sha256 == Message.blob_sha256)
            .where(Case.reference == reference)
            .order_by(Message.id)
        ).all()
    return [(str(m), b, bytes(d)) for m, b, d in rows]


def blobs_mentioning(database: Database, needle: bytes) -> set[str]:
    with database.session() as session:
        return {
            sha for sha, data in session.execute(select(Blob.sha256, Blob.data)) if needle in data
        }

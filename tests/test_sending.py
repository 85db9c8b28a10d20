"""Sending through a real SMTP server: headers, threading back to the case, honest failures."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from crm import cases
from crm.db import Database
from crm.errors import SettingsError
from crm.models import Case, Message, TimelineEntry
from crm.outgoing import directory
from crm.outgoing.models import FAILED, SENDING, SENT, OutboxLetter
from crm.outgoing.send import deliver, deliver_queued, retry_letters, send_letter
from crm.settings import Settings
from crm.types import utcnow
from inbox.message import Source
from inbox.pipeline import Outcome, Pipeline
from mailbag.cli import main
from tests.support.mail import make_message
from tests.support.smtp import SmtpServer, free_port
from tests.support.smtp_fixtures import OFFICE, office_settings

_uids = itertools.count(1)
DWP = "mp.enquiries@dwp.gov.uk"
ZOE = "zoe@example.ie"
ZOE_WRITES = (
    "Dear Jane,\n\nMy Universal Credit has been stopped without warning.\n\n"
    "Kind regards,\nZoë Ní Bhriain\n4 Mill Lane\nExampletown\nEX2 4PQ\n"
)


def office_settings_(tmp_path, port: int, **changes: object) -> Settings:
    """The office with automatic acknowledgements off: these tests send letters by hand."""
    return office_settings(tmp_path, port, auto_acknowledge=False, **changes)


def feed(database: Database, pipeline: Pipeline, raw: bytes, folder: str = "INBOX") -> Outcome:
    with database.session() as session:
        return pipeline.process(session, raw, Source(folder, uidvalidity=3, uid=next(_uids)))


def zoe_writes(database: Database, pipeline: Pipeline) -> str:
    """Zoë's first email opens a case; the DWP gets an address in the directory."""
    raw = make_message(
        sender=f"Zoë Ní Bhriain <{ZOE}>",
        subject="Universal Credit stopped",
        body=ZOE_WRITES,
        message_id="<zoe-1@example.ie>",
        date=utcnow() - timedelta(hours=1),
    )
    outcome = feed(database, pipeline, raw)
    assert outcome.status == "stored"
    with database.session() as session:
        directory.seed_directory(session)
        directory.add_organisation(session, "Department for Work and Pensions", emails=[DWP])
        case = session.get(Case, outcome.ctx.case_id)
        assert case is not None
        return case.reference


def timeline_kinds(database: Database, reference: str) -> list[str]:
    with database.session() as session:
        case = cases.get(session, reference)
        return [entry.kind for entry in reversed(cases.timeline(session, case.id))]


def count(database: Database, model: type, *where: object) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_referral_arrives_with_reference_our_message_id_and_both_parts(
    database, smtp_server, tmp_path
):
    settings = office_settings_(tmp_path, smtp_server.port)
    pipeline = Pipeline(settings)
    reference = zoe_writes(database, pipeline)
    # When the office refers Zoë's case to the DWP
    delivery = send_letter(
        database,
        settings,
        reference=reference,
        template="referral_department",
        to="work and pensions",
        note="Her claim was closed on 1 November.",
    )
    # Then exactly one message arrived, to the DWP, from the office
    assert delivery.status == SENT
    [arrived] = smtp_server.received
    assert arrived.rcpt_tos == (DWP,) and arrived.mail_from == OFFICE
    message = arrived.message()
    assert message["From"].addresses[0].addr_spec == OFFICE
    assert message["Subject"].endswith(f"[{reference}]")
    assert message["Message-ID"].endswith("@office.example.org.uk>")
    assert message["In-Reply-To"] is None  # the DWP has not seen this conversation
    assert message["Auto-Submitted"] is None  # a person's letter, not an automatic one
    # And it has a plain-text and an HTML part, both with the constituent's name
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Zoë Ní Bhriain has given consent" in text and "Her claim was closed" in text
    assert "Zoë Ní Bhriain" in html and "<p>" in html
    # And it is on the case at once: one outgoing message, one timeline entry
    message_id = message["Message-ID"].strip("<>")
    with database.session() as session:
        stored = session.scalar(select(Message).where(Message.message_id == message_id))
        assert stored is not None and (stored.direction, stored.kind) == ("out", "outgoing")
        assert stored.case is not None and stored.case.reference == reference
        letter = session.scalar(select(OutboxLetter))
        assert letter is not None and (letter.status, letter.attempts) == (SENT, 1)
        assert letter.kind == "referral" and letter.message_pk == stored.id
    assert timeline_kinds(database, reference) == ["email_in", "email_out"]


def test_replies_thread_back_and_the_sent_copy_is_a_duplicate(database, smtp_server, tmp_path):
    settings = office_settings_(tmp_path, smtp_server.port)
    pipeline = Pipeline(settings)
    reference = zoe_writes(database, pipeline)
    # Given a holding reply to Zoë, threaded under her own email
    assert (
        send_letter(database, settings, reference=reference, template="holding_reply").status
        == SENT
    )
    [to_zoe] = smtp_server.received
    sent = to_zoe.message()
    assert sent["In-Reply-To"] == "<zoe-1@example.ie>"
    assert sent["References"] == "<zoe-1@example.ie>"
    # When the copy in the office's Sent folder is ingested later
    assert feed(database, pipeline, to_zoe.raw, folder="Sent").status == "duplicate"
    # Then it is not a second message or a second timeline entry
    assert timeline_kinds(database, reference) == ["email_in", "email_out"]
    # When Zoë answers it from her mail program (In-Reply-To, a fresh subject)
    answer = make_message(
        sender=f"Zoë Ní Bhriain <{ZOE}>",
        subject="my payment dates",
        message_id="<zoe-2@example.ie>",
        in_reply_to=sent["Message-ID"],
        references=f"<zoe-1@example.ie> {sent['Message-ID']}",
        date=utcnow(),
    )
    outcome = feed(database, pipeline, answer)
    # Then it lands on the same case, found by our Message-ID
    assert outcome.ctx.thread_reason == "In-Reply-To names a message on this case"
    # And a DWP reply to the referral that kept only our reference in the subject does too
    send_letter(database, settings, reference=reference, template="referral_department", to=DWP)
    referral = smtp_server.received[-1].message()
    dwp_reply = make_message(
        sender="DWP MP Correspondence <mpct.correspondence@dwp.gov.uk>",
        subject=f"RE: {referral['Subject']}",
        message_id="<dwp-1@dwp.gov.uk>",
        date=utcnow() + timedelta(seconds=1),
    )
    assert feed(database, pipeline, dwp_reply).ctx.thread_reason.startswith(
        f"case reference {reference}"
    )
    # (the order of mail written within the same second is not the point here)
    assert sorted(timeline_kinds(database, reference)) == [
        "email_in",
        "email_in",
        "email_out",
        "email_out",
        "third_party_reply",
    ]
    assert count(database, Case) == 1


def test_smtp_down_is_recorded_on_the_case_and_retry_sends_it(database, smtp_server, tmp_path):
    # Given the SMTP server is down (nothing listens on its port)
    down = office_settings_(tmp_path, free_port())
    reference = zoe_writes(database, Pipeline(down))
    # When the office sends a holding reply
    delivery = send_letter(database, down, reference=reference, template="holding_reply")
    # Then it is failed with the reason, on the letter and on the case; nothing claims "sent"
    assert delivery.status == FAILED
    assert delivery.error.startswith("cannot reach the SMTP server 127.0.0.1:")
    with database.session() as session:
        letter = session.scalar(select(OutboxLetter))
        assert letter is not None and letter.status == FAILED
        assert letter.error == delivery.error and letter.sent_at is None
        entry = session.scalar(select(TimelineEntry).where(TimelineEntry.kind == "send_failed"))
        assert entry is not None and delivery.error in entry.summary
    assert count(database, Message, Message.direction == "out") == 0
    assert timeline_kinds(database, reference) == ["email_in", "send_failed"]
    # When the server is back and the letter is retried
    counts = retry_letters(database, office_settings_(tmp_path, smtp_server.port))
    # Then it is sent once, with the same Message-ID, and recorded as sent
    assert (counts.sent, counts.failed) == (1, 0)
    [arrived] = smtp_server.received
    with database.session() as session:
        letter = session.scalar(select(OutboxLetter))
        assert letter is not None and (letter.status, letter.attempts) == (SENT, 2)
        assert arrived.message()["Message-ID"] == f"<{letter.message_id}>"
    assert timeline_kinds(database, reference) == ["email_in", "send_failed", "email_out"]
    # And sending it again is a no-op: only one caller ever sends a letter
    assert deliver(database, office_settings_(tmp_path, smtp_server.port), letter.id).status == (
        "skipped"
    )
    assert len(smtp_server.received) == 1


def test_a_rejected_recipient_fails_with_the_servers_words(database, smtp_server, tmp_path):
    settings = office_settings_(tmp_path, smtp_server.port)
    reference = zoe_writes(database, Pipeline(settings))
    smtp_server.reject("wrong.address@dwp.gov.uk")
    delivery = send_letter(
        database,
        settings,
        reference=reference,
        template="referral_department",
        to="wrong.address@dwp.gov.uk",
    )
    assert delivery.status == FAILED and delivery.permanent
    assert delivery.error.startswith("recipient refused: wrong.address@dwp.gov.uk: 550 5.1.1")
    assert smtp_server.received == []
    assert count(database, Message, Message.direction == "out") == 0
    assert count(database, OutboxLetter, OutboxLetter.status == FAILED) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_wrong_smtp_password_is_a_clear_failure(database, tmp_path):
    with SmtpServer(user="office", password="right") as server:
        wrong = office_settings_(tmp_path, server.port, smtp_user="office", smtp_password="wrong")
        reference = zoe_writes(database, Pipeline(wrong))
        failed = send_letter(database, wrong, reference=reference, template="closing")
        assert failed.status == FAILED
        assert "refused the sign-in (MAILBAG_SMTP_USER, MAILBAG_SMTP_PASSWORD): 535" in failed.error
        right = office_settings_(tmp_path, server.port, smtp_user="office", smtp_password="right")
        assert retry_letters(database, right).sent == 1
        assert len(server.received) == 1


def test_a_letter_interrupted_mid_send_is_failed_never_sent(database, smtp_server, tmp_path):
    # Given a worker died while sending a letter an hour ago
    settings = office_settings_(tmp_path, smtp_server.port)
    reference = zoe_writes(database, Pipeline(settings))
    with database.session() as session:
        from crm.outgoing.queue import queue_letter

        letter = queue_letter(session, settings, cases.get(session, reference), "closing")
        assert letter is not None
        session.execute(
            update(OutboxLetter).values(
                status=SENDING, last_attempt_at=utcnow() - timedelta(hours=1)
            )
        )
    # When the next run looks at the outbox
    counts = deliver_queued(database, settings)
    # Then the letter is failed, saying it may or may not have gone; nothing is resent
    assert (counts.sent, counts.failed) == (0, 0) and smtp_server.received == []
    with database.session() as session:
        stuck = session.scalar(select(OutboxLetter))
        assert stuck is not None and stuck.status == FAILED
        assert stuck.error.startswith("interrupted while sending: it may or may not have been")


def test_the_command_line_sends_and_lists(smtp_server, tmp_path):
    env = {
        "MAILBAG_DATA_DIR": str(tmp_path / "data"),
        "MAILBAG_OFFICE_ADDRESSES": OFFICE,
        "MAILBAG_SMTP_HOST": "127.0.0.1",
        "MAILBAG_SMTP_PORT": str(smtp_server.port),
        "MAILBAG_SMTP_STARTTLS": "off",
        "MAILBAG_FROM_ADDRESS": f"Office of Jane Doe MP <{OFFICE}>",
        "MAILBAG_REPRESENTATIVE_NAME": "Jane Doe MP",
        "MAILBAG_AUTO_ACKNOWLEDGE": "off",
    }
    eml = tmp_path / "zoe.eml"
    eml.write_bytes(make_message(sender=f"Zoë Ní Bhriain <{ZOE}>", body=ZOE_WRITES))
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("db", "upgrade")
    run("import", str(eml))
    assert run("directory", "seed").startswith("12 organisations added")
    assert "Department for Work and Pensions" in run("directory", "list")
    run("directory", "add", "Department for Work and Pensions", "--email", DWP)
    reference = run("cases").split()[0]
    assert "referral_department" in run("letters", "list")
    shown = run("letters", "preview", "closing", reference, "--docx", str(tmp_path / "c.docx"))
    assert "Dear Zoë Ní Bhriain" in shown and (tmp_path / "c.docx").stat().st_size > 1000
    assert f"to {DWP}" in run("send", "referral_department", reference, "--to", DWP)
    listing = run("outbox", "list")
    assert " sent " in listing and "referral_department" in listing and DWP in listing
    failed = runner.invoke(main, ["send", "chase_first", reference], env=env)
    assert failed.exit_code == 2
    assert failed.output.strip() == (
        "mailbag: error: the chase_first letter goes to a third party: "
        "name the organisation or address"
    )


def test_the_directory_finds_organisations_by_name_short_name_and_address(database):
    with database.session() as session:
        assert directory.seed_directory(session) == len(directory.SEED)
        assert directory.seed_directory(session) == 0  # staff edits are never overwritten
        assert directory.find_by_name(session, "dwp").name == "Department for Work and Pensions"
        assert directory.find_by_name(session, "passport").name == "HM Passport Office"
        found = directory.find_by_address(session, "mpaccount@ukvi.homeoffice.gov.uk")
        assert found is not None and found.name.startswith("Home Office")
        found = directory.find_by_address(session, "x@hmpo.homeoffice.gov.uk")
        assert found is not None and found.name == "HM Passport Office"  # the closest domain
        found = directory.find_by_address(session, "highways@exampleshire.gov.uk")
        assert found is not None and found.name == "Exampleshire Council – Highways"
        found = directory.find_by_address(session, "someone.else@exampleshire.gov.uk")
        assert found is not None and found.name == "Exampleshire Council"
        assert directory.find_by_address(session, "mary@example.com") is None
        with pytest.raises(directory.DirectoryError, match="matches several organisations"):
            directory.find_by_name(session, "exampleshire")
        with pytest.raises(directory.DirectoryError, match="already belongs to HM Revenue"):
            directory.add_organisation(session, "Tax people", domains=["hmrc.gov.uk"])


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAILBAG_FROM_ADDRESS", "the office"),
        ("MAILBAG_SMTP_PORT", "smtp"),
        ("MAILBAG_SMTP_STARTTLS", "sometimes"),
        ("MAILBAG_AUTO_ACKNOWLEDGE", "perhaps"),
    ],
)
def test_a_wrong_sending_setting_names_the_variable(variable, value):
    with pytest.raises(SettingsError, match=f"^{variable}: expected"):
        Settings.from_env({variable: value})


def test_sending_without_an_smtp_host_names_the_variable(database, tmp_path):
    settings = office_settings_(tmp_path, 25, smtp_host="")
    reference = zoe_writes(database, Pipeline(settings))
    with pytest.raises(SettingsError, match=r"^MAILBAG_SMTP_HOST is not set"):
        send_letter(database, settings, reference=reference, template="closing")
    assert count(database, OutboxLetter) == 0

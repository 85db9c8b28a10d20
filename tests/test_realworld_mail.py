"""Shapes of real-world mail found by sweeping other mail libraries' test corpora.

Each file under tests/data/realworld/ is a small message written for Mailbag that reproduces
one shape seen in the wild (not a copy of the message it was found in).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError

import inbox.pipeline
from crm import constituents, listings, quarantine
from crm.db import Database
from crm.models import Attachment, Case, Message
from inbox.context import StepEnv
from inbox.importer import import_path
from inbox.message import MessageContext
from inbox.pipeline import Pipeline
from tests.support.imported import by_file

REALWORLD = Path(__file__).parent / "data" / "realworld"


@pytest.fixture
def imported(database: Database, pipeline: Pipeline) -> Database:
    counts = import_path(database, pipeline, REALWORLD)
    files = len(list(REALWORLD.glob("*.eml")))
    assert (counts.stored, counts.duplicate, counts.quarantined) == (files, 0, 0)
    return database


@pytest.mark.parametrize(
    ("name", "reason_part"),
    [
        pytest.param(
            "bounce-plain-daemon-no-report", "sender mailer-daemon@", id="daemon, plain text"
        ),
        pytest.param("bounce-null-sender", "null sender", id="Mail Delivery System <>"),
        pytest.param("bounce-gateway-smtp-error", "550 5.1.1", id="gateway with SMTP error"),
    ],
)
def test_plain_text_non_delivery_notices_are_bounces_not_cases(
    imported: Database, name: str, reason_part: str
) -> None:
    """Bounces without an RFC 3464 report (qmail, Yahoo, gateways) opened cases before."""
    with imported.session() as session:
        bounce = by_file(session, name)
        assert bounce.kind == "bounce"
        assert any(reason_part in reason for reason in bounce.kind_reasons), bounce.kind_reasons
        assert bounce.case_id is None and bounce.constituent_id is None
        assert constituents.find_by_email(session, "mailer-daemon@mx.example.net") is None


@pytest.mark.parametrize(
    "name", ["constituent-delivery-failure-subject", "constituent-forwards-a-bounce"]
)
def test_constituents_writing_about_failed_deliveries_still_open_cases(
    imported: Database, name: str
) -> None:
    with imported.session() as session:
        letter = by_file(session, name)
        assert letter.kind == "constituent"
        assert letter.case_id is not None and letter.constituent_id is not None


def test_importing_again_changes_nothing(imported: Database, pipeline: Pipeline) -> None:
    counts = import_path(imported, pipeline, REALWORLD)
    assert counts.stored == 0 and counts.quarantined == 0
    assert counts.duplicate == len(list(REALWORLD.glob("*.eml")))


def test_a_name_without_an_address_is_no_sender_and_waits_for_staff(imported: Database) -> None:
    """'From: Residents Association' was read as the address 'residents', shared by writers."""
    names = [
        "from-name-without-address-1",
        "from-name-without-address-2",
        "from-name-without-address-3",  # says "not delivered": no daemon, so no bounce
        "from-encoded-name-without-address",
    ]
    with imported.session() as session:
        letters = [by_file(session, name) for name in names]
        assert all(letter.from_address == "" for letter in letters)
        assert all(letter.case_id is None and letter.constituent_id is None for letter in letters)
        assert constituents.find_by_email(session, "residents") is None
        waiting = {message.id for message in listings.not_casework(session)}
    assert {letter.id for letter in letters} <= waiting
    assert all(letter.kind == "constituent" for letter in letters)


def test_not_casework_still_leaves_out_constituent_mail_on_a_case(imported: Database) -> None:
    with imported.session() as session:
        listed = {message.id for message in listings.not_casework(session)}
        on_cases = {
            m.id for m in session.scalars(select(Message).where(Message.case_id.is_not(None)))
        }
    assert on_cases and not listed & on_cases


@pytest.mark.parametrize(
    ("name", "subject", "writer"),
    [
        pytest.param("header-8bit-gb2312", "投诉：垃圾收集", "王芳", id="GB2312"),
        pytest.param(
            "header-8bit-windows-1251-multipart", "Жалоба на шум", "Иван Петров", id="windows-1251"
        ),
    ],
)
def test_raw_8bit_headers_are_read_in_the_charset_of_the_body(
    imported: Database, name: str, subject: str, writer: str
) -> None:
    """Unencoded 8-bit headers were read as cp1252 whatever the body declared: mojibake."""
    with imported.session() as session:
        letter = by_file(session, name)
        case = session.get(Case, letter.case_id)
        assert letter.subject == subject and letter.from_name == writer
        assert case is not None and case.subject == subject


def test_nul_characters_are_dropped_so_postgresql_stores_the_message(imported: Database) -> None:
    """A body ending in NULs was quarantined at the record step, on PostgreSQL only."""
    with imported.session() as session:
        letter = by_file(session, "nul-bytes-in-body-and-subject")
        assert letter.case_id is not None
        assert "not backdated." in letter.body_text
        assert letter.subject == "Housing benefit backdating"
        for value in (letter.subject, letter.body_text, letter.body_html or ""):
            assert "\x00" not in value


def test_a_message_attached_without_a_name_is_stored_as_eml(imported: Database) -> None:
    """A forwarded message had the name attachment-1.bin, which no mail program opens."""
    with imported.session() as session:
        letter = by_file(session, "forwarded-as-attachment-without-name")
        (attached,) = session.scalars(
            select(Attachment).where(Attachment.message_pk == letter.id)
        ).all()
    assert (attached.filename, attached.content_type) == ("attachment-1.eml", "message/rfc822")


def test_a_folded_subject_is_one_line(imported: Database) -> None:
    """Folding with CRLF TAB left a tab in the subject of the message and of its case."""
    expected = "Re: Temporary accommodation for my family after the flood at Riverside Court"
    with imported.session() as session:
        letter = by_file(session, "subject-folded-with-tab")
        case = session.get(Case, letter.case_id)
        assert letter.subject == expected
        assert case is not None and case.subject == expected


def test_iso_8859_1_labelled_windows_1252_punctuation_is_shown(imported: Database) -> None:
    """Outlook's quotes and dashes under an iso-8859-1 label became invisible C1 controls."""
    with imported.session() as session:
        letter = by_file(session, "iso-8859-1-label-on-windows-1252-text")
        assert letter.subject == "The council’s letter about my rent"
        assert "council’s letter says my rent is “under review” – for six" in letter.body_text


def test_a_database_error_is_quarantined_with_a_short_reason(
    database: Database, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The reason held a page of SQL and the letter's text (PostgreSQL refusing a NUL)."""

    def refuse(ctx: MessageContext, env: StepEnv) -> None:
        raise DataError(
            "INSERT INTO messages (body_text) VALUES (%(body_text)s)",
            {"body_text": "the letter's private words"},
            Exception("PostgreSQL text fields cannot contain NUL (0x00) bytes"),
        )

    monkeypatch.setattr(inbox.pipeline, "STEPS", (*inbox.pipeline.STEPS, ("refuse", refuse)))
    shutil.copy(REALWORLD / "subject-folded-with-tab.eml", tmp_path / "letter.eml")
    counts = import_path(database, pipeline, tmp_path)
    assert counts.quarantined == 1
    with database.session() as session:
        (entry,) = quarantine.pending(session)
    assert entry.step == "refuse"
    assert entry.error == (
        "DataError: Exception: PostgreSQL text fields cannot contain NUL (0x00) bytes"
    )

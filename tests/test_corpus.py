"""The whole fixture corpus through the real import: threads, kinds, people, bodies, files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crm import cases, constituents, quarantine
from crm.db import Database
from crm.models import Attachment, Case, Message
from inbox.importer import import_path
from inbox.pipeline import Pipeline
from tests.support.imported import by_file

CORPUS = Path(__file__).parent / "data" / "corpus"

THREADS = {
    "A": ["A-01", "A-02", "A-03", "A-04"],
    "B": ["B-01", "B-02", "B-03", "B-04", "B-05", "ooo-x-autoreply", "ooo-subject-automatic-reply"],
    "C": ["C-01", "C-02", "C-03", "ooo-precedence-auto-reply"],
    "D": ["D-01", "D-02", "ooo-auto-submitted", "ooo-subject-out-of-office"],
    "E": ["E-01", "E-02", "bounce-dsn-text-rfc822-headers"],
    "W": ["W-01", "W-02", "bounce-dsn-message-rfc822-headers"],
}


@pytest.fixture
def imported(database: Database, pipeline: Pipeline) -> Database:
    counts = import_path(database, pipeline, CORPUS, batch_size=17)
    assert (counts.stored, counts.duplicate, counts.quarantined) == (47, 1, 2)
    return database


def test_every_thread_lands_on_one_case_of_its_own(imported):
    with imported.session() as session:
        case_ids = {
            thread: {by_file(session, name).case_id for name in names}
            for thread, names in THREADS.items()
        }
    for thread, ids in case_ids.items():
        assert len(ids) == 1 and None not in ids, f"thread {thread} split: {ids}"
    assert len({next(iter(ids)) for ids in case_ids.values()}) == len(THREADS)


def test_kinds_as_the_rules_say(imported):
    expected = {
        "A-02": "outgoing",
        "B-04": "third_party",
        "C-03": "third_party",
        "ooo-auto-submitted": "auto_reply",
        "ooo-x-autoreply": "auto_reply",
        "ooo-precedence-auto-reply": "auto_reply",
        "ooo-subject-out-of-office": "auto_reply",
        "ooo-subject-automatic-reply": "auto_reply",
        "bounce-dsn-text": "bounce",
        "bounce-dsn-message": "bounce",
        "html-only-hostile": "constituent",
    }
    with imported.session() as session:
        actual = {name: by_file(session, name).kind for name in expected}
        reasons = by_file(session, "ooo-auto-submitted").kind_reasons
    assert actual == expected
    assert any("Auto-Submitted" in reason for reason in reasons)


def test_timeline_tells_case_b_in_order(imported):
    with imported.session() as session:
        case = session.get(Case, by_file(session, "B-01").case_id)
        kinds = [entry.kind for entry in reversed(cases.timeline(session, case.id))]
    assert kinds.count("email_in") == 1
    assert kinds.count("email_out") == 2
    assert kinds.count("third_party_reply") == 2
    assert kinds.count("auto_reply") == 2
    assert kinds[0] == "email_in"


def test_auto_replies_and_bounces_never_open_or_reopen_cases(imported):
    with imported.session() as session:
        newsletter = by_file(session, "newsletter-list-bulk")
        assert newsletter.case_id is None
        opened_by = session.scalars(select(Case.constituent_id)).all()
        statuses = set(session.scalars(select(Case.status)))
    assert statuses == {"open"}
    assert len(opened_by) == 27  # 6 threads + 21 standalone constituent messages


def test_same_person_different_case_and_case_insensitive_address(imported):
    with imported.session() as session:
        okafor = constituents.find_by_email(session, "margaret.okafor@example.com")
        assert okafor is not None and okafor.postcode == "EX1 2AB"
        assert "12 Acacia Avenue" in okafor.address
        zoe_cases = {
            by_file(session, "rfc2047-utf8-base64").case_id,
            by_file(session, "attach-rfc2231").case_id,
        }
        zoe = by_file(session, "rfc2047-utf8-base64")
        assert zoe.from_name == "Zoë Ní Bhriain"
        assert by_file(session, "attach-rfc2231").constituent_id == zoe.constituent_id
    assert len(zoe_cases) == 2


def test_web_form_mail_belongs_to_the_reply_to_person(imported):
    with imported.session() as session:
        form = by_file(session, "W-01")
        person = constituents.find_by_email(session, "h.finch@example.org")
        assert person is not None and form.constituent_id == person.id
        assert constituents.find_by_email(session, "noreply@office.example.org.uk") is None


def test_campaign_messages_from_different_senders_stay_apart(imported):
    with imported.session() as session:
        ids = {by_file(session, f"campaign-{n}").case_id for n in (1, 2, 3)}
    assert len(ids) == 3


def test_bodies_decoded_whatever_the_charset(imported):
    with imported.session() as session:
        latin1 = by_file(session, "charset-iso-8859-1").body_text
        cp1252 = by_file(session, "charset-windows-1252").body_text
        unknown = by_file(session, "charset-unknown")
        nocharset = by_file(session, "charset-8bit-no-charset").body_text
        html_only = by_file(session, "html-only-hostile")
        malformed = by_file(session, "malformed-truncated")
    assert "£12.50" in latin1 and "électricité" in latin1
    assert "€240" in cp1252 and "“roaming charge”" in cp1252 and "council’s" in cp1252
    assert "£" in unknown.body_text and unknown.defects
    assert "café" in nocharset and "£640" in nocharset
    assert html_only.body_html and "<script" not in html_only.body_text.lower()
    assert "EX2 8WW" in html_only.body_text
    assert malformed.defects


def test_attachments_stored_with_safe_names(imported):
    with imported.session() as session:
        hostile = by_file(session, "attach-hostile-filenames")
        names = session.scalars(
            select(Attachment.filename).where(Attachment.message_pk == hostile.id)
        ).all()
        decoded = session.scalars(
            select(Attachment.filename).where(
                Attachment.message_pk == by_file(session, "attach-rfc2231").id
            )
        ).all()
        pdf = session.scalars(
            select(Attachment).where(
                Attachment.message_pk == by_file(session, "attach-pdf-and-image").id
            )
        ).all()
    assert len(names) == 3
    for name in names:
        assert "/" not in name and "\\" not in name and ".." not in name
        assert not name.startswith(".") and all(ch.isprintable() for ch in name)
    assert "Umowa najmu – Zoë Ní Bhriain.pdf" in decoded
    assert any("propriétaire" in name and "£150" in name for name in decoded)
    assert sorted(a.content_type for a in pdf) == ["application/pdf", "image/png"]


def test_unreadable_files_wait_in_quarantine_with_their_bytes(imported):
    with imported.session() as session:
        entries = quarantine.pending(session)
        sources = sorted(Path(entry.source).name for entry in entries)
        assert all(entry.step == "parse" and entry.error for entry in entries)
    assert sources == ["empty-ish.eml", "garbage-binary.eml"]


def test_importing_the_corpus_again_changes_nothing(imported, pipeline):
    with imported.session() as session:
        before = (
            len(session.scalars(select(Message.id)).all()),
            len(session.scalars(select(Case.id)).all()),
        )
    counts = import_path(imported, pipeline, CORPUS)
    assert (counts.stored, counts.duplicate, counts.quarantined) == (0, 48, 2)
    with imported.session() as session:
        after = (
            len(session.scalars(select(Message.id)).all()),
            len(session.scalars(select(Case.id)).all()),
        )
        (entry, *_) = quarantine.pending(session)
        assert entry.attempts == 2
    assert before == after

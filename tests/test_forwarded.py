"""Mail the office forwards to itself is the original sender's casework (SQLite, PostgreSQL)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import select

from crm import constituents
from crm.db import Database
from crm.models import Case, Constituent, Message
from crm.settings import Settings
from inbox.batches import run_batch
from inbox.forwarded import original_sender
from inbox.message import Source
from inbox.parse import parse
from inbox.pipeline import Pipeline
from tests.support.mail import make_message

OFFICE = "casework@office.example.org.uk"
MEMBER = "jane.doe.mp@parliament.example.uk"
_uids = itertools.count(1)

GMAIL = """FYI - can we help?

---------- Forwarded message ---------
From: Mary Jones <Mary.Jones@example.com>
Date: Mon, 2 Nov 2026 at 09:14
Subject: Damp in my flat
To: <jane.doe.mp@parliament.example.uk>

Dear Jane, my flat has black mould in every room.
"""
OUTLOOK = """Please pick this up.

________________________________
From: Ahmed Khan [mailto:ahmed.khan@example.org]
Sent: 02 November 2026 09:14
To: Doe, Jane <jane.doe.mp@parliament.example.uk>
Subject: Visa delay
"""
OUTLOOK_PLAIN = """-----Original Message-----
From: "O'Brien, Siobhan" <siobhan@example.ie>
Sent: Monday, November 2, 2026 9:14 AM
"""
APPLE = """Begin forwarded message:

> From: Pat Lee <pat.lee@example.net>
> Subject: Bins
> Date: 2 November 2026 at 09:14:00 GMT
"""
THUNDERBIRD = """-------- Forwarded Message --------
Subject: 	Parking
Date: 	Mon, 2 Nov 2026 09:14:00 +0000
From: 	sam@example.com
To: 	jane.doe.mp@parliament.example.uk
"""
NESTED = """---------- Forwarded message ---------
From: Casework <casework@office.example.org.uk>

---------- Forwarded message ---------
From: Lee Chan <lee@example.com>
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (GMAIL, ("Mary Jones", "mary.jones@example.com")),
        (OUTLOOK, ("Ahmed Khan", "ahmed.khan@example.org")),
        (OUTLOOK_PLAIN, ("O'Brien, Siobhan", "siobhan@example.ie")),
        (APPLE, ("Pat Lee", "pat.lee@example.net")),
        (THUNDERBIRD, ("", "sam@example.com")),
        (NESTED, ("Lee Chan", "lee@example.com")),  # our own forward of it is skipped
        ("From: someone@example.com\nno marker above it\n", None),
        ("---------- Forwarded message ---------\nno From line at all\n", None),
    ],
)
def test_the_original_sender_is_read_from_each_mail_programs_quote(body, expected):
    found = original_sender(body, skip=lambda email: email.endswith("office.example.org.uk"))
    assert (found.name, found.email) == expected if expected else found is None


def office_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        office_addresses=frozenset({OFFICE}),
        staff_addresses=frozenset({MEMBER}),
    )


def feed(database: Database, pipeline: Pipeline, raw: bytes, folder: str = "INBOX"):
    with database.session() as session:
        outcome = pipeline.process(session, raw, Source(folder, uidvalidity=1, uid=next(_uids)))
    assert outcome.status == "stored", outcome.failure
    return outcome


def stored(database: Database, message_id: str) -> tuple[Message, Case | None, Constituent | None]:
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.message_id == message_id))
        assert message is not None
        case = session.get(Case, message.case_id) if message.case_id else None
        person = (
            session.get(Constituent, case.constituent_id) if case and case.constituent_id else None
        )
        return message, case, person


def test_a_members_forward_opens_the_constituents_case(database, tmp_path):
    pipeline = Pipeline(office_settings(tmp_path))
    raw = make_message(
        sender=f"Jane Doe MP <{MEMBER}>",
        to=OFFICE,
        subject="Fwd: Damp in my flat",
        body=GMAIL + "\nKind regards,\nMary Jones\n12 Acacia Avenue\nExampletown\nEX1 2AB\n",
        message_id="<fwd1@parliament.example.uk>",
    )
    outcome = feed(database, pipeline, raw)
    message, case, person = stored(database, "fwd1@parliament.example.uk")
    # Then the case is Mary's, with her details from the forwarded signature
    assert message.kind == "constituent" and case is not None and person is not None
    assert (person.name, person.postcode) == ("Mary Jones", "EX1 2AB")
    assert any("forwarded by" in reason for reason in outcome.ctx.classification.reasons)
    with database.session() as session:
        assert constituents.find_by_email(session, MEMBER) is None
    # And when Mary writes herself about it, her mail joins the same case
    own = make_message(
        sender="Mary Jones <mary.jones@example.com>",
        subject="Re: Damp in my flat",
        message_id="<m2@example.com>",
    )
    feed(database, pipeline, own)
    assert stored(database, "m2@example.com")[1].id == case.id


def test_a_forward_from_someone_already_known_joins_their_record_in_a_prefetched_batch(
    database, tmp_path
):
    # Given Mary wrote herself in an earlier batch
    pipeline = Pipeline(office_settings(tmp_path))
    own = make_message(sender="Mary Jones <mary.jones@example.com>", message_id="<m1@example.com>")
    # When the member forwards a letter of hers in a batch parsed ahead (as ingest does),
    # whose prefetch never saw her address: it is in the body, not the headers
    forward = make_message(
        sender=f"Jane Doe MP <{MEMBER}>",
        subject="Fwd: Damp in my flat",
        body=GMAIL,
        message_id="<fwd3@parliament.example.uk>",
    )
    for raw in (own, forward):
        counts = run_batch(
            database,
            pipeline,
            [(raw, Source("INBOX", uidvalidity=1, uid=next(_uids)))],
            parsed=[parse(raw, max_attachment_bytes=pipeline.settings.max_attachment_bytes)],
        )
        assert counts.stored == 1  # not quarantined for adding her address a second time
    # Then the forward is hers, on her record
    _, _, first = stored(database, "m1@example.com")
    _, _, person = stored(database, "fwd3@parliament.example.uk")
    assert first is not None and person is not None and person.id == first.id


def test_a_forward_to_a_council_copied_to_us_is_not_new_casework(database, tmp_path):
    pipeline = Pipeline(office_settings(tmp_path))
    raw = make_message(
        sender=f"Casework <{OFFICE}>",
        to=f"Housing <housing@newtown.gov.uk>, {OFFICE}",
        subject="Fwd: Damp in my flat",
        body=GMAIL,
        message_id="<fwd2@office.example.org.uk>",
    )
    feed(database, pipeline, raw)
    message, _, _ = stored(database, "fwd2@office.example.org.uk")
    assert message.kind == "outgoing"
    with database.session() as session:
        assert constituents.find_by_email(session, "mary.jones@example.com") is None


def test_a_staff_members_own_note_to_the_inbox_opens_no_case_for_them(database, tmp_path):
    pipeline = Pipeline(office_settings(tmp_path))
    raw = make_message(
        sender=f"Jane Doe MP <{MEMBER}>",
        to=OFFICE,
        subject="Surgery on Friday",
        body="Can someone book the hall?\n",
        message_id="<note@parliament.example.uk>",
    )
    feed(database, pipeline, raw)
    message, case, _ = stored(database, "note@parliament.example.uk")
    assert message.kind == "outgoing" and case is None
    with database.session() as session:
        assert constituents.find_by_email(session, MEMBER) is None


def test_staff_addresses_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"MAILBAG_STAFF_ADDRESSES": "Jane@Example.org, cllr@example.org"})
    assert settings.staff_addresses == frozenset({"jane@example.org", "cllr@example.org"})

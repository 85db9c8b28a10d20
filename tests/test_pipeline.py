"""The pipeline from raw bytes to cases, on SQLite and PostgreSQL: outcomes, not calls."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from crm import cases, constituents, listings, quarantine
from crm.db import Database
from crm.models import Case, Constituent, Message, MessageSource, TimelineEntry
from crm.tags.models import TagEvent
from inbox.message import Source
from inbox.names import reading_order
from inbox.pipeline import Outcome, Pipeline
from inbox.retry import retry
from tests.support.mail import make_message

_uids = itertools.count(1)
OFFICE = "casework@office.example.org.uk"

SIGNED = (
    "Dear Jane,\n\nThe landlord has not fixed the damp in six months.\n\n"
    "Kind regards,\nMary Jones\n12 Acacia Avenue\nExampletown\nEX1 2AB\n07700 900123\n"
)


def feed(database: Database, pipeline: Pipeline, raw: bytes, folder: str = "INBOX") -> Outcome:
    with database.session() as session:
        return pipeline.process(session, raw, Source(folder, uidvalidity=7, uid=next(_uids)))


def count(database: Database, model: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def case_of(database: Database, message_id: str) -> Case | None:
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.message_id == message_id))
        assert message is not None, f"message {message_id} was not stored"
        return session.get(Case, message.case_id) if message.case_id else None


def test_new_constituent_mail_opens_a_case_with_contact_details(database, pipeline):
    # Given a first email from a constituent with a signature
    feed(database, pipeline, make_message(message_id="<m1@example.com>", body=SIGNED))
    # Then one case, one constituent with the signature's details, one timeline entry
    case = case_of(database, "m1@example.com")
    assert case is not None and case.reference.startswith("MB-2026-")
    with database.session() as session:
        person = constituents.find_by_email(session, "Mary.Jones@example.com")
        assert person is not None
        assert (person.name, person.postcode) == ("Mary Jones", "EX1 2AB")
        assert "12 Acacia Avenue" in person.address
        entries = cases.timeline(session, case.id)
    assert [e.kind for e in entries] == ["email_in"]


def test_a_name_written_surname_first_is_kept_in_reading_order(database, pipeline):
    # Given mail from an Outlook directory's "Smith, John", and from "John Smith, Jr"
    feed(database, pipeline, make_message(sender='"Smith, John" <john@example.com>'))
    feed(database, pipeline, make_message(sender='"Bloggs, Jr" <joe@example.com>'))
    # Then letters will say "Dear John Smith", and a suffix stays where it was
    with database.session() as session:
        john = constituents.find_by_email(session, "john@example.com")
        joe = constituents.find_by_email(session, "joe@example.com")
        assert john is not None and john.name == "John Smith"
        assert joe is not None and joe.name == "Bloggs, Jr"


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("Smith, John", "John Smith"),
        ("SMITH , John Paul", "John Paul SMITH"),
        ("Ní Bhriain, Zoë", "Zoë Ní Bhriain"),
        ("O'Brien, J.", "J. O'Brien"),
        ("John Smith, Jr", "John Smith, Jr"),
        ("Jane Doe, MBE", "Jane Doe, MBE"),
        ("Smith, Jones & Co", "Smith, Jones & Co"),
        ("Smith, John (Housing)", "Smith, John (Housing)"),
        ("Department for Work, and Pensions", "Department for Work, and Pensions"),
        ("van der Berg, Jan", "van der Berg, Jan"),
        ("a, b, c", "a, b, c"),
        ("Mary Jones", "Mary Jones"),
        ("", ""),
    ],
)
def test_reading_order(written: str, read: str) -> None:
    assert reading_order(written) == read


def test_a_later_letter_fills_gaps_in_a_record_and_never_overwrites_it(database, pipeline):
    from inbox.batches import run_batch
    from inbox.parse import parse

    def batch(*raws: bytes) -> None:  # parsed ahead, as ingest does: the prefetched path
        items = [(raw, Source("INBOX", 1, next(_uids))) for raw in raws]
        run_batch(
            database,
            pipeline,
            items,
            parsed=[parse(raw, max_attachment_bytes=10**6) for raw in raws],
        )

    no_phone = SIGNED.replace("07700 900123\n", "")
    moved = SIGNED.replace("12 Acacia Avenue", "3 New Road").replace("07700 900123", "07700 900999")
    # Given Mary's first letter gives no phone, and Sam's gives everything
    batch(
        make_message(body=no_phone, subject="Damp"),
        make_message(
            sender="Sam Lee <sam@example.com>", body=SIGNED.replace("Mary Jones", "Sam Lee")
        ),
    )
    # When both write again with other details
    batch(
        make_message(body=moved, subject="Bins"),
        make_message(
            sender="Sam Lee <sam@example.com>", body=moved.replace("Mary Jones", "Sam Lee")
        ),
    )
    # Then Mary's gap is filled, and nothing either of them had is overwritten
    with database.session() as session:
        mary = constituents.find_by_email(session, "mary.jones@example.com")
        sam = constituents.find_by_email(session, "sam@example.com")
        assert (mary.phone, "12 Acacia Avenue" in mary.address) == ("07700 900999", True)
        assert (sam.phone, "12 Acacia Avenue" in sam.address) == ("07700 900123", True)


def test_reply_threads_by_in_reply_to_and_references(database, pipeline):
    feed(database, pipeline, make_message(message_id="<a1@example.com>"))
    office_reply = make_message(
        sender=f"Sam Patel <{OFFICE}>",
        to="mary.jones@example.com",
        subject="Re: Damp and mould in my flat",
        message_id="<o1@office.example.org.uk>",
        in_reply_to="<a1@example.com>",
    )
    feed(database, pipeline, office_reply, folder="Sent")
    reply = make_message(
        subject="RE: Re: Damp and mould in my flat",
        message_id="<a2@example.com>",
        references="<a1@example.com> <o1@office.example.org.uk>",
    )
    feed(database, pipeline, reply)
    first, second, third = (
        case_of(database, m)
        for m in ("a1@example.com", "o1@office.example.org.uk", "a2@example.com")
    )
    assert first is not None and first.id == second.id == third.id
    with database.session() as session:
        kinds = [e.kind for e in reversed(cases.timeline(session, first.id))]
    assert kinds == ["email_in", "email_out", "email_in"]
    assert count(database, Case) == 1


def test_reference_token_in_subject_wins_over_everything(database, pipeline):
    feed(database, pipeline, make_message(message_id="<b1@example.com>", subject="Bins"))
    target = case_of(database, "b1@example.com")
    assert target is not None
    other = make_message(
        sender="Someone Else <else@example.net>",
        subject=f"Fwd: about [{target.reference}] please",
        message_id="<b2@example.net>",
    )
    feed(database, pipeline, other)
    assert case_of(database, "b2@example.net").id == target.id


def test_reference_typed_without_brackets_in_subject_threads(database, pipeline):
    feed(database, pipeline, make_message(message_id="<t1@example.com>", subject="Parking"))
    target = case_of(database, "t1@example.com")
    assert target is not None
    retyped = make_message(
        sender="New Address <new.address@example.net>",
        subject=f"Update on {target.reference.lower()}",
        body="No reference down here.",
        message_id="<t2@example.net>",
    )
    feed(database, pipeline, retyped)
    assert case_of(database, "t2@example.net").id == target.id


def test_same_sender_same_subject_without_headers_joins_open_case(database, pipeline):
    feed(
        database,
        pipeline,
        make_message(message_id="<c1@example.com>", subject="Pothole on Mill Lane"),
    )
    feed(
        database,
        pipeline,
        make_message(message_id="<c2@example.com>", subject="Re: Pothole on Mill Lane"),
    )
    feed(
        database,
        pipeline,
        make_message(message_id="<c3@example.com>", subject="School place for my son"),
    )
    assert case_of(database, "c1@example.com").id == case_of(database, "c2@example.com").id
    assert case_of(database, "c3@example.com").id != case_of(database, "c1@example.com").id


def test_auto_reply_is_attached_to_its_case_or_kept_as_not_casework(database, pipeline):
    feed(database, pipeline, make_message(message_id="<d1@example.com>"))
    ooo = make_message(
        sender="DWP MP Team <mp.team@dwp.gov.uk>",
        subject="Automatic reply: Damp and mould in my flat",
        message_id="<ooo1@dwp.gov.uk>",
        in_reply_to="<d1@example.com>",
        headers={"Auto-Submitted": "auto-replied"},
    )
    stray = make_message(
        sender="Bob <bob@example.org>",
        subject="Out of Office: back Monday",
        message_id="<ooo2@example.org>",
        headers={"X-Autoreply": "yes"},
    )
    feed(database, pipeline, ooo)
    feed(database, pipeline, stray)
    assert case_of(database, "ooo1@dwp.gov.uk").id == case_of(database, "d1@example.com").id
    assert case_of(database, "ooo2@example.org") is None
    assert count(database, Case) == 1
    with database.session() as session:
        listed = [m.message_id for m in listings.not_casework(session)]
        message = session.scalar(select(Message).where(Message.message_id == "ooo1@dwp.gov.uk"))
        assert message.kind == "auto_reply" and message.kind_reasons
    assert listed == ["ooo2@example.org"]


def test_the_same_message_twice_changes_nothing_but_its_sources(database, pipeline):
    raw = make_message(message_id="<e1@example.com>")
    assert feed(database, pipeline, raw).status == "stored"
    before = (count(database, Case), count(database, Message), count(database, TimelineEntry))
    assert feed(database, pipeline, raw, folder="Sent").status == "duplicate"
    assert feed(database, pipeline, raw).status == "duplicate"
    after = (count(database, Case), count(database, Message), count(database, TimelineEntry))
    assert before == after == (1, 1, 1)
    assert count(database, MessageSource) == 3


def test_a_file_imported_again_adds_no_source_and_another_file_adds_one(database, pipeline):
    raw = make_message(message_id="<e2@example.com>")

    def from_file(path: str) -> str:
        with database.session() as session:
            return pipeline.process(session, raw, Source("import", path=path)).status

    assert from_file("/mail/2019/a.eml") == "stored"
    assert from_file("/mail/2019/a.eml") == "duplicate"
    assert from_file("/mail/copy/a.eml") == "duplicate"
    with database.session() as session:
        paths = session.scalars(select(MessageSource.path).order_by(MessageSource.id)).all()
    assert paths == ["/mail/2019/a.eml", "/mail/copy/a.eml"]


def test_message_without_message_id_is_deduplicated_by_its_bytes(database, pipeline):
    raw = make_message(message_id=None)
    assert feed(database, pipeline, raw).status == "stored"
    assert feed(database, pipeline, raw).status == "duplicate"
    assert count(database, Message) == 1


def test_outgoing_mail_to_a_new_person_opens_their_case(database, pipeline):
    sent = make_message(
        sender=f"Alex Morgan <{OFFICE}>",
        to="Priya Shah <priya@example.org>",
        subject="Your visit to the surgery",
        message_id="<o2@office.example.org.uk>",
    )
    feed(database, pipeline, sent, folder="Sent")
    case = case_of(database, "o2@office.example.org.uk")
    assert case is not None
    with database.session() as session:
        person = session.get(Constituent, case.constituent_id)
        assert person.name == "Priya Shah"
        message = session.scalar(
            select(Message).where(Message.message_id == "o2@office.example.org.uk")
        )
        assert message.direction == "out" and message.kind == "outgoing"


def test_unthreaded_third_party_mail_opens_no_case(database, pipeline):
    letter = make_message(
        sender="HMRC <mp.correspondence@hmrc.gov.uk>",
        subject="Your enquiry",
        message_id="<h1@hmrc.gov.uk>",
    )
    feed(database, pipeline, letter)
    assert case_of(database, "h1@hmrc.gov.uk") is None
    assert count(database, Case) == 0


def test_unreadable_bytes_go_to_quarantine_and_can_be_retried(database, pipeline):
    outcome = feed(database, pipeline, b"")
    assert outcome.status == "quarantined" and outcome.failure.step == "parse"
    with database.session() as session:
        (entry,) = quarantine.pending(session)
        assert entry.step == "parse" and entry.error
    counts = retry(database, pipeline)
    assert counts.quarantined == 1
    with database.session() as session:
        (entry,) = quarantine.pending(session)
        assert entry.attempts == 2
    assert count(database, Message) == 0


def test_a_bad_message_does_not_block_the_next(database, pipeline):
    from inbox.batches import run_batch

    good = make_message(message_id="<f1@example.com>")
    items = [(b"", Source("INBOX", 1, 1)), (good, Source("INBOX", 1, 2))]
    counts = run_batch(database, pipeline, items)
    assert (counts.quarantined, counts.stored) == (1, 1)
    assert case_of(database, "f1@example.com") is not None


def test_a_case_reopened_earlier_in_a_batch_is_found_by_the_next_letter_on_its_subject(
    database, pipeline
):
    from inbox.batches import run_batch

    feed(database, pipeline, make_message(message_id="<h1@example.com>", subject="Bins"))
    with database.session() as session:
        cases.set_status(session, session.scalar(select(Case)), cases.CLOSED, "closed: done")
    # When one batch brings a reply that reopens the case, then a letter on the same
    # subject with no threading headers: the second must see the case open again
    reply = make_message(message_id="<h2@example.com>", in_reply_to="<h1@example.com>")
    again = make_message(message_id="<h3@example.com>", subject="Re: Bins")
    run_batch(
        database, pipeline, [(raw, Source("INBOX", 1, next(_uids))) for raw in (reply, again)]
    )
    # Then all three are on the one case
    assert case_of(database, "h3@example.com").id == case_of(database, "h1@example.com").id
    assert count(database, Case) == 1


def test_threading_lookups_see_what_the_same_transaction_changed(database, pipeline):
    # The lookups run on the connection, so they flush what the session holds first
    feed(database, pipeline, make_message(message_id="<k1@example.com>", subject="Bins"))
    with database.session() as session:
        case = session.scalar(select(Case))
        assert cases.open_case_on_subject(session, case.constituent_id, "bins") is case
        cases.set_status(session, case, cases.CLOSED, "closed: done")  # not flushed yet
        assert cases.open_case_on_subject(session, case.constituent_id, "bins") is None
        message = session.scalar(select(Message))
        message.case_id = None
        assert cases.by_message_ids(session, ["k1@example.com"]) is None


def test_writing_to_a_closed_case_reopens_it(database, pipeline):
    feed(database, pipeline, make_message(message_id="<g1@example.com>"))
    with database.session() as session:
        case = session.scalar(select(Case))
        cases.set_status(session, case, cases.CLOSED, "closed: resolved")
    reply = make_message(message_id="<g2@example.com>", in_reply_to="<g1@example.com>")
    feed(database, pipeline, reply)
    with database.session() as session:
        case = session.scalar(select(Case))
        assert case.status == "open"
        kinds = [e.kind for e in cases.timeline(session, case.id)]
    assert kinds.count("status") == 2


def test_references_are_sequential_per_year_and_unique(database, pipeline):
    for n in range(5):
        feed(
            database, pipeline, make_message(message_id=f"<r{n}@example.com>", subject=f"Topic {n}")
        )
    with database.session() as session:
        refs = sorted(session.scalars(select(Case.reference)))
    assert refs == [f"MB-2026-{n:06d}" for n in range(1, 6)]


def test_a_batch_numbers_its_new_cases_without_gaps_whatever_fails_in_it(
    database, pipeline, monkeypatch
):
    from datetime import UTC, datetime

    import inbox.pipeline
    from inbox.batches import run_batch

    def explode(ctx, env):
        if "EXPLODE" in ctx.parsed.subject:
            raise RuntimeError("a bug in a late step")

    monkeypatch.setattr(inbox.pipeline, "STEPS", (*inbox.pipeline.STEPS, ("explode", explode)))

    def letter(n: int, year: int, subject: str = "Topic") -> tuple[bytes, Source]:
        raw = make_message(
            sender=f"Writer {n} <writer{n}@example.com>",
            subject=f"{subject} {n}",
            date=datetime(year, 6, 1, 9, n, tzinfo=UTC),
        )
        return raw, Source("INBOX", 1, next(_uids))

    # Given a batch of new letters from two years, then one that fails late and is redone
    # message by message, then a letter on its own
    run_batch(database, pipeline, [letter(1, 2025), letter(2, 2026), letter(3, 2026)])
    run_batch(database, pipeline, [letter(4, 2026), letter(5, 2026, "EXPLODE"), letter(6, 2026)])
    feed(database, pipeline, letter(7, 2026)[0])
    # Then each year's cases are numbered from 1 without a gap, in the order they came
    with database.session() as session:
        refs = dict(session.execute(select(Case.subject, Case.reference)).all())
    assert refs == {
        "Topic 1": "MB-2025-000001",
        "Topic 2": "MB-2026-000001",
        "Topic 3": "MB-2026-000002",
        "Topic 4": "MB-2026-000003",
        "Topic 6": "MB-2026-000004",
        "Topic 7": "MB-2026-000005",
    }


def test_merged_constituent_keeps_every_case(database, pipeline):
    feed(database, pipeline, make_message(message_id="<k1@example.com>", subject="Housing"))
    feed(
        database,
        pipeline,
        make_message(
            sender="Mary Jones <mary@work.example.net>",
            message_id="<k2@example.net>",
            subject="Parking",
        ),
    )
    with database.session() as session:
        keep = constituents.find_by_email(session, "mary.jones@example.com")
        other = constituents.find_by_email(session, "mary@work.example.net")
        constituents.merge(session, keep.id, other.id)
    with database.session() as session:
        assert constituents.find_by_email(session, "mary@work.example.net").id == keep.id
        owners = set(session.scalars(select(Case.constituent_id)))
    assert owners == {keep.id}
    # and new mail from the second address joins the surviving person
    feed(
        database,
        pipeline,
        make_message(
            sender="mary@work.example.net", message_id="<k3@example.net>", subject="Re: Parking"
        ),
    )
    assert case_of(database, "k3@example.net").constituent_id == keep.id


def test_a_message_failing_late_in_a_batch_leaves_the_next_ones_as_if_it_never_came(
    database, pipeline, monkeypatch
):
    from datetime import UTC, datetime, timedelta

    import inbox.pipeline
    from inbox.batches import run_batch

    def explode(ctx, env):  # a step that fails after everything was written
        if "EXPLODE" in ctx.parsed.subject:
            raise RuntimeError("a bug in a late step")

    monkeypatch.setattr(inbox.pipeline, "STEPS", (*inbox.pipeline.STEPS, ("explode", explode)))
    day = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    first = make_message(message_id="<x1@example.com>", subject="Damp", date=day)
    run_batch(database, pipeline, [(first, Source("INBOX", 1, next(_uids)))])
    # Given a batch where a reply (three days on) and a new person's letter both fail late
    batch = [
        make_message(
            message_id="<x2@example.com>",
            subject="Re: Damp EXPLODE",
            in_reply_to="<x1@example.com>",
            date=day + timedelta(days=3),
        ),
        make_message(
            message_id="<x3@example.com>",
            subject="Re: Damp",
            in_reply_to="<x1@example.com>",
            date=day + timedelta(days=2),
        ),
        make_message(sender="Ann <ann@example.com>", subject="Bins EXPLODE", date=day),
        make_message(sender="Bo <bo@example.com>", message_id="<x5@example.com>", date=day),
    ]
    counts = run_batch(
        database, pipeline, [(raw, Source("INBOX", 1, next(_uids))) for raw in batch]
    )
    # Then only those two are quarantined: the next new person's rows, which SQLite may
    # number as the rolled-back ones were, clash with nothing
    assert (counts.stored, counts.quarantined) == (2, 2)
    assert case_of(database, "x5@example.com") is not None
    assert count(database, MessageSource) == 3  # where the stored three were seen, no more
    # And the case's last activity is the stored reply's, not the rolled-back one's
    case = case_of(database, "x3@example.com")
    assert case is not None and case.last_activity_at == day + timedelta(days=2)
    with database.session() as session:
        entries = session.scalars(
            select(TimelineEntry.summary).where(TimelineEntry.case_id == case.id)
        ).all()
    assert sorted(entries) == ["Damp", "Re: Damp"]  # no entry for the rolled-back reply
    # And the tag history, written with the batch, holds the new person's four lines only
    bo = case_of(database, "x5@example.com")
    with database.session() as session:
        lines = session.scalars(select(TagEvent.detail).where(TagEvent.case_id == bo.id)).all()
        orphans = session.scalar(
            select(func.count())
            .select_from(TagEvent)
            .where(TagEvent.case_id.not_in(select(Case.id)))
        )
    assert len(lines) == 4 and all(line.startswith(bo.reference) for line in lines)
    assert orphans == 0


def test_a_batch_of_old_and_new_replies_leaves_the_newest_as_last_activity(database, pipeline):
    from datetime import UTC, datetime, timedelta

    from inbox.batches import run_batch

    day = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    first = make_message(message_id="<o1@example.com>", subject="Potholes", date=day)
    # Given one batch that holds the letter, a late reply, then an earlier one (old mail
    # imported out of order)
    replies = [
        make_message(
            message_id=f"<o{n}@example.com>",
            subject="Re: Potholes",
            in_reply_to="<o1@example.com>",
            date=day + timedelta(days=days),
        )
        for n, days in ((2, 5), (3, 1))
    ]
    counts = run_batch(
        database, pipeline, [(raw, Source("INBOX", 1, next(_uids))) for raw in [first, *replies]]
    )
    # Then all three are on one case, each with its entry, and its last activity is the newest
    assert counts.stored == 3
    case = case_of(database, "o3@example.com")
    assert case is not None and case_of(database, "o2@example.com").id == case.id
    assert case.last_activity_at == day + timedelta(days=5)
    with database.session() as session:
        when = session.scalars(
            select(TimelineEntry.occurred_at)
            .where(TimelineEntry.case_id == case.id)
            .order_by(TimelineEntry.occurred_at)
        ).all()
    assert when == [day, day + timedelta(days=1), day + timedelta(days=5)]

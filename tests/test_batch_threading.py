"""A batch threads and tags its messages exactly as it would one at a time.

Within a batch, threading answers from indexes asked once before it (inbox.thread_index),
tagging from tag rows read with the whole batch's, and new rows are written late
(crm.heldback); one message at a time, every answer comes from the database. The same mail,
both ways, must give the same cases, reasons and tags.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from crm import cases
from crm.db import Database
from crm.models import Case, Message
from crm.tags.models import CaseTag, TagEvent, TagValue
from inbox import batches
from inbox.batches import run_batch
from inbox.message import Source
from inbox.parse import parse
from inbox.pipeline import Pipeline
from tests.support import databases
from tests.support.campaigngen import TEMPLATES
from tests.support.mail import make_message
from tests.support.mailgen import generate_messages

OFFICE = "casework@office.example.org.uk"
X = "Xavier Quinn <x.quinn@example.com>"
Y = "Yasmin Shah <yasmin@example.net>"
COUNCIL = "Housing Team <housing@exampletown.gov.uk>"
DAY = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def at(hours: int) -> datetime:
    return DAY + timedelta(hours=hours)


def council_reply(
    name: str, in_reply_to: str, date: datetime, references: str | None = None
) -> bytes:
    """The housing team's answer about X's bins, as <name@council>."""
    return make_message(
        sender=COUNCIL,
        to=OFFICE,
        subject="Re: Your bins",
        in_reply_to=in_reply_to,
        references=references,
        message_id=f"<{name}@council>",
        date=date,
    )


def earlier_mail() -> list[tuple[bytes, str]]:
    """What a first batch brings: two of X's cases, and generated correspondence."""
    own = [
        make_message(sender=X, subject="Bins collection", message_id="<m1@x>", date=at(1)),
        make_message(sender=X, subject="Noise from the pub", message_id="<m2@x>", date=at(2)),
    ]
    return [(raw, "INBOX") for raw in [*own, *generate_messages(120, seed=7)][:120]]


def later_mail() -> list[tuple[bytes, str]]:
    """A second batch that threads every way there is, much of it onto its own mail."""
    inbox = [
        # X again on the same subject, headers lost: X's open case
        make_message(sender=X, subject="Re: Bins collection", message_id="<m4@x>", date=at(30)),
        # X answers the closed case: reopened; then writes on it again without headers
        make_message(
            sender=X, subject="Re: Noise", in_reply_to="<m2@x>", message_id="<m5@x>", date=at(31)
        ),
        make_message(sender=X, subject="Noise from the pub", message_id="<m6@x>", date=at(32)),
        # someone new writes twice on one subject: the second joins the case the first opened
        make_message(sender=Y, subject="Trees on Elm Road", message_id="<m7@y>", date=at(33)),
        make_message(sender=Y, subject="Trees on Elm Road", message_id="<m8@y>", date=at(34)),
        # the council answers a letter the office sent that is only read later (from Sent)
        council_reply("m9", "<out1@office>", at(36)),
        # and a reply to that reply, before its parent has a case
        council_reply("m10", "<m9@council>", at(37), references="<out1@office> <m9@council>"),
        # Y answers by References only
        make_message(
            sender=Y, subject="Re: Trees", references="<m7@y>", message_id="<m11@y>", date=at(38)
        ),
    ]
    sent = make_message(
        sender=OFFICE,
        to=X,
        subject="Your bins",
        in_reply_to="<m1@x>",
        message_id="<out1@office>",
        date=at(35),
    )
    # after the Sent copy adopts the council's replies, one more answers the second of them
    last = council_reply("m12", "<m10@council>", at(39))
    # three people send the same campaign letter: the third makes it a campaign, and the
    # first two letters' cases are closed into it; then the first writes again, no headers
    body = "\n\n".join(TEMPLATES["libraries"][1])
    campaign = [
        make_message(
            sender=f"Person {n} <p{n}@example.org>",
            subject="Save our libraries",
            body=body,
            message_id=f"<c{n}@p>",
            date=at(40 + n),
        )
        for n in range(3)
    ]
    again = make_message(
        sender="Person 0 <p0@example.org>",
        subject="Save our libraries",
        body="Dear Jane,\n\nAny news?\n",
        message_id="<c3@p>",
        date=at(44),
    )
    mail = [*inbox, *campaign, again]
    generated = [(raw, "INBOX") for raw in generate_messages(240, seed=7)][120:]
    return (
        [*[(raw, "INBOX") for raw in mail[:8]], (sent, "Sent"), (last, "INBOX")]
        + [(raw, "INBOX") for raw in mail[8:]]
        + generated
    )


@pytest.fixture
def second_database(
    database: Database, tmp_path: Path, sqlite_template: Path
) -> Iterator[Database]:
    """An empty database of the same kind as `database`."""
    if database.is_sqlite:
        (tmp_path / "second").mkdir()
        other = databases.sqlite_copy(sqlite_template, tmp_path / "second")
        yield other
        other.dispose()
        return
    url = databases.create_postgres_database()
    try:
        yield from databases.postgres_database(url)
    finally:
        databases.drop_postgres_database(url)


def ingest(
    database: Database, pipeline: Pipeline, batches: list[list[tuple[bytes, str]]], staff_at: int
) -> None:
    """Each batch of several as IMAP ingest runs one (parsed ahead, so with its indexes), a
    batch of one parsed by its steps (no indexes: every answer from the database); once
    `staff_at` messages are in, staff close X's case about noise."""
    uids = iter(range(1, 10_000))
    done = 0
    for batch in batches:
        items = [(raw, Source(folder, 1, next(uids))) for raw, folder in batch]
        ahead = [parse(raw) for raw, _ in batch] if len(batch) > 1 else None
        run_batch(database, pipeline, items, parsed=ahead)
        done += len(batch)
        if done == staff_at:
            close_noise_case(database)


def close_noise_case(database: Database) -> None:
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.message_id == "m2@x"))
        assert message is not None and message.case_id is not None
        case = session.get(Case, message.case_id)
        assert case is not None
        cases.set_status(session, case, cases.CLOSED, "done")


def threads(database: Database) -> dict[str, tuple[str | None, str]]:
    """Each message's case (by reference) and why it is there."""
    with database.session() as session:
        rows = session.execute(
            select(Message.message_id, Case.reference, Message.thread_reason)
            .outerjoin(Case, Case.id == Message.case_id)
            .order_by(Message.id)
        )
        return {message_id: (reference, reason) for message_id, reference, reason in rows}


def tags(database: Database) -> dict[str, list[str]]:
    """Each case's tags, and the history of its tags, as a reader would see them."""
    with database.session() as session:
        tag_rows = session.execute(
            select(
                Case.reference,
                CaseTag.axis,
                CaseTag.slot,
                TagValue.path,
                CaseTag.source,
                CaseTag.reason,
                CaseTag.tagged_at,
            )
            .join(CaseTag, CaseTag.case_id == Case.id)
            .join(TagValue, TagValue.id == CaseTag.tag_id)
        )
        events = session.execute(
            select(Case.reference, TagEvent.action, TagEvent.detail).join(
                TagEvent, TagEvent.case_id == Case.id
            )
        )
        rows = [*tag_rows, *events]
    found: dict[str, list[str]] = {}
    for reference, *values in rows:
        found.setdefault(reference, []).append(str(tuple(values)))
    return {reference: sorted(values) for reference, values in found.items()}


def test_a_batch_threads_and_tags_as_one_message_at_a_time(
    database, second_database, settings, monkeypatch
):
    pipeline = Pipeline(settings)
    first, second = earlier_mail(), later_mail()
    runs: list[bool] = []
    whole_batch = batches._run

    def recording(*args, isolated, **kwargs):
        runs.append(isolated)
        return whole_batch(*args, isolated=isolated, **kwargs)

    monkeypatch.setattr(batches, "_run", recording)
    # Given the same mail, in two batches into one database and one by one into the other
    ingest(database, pipeline, [first, second], staff_at=len(first))
    assert runs == [False, False]  # each batch went through whole, not redone one by one
    ingest(second_database, pipeline, [[item] for item in [*first, *second]], len(first))
    # Then every message is on the same case, for the same reason
    batched, alone = threads(database), threads(second_database)
    assert batched == alone
    # And every case has the same tags, for the same reasons, with the same history
    tagged = tags(database)
    assert tagged == tags(second_database)
    assert sum(len(rows) for rows in tagged.values()) > 4 * len(tagged)
    # And the mail meant to test each way of threading did (not all "new case")
    assert batched["m4@x"][0] == batched["m1@x"][0]
    assert batched["m5@x"][0] == batched["m2@x"][0] == batched["m6@x"][0]
    assert batched["m8@y"][0] == batched["m7@y"][0] == batched["m11@y"][0]
    assert batched["m9@council"][0] == batched["m1@x"][0] == batched["out1@office"][0]
    assert batched["m12@council"][0] == batched["m10@council"][0] == batched["m1@x"][0]
    assert batched["c3@p"][0] not in (None, batched["c0@p"][0])  # not the closed case
    replies = [reason for _, reason in batched.values() if reason.startswith("In-Reply-To")]
    assert len(replies) > 20  # the generated follow-ups threaded too

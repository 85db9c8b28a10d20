"""A Message-ID reused by another message (broken mailers and web forms do) loses nothing."""

from __future__ import annotations

import itertools

from sqlalchemy import func, select

from crm.db import Database
from crm.models import Case, Message
from inbox.message import Source
from inbox.pipeline import Outcome, Pipeline
from tests.support.mail import make_message

_uids = itertools.count(1)
REUSED = "<form-submission@webforms.example.net>"


def feed(database: Database, pipeline: Pipeline, raw: bytes) -> Outcome:
    with database.session() as session:
        return pipeline.process(session, raw, Source("INBOX", uidvalidity=5, uid=next(_uids)))


def count(database: Database, model: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_two_different_messages_under_one_message_id_are_both_kept(database, pipeline):
    first = make_message(
        sender="Mary Jones <mary@example.com>",
        subject="Bins",
        message_id=REUSED,
        body="The bins were not collected.\n",
    )
    second = make_message(
        sender="Ahmed Khan <ahmed@example.org>",
        subject="Visa delay",
        message_id=REUSED,
        body="My visa application is six months late.\n",
    )
    assert feed(database, pipeline, first).status == "stored"
    assert feed(database, pipeline, second).status == "stored"
    assert count(database, Message) == 2 and count(database, Case) == 2
    # And the second message read again is a copy, as is the first
    assert feed(database, pipeline, second).status == "duplicate"
    assert feed(database, pipeline, first).status == "duplicate"
    assert count(database, Message) == 2


def test_a_copy_with_a_banner_added_in_transit_is_still_a_copy(database, pipeline):
    original = make_message(message_id="<m1@example.com>", body="The damp is worse.\n")
    bannered = make_message(
        message_id="<m1@example.com>",
        body="CAUTION: This email originated from outside the organisation.\n\n"
        "The damp is worse.\n",
        headers={"Received": "from relay.example.net by mx.example.org"},
    )
    assert feed(database, pipeline, original).status == "stored"
    assert feed(database, pipeline, bannered).status == "duplicate"
    assert count(database, Message) == 1

"""A realistic office mailbox for data protection tests, built through the real pipeline:
background casework and a campaign, and one constituent (Mary) whose story touches others.

Mary writes about damp (with attachments); the office replies and refers her to the council,
which answers; her neighbour Bob writes into Mary's case quoting its reference, and opens his
own case that mentions Mary by name; Mary writes once into Bob's case and opens a second case
of her own. The office's reply to Mary is also found a second time with different bytes (a
copy in another folder). There is a note and a manual tag with a reason on Mary's case, mail
that is not casework, and quarantine.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import notes
from crm.db import Database
from crm.models import Base, Case, Message
from crm.tags.service import set_manual
from crm.users.service import create_user
from inbox.message import Source
from inbox.pipeline import Outcome, Pipeline
from tagging.axes import Axis
from tests.support.campaigngen import mixed_mailbox
from tests.support.mail import BASE_DATE, make_message

OFFICE = "casework@office.example.org.uk"
COUNCIL = "repairs@exampletown.gov.uk"
MARY = "mary.jones@example.com"
BOB = "bob.smith@example.net"
MANAGER = "max@office.example.org.uk"
_uids = itertools.count(1)

PDF = b"%PDF-1.4\n% Mary's tenancy letter\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"mould on the bedroom wall" * 4


@dataclass(frozen=True)
class Mailbox:
    mary_id: int
    bob_id: int
    mary_damp: str  # case references
    mary_bins: str
    bob_noise: str
    bob_in_marys_case: str  # Message-IDs
    mary_message_ids: tuple[str, ...]  # every message on Mary's cases that is hers to see


def feed(database: Database, pipeline: Pipeline, raw: bytes, folder: str = "INBOX") -> Outcome:
    with database.session() as session:
        return pipeline.process(session, raw, Source(folder, uidvalidity=9, uid=next(_uids)))


def letter_with_attachments() -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Mary Jones <{MARY}>"
    msg["To"] = OFFICE
    msg["Subject"] = "Damp and mould in my flat"
    msg["Message-ID"] = "<mary-1@example.com>"
    msg["Date"] = format_datetime(BASE_DATE)
    msg.set_content(
        "Dear Jane,\n\nMy flat has black mould in every room and my son's asthma is worse.\n"
        "The landlord has ignored three letters.\n\nKind regards,\nMary Jones\n"
        "12 Acacia Avenue\nExampletown\nEX1 2AB\n07700 900123\n"
    )
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="tenancy.pdf")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="../../bedroom wall.png")
    return msg.as_bytes()


def build_mailbox(database: Database, pipeline: Pipeline) -> Mailbox:
    for item in mixed_mailbox({"libraries": 8}, casework=16, seed=5):
        feed(database, pipeline, item.raw)
    assert feed(database, pipeline, letter_with_attachments()).status == "stored"
    damp = _reference(database, "mary-1@example.com")
    reply = make_message(
        sender=f"Sam Patel <{OFFICE}>",
        to=MARY,
        subject="Re: Damp and mould in my flat",
        message_id="<office-1@office.example.org.uk>",
        in_reply_to="<mary-1@example.com>",
        body="Dear Mary,\n\nWe have written to the council for you.\n",
    )
    feed(database, pipeline, reply, folder="Sent")
    copy = reply.replace(b"Subject:", b"X-Copied-To: Archive\nSubject:", 1)
    assert feed(database, pipeline, copy, folder="Archive").status == "duplicate"
    referral = make_message(
        sender=f"Sam Patel <{OFFICE}>",
        to=COUNCIL,
        subject=f"Damp at 12 Acacia Avenue [{damp}]",
        message_id="<office-2@office.example.org.uk>",
        body="Dear Repairs,\n\nPlease inspect the damp at Ms Jones's flat.\n",
    )
    feed(database, pipeline, referral, folder="Sent")
    answer = make_message(
        sender=f"Exampletown Repairs <{COUNCIL}>",
        to=OFFICE,
        subject=f"RE: Damp at 12 Acacia Avenue [{damp}]",
        message_id="<council-1@exampletown.gov.uk>",
        in_reply_to="<office-2@office.example.org.uk>",
        body="We will inspect the property on Friday.\n",
    )
    feed(database, pipeline, answer)
    bob_says = make_message(
        sender=f"Bob Smith <{BOB}>",
        subject=f"About [{damp}] the damp next door",
        message_id="<bob-1@example.net>",
        body="Dear Jane,\n\nThe damp from flat 2 is coming through my wall too.\nBob Smith\n",
    )
    feed(database, pipeline, bob_says)
    bob_own = make_message(
        sender=f"Bob Smith <{BOB}>",
        subject="Noise from the flat upstairs",
        message_id="<bob-2@example.net>",
        body="Dear Jane,\n\nMary Jones in flat 2 says the noise keeps her son awake too.\n",
    )
    feed(database, pipeline, bob_own)
    noise = _reference(database, "bob-2@example.net")
    mary_on_bobs_case = make_message(
        sender=f"Mary Jones <{MARY}>",
        subject=f"The noise upstairs [{noise}]",
        message_id="<mary-3@example.com>",
        body="Dear Jane,\n\nI can confirm the noise Bob describes.\n",
    )
    feed(database, pipeline, mary_on_bobs_case)
    bins = make_message(
        sender=f"Mary Jones <{MARY}>",
        subject="Bins not collected on Acacia Avenue",
        message_id="<mary-2@example.com>",
        body="Dear Jane,\n\nThe bins were missed again. <script>alert('bins')</script>\n",
    )
    feed(database, pipeline, bins)
    auto = make_message(
        sender="DWP <no-reply@dwp.gov.uk>",
        subject="Automatic reply: your enquiry",
        message_id="<auto-1@dwp.gov.uk>",
        headers={"Auto-Submitted": "auto-replied"},
        body="This mailbox is not monitored.\n",
    )
    feed(database, pipeline, auto)
    assert feed(database, pipeline, b"").status == "quarantined"
    with database.session() as session:
        manager = create_user(session, MANAGER, "correct horse battery", role="office_manager")
        case = session.scalar(select(Case).where(Case.reference == damp))
        assert case is not None
        notes.add_note(session, case, manager, "Mary phoned: the mould is in the kitchen too.")
        set_manual(
            session, damp, Axis.SENSITIVITY, "special category", who=MANAGER, reason="health"
        )
        mary_id, bob_id = case.constituent_id, _constituent(session, "bob-2@example.net")
    assert mary_id is not None
    return Mailbox(
        mary_id=mary_id,
        bob_id=bob_id,
        mary_damp=damp,
        mary_bins=_reference(database, "mary-2@example.com"),
        bob_noise=noise,
        bob_in_marys_case="bob-1@example.net",
        mary_message_ids=(
            "mary-1@example.com",
            "office-1@office.example.org.uk",
            "office-2@office.example.org.uk",
            "council-1@exampletown.gov.uk",
            "mary-2@example.com",
        ),
    )


def row_counts(database: Database) -> dict[str, int]:
    """Rows in every table: what an erasure or a dry run changed, table by table."""
    with database.session() as session:
        return {
            t.name: session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


def _reference(database: Database, message_id: str) -> str:
    with database.session() as session:
        reference = session.scalar(
            select(Case.reference)
            .join(Message, Message.case_id == Case.id)
            .where(Message.message_id == message_id)
        )
    assert reference is not None, f"{message_id} is on no case"
    return reference


def _constituent(session: Session, message_id: str) -> int:
    found = session.scalar(select(Message.constituent_id).where(Message.message_id == message_id))
    assert found is not None
    return found

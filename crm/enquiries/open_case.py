"""A valid enquiry becomes a case through the same services as email: one constituent record,
one timeline (the submission is stored as a message), the tags, and the same acknowledgement."""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr

from sqlalchemy.orm import Session

from crm import cases, constituents, correspondence
from crm.blobs import store_blob
from crm.constituents import ContactHints
from crm.correspondence import NewMessage, StoredAttachment
from crm.enquiries import message as form_mail
from crm.enquiries import screener_tags
from crm.enquiries.attachments import Accepted
from crm.enquiries.form import Checked, EnquiryForm
from crm.enquiries.models import Enquiry
from crm.enquiries.routing import Decision
from crm.enquiries.screener import COUNCIL, Screener
from crm.models import Case, Message
from crm.outgoing.acknowledge import IncomingMail, acknowledge_case
from crm.settings import Settings
from crm.tags import service as tags
from tagging.features import MessageFeatures

FOLDER = "web-form"  # where the message was "seen", as IMAP folders and imported files are
KIND = "constituent"


@dataclass(frozen=True)
class Opened:
    """The new case's reference, and the acknowledgement queued for it (if any)."""

    reference: str
    letter_id: int | None
    acknowledgement: str


def open_enquiry(
    session: Session,
    settings: Settings,
    screener: Screener,
    form: EnquiryForm,
    checked: Checked,
    decision: Decision,
    now: datetime,
) -> Opened:
    """Constituent, case, message, tags, consent record and acknowledgement, in one transaction."""
    person = constituents.find_or_create(
        session,
        checked.email,
        ContactHints(form.name, form.address, checked.postcode, form.phone or None),
    )
    passed_on = decision.route == COUNCIL and form.pass_on == "yes"
    mail = form_mail.build(form, checked, screener, settings, passed_on=passed_on, now=now)
    subject = str(mail["Subject"])
    case = cases.open_case(
        session,
        prefix=settings.case_prefix,
        subject=subject,
        subject_key=" ".join(subject.split()).casefold(),
        constituent_id=person.id,
        opened_at=now,
    )
    record = form_mail.form_record(form, screener, passed_on, now)
    stored = _record(session, mail, [record, *checked.attachments], case, person.id, now)
    screener_tags.apply_answers(session, case, screener, form.answers, now)
    tags.apply_rules(session, case.id, _features(stored, checked), settings, now)
    session.add(
        Enquiry(
            case_id=case.id,
            message_pk=stored.id,
            answers=dict(form.answers),
            route=decision.route,
            passed_on=passed_on,
            consent_text=screener.consent_text,
            consented_at=now,
        )
    )
    ack = acknowledge_case(
        session, settings, case, IncomingMail(sender=checked.email, kind=KIND, written_at=now), now
    )
    return Opened(case.reference, ack.letter.id if ack.letter else None, ack.reason)


def _record(
    session: Session,
    mail: EmailMessage,
    files: list[Accepted],
    case: Case,
    constituent_id: int,
    now: datetime,
) -> Message:
    """The message and its raw bytes, as ingest records mail: blob, message, source, timeline."""
    raw = mail.as_bytes(policy=email.policy.SMTP)
    sha = store_blob(session, raw)
    message_id = str(mail["Message-ID"]).strip().strip("<>")
    new = NewMessage(
        dedupe_key=correspondence.dedupe_key(message_id, sha),
        blob_sha256=sha,
        message_id=message_id,
        direction="in",
        kind=KIND,
        kind_reasons=[f"sent with the {form_mail.SOURCE}"],
        from_address=parseaddr(str(mail["From"]))[1].lower(),
        from_name=parseaddr(str(mail["From"]))[0],
        to_addresses=[parseaddr(str(mail["To"]))[1]],
        subject=str(mail["Subject"]),
        in_reply_to=[],
        references=[],
        sent_at=now,
        body_text=_text_part(mail),
        body_html=None,
        attachments=[StoredAttachment(f.filename, f.content_type, f.data) for f in files],
    )
    stored = correspondence.record_message(
        session,
        new,
        case=case,
        constituent_id=constituent_id,
        thread_reason=f"new case {case.reference} from the {form_mail.SOURCE}",
        received_at=now,
        occurred_at=now,
    )
    correspondence.record_source(session, correspondence.source_values(stored.id, folder=FOLDER))
    return stored


def _text_part(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    return str(part.get_content()) if part is not None else ""


def _features(message: Message, checked: Checked) -> MessageFeatures:
    """The submission as the tagging rules see any message (words, sender, files, postcode)."""
    return MessageFeatures(
        subject=message.subject,
        text=message.body_text,
        sender=message.from_address,
        attachment_types=tuple(a.content_type for a in checked.attachments),
        kind=KIND,
        postcode=checked.postcode,
    )

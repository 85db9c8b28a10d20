"""Send queued letters: claim → SMTP (no transaction open) → record sent or failed, honestly.

A letter is recorded as sent, with its message and timeline entry, only after the SMTP
server accepted it. A failure is written on the case with the server's words and can be
retried. A worker that dies mid-send leaves the letter "sending"; the next run marks it
failed as "may or may not have gone", never as sent.
"""

from __future__ import annotations

import email.policy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm import cases, correspondence
from crm.blobs import store_blob
from crm.correspondence import NewMessage
from crm.db import Database
from crm.errors import NotFound
from crm.followups import service as followups
from crm.letters.errors import LetterError
from crm.models import Case, TimelineEntry
from crm.outgoing import smtp
from crm.outgoing.compose import compose
from crm.outgoing.models import FAILED, QUEUED, SENDING, SENT, OutboxLetter
from crm.outgoing.queue import queue_letter
from crm.settings import Settings
from crm.types import utcnow

log = logging.getLogger(__name__)

# Headers unfolded up to RFC 5322's hard limit: Python's folding otherwise starts a subject
# on a continuation line (" We have received...") whenever it would fit there whole.
WIRE = email.policy.SMTP.clone(max_line_length=998)
SKIPPED = "skipped"
STALE_SENDING = timedelta(minutes=10)
OUTBOX_FOLDER = "outbox"


@dataclass(frozen=True)
class Delivery:
    """How one attempt ended: sent, failed (with the error) or skipped (not ours to send)."""

    letter_id: int
    status: str
    error: str = ""
    permanent: bool = False


@dataclass
class DeliveryCounts:
    """What a run did, for the command line, the logs and the workers (no personal data)."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, delivery: Delivery) -> None:
        setattr(self, delivery.status, getattr(self, delivery.status) + 1)

    def describe(self) -> str:
        return f"{self.sent} sent, {self.failed} failed, {self.skipped} left for later"


def send_letter(
    database: Database,
    settings: Settings,
    *,
    reference: str,
    template: str,
    to: str | None = None,
    note: str = "",
    tags: Sequence[str] = (),
) -> Delivery:
    """Render, queue and send one letter on a case: a reply, a referral, a chase..."""
    smtp.SmtpConfig.from_settings(settings)
    with database.session() as session:
        case = cases.get(session, reference)
        letter = queue_letter(session, settings, case, template, to=to, note=note, tags=tags)
        assert letter is not None  # only a once-key can make queueing a no-op
        letter_id = letter.id
    return deliver(database, settings, letter_id)


def deliver(
    database: Database, settings: Settings, letter_id: int, *, now: datetime | None = None
) -> Delivery:
    """Send one queued (or failed) letter; safe to call twice: only one caller sends it."""
    config = smtp.SmtpConfig.from_settings(settings)
    with database.session() as session:
        claimed = _claim(session, settings, letter_id, now or utcnow())
    if isinstance(claimed, Delivery):
        return claimed
    raw, recipient = claimed
    try:
        smtp.send(config, raw, [recipient])
    except smtp.SendError as error:
        with database.session() as session:
            _record_failure(session, letter_id, str(error), utcnow())
        log.warning("letter %s not sent (%s)", letter_id, _severity(error.permanent))
        return Delivery(letter_id, FAILED, str(error), error.permanent)
    with database.session() as session:
        _record_sent(session, settings, letter_id, raw, utcnow())
    log.info("letter %s sent", letter_id)
    return Delivery(letter_id, SENT)


def deliver_queued(database: Database, settings: Settings, *, limit: int = 100) -> DeliveryCounts:
    """Send what is queued, oldest first; stop at the first sign that the server is down."""
    counts = DeliveryCounts()
    if not smtp.is_configured(settings):
        return counts
    with database.session() as session:
        recover_interrupted(session, utcnow())
        ids = _ids(session, (QUEUED,), None, limit)
    return _deliver_all(database, settings, ids, counts)


def retry_letters(
    database: Database, settings: Settings, ids: Sequence[int] | None = None
) -> DeliveryCounts:
    """Try failed (and queued) letters again: all of them, or the ones named."""
    smtp.SmtpConfig.from_settings(settings)
    counts = DeliveryCounts()
    with database.session() as session:
        recover_interrupted(session, utcnow())
        for letter_id in ids or ():
            if session.get(OutboxLetter, letter_id) is None:
                raise NotFound(f"no letter {letter_id} in the outbox")
        targets = _ids(session, (QUEUED, FAILED), ids, None)
    if ids:
        counts.skipped += len(set(ids)) - len(targets)  # already sent, or being sent
    return _deliver_all(database, settings, targets, counts)


def recover_interrupted(session: Session, now: datetime) -> int:
    """Letters left "sending" by a worker that died: failed, and honest about the doubt."""
    stale = session.scalars(
        select(OutboxLetter).where(
            OutboxLetter.status == SENDING, OutboxLetter.last_attempt_at < now - STALE_SENDING
        )
    ).all()
    for letter in stale:
        _fail(
            session,
            letter,
            "interrupted while sending: it may or may not have been delivered; "
            "check with the recipient before sending it again",
            now,
        )
    return len(stale)


def _deliver_all(
    database: Database, settings: Settings, ids: Sequence[int], counts: DeliveryCounts
) -> DeliveryCounts:
    for position, letter_id in enumerate(ids):
        delivery = deliver(database, settings, letter_id)
        counts.add(delivery)
        if delivery.status == FAILED and not delivery.permanent:
            counts.skipped += len(ids) - position - 1  # the server is down: try them later
            break
    return counts


def _ids(
    session: Session, statuses: tuple[str, ...], only: Sequence[int] | None, limit: int | None
) -> list[int]:
    query = select(OutboxLetter.id).where(OutboxLetter.status.in_(statuses))
    if only:
        query = query.where(OutboxLetter.id.in_(list(only)))
    return list(session.scalars(query.order_by(OutboxLetter.id).limit(limit)))


def _claim(
    session: Session, settings: Settings, letter_id: int, now: datetime
) -> tuple[bytes, str] | Delivery:
    """Take the letter for this attempt (one caller wins) and compose the bytes to send."""
    taken = session.execute(
        update(OutboxLetter)
        .where(OutboxLetter.id == letter_id, OutboxLetter.status.in_((QUEUED, FAILED)))
        .values(status=SENDING, attempts=OutboxLetter.attempts + 1, last_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return Delivery(letter_id, SKIPPED)
    letter = session.get(OutboxLetter, letter_id, populate_existing=True)
    assert letter is not None
    try:
        message = compose(
            from_address=settings.from_address,
            to_email=letter.recipient,
            to_name=letter.recipient_name,
            subject=letter.subject,
            text=letter.body_text,
            html=letter.body_html,
            message_id=letter.message_id,
            in_reply_to=letter.in_reply_to,
            references=letter.references,
            auto_submitted=letter.auto_submitted,
            date=now,
        )
    except LetterError as error:
        _fail(session, letter, str(error), now)
        return Delivery(letter_id, FAILED, str(error), permanent=True)
    return message.as_bytes(policy=WIRE), letter.recipient


def _record_sent(
    session: Session, settings: Settings, letter_id: int, raw: bytes, now: datetime
) -> None:
    """The message joins the case's correspondence and timeline the moment it is accepted."""
    letter = session.get(OutboxLetter, letter_id, populate_existing=True)
    assert letter is not None
    case = session.get(Case, letter.case_id)
    sha = store_blob(session, raw)
    key = correspondence.dedupe_key(letter.message_id, sha)
    message = correspondence.find_duplicate(session, key)
    if message is None:
        name, address = parseaddr(settings.from_address)
        message = correspondence.record_message(
            session,
            NewMessage(
                dedupe_key=key,
                blob_sha256=sha,
                message_id=letter.message_id,
                direction="out",
                kind="outgoing",
                kind_reasons=[f"sent by Mailbag: letter {letter.template}"],
                from_address=address.lower(),
                from_name=name,
                to_addresses=[letter.recipient],
                subject=letter.subject,
                in_reply_to=letter.in_reply_to,
                references=letter.references,
                sent_at=now,
                body_text=letter.body_text,
                body_html=letter.body_html,
            ),
            case=case,
            constituent_id=case.constituent_id if case else None,
            thread_reason=f"sent from case {case.reference}" if case else "",
            received_at=now,
            occurred_at=now,
        )
    where = correspondence.source_values(message.id, folder=OUTBOX_FOLDER, path=str(letter.id))
    correspondence.record_source(session, where)
    letter.status, letter.sent_at, letter.error, letter.message_pk = SENT, now, "", message.id
    followups.on_letter_sent(session, settings, letter, message, now)  # wait for the reply


def _record_failure(session: Session, letter_id: int, error: str, now: datetime) -> None:
    letter = session.get(OutboxLetter, letter_id, populate_existing=True)
    assert letter is not None
    _fail(session, letter, error, now)


def _fail(session: Session, letter: OutboxLetter, error: str, now: datetime) -> None:
    """Failed, with the reason on the letter and a line on the case that staff will see."""
    letter.status, letter.error = FAILED, error
    summary = f"Not sent: {letter.template} to {letter.recipient} (attempt {letter.attempts}): "
    session.add(
        TimelineEntry(
            case_id=letter.case_id,
            kind="send_failed",
            occurred_at=now,
            summary=(summary + error)[:500],
        )
    )


def _severity(permanent: bool) -> str:
    return "permanent error" if permanent else "temporary error"

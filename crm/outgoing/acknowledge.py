"""The automatic acknowledgement of a new case, built so that no mail loop can form.

Four locks, each enough alone against a loop with another auto-responder: we answer only
constituent mail (never auto-replies, bounces, bulk or no-reply senders); our
acknowledgement says `Auto-Submitted: auto-replied`, so a well-behaved responder stays
silent; a reply to it threads to the existing case, which is never acknowledged again (a
database constraint); and one address gets at most one automatic acknowledgement a day.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.enquiries import status_links
from crm.errors import SettingsError
from crm.letters.errors import LetterError
from crm.models import Case, TimelineEntry
from crm.outgoing import directory, smtp
from crm.outgoing.models import OutboxLetter
from crm.outgoing.queue import queue_letter
from crm.settings import Settings

log = logging.getLogger(__name__)

TEMPLATE = "acknowledgement"
AUTO_SUBMITTED = "auto-replied"
WITHIN = timedelta(days=3)  # older mail is history being caught up on, not a new enquiry
PER_ADDRESS_PER_DAY = 1
_NO_REPLY_RE = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|bounces?"
    r"|auto[-_.]?(?:reply|responder|mailer)|notifications?|alerts?|listserv|majordomo)"
    r"(?:[-_.+].*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class IncomingMail:
    """What the reader of a message tells us about it; crm does not parse email itself."""

    sender: str  # the address an answer would go to
    kind: str  # the classification: "constituent", "auto_reply", "bounce", ...
    written_at: datetime
    live: bool = True  # fetched from the office's mailbox, not imported from old files
    bulk: str | None = None  # why it looks like list or bulk mail, if it does
    campaign_duplicate: bool = False
    null_return_path: bool = False  # Return-Path: <> marks machine-generated mail


@dataclass(frozen=True)
class Acknowledgement:
    """The queued letter, or the reason none was queued (for notes and tests)."""

    letter: OutboxLetter | None
    reason: str


def once_key(case: Case) -> str:
    return f"acknowledgement:case:{case.id}"


def why_not(settings: Settings, mail: IncomingMail, now: datetime) -> str | None:
    """The first reason this message must not be acknowledged, or None."""
    sender = mail.sender.strip().lower()
    office = {a.lower() for a in settings.office_addresses}
    office.add(parseaddr(settings.from_address)[1].lower())
    checks: tuple[tuple[bool, str], ...] = (
        (not settings.auto_acknowledge, "automatic acknowledgements are off"),
        (not smtp.is_configured(settings), "sending is not configured"),
        (not settings.representative_name, "the representative's name is not set"),
        (mail.kind != "constituent", f"{mail.kind} mail is never acknowledged"),
        (mail.null_return_path, "null Return-Path: machine-generated mail"),
        (mail.bulk is not None, f"bulk or list mail ({mail.bulk})"),
        (mail.campaign_duplicate, "part of a campaign already acknowledged"),
        ("@" not in sender, "no address to answer"),
        (sender in office, "the office's own address"),
        (_NO_REPLY_RE.match(sender.partition("@")[0]) is not None, "a no-reply address"),
        (not mail.live, "imported from files, not received"),
        (mail.written_at < now - WITHIN, "written too long ago to acknowledge now"),
    )
    return next((reason for failed, reason in checks if failed), None)


def acknowledge_case(
    session: Session, settings: Settings, case: Case, mail: IncomingMail, now: datetime
) -> Acknowledgement:
    """Queue the acknowledgement of a new case in the caller's transaction, at most once."""
    reason = why_not(settings, mail, now) or _why_not_here(session, mail.sender, now)
    if reason is not None:
        return Acknowledgement(None, reason)
    try:
        letter = queue_letter(
            session,
            settings,
            case,
            TEMPLATE,
            to=mail.sender,
            auto_submitted=AUTO_SUBMITTED,
            once_key=once_key(case),
            extra=_status_link(session, settings, case, now),
            now=now,
        )
    except (LetterError, SettingsError) as error:
        _note_not_sent(session, case, str(error), now)
        log.warning("acknowledgement of case %s not queued: template or settings", case.reference)
        return Acknowledgement(None, f"not queued: {error}")
    if letter is None:
        return Acknowledgement(None, "this case has already been acknowledged")
    return Acknowledgement(letter, "queued")


def _status_link(
    session: Session, settings: Settings, case: Case, now: datetime
) -> dict[str, object]:
    """The private status-page link, when the office has a web address (MAILBAG_BASE_URL)."""
    link = status_links.link_for(session, settings, case, now)
    return {"status_link": link} if link else {}


def _why_not_here(session: Session, sender: str, now: datetime) -> str | None:
    """Reasons the database knows: a directory organisation, or a daily limit reached."""
    org = directory.find_by_address(session, sender)
    if org is not None:
        return f"the sender is a third party in the directory ({org.name})"
    # Only automatic replies count: a status email (auto-generated, never an answer to
    # incoming mail) cannot start a loop, so it must not hold back a new case's acknowledgement.
    sent_today = session.scalar(
        select(func.count())
        .select_from(OutboxLetter)
        .where(
            OutboxLetter.recipient == sender.strip().lower(),
            OutboxLetter.auto_submitted == AUTO_SUBMITTED,
            OutboxLetter.created_at >= now - timedelta(days=1),
        )
    )
    if (sent_today or 0) >= PER_ADDRESS_PER_DAY:
        return "this address was acknowledged automatically in the last day"
    return None


def _note_not_sent(session: Session, case: Case, error: str, now: datetime) -> None:
    """A broken template never loses the constituent's mail: staff see why on the case."""
    summary = f"Automatic acknowledgement not sent: {error}"[:500]
    session.add(
        TimelineEntry(case_id=case.id, kind="send_failed", occurred_at=now, summary=summary)
    )

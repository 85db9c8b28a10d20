"""Status emails to constituents: referred, reply received, closed; never more than one a day.

Optional per office (MAILBAG_STATUS_EMAILS, off by default) and per case (an opt-out). The
periodic job tells each case the changes of the days before today, so everything that
happened within one day goes in one email the next day, written from the template of the
latest state. A row per case and day under UNIQUE (case, day) is claimed before the letter
is queued, and the letter carries the once-key `status:<case>:<day>`: two schedulers, or a
run repeated, send nothing twice. Letters go through the outbox (crm.outgoing), so they are
recorded on the case like any other and retried like any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from crm.access import Viewer, visible_cases
from crm.db import Database, upsert
from crm.enquiries.status_links import link_for
from crm.errors import NotFound, SettingsError
from crm.informing.changes import CLOSED, FOR_CONSTITUENTS, REFERRED, Change, changes_between
from crm.informing.models import NO_ADDRESS, QUEUED, StatusEmail, StatusEmailOptOut
from crm.letters.dates import uk_today
from crm.letters.errors import LetterError
from crm.models import Case, ConstituentEmail, TimelineEntry
from crm.outgoing import smtp
from crm.outgoing.models import QUEUED as LETTER_QUEUED
from crm.outgoing.models import OutboxLetter
from crm.outgoing.queue import queue_letter
from crm.outgoing.send import deliver
from crm.settings import Settings
from crm.tags.models import CaseTag, TagValue
from crm.types import OFFICE_ZONE, utcnow
from tagging.axes import SAFEGUARDING, Axis

log = logging.getLogger(__name__)

TEMPLATES = {
    REFERRED: "status_referred",
    "reply_received": "status_reply_received",
    CLOSED: "status_closed",
}
AUTO_SUBMITTED = "auto-generated"
# Changes older than this when first seen are history, not news (e.g. status emails just
# switched on, or a case whose opt-out was lifted): they are never sent.
LOOKBACK = timedelta(days=7)
TIMELINE_KIND = "status_emails"


@dataclass
class StatusCounts:
    """What one run did, for the command line, the logs and the tests (no personal data)."""

    cases: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    off: bool = False

    def describe(self) -> str:
        if self.off:
            return "status emails are off (MAILBAG_STATUS_EMAILS)"
        return (
            f"{self.cases} cases with news: {self.queued} status emails queued, "
            f"{self.sent} sent, {self.failed} failed, {self.skipped} skipped"
        )


def day_start(day: date) -> datetime:
    """Midnight at the start of an office day (Europe/London), as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=OFFICE_ZONE)


def send_status_emails(
    database: Database, settings: Settings, *, now: datetime | None = None
) -> StatusCounts:
    """One run: queue today's status emails for yesterday's (and older) changes, then send."""
    counts = StatusCounts()
    if not settings.status_emails:
        counts.off = True
        return counts
    if not smtp.is_configured(settings):
        raise SettingsError(
            "MAILBAG_SMTP_HOST and MAILBAG_FROM_ADDRESS are needed for status emails"
        )
    now = now or utcnow()
    today = uk_today(now)
    until = day_start(today)
    with database.session() as session:
        pending = _pending(session, until)
    counts.cases = len(pending)
    letter_ids = []
    for case_id, changes in pending.items():
        with database.session() as session:
            outcome = _claim_and_queue(session, settings, case_id, changes, today, until, now)
        if isinstance(outcome, int):
            counts.queued += 1
            letter_ids.append(outcome)
        elif outcome == "failed":
            counts.failed += 1
        else:
            counts.skipped += 1
    with database.session() as session:
        letter_ids = sorted({*letter_ids, *_left_queued(session)})
    for letter_id in letter_ids:
        delivery = deliver(database, settings, letter_id, now=now)
        counts.sent += delivery.status == "sent"
        counts.failed += delivery.status == "failed"
    log.info("status emails: %s", counts.describe())
    return counts


def opt_out(
    session: Session, reference: str, *, who: str, reason: str = "", viewer: Viewer | None = None
) -> bool:
    """No more status emails on this case; False when it was already opted out."""
    case = _case(session, reference, viewer)
    if session.get(StatusEmailOptOut, case.id) is not None:
        return False
    session.add(StatusEmailOptOut(case_id=case.id, who=who[:200], reason=reason.strip()))
    why = f": {reason.strip()}" if reason.strip() else ""
    _note(session, case.id, f"Status emails stopped by {who}{why}")
    return True


def opt_in(session: Session, reference: str, *, who: str, viewer: Viewer | None = None) -> bool:
    """Status emails again on this case (from now on); False when they were not stopped."""
    case = _case(session, reference, viewer)
    row = session.get(StatusEmailOptOut, case.id)
    if row is None:
        return False
    session.delete(row)
    # Changes while stopped stay untold: the next email starts from now.
    _mark_told(session, case.id, utcnow())
    _note(session, case.id, f"Status emails resumed by {who}")
    return True


def is_opted_out(session: Session, case_id: int) -> bool:
    return bool(session.scalar(select(opted_out(case_id))))


def opted_out(case_id: Any) -> ColumnElement[bool]:
    """Whether a case (an id, or a column of the statement) asked for no status emails, as a
    condition: the case page reads it with the case itself, not in a round trip of its own."""
    return exists().where(StatusEmailOptOut.case_id == case_id)


def _pending(session: Session, until: datetime) -> dict[int, list[Change]]:
    """Per case, the changes since its last status email (or the look-back), before `until`."""
    wanted = (
        ~opted_out(Case.id)
        & ~_safeguarding()
        & ~exists(
            select(StatusEmail.id).where(
                StatusEmail.case_id == Case.id, StatusEmail.covered_until >= until
            )
        )
    )
    found = changes_between(session, until - LOOKBACK, until, FOR_CONSTITUENTS, wanted)
    if not found:
        return {}
    told = dict(
        session.execute(
            select(StatusEmail.case_id, func.max(StatusEmail.covered_until))
            .where(StatusEmail.case_id.in_(list(found)))
            .group_by(StatusEmail.case_id)
        ).all()
    )
    pending = {}
    for case_id, changes in found.items():
        since = told.get(case_id)
        news = [c for c in changes if since is None or c.at > since]
        if news:
            pending[case_id] = news
    return pending


def _claim_and_queue(
    session: Session,
    settings: Settings,
    case_id: int,
    changes: list[Change],
    today: date,
    until: datetime,
    now: datetime,
) -> int | str:
    """The day's row for the case, then its letter; the letter id, or why there is none."""
    case = session.get(Case, case_id)
    assert case is not None
    latest = _latest(case, changes)
    has_email = session.scalar(
        select(ConstituentEmail.id).where(ConstituentEmail.constituent_id == case.constituent_id)
    )
    row = _claim(session, case_id, today, until, latest, len(changes), has_email is not None)
    if row is None:
        return "already told today"
    if has_email is None:
        return "no email address"
    try:
        with session.begin_nested():
            letter = queue_letter(
                session,
                settings,
                case,
                TEMPLATES[latest],
                auto_submitted=AUTO_SUBMITTED,
                once_key=f"status:{case.id}:{today.isoformat()}",
                extra=_context(session, settings, case, changes, latest, now),
                now=now,
            )
    except (LetterError, SettingsError) as error:
        session.delete(row)  # not told: the next run tries again
        log.warning("status email for case %s not queued: %s", case.reference, error)
        return "failed"
    if letter is None:
        return "already queued"
    row.outbox_letter_id = letter.id
    return letter.id


def _claim(
    session: Session,
    case_id: int,
    today: date,
    until: datetime,
    latest: str,
    changes: int,
    has_email: bool,
) -> StatusEmail | None:
    """Insert the case's row for today; None when another run (or process) has it."""
    inserted = session.execute(
        upsert(session, StatusEmail)
        .values(
            case_id=case_id,
            sent_on=today,
            covered_until=until,
            latest=latest,
            changes=changes,
            outcome=QUEUED if has_email else NO_ADDRESS,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["case_id", "sent_on"])
        .returning(StatusEmail.id)
    ).scalar_one_or_none()
    return session.get(StatusEmail, inserted) if inserted is not None else None


def _latest(case: Case, changes: list[Change]) -> str:
    """The state the email describes: closed if the case is closed, else the newest change."""
    if case.status == "closed" and any(c.kind == CLOSED for c in changes):
        return CLOSED
    return max(changes, key=lambda c: (c.at, c.on)).kind


def _context(
    session: Session,
    settings: Settings,
    case: Case,
    changes: list[Change],
    latest: str,
    now: datetime,
) -> dict[str, object]:
    """What the status templates see beyond the letter's usual variables."""
    newest = next(c for c in reversed(changes) if c.kind == latest)
    return {
        "changes": tuple(c.describe() for c in changes),
        "organisation": newest.party,
        "changed_on": newest.on,
        "status_link": link_for(session, settings, case, now) or "",
    }


def _left_queued(session: Session) -> list[int]:
    """Status letters still queued from an earlier run (its worker stopped before sending)."""
    return list(
        session.scalars(
            select(OutboxLetter.id)
            .join(StatusEmail, StatusEmail.outbox_letter_id == OutboxLetter.id)
            .where(OutboxLetter.status == LETTER_QUEUED)
            .order_by(OutboxLetter.id)
        )
    )


def _safeguarding() -> ColumnElement[bool]:
    """A safeguarding case gets no automatic mail: who reads the constituent's inbox is unknown."""
    return exists(
        select(CaseTag.id)
        .join(TagValue, TagValue.id == CaseTag.tag_id)
        .where(
            CaseTag.case_id == Case.id,
            CaseTag.slot == Axis.SENSITIVITY,
            func.lower(TagValue.name) == SAFEGUARDING,
        )
    )


def _mark_told(session: Session, case_id: int, when: datetime) -> None:
    """Count everything up to `when` as told, without an email (today's row, if free)."""
    today = uk_today(when)
    existing = session.scalar(
        select(StatusEmail).where(StatusEmail.case_id == case_id, StatusEmail.sent_on == today)
    )
    if existing is not None:
        existing.covered_until = max(existing.covered_until, when)
        return
    session.add(
        StatusEmail(
            case_id=case_id,
            sent_on=today,
            covered_until=when,
            latest="",
            changes=0,
            outcome="empty",
        )
    )


def _case(session: Session, reference: str, viewer: Viewer | None) -> Case:
    """The case by reference; for a person in the web view, only one they may see."""
    query = select(Case).where(Case.reference == reference.strip().upper())
    if viewer is not None:
        query = query.where(visible_cases(viewer))
    case = session.scalar(query)
    if case is None:
        raise NotFound(f"no case {reference.strip().upper()[:40]}")
    return case


def _note(session: Session, case_id: int, summary: str) -> None:
    session.add(
        TimelineEntry(
            case_id=case_id, kind=TIMELINE_KIND, occurred_at=utcnow(), summary=summary[:500]
        )
    )

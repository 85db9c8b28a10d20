"""Councillors' digests: the changes on their cases since the last one, and deadlines ahead.

Each councillor chooses daily, weekly or none. A digest is due from 07:00 office time on
its day (Monday for weekly ones). The period's row is claimed under UNIQUE (user, period)
before anything is sent, so two schedulers, or a run repeated, send at most one per period;
the email goes to SMTP with no transaction open and the row then says how it went. Which
cases a councillor hears about is crm.access's rule, the same as their view: never another
ward's case, never a restricted one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from email.utils import parseaddr

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crm.access import Viewer, visible_cases
from crm.cases import OPEN
from crm.db import Database, upsert
from crm.errors import MailbagError
from crm.informing.changes import FOR_COUNCILLORS, changes_between
from crm.informing.deadlines import due_between
from crm.informing.models import (
    DAILY,
    EMPTY,
    FAILED,
    FREQUENCIES,
    NONE,
    SENDING,
    SENT,
    WEEKLY,
    DigestPreference,
    DigestSent,
)
from crm.letters.dates import uk_long_date, uk_today
from crm.letters.errors import LetterError
from crm.letters.templates import RenderedEmail, letters_for
from crm.models import Case
from crm.outgoing import smtp
from crm.outgoing.compose import compose, new_message_id
from crm.outgoing.send import WIRE
from crm.settings import Settings
from crm.types import OFFICE_ZONE, utcnow
from crm.users.models import COUNCILLOR, User

log = logging.getLogger(__name__)

TEMPLATE = "_digest"  # not a letter on a case: "_" keeps it out of the letters list
SEND_FROM = time(7, 0)  # office time
AHEAD = timedelta(days=7)
FIRST_LOOK_BACK = timedelta(days=7)
PERMANENT = "permanent: "


class DigestError(MailbagError):
    """A digest setting cannot be changed as asked."""


@dataclass
class DigestCounts:
    """What one run did, for the command line, the logs and the tests (no personal data)."""

    due: int = 0
    sent: int = 0
    empty: int = 0
    failed: int = 0
    already: int = 0
    errors: list[str] = field(default_factory=list, repr=False)

    def describe(self) -> str:
        return (
            f"{self.due} digests due: {self.sent} sent, {self.empty} with nothing to say, "
            f"{self.already} already done this period, {self.failed} failed"
        )


@dataclass(frozen=True)
class DigestCase:
    reference: str
    subject: str
    url: str
    changes: tuple[str, ...]


@dataclass(frozen=True)
class DigestDeadline:
    reference: str
    subject: str
    url: str
    due: str
    what: str
    overdue: bool


@dataclass(frozen=True)
class Digest:
    """What one councillor's digest says; empty when there is nothing to tell."""

    cases: tuple[DigestCase, ...]
    deadlines: tuple[DigestDeadline, ...]

    @property
    def empty(self) -> bool:
        return not self.cases and not self.deadlines


def frequency_of(session: Session, user_id: int) -> str:
    row = session.get(DigestPreference, user_id)
    return row.frequency if row is not None else NONE


def set_frequency(session: Session, user: User, frequency: str) -> None:
    """A councillor's choice: daily, weekly or none."""
    if user.role != COUNCILLOR:
        raise DigestError("digests are for councillors")
    if frequency not in FREQUENCIES:
        raise DigestError(f"choose one of {', '.join(FREQUENCIES)}")
    row = session.get(DigestPreference, user.id)
    if row is None:
        session.add(DigestPreference(user_id=user.id, frequency=frequency))
    else:
        row.frequency = frequency


def period_of(frequency: str, now: datetime) -> str | None:
    """The period a digest sent now belongs to, or None before it is due (07:00, Mondays)."""
    local = now.astimezone(OFFICE_ZONE)
    if frequency == DAILY:
        return local.date().isoformat() if local.time() >= SEND_FROM else None
    if frequency == WEEKLY:
        year, week, weekday = local.isocalendar()
        if weekday == 1 and local.time() < SEND_FROM:
            return None
        return f"{year}-W{week:02d}"
    return None


def send_digests(
    database: Database, settings: Settings, *, now: datetime | None = None
) -> DigestCounts:
    """One run: every councillor whose digest is due and not yet claimed gets it, once."""
    now = now or utcnow()
    counts = DigestCounts()
    with database.session() as session:
        due = [
            (user_id, frequency, period)
            for user_id, frequency in _subscribers(session)
            if (period := period_of(frequency, now)) is not None
        ]
    counts.due = len(due)
    if due:
        smtp.SmtpConfig.from_settings(settings)  # one clear line when sending is not set up
    for user_id, frequency, period in due:
        _send_one(database, settings, user_id, frequency, period, now, counts)
    log.info("digests: %s", counts.describe())
    return counts


def gather(
    session: Session, settings: Settings, user: User, since: datetime, now: datetime
) -> Digest:
    """Changes since `since` on the cases the councillor may see, and their next deadlines."""
    visible = visible_cases(Viewer.of(user))
    changes = changes_between(session, since, now, FOR_COUNCILLORS, visible)
    open_ids = list(session.scalars(select(Case.id).where(visible, Case.status == OPEN)))
    today = uk_today(now)
    ahead = due_between(session, settings, open_ids, today, today + AHEAD)
    about = _cases(session, [*changes, *(d.case_id for d in ahead)])
    return Digest(
        cases=tuple(
            DigestCase(
                about[case_id].reference,
                about[case_id].subject or "(no subject)",
                _url(settings, about[case_id].reference),
                tuple(c.describe() for c in rows),
            )
            for case_id, rows in sorted(changes.items(), key=lambda kv: about[kv[0]].reference)
        ),
        deadlines=tuple(
            DigestDeadline(
                about[d.case_id].reference,
                about[d.case_id].subject or "(no subject)",
                _url(settings, about[d.case_id].reference),
                uk_long_date(d.due),
                d.what,
                d.overdue(today),
            )
            for d in ahead
        ),
    )


def render(
    settings: Settings, user: User, digest: Digest, frequency: str, since: datetime
) -> RenderedEmail:
    """The digest email from its template (`_digest` in the letters' folders)."""
    context = {
        "councillor": {"name": user.name or user.email, "email": user.email},
        "frequency": frequency,
        "since": uk_long_date(since),
        "digest": digest,
        "office_name": _office_name(settings),
        "view_url": f"{settings.base_url}/councillor" if settings.base_url else "",
        "settings_url": f"{settings.base_url}/councillor/digest" if settings.base_url else "",
    }
    return letters_for(settings.templates_dir).render_email(TEMPLATE, context)


def _send_one(
    database: Database,
    settings: Settings,
    user_id: int,
    frequency: str,
    period: str,
    now: datetime,
    counts: DigestCounts,
) -> None:
    with database.session() as session:
        claimed = _claim(session, user_id, frequency, period, now)
        if claimed is None:
            counts.already += 1
            return
        row_id, since = claimed
        user = session.get(User, user_id)
        assert user is not None
        digest = gather(session, settings, user, since, now)
        row = session.get(DigestSent, row_id)
        assert row is not None
        row.changes, row.deadlines = len(digest.cases), len(digest.deadlines)
        if digest.empty:
            row.status = EMPTY
            counts.empty += 1
            return
        try:
            email = render(settings, user, digest, frequency, since)
        except LetterError as error:  # a broken office template: tried again next run
            row.status, row.error = FAILED, str(error)[:1000]
            counts.failed += 1
            log.warning("digest %s not written: %s", row_id, error)
            return
        raw, address = _message(settings, user, email, now), user.email
    try:
        smtp.send(smtp.SmtpConfig.from_settings(settings), raw, [address])
    except smtp.SendError as error:
        _finish(database, row_id, FAILED, (PERMANENT if error.permanent else "") + str(error))
        counts.failed += 1
        counts.errors.append(str(error))
        log.warning("digest %s not sent (%s)", row_id, "permanent" if error.permanent else "later")
        return
    _finish(database, row_id, SENT, "", now)
    counts.sent += 1


def _claim(
    session: Session, user_id: int, frequency: str, period: str, now: datetime
) -> tuple[int, datetime] | None:
    """The period's row for this user (new, or a failed one to try again), else None."""
    since = _last_covered(session, user_id) or _chosen_at(session, user_id, now)
    inserted = session.execute(
        upsert(session, DigestSent)
        .values(
            user_id=user_id,
            period=period,
            frequency=frequency,
            covered_from=since,
            covered_until=now,
            status=SENDING,
            error="",
            changes=0,
            deadlines=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "period"])
        .returning(DigestSent.id)
    ).scalar_one_or_none()
    if inserted is not None:
        return inserted, since
    retried = session.execute(
        update(DigestSent)
        .where(
            DigestSent.user_id == user_id,
            DigestSent.period == period,
            DigestSent.status == FAILED,
            ~DigestSent.error.startswith(PERMANENT),
        )
        .values(status=SENDING, covered_until=now)
        .returning(DigestSent.id, DigestSent.covered_from)
    ).first()
    return (retried[0], retried[1]) if retried is not None else None


def _last_covered(session: Session, user_id: int) -> datetime | None:
    """Where the next digest starts: the end of the last one sent (or found empty)."""
    return session.scalar(
        select(func.max(DigestSent.covered_until)).where(
            DigestSent.user_id == user_id, DigestSent.status.in_((SENT, EMPTY, SENDING))
        )
    )


def _chosen_at(session: Session, user_id: int, now: datetime) -> datetime:
    """A first digest starts when the councillor chose it, looking back a week at most."""
    chosen = session.scalar(
        select(DigestPreference.updated_at).where(DigestPreference.user_id == user_id)
    )
    return max(chosen or now, now - FIRST_LOOK_BACK)


def _finish(
    database: Database, row_id: int, status: str, error: str, when: datetime | None = None
) -> None:
    with database.session() as session:
        row = session.get(DigestSent, row_id)
        assert row is not None
        row.status, row.error, row.sent_at = status, error[:1000], when


def _subscribers(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(
        select(DigestPreference.user_id, DigestPreference.frequency)
        .join(User, User.id == DigestPreference.user_id)
        .where(
            User.role == COUNCILLOR,
            User.active.is_(True),
            DigestPreference.frequency.in_((DAILY, WEEKLY)),
        )
        .order_by(DigestPreference.user_id)
    ).all()
    return [(user_id, frequency) for user_id, frequency in rows]


def _cases(session: Session, case_ids: list[int]) -> dict[int, Case]:
    if not case_ids:
        return {}
    return {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(set(case_ids))))}


def _message(settings: Settings, user: User, email: RenderedEmail, now: datetime) -> bytes:
    message = compose(
        from_address=settings.from_address,
        to_email=user.email,
        to_name=user.name,
        subject=email.subject,
        text=email.text,
        html=email.html,
        message_id=new_message_id(settings.from_address),
        in_reply_to=(),
        references=(),
        auto_submitted="auto-generated",
        date=now,
    )
    return message.as_bytes(policy=WIRE)


def _office_name(settings: Settings) -> str:
    return settings.office_name or parseaddr(settings.from_address)[0] or "Mailbag"


def _url(settings: Settings, reference: str) -> str:
    return f"{settings.base_url}/cases/{reference}" if settings.base_url else ""

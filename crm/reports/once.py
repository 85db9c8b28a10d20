"""The weekly email's record: a week is claimed before it is sent and marked sent after.

The week's row is unique, so of two schedulers (or a restarted one, or a retried job) one
claims the week and the others find it claimed or sent. A claim left by a process that died
mid-send is taken over once it is stale: the review may then go twice, which we accept as
the lesser harm than no review at all (see crm.reports.delivery).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from crm.db import Database
from crm.errors import MailbagError
from crm.reports.models import FAILED, SENDING, SENT, WeeklyReportSent

STALE = timedelta(minutes=30)  # far longer than making and sending one workbook takes


class ReportInProgress(MailbagError):
    """Another process is sending this week's review right now: look again later."""


def claim(database: Database, week_ending: date, now: datetime) -> bool:
    """True: send the week now. False: it was sent already. ReportInProgress: someone is."""
    with database.session() as session:
        try:
            with session.begin_nested():
                session.add(
                    WeeklyReportSent(week_ending=week_ending, state=SENDING, claimed_at=now)
                )
                session.flush()
            return True
        except IntegrityError:
            pass  # the week has a row: sent, failed, or being sent
        taken = session.execute(
            update(WeeklyReportSent)
            .where(
                WeeklyReportSent.week_ending == week_ending,
                or_(
                    WeeklyReportSent.state == FAILED,
                    and_(
                        WeeklyReportSent.state == SENDING, WeeklyReportSent.claimed_at < now - STALE
                    ),
                ),
            )
            .values(state=SENDING, claimed_at=now, error="")
            .execution_options(synchronize_session=False)
        )
        if int(taken.rowcount) == 1:  # type: ignore[attr-defined]
            return True
        state = session.scalar(
            select(WeeklyReportSent.state).where(WeeklyReportSent.week_ending == week_ending)
        )
    if state == SENT:
        return False
    raise ReportInProgress(
        f"the review of the week ending {week_ending:%Y-%m-%d} is being sent by another process"
    )


def record_sent(database: Database, week_ending: date, recipients: int, now: datetime) -> None:
    """The week went (by the periodic job or by hand): no job sends it again."""
    values = {"state": SENT, "sent_at": now, "recipients": recipients, "error": ""}
    with database.session() as session:
        marked = session.execute(
            update(WeeklyReportSent)
            .where(WeeklyReportSent.week_ending == week_ending)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if int(marked.rowcount) == 1:  # type: ignore[attr-defined]
            return
        try:
            with session.begin_nested():
                session.add(WeeklyReportSent(week_ending=week_ending, claimed_at=now, **values))
                session.flush()
        except IntegrityError:  # claimed a moment ago by a job: it will find the week sent
            session.execute(
                update(WeeklyReportSent)
                .where(WeeklyReportSent.week_ending == week_ending)
                .values(**values)
                .execution_options(synchronize_session=False)
            )


def release(database: Database, week_ending: date, error: str) -> None:
    """Sending failed: the next try may claim the week at once."""
    with database.session() as session:
        session.execute(
            update(WeeklyReportSent)
            .where(WeeklyReportSent.week_ending == week_ending, WeeklyReportSent.state == SENDING)
            .values(state=FAILED, error=error[:2000])
            .execution_options(synchronize_session=False)
        )


def last_sent(database: Database) -> date | None:
    """The latest week emailed, for the command line and the logs."""
    with database.session() as session:
        return session.scalar(
            select(WeeklyReportSent.week_ending)
            .where(WeeklyReportSent.state == SENT)
            .order_by(WeeklyReportSent.week_ending.desc())
            .limit(1)
        )

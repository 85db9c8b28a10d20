"""The weekly review as periodic work: a dramatiq actor that emails it, and the weekly
trigger (MAILBAG_REPORT_DAY at MAILBAG_REPORT_TIME, office time) the scheduler adds.

The scheduler fixes the week when it fires, so a retry the next day still sends the week
that was due. The schedule lives in the scheduler's memory: a scheduler that is down at the
appointed time sends nothing for that week (`mailbag report email` sends it by hand). Each
week sent is recorded in the database, so two schedulers, or one restarted, email it once.
"""

from __future__ import annotations

import logging
from datetime import date

import dramatiq
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from crm.errors import MailbagError, SettingsError
from crm.outgoing.smtp import SendError
from crm.reports.delivery import email_weekly_review_once
from crm.reports.errors import ReportError
from crm.reports.period import default_week_ending
from crm.settings import Settings
from crm.types import OFFICE_ZONE, utcnow
from crm.workers import broker as brokers
from crm.workers.runtime import current

log = logging.getLogger(__name__)

broker = brokers.installed()  # actors are declared on the broker of this process's settings
# A scheduler that was down a few minutes at the appointed time still sends on its return.
MISFIRE_GRACE_SECONDS = 6 * 3600


class ReportNotSent(MailbagError):
    """The SMTP server refused the review for good (a recipient, the sign-in): not retried."""


@dramatiq.actor(
    queue_name=brokers.QUEUE,
    max_retries=8,
    min_backoff=5 * 60_000,
    max_backoff=2 * 60 * 60_000,
    throws=(ReportNotSent, ReportError, SettingsError),
)
def send_weekly_report(week_ending: str | None = None) -> None:
    """Email the review of the week ending that day (yesterday when not given), unless that
    week went already; while another process sends it, a retry looks again later."""
    app = current()
    now = utcnow()
    day = date.fromisoformat(week_ending) if week_ending else default_week_ending(now)
    try:
        email_weekly_review_once(app.database, app.settings, week_ending=day, now=now)
    except SendError as error:
        if error.permanent:
            raise ReportNotSent(str(error)) from None
        raise


def request_weekly_report() -> None:
    """What the scheduler calls: the week is the one that has just ended, fixed now."""
    send_weekly_report.send(default_week_ending(utcnow()).isoformat())


def weekly_trigger(settings: Settings) -> CronTrigger:
    time = settings.report_time
    return CronTrigger(
        day_of_week=settings.report_day, hour=time.hour, minute=time.minute, timezone=OFFICE_ZONE
    )


def schedule(scheduler: BaseScheduler, settings: Settings) -> bool:
    """Add the weekly review to the scheduler when there is someone to send it to."""
    if not settings.report_recipients:
        log.info("no MAILBAG_REPORT_RECIPIENTS: the weekly review is not emailed")
        return False
    scheduler.add_job(
        request_weekly_report,
        weekly_trigger(settings),
        id="weekly_report",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
    )
    log.info(
        "weekly review every %s at %s to %s recipient(s)",
        settings.report_day,
        settings.report_time.strftime("%H:%M"),
        len(settings.report_recipients),
    )
    return True

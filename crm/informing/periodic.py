"""Status emails and digests as periodic work: dramatiq actors, and the scheduler's trigger.

Every INTERVAL the scheduler sends both actors a message. Each run reads from the database
what is due (a day's status emails, a period's digests) and claims it under a unique
constraint, so a run repeated, a message redelivered or two schedulers send nothing twice,
and a scheduler that was down catches up on its next run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import dramatiq
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from crm.errors import SettingsError
from crm.informing.digests import send_digests
from crm.informing.status_emails import send_status_emails
from crm.outgoing import smtp
from crm.settings import Settings
from crm.workers import broker as brokers
from crm.workers.runtime import current

log = logging.getLogger(__name__)

broker = brokers.installed()
INTERVAL_MINUTES = 15


@dramatiq.actor(queue_name=brokers.QUEUE, max_retries=0, throws=(SettingsError,))
def send_status_emails_now(now: str | None = None) -> None:
    """One run of the status emails; not retried: the next run is."""
    app = current()
    send_status_emails(app.database, app.settings, now=_when(now))  # logs what it did


@dramatiq.actor(queue_name=brokers.QUEUE, max_retries=0, throws=(SettingsError,))
def send_digests_now(now: str | None = None) -> None:
    """One run of the councillors' digests; not retried: the next run is."""
    app = current()
    send_digests(app.database, app.settings, now=_when(now))  # logs what it did


def request_runs() -> None:
    """What the scheduler calls: both jobs, each on its own message."""
    send_status_emails_now.send()
    send_digests_now.send()


def schedule(scheduler: BaseScheduler, settings: Settings) -> bool:
    """Add the informing jobs to the scheduler when the office can send mail."""
    if not smtp.is_configured(settings):
        log.info("no SMTP server: status emails and digests are not sent")
        return False
    scheduler.add_job(
        request_runs,
        IntervalTrigger(minutes=INTERVAL_MINUTES, timezone=UTC),
        id="informing",
        next_run_time=datetime.now(UTC),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
    )
    log.info(
        "status emails (%s) and digests every %s minutes",
        "on" if settings.status_emails else "off",
        INTERVAL_MINUTES,
    )
    return True


def _when(now: str | None) -> datetime | None:
    if not now:
        return None
    when = datetime.fromisoformat(now)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)

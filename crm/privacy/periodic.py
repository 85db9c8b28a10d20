"""The retention policy as periodic work: a dramatiq actor, sent by the scheduler every night.

Not retried: the policy looks at dates, so tomorrow's run finds whatever today's missed.
"""

from __future__ import annotations

import logging

import dramatiq
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from crm.privacy import retention
from crm.settings import Settings
from crm.types import OFFICE_ZONE
from crm.workers import broker as brokers
from crm.workers.runtime import current

log = logging.getLogger(__name__)

broker = brokers.installed()  # actors are declared on the broker of this process's settings
NIGHTLY = {"hour": 2, "minute": 40}  # office time, when nobody is reading cases


@dramatiq.actor(queue_name=brokers.QUEUE, max_retries=0, time_limit=6 * 60 * 60 * 1000)
def apply_retention() -> None:
    """Erase what the policy says is past its time; counts only in the log."""
    app = current()
    run = retention.run(app.database, app.settings)
    for outcome in run.outcomes:
        if outcome.counts:
            log.info("retention %s: %s", outcome.rule.name, outcome.counts)


def schedule(scheduler: BaseScheduler, settings: Settings) -> bool:
    """Add the nightly run unless every rule keeps everything for ever."""
    if not any(rule.days > 0 for rule in retention.rules(settings)):
        log.info("retention policy: every MAILBAG_RETAIN_*_DAYS is 0, nothing is erased")
        return False
    scheduler.add_job(
        apply_retention.send,
        CronTrigger(**NIGHTLY, timezone=OFFICE_ZONE),
        id="retention",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=6 * 3600,
    )
    return True

"""Periodic work, as dramatiq's cookbook has it: APScheduler sends the actors' messages.

The sweep runs at once on start and then every MAILBAG_SWEEP_MINUTES. The schedule lives
in this process's memory, never in Redis, and each sweep reads due dates from the
database, so a flushed Redis or a restarted scheduler loses nothing. Without Redis the
same actors run here, on dramatiq's in-process broker and worker.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import dramatiq
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from crm.settings import Settings
from crm.workers import broker as brokers

log = logging.getLogger(__name__)

IN_PROCESS_THREADS = 2


def run(settings: Settings, stop: threading.Event) -> None:
    """Schedule the sweep until `stop` is set (a signal handler sets it)."""
    from crm.workers import actors  # declared on the broker installed for these settings

    worker = _in_process_worker(actors.broker)
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        actors.sweep.send,
        IntervalTrigger(minutes=settings.sweep_minutes, timezone=UTC),
        id="sweep",
        next_run_time=datetime.now(UTC),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
    )
    from crm.reports import periodic  # the weekly review, when it has recipients

    periodic.schedule(scheduler, settings)
    from crm.informing import periodic as informing  # status emails and digests

    informing.schedule(scheduler, settings)
    from crm.privacy import periodic as retention  # the retention policy, nightly

    retention.schedule(scheduler, settings)
    scheduler.start()
    log.info("sweeping every %s minutes", settings.sweep_minutes)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        if worker is not None:
            worker.stop()  # lets the messages in hand finish


def _in_process_worker(broker: dramatiq.Broker) -> dramatiq.Worker | None:
    """With no Redis, nobody else can take the messages: a worker runs here."""
    if not brokers.in_process(broker):
        return None
    worker = dramatiq.Worker(broker, worker_threads=IN_PROCESS_THREADS, worker_timeout=100)
    worker.start()
    return worker

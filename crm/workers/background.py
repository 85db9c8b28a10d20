"""Slow work started from a request: a dramatiq message when there is Redis, a thread here
when there is not (the embedded mode, where nobody else would ever take the message).

Either way the work is the same service (`crm.campaigns.reply.reply_to_all`), which is
resumable and never sends twice, so starting it again after a stop only carries on.
"""

from __future__ import annotations

import logging
import threading

import dramatiq

from crm.campaigns.reply import reply_to_all
from crm.db import Database
from crm.errors import MailbagError
from crm.settings import Settings
from crm.workers import broker as brokers

log = logging.getLogger(__name__)

REPLY_ACTOR = "reply_to_campaign"  # crm.workers.actors.reply_to_campaign
QUEUED, STARTED, RUNNING = "queued", "started", "running"
CHECK_CHUNK = 10

_running: dict[tuple[str, int], threading.Thread] = {}
_lock = threading.Lock()


def start_campaign_reply(
    database: Database, settings: Settings, campaign_id: int, template: str
) -> str:
    """Check the reply can go (errors raise here, for the person who asked), then start it.

    Returns QUEUED (handed to the workers), STARTED (a thread here) or RUNNING (this process
    is replying to that campaign already).
    """
    # A run that sends nothing: the service's own checks, the template fixed for the
    # campaign, and the first few letters queued; sending is the background's.
    reply_to_all(database, settings, campaign_id, template, chunk=CHECK_CHUNK, limit=0)
    if settings.redis_url:
        _enqueue(settings, REPLY_ACTOR, campaign_id, template)
        return QUEUED
    return _start_thread(database, settings, campaign_id, template)


def in_process_running(database: Database, campaign_id: int) -> bool:
    """True while this process's own thread replies to the campaign."""
    with _lock:
        thread = _running.get((database.url, campaign_id))
        return thread is not None and thread.is_alive()


def wait_in_process(database: Database, campaign_id: int, timeout: float) -> bool:
    """Wait for this process's reply thread to end (for `mailbag` commands and tests)."""
    with _lock:
        thread = _running.get((database.url, campaign_id))
    if thread is not None:
        thread.join(timeout)
        return not thread.is_alive()
    return True


def _enqueue(settings: Settings, actor_name: str, *args: object) -> None:
    """A message for the workers, on the broker of these settings (not this process's own)."""
    broker = brokers.make_broker(settings)
    try:
        broker.declare_queue(brokers.QUEUE)
        broker.enqueue(
            dramatiq.Message(
                queue_name=brokers.QUEUE,
                actor_name=actor_name,
                args=args,
                kwargs={},
                options={},
            )
        )
    finally:
        broker.close()


def _start_thread(database: Database, settings: Settings, campaign_id: int, template: str) -> str:
    key = (database.url, campaign_id)
    with _lock:
        running = _running.get(key)
        if running is not None and running.is_alive():
            return RUNNING
        thread = threading.Thread(
            target=_reply,
            args=(database, settings, campaign_id, template),
            name=f"campaign-{campaign_id}-reply",
            daemon=True,
        )
        _running[key] = thread
        thread.start()
    return STARTED


def _reply(database: Database, settings: Settings, campaign_id: int, template: str) -> None:
    """The thread's whole life: the reply to all, its outcome in the log (the page shows it)."""
    try:
        state = reply_to_all(database, settings, campaign_id, template, retry_failed=True)
    except MailbagError as error:
        log.warning("campaign %s reply to all stopped: %s", campaign_id, error)
        return
    except Exception:  # the thread's boundary: nobody else would ever see this error
        log.exception("campaign %s reply to all failed", campaign_id)
        return
    log.info("campaign %s reply to all: %s", campaign_id, state.describe())

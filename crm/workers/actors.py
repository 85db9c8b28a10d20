"""dramatiq actors: the sweep, sending one chase, and the alarm when a chase keeps failing.

Retries are dramatiq's own, per actor. No deadline ever waits in the queue: the sweep finds
due follow-ups in the database, so a flushed or restarted Redis loses no chase.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import dramatiq

from crm.campaigns import reply as campaign_reply
from crm.campaigns.errors import CampaignError, ReplyIncomplete
from crm.errors import SettingsError
from crm.followups import chasing
from crm.followups import sweep as sweeps
from crm.followups.errors import ChaseFailed
from crm.informing import periodic as informing  # noqa: F401 - its actors run here too
from crm.letters.errors import LetterError
from crm.privacy import periodic as retention  # noqa: F401 - the nightly retention run
from crm.reports import periodic  # noqa: F401 - the weekly review's actor runs here too
from crm.types import utcnow
from crm.workers import broker as brokers
from crm.workers.runtime import current

log = logging.getLogger(__name__)

broker = brokers.installed()


class PermanentChaseFailure(ChaseFailed):
    """Retrying will not help (refused recipient, broken template): staff were told."""


class TemporaryChaseFailure(ChaseFailed):
    """The SMTP server is down or busy: dramatiq retries with back-off."""


@dramatiq.actor(queue_name=brokers.QUEUE, max_retries=0, time_limit=15 * 60 * 1000)
def sweep(now: str | None = None) -> None:
    """One sweep; each reserved chase goes to `send_chase`. Not retried: the next sweep is."""
    app = current()

    def dispatch(attempt_id: int) -> None:
        send_chase.send(attempt_id, now)

    sweeps.run(app.database, app.settings, now=_when(now), dispatch=dispatch)


@dramatiq.actor(queue_name=brokers.QUEUE, max_retries=0)
def chase_gave_up(message_data: dict[str, Any], retry_info: dict[str, Any]) -> None:
    """Retries exhausted: hold the follow-up and say so on the case, for staff to act."""
    app = current()
    attempt_id = int(message_data["args"][0])
    with app.database.session() as session:
        chasing.give_up(
            session, attempt_id, tries=int(retry_info.get("retries", 0)) + 1, now=utcnow()
        )


@dramatiq.actor(
    queue_name=brokers.QUEUE,
    max_retries=6,
    min_backoff=60_000,
    max_backoff=60 * 60_000,
    throws=(PermanentChaseFailure,),
    on_retry_exhausted=chase_gave_up.actor_name,
)
def send_chase(attempt_id: int, now: str | None = None) -> None:
    """Send one reserved chase; idempotent, so a redelivered message sends nothing twice."""
    app = current()
    outcome = chasing.send_attempt(app.database, app.settings, attempt_id, now=_when(now))
    if outcome.status == chasing.FAILED_NOW:
        failure = PermanentChaseFailure if outcome.permanent else TemporaryChaseFailure
        raise failure(outcome.error, permanent=outcome.permanent)
    log.info("chase attempt %s: %s", attempt_id, outcome.status)


def _when(now: str | None) -> datetime | None:
    """A sweep run for another moment (tests that travel in time, catching up by hand)."""
    if not now:
        return None
    when = datetime.fromisoformat(now)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dramatiq.actor(
    queue_name=brokers.QUEUE,
    max_retries=10,
    min_backoff=60_000,
    max_backoff=60 * 60_000,
    throws=(CampaignError, LetterError, SettingsError),
    time_limit=6 * 60 * 60 * 1000,
)
def reply_to_campaign(campaign_id: int, template: str) -> None:
    """Reply to all of a campaign in the background; a retry resumes, never sends twice."""
    app = current()
    state = campaign_reply.reply_to_all(
        app.database, app.settings, campaign_id, template, retry_failed=True
    )
    log.info("campaign %s reply to all: %s", campaign_id, state.describe())
    if not state.done and state.waiting:
        raise ReplyIncomplete(f"campaign {campaign_id}: {state.describe()}")

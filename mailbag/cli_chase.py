"""`mailbag worker|scheduler|chase|followups|chases`: waiting for third parties, and chasing."""

from __future__ import annotations

import getpass
import os
import signal
import sys
import threading
from datetime import UTC, datetime

import click

from crm.errors import MailbagError
from crm.followups import chasing, grace, service, status
from crm.followups import sweep as sweeps
from crm.letters.dates import uk_long_date
from crm.outgoing import directory as directory_service
from crm.outgoing import smtp
from crm.types import utcnow
from crm.workers import broker as brokers
from crm.workers import runtime
from crm.workers import scheduler as schedules
from mailbag import wiring
from mailbag.cli_support import friendly_errors

BY_HELP = "Who is doing this (for the timeline); default: your login name."


def _who(by: str | None) -> str:
    return by or getpass.getuser()


@click.command("worker")
@click.option("--processes", default=1, show_default=True, help="Worker processes.")
@click.option("--threads", default=4, show_default=True, help="Threads per process.")
@friendly_errors
def worker(processes: int, threads: int) -> None:
    """Run the background workers (dramatiq on MAILBAG_REDIS_URL; in-process without it)."""
    app = wiring.build()
    if not app.settings.redis_url:
        click.echo("no MAILBAG_REDIS_URL: the workers and the scheduler run in this process")
        _run_scheduler(app)
        return
    command = [sys.executable, "-m", "dramatiq", "crm.workers.actors"]
    command += ["--processes", str(processes), "--threads", str(threads)]
    command += ["--queues", brokers.QUEUE]
    os.execv(sys.executable, command)


@click.command("scheduler")
@friendly_errors
def scheduler() -> None:
    """Send the periodic work to the workers: the sweep at once, then every few minutes."""
    _run_scheduler(wiring.build())


def _run_scheduler(app: wiring.App) -> None:
    brokers.install(app.settings)
    runtime.use(app.settings, app.database)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    schedules.run(app.settings, stop)


@click.command("chase")
@click.option("--due", is_flag=True, help="Chase every follow-up that is due (required).")
@click.option("--now", "now_text", help="Sweep as if it were this ISO date-time (UTC if bare).")
@friendly_errors
def chase(due: bool, now_text: str | None) -> None:
    """Run one sweep here and now: chase, queue for approval or escalate what is due."""
    if not due:
        raise click.UsageError("say --due: chase every follow-up that is due")
    app = wiring.build()
    now = _parse_now(now_text) if now_text else utcnow()
    counts = sweeps.run(app.database, app.settings, now=now)
    click.echo(counts.describe())
    if counts.failed or counts.unknown:
        raise MailbagError("some chases were not sent: `mailbag chases list` shows them")


def _parse_now(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise MailbagError(
            f"--now: expected an ISO date-time such as 2026-12-01T09:00, got {text!r}"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@click.group("followups")
def followups() -> None:
    """Replies the office is waiting for from third parties."""


@followups.command("list")
@click.option("--escalated", is_flag=True, help="Only cases flagged for the representative.")
@friendly_errors
def followups_list(escalated: bool) -> None:
    """What each case is waiting for, and since when, soonest due first."""
    app = wiring.build()
    with app.database.session() as session:
        rows = status.escalated(session) if escalated else status.live(session)
    for row in rows:
        click.echo(f"{row.follow_up_id:>6}  {row.case_reference}  {row.status:<9} {row.describe()}")
    click.echo(f"{len(rows)} follow-ups")


@followups.command("satisfy")
@click.argument("follow_up_id", type=int)
@click.option("--reason", required=True, help="E.g. 'reply came by post on 3 Dec'.")
@click.option("--by", help=BY_HELP)
@friendly_errors
def followups_satisfy(follow_up_id: int, reason: str, by: str | None) -> None:
    """The reply came another way: no chase will go."""
    app = wiring.build()
    with app.database.session() as session:
        service.satisfy(session, follow_up_id, reason=reason, who=_who(by), now=utcnow())
    click.echo(f"follow-up {follow_up_id} satisfied")


@followups.command("extend")
@click.argument("follow_up_id", type=int)
@click.option("--days", type=int, required=True, help="How many more days to wait.")
@click.option("--reason", required=True, help="E.g. 'the council asked for two more weeks'.")
@click.option("--by", help=BY_HELP)
@friendly_errors
def followups_extend(follow_up_id: int, days: int, reason: str, by: str | None) -> None:
    """Give the third party more time before the next chase."""
    app = wiring.build()
    with app.database.session() as session:
        follow_up = service.extend(
            session, follow_up_id, days=days, reason=reason, who=_who(by), now=utcnow()
        )
        due = follow_up.due_at
    click.echo(f"follow-up {follow_up_id} now due {uk_long_date(due)}")


@followups.command("grace")
@click.option("--case", "reference", help="A case reference: its own grace period.")
@click.option("--organisation", help="An organisation in the directory: its grace period.")
@click.option("--days", type=int, help="Days to wait for a reply.")
@click.option("--working-days/--calendar-days", default=None, help="How the days are counted.")
@click.option(
    "--second-chase-days",
    type=int,
    help="With --case: days between chases (0: the organisation's or office default).",
)
@click.option("--reason", required=True, help="Why (shown with the rule).")
@click.option("--by", help=BY_HELP)
@friendly_errors
def followups_grace(
    reference: str | None,
    organisation: str | None,
    days: int | None,
    working_days: bool | None,
    second_chase_days: int | None,
    reason: str,
    by: str | None,
) -> None:
    """Set how long one case, or one organisation, has to reply (new follow-ups).

    A case's --second-chase-days applies from its next chase on; an organisation's
    interval lives in the directory (`mailbag directory add NAME --second-chase-days N`).
    """
    from crm import cases

    if (reference is None) == (organisation is None):
        raise click.UsageError("give either --case or --organisation")
    if days is not None and not 1 <= days <= 365:
        raise MailbagError("--days: expected between 1 and 365")
    app = wiring.build()
    with app.database.session() as session:
        case_id = cases.get(session, reference).id if reference else None
        org_id = directory_service.find_by_name(session, organisation).id if organisation else None
        grace.set_rule(
            session,
            case_id=case_id,
            organisation_id=org_id,
            days=days,
            working_days=working_days,
            reason=reason,
            who=_who(by),
            second_chase_days=second_chase_days,
        )
    click.echo("grace period set")


@click.group("chases")
def chases() -> None:
    """Chases waiting for approval, and chases staff must settle."""


@chases.command("list")
@friendly_errors
def chases_list() -> None:
    """The chases to approve, and any that could not be sent or may have gone."""
    app = wiring.build()
    with app.database.session() as session:
        rows = status.to_approve(session)
    for attempt, waiting in rows:
        click.echo(
            f"{attempt.id:>6}  {waiting.case_reference}  {attempt.template:<13} "
            f"{attempt.state:<17} {waiting.describe()}"
        )
        if attempt.error:
            click.echo(f"        {attempt.error}")
    click.echo(f"{len(rows)} chases waiting for staff")


@chases.command("approve")
@click.argument("attempt_id", type=int)
@click.option("--by", help=BY_HELP)
@friendly_errors
def chases_approve(attempt_id: int, by: str | None) -> None:
    """Send chase ATTEMPT_ID now (one waiting for approval, or one that failed)."""
    app = wiring.build()
    smtp.SmtpConfig.from_settings(app.settings)
    with app.database.session() as session:
        chasing.approve(session, attempt_id, who=_who(by), now=utcnow())
    _report(chasing.send_attempt(app.database, app.settings, attempt_id))


@chases.command("resolve")
@click.argument("attempt_id", type=int)
@click.option("--sent/--not-sent", "went", required=True, help="Did the chase arrive?")
@click.option("--by", help=BY_HELP)
@friendly_errors
def chases_resolve(attempt_id: int, went: bool, by: str | None) -> None:
    """Settle a chase that was interrupted mid-send; --not-sent sends it again now."""
    app = wiring.build()
    if not went:
        smtp.SmtpConfig.from_settings(app.settings)
    with app.database.session() as session:
        chasing.resolve(session, app.settings, attempt_id, went=went, who=_who(by), now=utcnow())
    if went:
        click.echo(f"chase {attempt_id} recorded as sent")
        return
    _report(chasing.send_attempt(app.database, app.settings, attempt_id))


def _report(outcome: chasing.ChaseOutcome) -> None:
    if outcome.status != chasing.SENT_NOW:
        raise MailbagError(f"chase {outcome.attempt_id} not sent: {outcome.status} {outcome.error}")
    click.echo(f"chase {outcome.attempt_id} sent")

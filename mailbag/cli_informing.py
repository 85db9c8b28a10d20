"""`mailbag digest` and `mailbag status-emails`: keeping councillors and constituents informed."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import click

from crm.errors import MailbagError
from crm.informing import digests, status_emails
from crm.types import utcnow
from mailbag import wiring
from mailbag.cli_support import friendly_errors

NOW = click.option(
    "--now", "now_text", help="Run as if it were this ISO date-time (UTC if bare), e.g. for tests."
)


def _now(text: str | None) -> datetime:
    if not text:
        return utcnow()
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise MailbagError(
            f"--now: expected an ISO date-time such as 2026-12-01T09:00, got {text!r}"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _who(by: str | None) -> str:
    try:
        return by or getpass.getuser()
    except (KeyError, OSError):
        return "command line"


@click.group("digest")
def digest() -> None:
    """Councillors' digests of their cases (each chooses daily, weekly or none)."""


@digest.command("send")
@NOW
@friendly_errors
def digest_send(now_text: str | None) -> None:
    """Send every digest that is due and not yet sent this period (for cron and tests)."""
    app = wiring.build()
    counts = digests.send_digests(app.database, app.settings, now=_now(now_text))
    click.echo(counts.describe())
    if counts.failed:
        raise MailbagError("some digests were not sent: they are tried again on the next run")


@click.group("status-emails")
def status_emails_group() -> None:
    """Status emails to constituents (MAILBAG_STATUS_EMAILS), at most one a day per case."""


@status_emails_group.command("send")
@NOW
@friendly_errors
def status_emails_send(now_text: str | None) -> None:
    """Send today's status emails for the changes of the days before (for cron and tests)."""
    app = wiring.build()
    counts = status_emails.send_status_emails(app.database, app.settings, now=_now(now_text))
    click.echo(counts.describe())
    if counts.failed:
        raise MailbagError("some status emails were not sent: `mailbag outbox list` shows them")


@status_emails_group.command("stop")
@click.argument("reference")
@click.option("--reason", default="", help="E.g. 'asked by phone on 3 Dec'.")
@click.option("--by", help="Who is doing this (for the timeline); default: your login name.")
@friendly_errors
def status_emails_stop(reference: str, reason: str, by: str | None) -> None:
    """No more status emails on one case."""
    app = wiring.build()
    with app.database.session() as session:
        changed = status_emails.opt_out(session, reference, who=_who(by), reason=reason)
    click.echo(f"{reference.upper()}: status emails {'stopped' if changed else 'already stopped'}")


@status_emails_group.command("resume")
@click.argument("reference")
@click.option("--by", help="Who is doing this (for the timeline); default: your login name.")
@friendly_errors
def status_emails_resume(reference: str, by: str | None) -> None:
    """Status emails on one case again, from now on."""
    app = wiring.build()
    with app.database.session() as session:
        changed = status_emails.opt_in(session, reference, who=_who(by))
    click.echo(f"{reference.upper()}: status emails {'resumed' if changed else 'were not stopped'}")

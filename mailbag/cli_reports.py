"""`mailbag report`: the weekly review as a workbook, or by email to the office managers."""

from __future__ import annotations

import getpass
from datetime import date, datetime
from pathlib import Path

import click

from crm.reports.delivery import email_weekly_review
from crm.reports.make import make_workbook
from crm.reports.sensitivity import AUDIENCES
from mailbag import wiring
from mailbag.cli_support import friendly_errors

WEEK_ENDING = click.option(
    "--week-ending",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The last day of the week, YYYY-MM-DD (default: yesterday).",
)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _report() -> None:
    """The weekly review: what came in, what is closed, what is stuck and with whom."""


# Declared rather than decorated: mailbag.cli imports this module at its very end, and a
# declared type is what lets the type checker follow that cycle.
report: click.Group = click.group("report")(_report)


@report.command("weekly")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The .xlsx file to write.",
)
@WEEK_ENDING
@click.option(
    "--audience",
    type=click.Choice(AUDIENCES),
    default="office_manager",
    show_default=True,
    help="Who it is for: only office managers' copies describe restricted cases.",
)
@friendly_errors
def report_weekly(out: Path, week_ending: datetime | None, audience: str) -> None:
    """Write the weekly review workbook."""
    app = wiring.build()
    made = make_workbook(
        app.database,
        app.settings,
        out,
        week_ending=_day(week_ending),
        audience=audience,
        who=f"command line ({_login()})",
    )
    withheld = made.written.withheld
    note = f", {withheld} restricted shown by reference only" if withheld else ""
    click.echo(
        f"wrote {out}: week ending {made.review.week.ending:%Y-%m-%d}, "
        f"{made.written.cases} cases{note}"
    )


@report.command("email")
@WEEK_ENDING
@friendly_errors
def report_email(week_ending: datetime | None) -> None:
    """Email the weekly review to MAILBAG_REPORT_RECIPIENTS now."""
    app = wiring.build()
    delivered = email_weekly_review(app.database, app.settings, week_ending=_day(week_ending))
    click.echo(delivered.describe())

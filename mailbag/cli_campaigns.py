"""`mailbag campaigns`: campaign mail, seen as campaigns, answered once per sender."""

from __future__ import annotations

import click

from crm.campaigns.reply import ReplyProgress, reply_to_all
from crm.campaigns.report import campaigns_this_week
from crm.campaigns.summary import campaign_rows, summary
from crm.types import office_time
from mailbag import wiring
from mailbag.cli_support import friendly_errors


@click.group()
def campaigns() -> None:
    """Campaign mail: one template letter from many senders."""


@campaigns.command("list")
@click.option("--week", is_flag=True, help="Only campaigns with letters in the last 7 days.")
@friendly_errors
def campaigns_list(week: bool) -> None:
    """Every campaign with its letters, senders and constituents."""
    app = wiring.build()
    with app.database.session() as session:
        if week:
            for w in campaigns_this_week(session):
                new = "new " if w.new else ""
                click.echo(
                    f"{w.campaign_id:>5}  {new}{w.letters} letters from {w.senders} senders "
                    f"this week ({w.kept_as_cases} kept as cases); {w.total_senders} senders, "
                    f"{w.total_constituents} constituents in all  {w.name[:50]}"
                )
            return
        rows = campaign_rows(session)
        for row in rows:
            last = f"{office_time(row.last_letter_at):%Y-%m-%d}" if row.last_letter_at else "-"
            click.echo(
                f"{row.id:>5}  {row.status:<7} {row.letters:>6} letters {row.senders:>6} senders "
                f"{row.constituents:>6} constituents  last {last}  {row.name[:50]}"
            )
    click.echo(f"{len(rows)} campaigns")


@campaigns.command("show")
@click.argument("campaign_id", type=int)
@click.option("--additions", default=20, show_default=True, help="Personal additions to show.")
@friendly_errors
def campaigns_show(campaign_id: int, additions: int) -> None:
    """The campaign page: template, senders, personal additions, kept cases, tags, reply."""
    app = wiring.build()
    with app.database.session() as session:
        shown = summary(session, app.settings, campaign_id, additions=additions)
    row = shown.row
    click.echo(f"campaign {row.id} [{row.status}]  {row.name}")
    click.echo(
        f"{row.letters} letters from {row.senders} senders: {row.constituents} constituents, "
        f"{shown.outside} outside the constituency, {shown.unknown} not known"
    )
    click.echo("\ntemplate:\n" + _indent(shown.template_text or "(not worked out yet)"))
    click.echo("\ntags (from the template): " + ", ".join(f"{a}: {v}" for a, v in shown.tags))
    click.echo(f"\npersonal additions ({len(shown.additions)} shown):")
    for addition in shown.additions:
        click.echo(f"  {addition.senders:>4} × {addition.text[:200]}")
    click.echo(f"\nkept as their own cases ({len(shown.kept)}):")
    for kept in shown.kept:
        click.echo(f"  {kept.reference} [{kept.status}] {kept.reason[:120]}")
    template = shown.reply_template or "(none chosen)"
    click.echo(f"\nreply template: {template}; {shown.reply.describe()}")


@campaigns.command("reply")
@click.argument("campaign_id", type=int)
@click.argument("template")
@click.option("--chunk", default=50, show_default=True, help="Senders queued per commit.")
@click.option(
    "--retry-failed", is_flag=True, help="Try again letters the server refused or never got."
)
@friendly_errors
def campaigns_reply(campaign_id: int, template: str, chunk: int, retry_failed: bool) -> None:
    """Send letter TEMPLATE once to every sender; run it again to resume after a stop."""
    app = wiring.build()

    def report(state: ReplyProgress) -> None:
        if state.sent % chunk == 0 or state.done:
            click.echo(state.describe())

    state = reply_to_all(
        app.database,
        app.settings,
        campaign_id,
        template,
        chunk=chunk,
        retry_failed=retry_failed,
        progress=report,
    )
    click.echo(f"campaign {campaign_id}: {state.describe()}")
    if not state.done:
        click.echo("not finished: run the same command again to carry on", err=True)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.split("\n"))

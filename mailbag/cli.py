"""The `mailbag` command line: thin commands over the parts, errors as one clear line."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

import click

from crm import cases, checkpoints, listings, migrate, quarantine
from crm import constituents as constituent_service
from crm.db import Database
from crm.settings import Settings
from crm.types import office_time
from inbox.files import survey
from inbox.importer import import_path
from inbox.retry import retry
from mailbag import demo, wiring
from mailbag.cli_campaigns import campaigns
from mailbag.cli_chase import chase, chases, followups, scheduler, worker
from mailbag.cli_enquiries import screener
from mailbag.cli_informing import digest, status_emails_group
from mailbag.cli_letters import directory, letters, outbox, send
from mailbag.cli_privacy import (
    audit_command,
    backup_command,
    erase_command,
    restore_command,
    retention_group,
    sar,
)
from mailbag.cli_reports import report
from mailbag.cli_support import friendly_errors
from mailbag.cli_tags import tags
from mailbag.cli_web import serve, user


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more detail to stderr.")
def main(verbose: bool) -> None:
    """Mailbag: the shared inbox of an MP's or councillor's office, as casework."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # mail-parser logs raw header text (personal data) even at error level; we record our own
    logging.getLogger("mailparser").setLevel(logging.CRITICAL)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Apply every schema migration that has not been applied yet."""
    settings = Settings.from_env()
    database = Database.from_settings(settings)
    migrate.upgrade(database)
    click.echo("database schema is up to date")


@main.command()
@click.option("--once", is_flag=True, help="Fetch what is new, process it and exit.")
@friendly_errors
def ingest(once: bool) -> None:
    """Read new mail from the IMAP folders (and keep reading with IDLE unless --once)."""
    from inbox.ingest import Ingester

    app = wiring.build()
    ingester = Ingester(app.settings, app.database, app.pipeline)
    if once:
        with wiring.settled_heap():
            click.echo(ingester.run_once().describe())
        return
    logging.getLogger().setLevel(logging.INFO)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: ingester.interrupt(stop))
    with wiring.settled_heap():
        ingester.run_forever(stop)


SKIPPED_SHOWN = 20  # files an import names as not mail; beyond that, how many more


@main.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@friendly_errors
def import_command(path: Path) -> None:
    """Import .eml files, mbox files and Maildirs: one, or all of those in a folder tree."""
    app = wiring.build()
    found = survey(path)
    with (
        click.progressbar(length=found.count(), label="importing", file=sys.stderr) as bar,
        wiring.settled_heap(),
    ):
        counts = import_path(app.database, app.pipeline, found, progress=bar.update)
    click.echo(counts.describe())
    for skipped, why in found.skipped[:SKIPPED_SHOWN]:
        click.echo(f"not imported: {skipped}: {why}", err=True)
    if len(found.skipped) > SKIPPED_SHOWN:
        click.echo(f"not imported: {len(found.skipped) - SKIPPED_SHOWN} more files", err=True)


@main.command("demo")
@click.option("--no-import", is_flag=True, help="Use what is already in the data directory.")
@click.option("--no-serve", is_flag=True, help="Set up the office but do not serve the web view.")
@click.option("--port", default=8000, show_default=True, type=int)
@friendly_errors
def demo_command(no_import: bool, no_serve: bool, port: int) -> None:
    """Embedded demo: SQLite under ./mailbag-data/, sample correspondence and the web view."""
    demo.run(
        Settings.from_env(),
        import_sample=not no_import,
        echo=click.echo,
        serve_port=None if no_serve else port,
    )


@main.command("cases")
@click.option("--limit", default=50, show_default=True)
@friendly_errors
def cases_command(limit: int) -> None:
    """List cases, most recent activity first."""
    app = wiring.build()
    with app.database.session() as session:
        for row in listings.case_rows(session, limit):
            click.echo(
                f"{row.reference}  {row.status:<6}  {row.messages:>3} msg  "
                f"{office_time(row.last_activity_at):%Y-%m-%d}  "
                f"{row.constituent[:24]:<24}  {row.subject[:60]}"
            )


@main.command("case")
@click.argument("reference")
@friendly_errors
def case_command(reference: str) -> None:
    """Show one case and its timeline, newest first."""
    app = wiring.build()
    with app.database.session() as session:
        case = cases.get(session, reference)
        who = case.constituent.name if case.constituent else "(no constituent)"
        click.echo(f"{case.reference}  [{case.status}]  {case.subject}\nconstituent: {who}")
        for entry in cases.timeline(session, case.id):
            click.echo(
                f"  {office_time(entry.occurred_at):%Y-%m-%d %H:%M}  "
                f"{entry.kind:<18} {entry.summary}"
            )


@main.command("not-casework")
@friendly_errors
def not_casework_command() -> None:
    """Auto-replies, bounces and unthreaded third-party mail."""
    app = wiring.build()
    with app.database.session() as session:
        for message in listings.not_casework(session):
            click.echo(f"{message.id:>6}  {message.kind:<12} {message.subject[:70]}")


@main.group("quarantine")
def quarantine_group() -> None:
    """Messages a step could not handle."""


@quarantine_group.command("list")
@friendly_errors
def quarantine_list() -> None:
    """Every message waiting in quarantine, with the step and error."""
    app = wiring.build()
    with app.database.session() as session:
        entries = quarantine.pending(session)
        for entry in entries:
            click.echo(f"{entry.id:>6}  {entry.step:<12} {entry.source}\n        {entry.error}")
        click.echo(f"{len(entries)} in quarantine")
        refused = checkpoints.pending_unreadable(session)
        if refused:
            click.echo(
                "The mail server would not give these (asked for again an hour after each try):"
            )
        for message in refused:
            where = f"{message.folder} UID {message.uid} (UIDVALIDITY {message.uidvalidity})"
            click.echo(f"        {where}, {message.attempts} tries\n        {message.error}")


@quarantine_group.command("retry")
@click.argument("ids", nargs=-1, type=int)
@friendly_errors
def quarantine_retry(ids: tuple[int, ...]) -> None:
    """Run quarantined messages (all, or the given ids) through the pipeline again."""
    app = wiring.build()
    counts = retry(app.database, app.pipeline, list(ids) or None)
    click.echo(counts.describe())


@main.group("constituents")
def constituents_group() -> None:
    """Constituent records."""


@constituents_group.command("merge")
@click.argument("keep", type=int)
@click.argument("other", type=int)
@friendly_errors
def constituents_merge(keep: int, other: int) -> None:
    """Merge constituent OTHER into KEEP (one person writing from two addresses)."""
    app = wiring.build()
    with app.database.session() as session:
        kept = constituent_service.merge(session, keep, other)
        click.echo(f"merged constituent {other} into {kept.id} ({kept.name})")


for _group in (
    letters,
    send,
    outbox,
    directory,
    tags,
    serve,
    user,
    report,
    campaigns,
    worker,
    scheduler,
    chase,
    followups,
    chases,
    sar,
    erase_command,
    retention_group,
    audit_command,
    backup_command,
    restore_command,
    digest,
    status_emails_group,
    screener,
):
    main.add_command(_group)

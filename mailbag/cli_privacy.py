"""Data protection commands: subject access, erasure, retention, the audit log, backups."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from crm.privacy import auditlog, retention
from crm.privacy import backup as backups
from crm.privacy.bundle import DirectoryBundle, write_bundle
from crm.privacy.erasure import erase, plan_person, summarise
from crm.privacy.models import REQUEST
from crm.privacy.sar import gather, record_export
from mailbag import wiring
from mailbag.cli_support import friendly_errors


def _who() -> str:
    try:
        return f"command line ({getpass.getuser()})"
    except (KeyError, OSError):
        return "command line"


@click.command("sar")
@click.argument("person")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A new directory for index.html and the original files.",
)
@friendly_errors
def sar(person: str, out: Path) -> None:
    """Export everything held about PERSON (an email address or constituent number)."""
    app = wiring.build()
    with app.database.session() as session:
        access = gather(session, person)
        files = write_bundle(session, access, DirectoryBundle(out))
        record_export(session, access, who=_who())
    click.echo(
        f"wrote {files} files to {out}: {len(access.cases)} cases, "
        f"{len(access.messages)} messages; open {out / 'index.html'}"
    )


@click.command("erase")
@click.argument("person")
@click.option("--yes", is_flag=True, help="Erase without asking.")
@friendly_errors
def erase_command(person: str, yes: bool) -> None:
    """Erase PERSON (an email address or constituent number) and all their cases."""
    app = wiring.build()
    with app.database.session() as session:
        plan = plan_person(session, person)
        preview = summarise(session, plan, REQUEST)
        click.echo(f"constituent(s) {', '.join(map(str, preview.constituent_ids))}")
        click.echo(f"cases: {', '.join(preview.references) or 'none'}")
        click.echo(f"rows: {preview.describe()}")
        if not yes and not click.confirm("Erase all of this for good?", default=False):
            click.echo("nothing erased")
            return
        done = erase(session, plan, reason=REQUEST, rule=REQUEST, who=_who())
    click.echo(f"erased (erasure log {done.log_id}): {done.describe()}")


def _retention() -> None:
    """The retention policy (MAILBAG_RETAIN_*_DAYS)."""


retention_group: click.Group = click.group("retention")(_retention)


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Say exactly what would be erased; erase nothing.")
@friendly_errors
def retention_run(dry_run: bool) -> None:
    """Erase what the policy says the office no longer needs."""
    app = wiring.build()
    run = retention.run(app.database, app.settings, dry_run=dry_run, who=_who())
    verb = "would erase" if dry_run else "erased"
    for outcome in run.outcomes:
        rule = outcome.rule
        if outcome.cutoff is None:
            click.echo(f"{rule.title}: kept for ever (MAILBAG_RETAIN_{rule.name.upper()}_DAYS=0)")
            continue
        head = f"{rule.title} (kept {rule.days} days, before {outcome.cutoff:%Y-%m-%d})"
        if not outcome.counts:
            click.echo(f"{head}: nothing")
            continue
        rows = ", ".join(f"{n} {name}" for name, n in outcome.counts.items())
        click.echo(f"{head}: {verb} {rows}")
        if outcome.references:
            click.echo(f"  cases: {', '.join(outcome.references)}")


@click.command("audit")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only entries from this day on (YYYY-MM-DD, UTC).",
)
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the entries to this CSV file (formula-safe) instead of the screen.",
)
@friendly_errors
def audit_command(since: datetime | None, csv_file: Path | None) -> None:
    """The audit log: sign-ins, views of sensitive cases, exports, erasures, permissions."""
    app = wiring.build()
    start = since.replace(tzinfo=UTC) if since else None
    if csv_file is None:
        with app.database.session() as session:
            for entry in auditlog.entries(session, start):
                line = "  ".join(auditlog.row(entry)[1:])
                click.echo(line.replace("\n", " "))
        return
    with app.database.session() as session, csv_file.open("w", newline="", encoding="utf-8") as out:
        written = auditlog.write_csv(auditlog.entries(session, start), out)
        auditlog.record_csv_export(session, who=_who(), since=start, written=written)
    click.echo(f"wrote {written} audit entries to {csv_file}")


@click.command("backup")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The backup file to write (replaced if it exists).",
)
@friendly_errors
def backup_command(out: Path) -> None:
    """A consistent copy of the embedded database, raw mail included, taken while it runs."""
    app = wiring.build(require_schema=False)
    revision = backups.backup(app.database, out)
    click.echo(f"wrote {out} ({out.stat().st_size:,} bytes, schema {revision})")


@click.command("restore")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
@friendly_errors
def restore_command(file: Path, yes: bool) -> None:
    """Replace the embedded database with a backup; the current one is kept aside."""
    app = wiring.build(require_schema=False)
    live = backups.sqlite_path(app.database)
    revision = backups.inspect(file)
    click.echo(f"{file}: a Mailbag backup, schema {revision}; it replaces {live}")
    if not yes:
        click.echo("Stop the ingester, workers and web view first.", err=True)
        if not click.confirm("Restore it?", default=False):
            click.echo("nothing restored")
            sys.exit(1)
    restored = backups.restore(app.database, file)
    aside = (
        f"; the previous database is kept as {restored.kept_aside}" if restored.kept_aside else ""
    )
    click.echo(f"restored {file}{aside}")

"""`mailbag tags`: the four-axis taxonomy, its rules and the tags on cases."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from crm import cases
from crm.tags import governance, service, spreadsheet, taxonomy
from crm.tags.deadlines import response_deadline
from mailbag import wiring
from mailbag.cli_support import friendly_errors
from tagging.axes import AXES, Axis
from tagging.workbook import WorkbookInvalid

AXIS = click.Choice([a.value for a in AXES], case_sensitive=False)


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "staff"


WHO = click.option("--who", default=_who, show_default="your login", help="Recorded in history.")


def _tags() -> None:
    """The four axes (issue, urgency, sensitivity, transferability), rules and case tags."""


# Declared rather than decorated: mailbag.cli imports this module at its very end, and a
# declared type is what lets the type checker follow that cycle.
tags: click.Group = click.group("tags")(_tags)


@tags.command("apply")
@click.option("--all", "every", is_flag=True, help="Every case.")
@click.argument("references", nargs=-1)
@friendly_errors
def tags_apply(every: bool, references: tuple[str, ...]) -> None:
    """Re-run the rules over cases (REFERENCES or --all); staff's and screener tags are kept."""
    if not every and not references:
        raise click.UsageError("name case references, or use --all")
    app = wiring.build()
    with app.database.session() as session:
        changes = service.retag(session, app.settings, None if every else list(references))
    for change in changes:
        click.echo(change.describe())
    touched = len({c.reference for c in changes})
    click.echo(f"{len(changes)} change{'s' * (len(changes) != 1)} on {touched} case(s)")


@tags.command("show")
@click.argument("reference")
@friendly_errors
def tags_show(reference: str) -> None:
    """A case's tags, with who or which rule set each and why, and the reply deadline."""
    app = wiring.build()
    with app.database.session() as session:
        case = cases.get(session, reference)
        rows = service.case_tags(session, case.id)
        for row in rows:
            label = row.axis.value if row.slot else f"{row.axis.value} (secondary)"
            click.echo(f"{label:<22} {row.tag.path}\n{'':<22} {row.source}: {row.reason}")
        deadline = response_deadline(rows, app.settings)
    if deadline is not None:
        click.echo(f"reply due {deadline.due:%a %d %b %Y} ({deadline.days} working day(s))")


@tags.command("set")
@click.argument("reference")
@click.argument("axis", type=AXIS)
@click.argument("value")
@click.option("--secondary", is_flag=True, help="Add a secondary issue.")
@click.option("--reason", default="", help="Why, for whoever reads the case next.")
@WHO
@friendly_errors
def tags_set(reference: str, axis: str, value: str, secondary: bool, reason: str, who: str) -> None:
    """Set VALUE on AXIS for case REFERENCE by hand; rules never change it afterwards."""
    app = wiring.build()
    with app.database.session() as session:
        changes = service.set_manual(
            session, reference, Axis(axis), value, who=who, reason=reason, secondary=secondary
        )
    for change in changes:
        click.echo(change.describe())
    if not changes:
        click.echo("already so: nothing changed")


@tags.command("list")
@click.option("--axis", type=AXIS, help="Only this axis.")
@click.option("--retired", is_flag=True, help="Include retired values.")
@friendly_errors
def tags_list(axis: str | None, retired: bool) -> None:
    """Values in display order, with how many cases carry each."""
    app = wiring.build()
    with app.database.session() as session:
        rows = taxonomy.listing(session, Axis(axis) if axis else None, retired=retired)
    for row in rows:
        status = "" if row.status == "active" else f"  [{row.status}]"
        aliases = f"  (also: {'; '.join(row.aliases)})" if row.aliases else ""
        click.echo(f"{row.axis.value:<16} {row.cases:>5}  {row.path}{status}{aliases}")


@tags.command("rename")
@click.argument("axis", type=AXIS)
@click.argument("old")
@click.argument("new")
@WHO
@friendly_errors
def tags_rename(axis: str, old: str, new: str, who: str) -> None:
    """Rename a value; the old name stays as an alias."""
    app = wiring.build()
    with app.database.session() as session:
        tag = taxonomy.rename(session, Axis(axis), old, new, who=who)
        click.echo(f'renamed "{old}" to "{tag.path}"')


@tags.command("retire")
@click.argument("axis", type=AXIS)
@click.argument("name")
@WHO
@friendly_errors
def tags_retire(axis: str, name: str, who: str) -> None:
    """Stop using a value: no rule proposes it and no one can choose it; cases keep it."""
    app = wiring.build()
    with app.database.session() as session:
        tag = taxonomy.retire(session, Axis(axis), name, who=who)
        click.echo(f'retired "{tag.path}"')


@tags.command("restore")
@click.argument("axis", type=AXIS)
@click.argument("name")
@WHO
@friendly_errors
def tags_restore(axis: str, name: str, who: str) -> None:
    """Bring a retired value back into use."""
    app = wiring.build()
    with app.database.session() as session:
        tag = taxonomy.restore(session, Axis(axis), name, who=who)
        click.echo(f'restored "{tag.path}"')


@tags.command("merge")
@click.argument("axis", type=AXIS)
@click.argument("source")
@click.argument("target")
@WHO
@friendly_errors
def tags_merge(axis: str, source: str, target: str, who: str) -> None:
    """Merge SOURCE into TARGET: its cases, rules and names follow."""
    app = wiring.build()
    with app.database.session() as session:
        moved = taxonomy.merge(session, Axis(axis), source, target, who=who)
    click.echo(f'merged "{source}" into "{target}": {moved} case tag(s) moved')


@tags.command("alias")
@click.argument("axis", type=AXIS)
@click.argument("name")
@click.argument("alias")
@WHO
@friendly_errors
def tags_alias(axis: str, name: str, alias: str, who: str) -> None:
    """Let ALIAS stand for the value NAME (in rules, imports and by hand)."""
    app = wiring.build()
    with app.database.session() as session:
        tag = taxonomy.alias(session, Axis(axis), name, alias, who=who)
        click.echo(f'"{alias}" now means "{tag.path}"')


@tags.command("report")
@click.option("--fewer-than", default=governance.DEFAULT_FEWER_THAN, show_default=True)
@click.option("--similarity", default=governance.DEFAULT_SIMILARITY, show_default=True)
@friendly_errors
def tags_report(fewer_than: int, similarity: float) -> None:
    """Unused values, values few cases use, and near-duplicate names."""
    app = wiring.build()
    with app.database.session() as session:
        found = governance.report(session, fewer_than=fewer_than, similarity=similarity)
    for line in found.lines():
        click.echo(line)


@tags.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@friendly_errors
def tags_export(path: Path) -> None:
    """Write the taxonomy and rules to an Excel workbook the office can edit."""
    app = wiring.build()
    with app.database.session() as session:
        spec = spreadsheet.export_workbook(session, path)
    click.echo(f"wrote {len(spec.tags)} values and {len(spec.rules)} rules to {path}")


@tags.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@WHO
@friendly_errors
def tags_import(path: Path, who: str) -> None:
    """Read the workbook back; nothing changes unless every row is valid."""
    app = wiring.build()
    try:
        with app.database.session() as session:
            summary = spreadsheet.import_workbook(session, path, who=who)
    except WorkbookInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        raise
    click.echo(summary.describe())

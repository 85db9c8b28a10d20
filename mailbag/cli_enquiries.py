"""`mailbag screener`: check the office's enquiry-form questions, or start from the shipped ones."""

from __future__ import annotations

from pathlib import Path

import click

from crm.enquiries.screener_file import DEFAULT_FILE, load_screener, screener_for
from crm.settings import Settings
from mailbag.cli_support import friendly_errors


@click.group("screener")
def screener() -> None:
    """The questions at the top of the public enquiry form, and where answers lead."""


@screener.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@friendly_errors
def check(path: Path | None) -> None:
    """Check PATH (else MAILBAG_SCREENER_FILE, else the shipped file): one line per mistake."""
    loaded = load_screener(path) if path else screener_for(Settings.from_env())
    routes = sorted({a.route for q in loaded.questions for a in q.answers if a.route})
    click.echo(
        f"{loaded.source}: {len(loaded.questions)} questions, "
        f"routes: {', '.join(routes) or 'none'}; it is ready to use"
    )


@screener.command("default")
def default() -> None:
    """Print the shipped screener file, to copy and edit (then set MAILBAG_SCREENER_FILE)."""
    click.echo(DEFAULT_FILE.read_text(encoding="utf-8"), nl=False)

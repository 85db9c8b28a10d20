"""`mailbag letters|send|outbox|directory`: letters, sending and the third-party directory."""

from __future__ import annotations

from pathlib import Path

import click

from crm.errors import MailbagError
from crm.letters.preview import preview
from crm.letters.templates import letters_for
from crm.outgoing import directory as directory_service
from crm.outgoing import outbox as outbox_service
from crm.outgoing.models import FAILED, QUEUED, SENDING, SENT, OutboxLetter
from crm.outgoing.send import retry_letters, send_letter
from crm.types import office_time
from mailbag import wiring
from mailbag.cli_support import friendly_errors

TO_HELP = "An organisation in the directory (name or part of it) or an email address."


@click.group()
def letters() -> None:
    """Letter templates: list them, preview one with a real case."""


@letters.command("list")
@friendly_errors
def letters_list() -> None:
    """Every letter the office can send; office templates override the shipped ones."""
    app = wiring.build(require_schema=False)
    for info in letters_for(app.settings.templates_dir).list():
        click.echo(f"{info.name:<22} {info.audience:<12} {info.source:<8} {info.title}")


@letters.command("preview")
@click.argument("template")
@click.argument("reference")
@click.option("--to", "to", help=TO_HELP)
@click.option("--note", default="", help="A paragraph to add to the letter.")
@click.option("--docx", "docx_path", type=click.Path(path_type=Path), help="Write the letter.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Write the HTML.")
@friendly_errors
def letters_preview(
    template: str,
    reference: str,
    to: str | None,
    note: str,
    docx_path: Path | None,
    html_path: Path | None,
) -> None:
    """Show TEMPLATE filled in with case REFERENCE's data; nothing is sent."""
    app = wiring.build()
    with app.database.session() as session:
        shown = preview(session, app.settings, template, reference, to=to, note=note)
    click.echo(f"To: {shown.recipient.email}\nSubject: {shown.subject}\n\n{shown.email.text}")
    if not shown.postal:
        click.echo("note: no postal address on record; the printed letter is addressed by email")
    if docx_path is not None:
        docx_path.write_bytes(shown.docx())
        click.echo(f"printable letter written to {docx_path}")
    if html_path is not None:
        html_path.write_text(shown.email.html, encoding="utf-8")
        click.echo(f"HTML email written to {html_path}")


@click.command("send")
@click.argument("template")
@click.argument("reference")
@click.option("--to", "to", help=TO_HELP + " Default: the constituent.")
@click.option("--note", default="", help="A paragraph to add to the letter.")
@friendly_errors
def send(template: str, reference: str, to: str | None, note: str) -> None:
    """Send letter TEMPLATE on case REFERENCE: a reply, a referral, a chase..."""
    app = wiring.build()
    delivery = send_letter(
        app.database, app.settings, reference=reference, template=template, to=to, note=note
    )
    with app.database.session() as session:
        letter = session.get(OutboxLetter, delivery.letter_id)
        assert letter is not None
        recipient, message_id = letter.recipient, letter.message_id
    if delivery.status != SENT:
        raise MailbagError(
            f"not sent: {delivery.error} (outbox letter {delivery.letter_id}; "
            f"`mailbag outbox retry {delivery.letter_id}` tries again)"
        )
    click.echo(f"sent {template} on {reference.upper()} to {recipient} <{message_id}>")


@click.group()
def outbox() -> None:
    """Letters queued, sent and failed."""


@outbox.command("list")
@click.option("--status", type=click.Choice([QUEUED, SENDING, SENT, FAILED]))
@click.option("--limit", default=50, show_default=True)
@friendly_errors
def outbox_list(status: str | None, limit: int) -> None:
    """The newest letters first, with the error of any that failed."""
    app = wiring.build()
    with app.database.session() as session:
        rows = outbox_service.recent(session, status=status, limit=limit)
        for letter, reference in rows:
            when = letter.sent_at or letter.last_attempt_at or letter.created_at
            click.echo(
                f"{letter.id:>6}  {letter.status:<7} {office_time(when):%Y-%m-%d %H:%M}  "
                f"{reference}  {letter.template:<20} {letter.recipient}"
            )
            if letter.status == FAILED:
                click.echo(f"        attempt {letter.attempts}: {letter.error}")
    click.echo(f"{len(rows)} letters")


@outbox.command("retry")
@click.argument("ids", nargs=-1, type=int)
@friendly_errors
def outbox_retry(ids: tuple[int, ...]) -> None:
    """Send queued letters and try failed ones again (all, or the given ids)."""
    app = wiring.build()
    counts = retry_letters(app.database, app.settings, list(ids) or None)
    click.echo(counts.describe())
    if counts.failed:
        raise MailbagError(f"{counts.failed} not sent: `mailbag outbox list` shows why")


@click.group()
def directory() -> None:
    """Third parties the office writes to: departments, councils, agencies."""


@directory.command("list")
@friendly_errors
def directory_list() -> None:
    """Every organisation with its addresses, domains, reply standard and chase interval."""
    app = wiring.build()
    with app.database.session() as session:
        organisations = directory_service.organisations(session)
        for org in organisations:
            chase = "auto-chase" if org.auto_chase else "no auto-chase"
            second = f"{org.second_chase_days} days" if org.second_chase_days else "default"
            click.echo(
                f"{org.name}  [{org.kind}, {org.reply_standard_days} days, {chase}, "
                f"second chase after: {second}]"
            )
            for value in [*org.emails, *(f"@{d}" for d in org.domains)]:
                click.echo(f"    {value}")
    if not organisations:
        click.echo("the directory is empty: `mailbag directory seed` adds common UK bodies")


@directory.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(directory_service.KINDS))
@click.option("--email", "emails", multiple=True, help="An address to write to (repeatable).")
@click.option("--domain", "domains", multiple=True, help="A domain its mail comes from.")
@click.option("--address", "postal_address", help="Postal address, lines separated by commas.")
@click.option("--reply-days", type=int, help="How many days it should take to reply.")
@click.option("--auto-chase/--no-auto-chase", default=None, help="Chase it automatically.")
@click.option("--second-chase-days", type=int, help="Days between chases (0: office default).")
@friendly_errors
def directory_add(
    name: str,
    kind: str | None,
    emails: tuple[str, ...],
    domains: tuple[str, ...],
    postal_address: str | None,
    reply_days: int | None,
    auto_chase: bool | None,
    second_chase_days: int | None,
) -> None:
    """Add organisation NAME, or change the one of that name (only what is given)."""
    from crm.followups import grace

    app = wiring.build()
    with app.database.session() as session:
        org = directory_service.add_organisation(
            session,
            name,
            kind=kind,
            emails=emails,
            domains=domains,
            postal_address=postal_address,
            reply_standard_days=reply_days,
            auto_chase=auto_chase,
        )
        if second_chase_days is not None:
            grace.set_second_chase_days(session, org, second_chase_days)
        click.echo(f"{org.name}: {', '.join([*org.emails, *org.domains]) or 'no addresses yet'}")


@directory.command("seed")
@friendly_errors
def directory_seed() -> None:
    """Add the common UK bodies the directory ships with (keeps every existing entry)."""
    app = wiring.build()
    with app.database.session() as session:
        added = directory_service.seed_directory(session)
    click.echo(f"{added} organisations added")

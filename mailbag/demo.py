"""`mailbag demo`: an embedded office with sample correspondence, no servers needed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import listings, migrate
from crm.db import Database
from crm.settings import Settings
from crm.users.models import CASEWORKER, COUNCILLOR, OFFICE_MANAGER, User
from crm.users.service import create_user
from inbox.importer import import_path
from inbox.pipeline import Pipeline

DEMO_OFFICE_ADDRESS = "casework@office.example.org.uk"
DEMO_THIRD_PARTIES = ("homes.example.org.uk", "energy.example.co.uk")
# Printed on screen: a demo on one machine, never an office's real accounts.
DEMO_PASSWORD = "mailbag-demo-only"
DEMO_USERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("caseworker@office.example.org.uk", CASEWORKER, "Casey Worker", ()),
    ("manager@office.example.org.uk", OFFICE_MANAGER, "Morgan Manager", ()),
    ("councillor@council.example.org.uk", COUNCILLOR, "Cllr Alex Ward", ("EX2", "EX3")),
)


def demo_settings(settings: Settings) -> Settings:
    """The sample office's own address and partner bodies, unless the environment names them."""
    if settings.office_addresses:
        return settings
    return dataclasses.replace(
        settings,
        office_addresses=frozenset({DEMO_OFFICE_ADDRESS}),
        third_party_domains=(*settings.third_party_domains, *DEMO_THIRD_PARTIES),
    )


def sample_mail() -> Path:
    return Path(str(resources.files("mailbag") / "demo_mail"))


def run(
    settings: Settings,
    *,
    import_sample: bool,
    echo: Callable[[str], None],
    serve_port: int | None = None,
) -> None:
    settings = demo_settings(settings)
    database = Database.from_settings(settings)
    migrate.upgrade(database)
    if import_sample:
        counts = import_path(database, Pipeline(settings), sample_mail())
        echo(f"imported the sample office's mail: {counts.describe()}")
    with database.session() as session:
        rows = listings.case_rows(session, limit=200)
    echo(f"\n{len(rows)} cases in {database.url}:")
    for row in rows:
        echo(f"  {row.reference}  {row.status:<6} {row.constituent[:24]:<24} {row.subject[:60]}")
    echo(
        "\nNext: `mailbag case REFERENCE` shows a case's timeline, `mailbag not-casework` the "
        "auto-replies and bounces, `mailbag quarantine list` anything that could not be read."
    )
    with database.session() as session:
        added = demo_users(session)
    echo(f"\nThe sample office ({added} new users); sign in with any of these:")
    for email, role, _name, _wards in DEMO_USERS:
        echo(f"  {role:<15} {email:<38} password: {DEMO_PASSWORD}")
    if serve_port is None:
        return
    from mailbag import cli_web, wiring

    app = cli_web.web_app(wiring.App(settings, database, Pipeline(settings)))
    echo(f"\nThe web view: http://127.0.0.1:{serve_port}/  (Ctrl-C stops it)")
    cli_web.run_server(app, "127.0.0.1", serve_port)


def demo_users(session: Session) -> int:
    """A caseworker, an office manager and a councillor for the demo wards; once only."""
    added = 0
    for email, role, name, wards in DEMO_USERS:
        if session.scalar(select(User.id).where(User.email == email)) is None:
            create_user(
                session, email, DEMO_PASSWORD, role=role, name=name, wards=wards, who="demo"
            )
            added += 1
    return added

"""`mailbag demo`: an embedded office with sample correspondence, no servers needed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from crm import listings, migrate
from crm.db import Database
from crm.settings import Settings
from inbox.importer import import_path
from inbox.pipeline import Pipeline

DEMO_OFFICE_ADDRESS = "casework@office.example.org.uk"
DEMO_THIRD_PARTIES = ("homes.example.org.uk", "energy.example.co.uk")


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


def run(settings: Settings, *, import_sample: bool, echo: Callable[[str], None]) -> None:
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

"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.db import Database
from crm.settings import Settings
from inbox.pipeline import Pipeline
from tests.support import databases

pytest_plugins = ["tests.support.imap_fixtures", "tests.support.smtp_fixtures"]

OFFICE = "casework@office.example.org.uk"
CORPUS = Path(__file__).parent / "data" / "corpus"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return databases.sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = databases.create_postgres_database()
    yield url
    databases.drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def database(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[Database]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        db = databases.sqlite_copy(sqlite_template, tmp_path)
        yield db
        db.dispose()
    else:
        yield from databases.postgres_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", office_addresses=frozenset({OFFICE}))


@pytest.fixture
def pipeline(settings: Settings) -> Pipeline:
    return Pipeline(settings)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: no test may be skipped for want of a service."""
    import os

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("MAILBAG_FAIL_ON_SKIP") == "1" and skipped:
        if reporter:
            reporter.write_line(f"{skipped} test(s) skipped: not allowed here", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

"""Pytest fixtures for tests that send mail to a real SMTP server (load with `pytest_plugins`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.settings import Settings
from tests.support.smtp import SmtpServer

OFFICE = "casework@office.example.org.uk"


@pytest.fixture(scope="session")
def smtp_session_server() -> Iterator[SmtpServer]:
    """One aiosmtpd for the whole session (import it with `smtp_server`)."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def smtp_server(smtp_session_server: SmtpServer) -> Iterator[SmtpServer]:
    """The suite's SMTP server, emptied for each test."""
    smtp_session_server.clear()
    yield smtp_session_server
    smtp_session_server.clear()


@pytest.fixture
def sending_settings(tmp_path: Path, smtp_server: SmtpServer) -> Settings:
    """The demo office, sending through the test SMTP server."""
    return office_settings(tmp_path, smtp_server.port)


def office_settings(tmp_path: Path, port: int, **changes: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "office_addresses": frozenset({OFFICE}),
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_starttls": False,
        "smtp_timeout": 5,
        "from_address": f"Office of Jane Doe MP <{OFFICE}>",
        "representative_name": "Jane Doe MP",
        "office_postal_address": ("1 Market Square", "Exampletown", "EX1 1NS"),
        "office_phone": "020 7946 0123",
        "office_signature": ("Jane Doe MP", "Member of Parliament for Exampletown"),
    }
    return Settings(**(values | changes))  # type: ignore[arg-type]

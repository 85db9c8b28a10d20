"""Test databases: a migrated SQLite file per test, and a PostgreSQL database per session."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

import crm.schema  # noqa: F401 - registers every table
from crm import migrate
from crm.db import Database
from crm.models import Base

POSTGRES_ADMIN_URL = os.environ.get(
    "MAILBAG_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def sqlite_template(directory: Path) -> Path:
    """Migrate once; each test copies the file, which is far quicker than migrating."""
    path = directory / "template.sqlite3"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    database.dispose()
    return path


def sqlite_copy(template: Path, directory: Path) -> Database:
    path = directory / f"{uuid.uuid4().hex}.sqlite3"
    shutil.copyfile(template, path)
    return Database(f"sqlite:///{path}")


def create_postgres_database() -> str:
    """A new, migrated PostgreSQL database; a server that is down fails the run, never skips."""
    name = f"mailbag_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is needed at {POSTGRES_ADMIN_URL} and is not reachable: {error}")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    return url


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_all(database: Database) -> None:
    """Empty every table between tests, keeping the schema (PostgreSQL)."""
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def postgres_database(url: str) -> Iterator[Database]:
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        truncate_all(Database(url))

"""Odd query values on the pages answer normally (never a 500), and a long timeline pages on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from crm.db import Database
from crm.models import Case, TimelineEntry
from crm.settings import Settings
from inbox.pipeline import Pipeline
from tests.support.web import CASEWORKER, COUNCILLOR, Office, build_office, sign_in
from web.app import create_app

SECRET = "test-secret-key-" + "y" * 32

ODD_URLS = [
    "/?q=%00",
    "/?page=%C2%B2",
    "/?page=99999999999999999999",
    "/?owner=%C2%B2",
    "/?owner=99999999999999999999",
    "/?campaign=%C2%B2",
    "/?status=%00&issue=%00&ward=%00&waiting=%00",
]


@pytest.fixture
def office(database: Database, pipeline: Pipeline) -> Office:
    return build_office(database, pipeline)


@pytest.fixture
def client(database: Database, sending_settings: Settings, office: Office) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(sending_settings, database, secret_key=SECRET)) as test_client:
        yield test_client


@pytest.mark.parametrize("url", ODD_URLS)
def test_odd_list_filters_are_ignored_not_errors(client: TestClient, url: str) -> None:  # type: ignore[type-arg]
    sign_in(client, CASEWORKER)
    response = client.get(url)
    assert response.status_code == 200, response.text[:300]
    assert "Damp and mould" in response.text  # the list still lists


@pytest.mark.parametrize("url", ["/councillor?page=99999999999999999999", "/councillor?q=%00"])
def test_odd_councillor_filters_are_ignored(client: TestClient, url: str) -> None:  # type: ignore[type-arg]
    sign_in(client, COUNCILLOR)
    assert client.get(url).status_code == 200


def test_a_reference_with_a_nul_is_simply_not_found(client: TestClient) -> None:  # type: ignore[type-arg]
    sign_in(client, CASEWORKER)
    assert client.get("/cases/MB%00").status_code == 404


def test_older_timeline_entries_are_reached_by_the_link(
    client: TestClient,  # type: ignore[type-arg]
    database: Database,
    office: Office,
) -> None:
    with database.session() as session:
        case = session.scalars(select(Case).where(Case.reference == office.in_ward)).one()
        start = datetime(2020, 1, 1, tzinfo=UTC)
        for n in range(120):
            session.add(
                TimelineEntry(
                    case_id=case.id,
                    kind="note",
                    occurred_at=start + timedelta(hours=n),
                    summary=f"entry number {n:03d}",
                )
            )
    sign_in(client, CASEWORKER)
    seen: set[str] = set()
    url = f"/cases/{office.in_ward}"
    for _ in range(10):
        page = client.get(url)
        assert page.status_code == 200
        seen.update(re.findall(r"entry number (\d{3})", page.text))
        older = re.search(r'href="(\?before=\d+)[^"]*"', page.text)
        if older is None:
            break
        url = f"/cases/{office.in_ward}{older[1]}"
    assert seen == {f"{n:03d}" for n in range(120)}

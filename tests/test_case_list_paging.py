"""The case list counts only up to a cap, and not at all on its last page; search finds a
case by each kind of fragment, once; the case page's timeline pages newest first, by key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm import casefile, caselist
from crm.access import Viewer
from crm.casefile import open_case_file
from crm.caselist import CaseFilters, case_page
from crm.db import Database
from crm.errors import NotFound
from crm.models import Blob, Case, Constituent, ConstituentEmail, Message, TimelineEntry
from crm.notes import CaseNote
from crm.settings import Settings
from crm.tags.seed import ensure_seeded
from crm.tags.service import set_manual
from crm.users.models import CASEWORKER, COUNCILLOR, OFFICE_MANAGER
from crm.users.service import create_user
from tagging.axes import Axis

MANAGER = Viewer(1, "max@office.example.org.uk", OFFICE_MANAGER)  # sees every case
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BLOB = "0" * 64


def add_cases(database: Database, count: int) -> None:
    """MB-2026-000001 … in order of activity; the first belongs to Ada and holds a letter."""
    with database.session() as session:
        session.add(Blob(sha256=BLOB, size=0, data=b""))
        ada = Constituent(name="Ada Lovelace", postcode="EX4 6PQ")
        session.add(ada)
        session.flush()
        session.add(ConstituentEmail(email="ada@example.com", constituent_id=ada.id))
        for n in range(1, count + 1):
            session.add(
                Case(
                    reference=f"MB-2026-{n:06d}",
                    subject=f"Case {n}",
                    constituent_id=ada.id if n == 1 else None,
                    opened_at=START,
                    last_activity_at=START + timedelta(hours=n),
                )
            )
        session.flush()
        first = session.query(Case).filter_by(reference="MB-2026-000001").one()
        for kind in ("constituent", "outgoing"):  # two letters: the case is still listed once
            session.add(
                Message(
                    dedupe_key=f"<{kind}@example.com>",
                    blob_sha256=BLOB,
                    direction="in" if kind == "constituent" else "out",
                    kind=kind,
                    case_id=first.id,
                    body_text="The ceiling tiles may contain ASBESTOS, the surveyor said.",
                )
            )


def references(page: object) -> list[str]:
    return [row.reference[-1] for row in page.rows]  # type: ignore[attr-defined]


def test_the_count_stops_at_the_cap_and_says_so(database: Database) -> None:
    add_cases(database, 5)
    with database.session() as session:
        listing = case_page(session, MANAGER, CaseFilters(per_page=2), count_cap=3)
    assert references(listing) == ["5", "4"]  # newest activity first
    assert (listing.total, listing.more, listing.total_label) == (3, True, "3+")
    with database.session() as session:
        exact = case_page(session, MANAGER, CaseFilters(per_page=2), count_cap=10)
    assert (exact.total, exact.more, exact.total_label, exact.pages) == (5, False, "5", 3)


def test_paging_on_past_the_cap_always_offers_the_next_page(database: Database) -> None:
    # Given 8 cases, counted to 3 past each page's start, two to a page
    add_cases(database, 8)
    seen, pages = [], []
    for number in range(1, 5):
        with database.session() as session:
            listing = case_page(session, MANAGER, CaseFilters(per_page=2, page=number), count_cap=3)
        seen += references(listing)
        pages.append((listing.pages, listing.more))
    # Then every page says there is one more until the last, which is counted exactly
    assert seen == ["8", "7", "6", "5", "4", "3", "2", "1"]
    assert pages == [(2, True), (3, True), (4, True), (4, False)]


def test_the_last_page_needs_no_count_and_a_page_past_the_end_still_gets_one(
    database: Database,
) -> None:
    add_cases(database, 5)
    with database.session() as session:
        last = case_page(session, MANAGER, CaseFilters(per_page=2, page=3))
        whole = case_page(session, MANAGER, CaseFilters(per_page=50))
        past = case_page(session, MANAGER, CaseFilters(per_page=2, page=9))
    assert (references(last), last.total, last.pages) == (["1"], 5, 3)
    assert (len(whole.rows), whole.total, whole.pages) == (5, 5, 1)
    assert (past.rows, past.total) == ([], 5)


def test_search_finds_a_case_by_each_kind_of_fragment_and_lists_it_once(
    database: Database,
) -> None:
    add_cases(database, 5)
    for text in ("asbestos", "EX4 6pq", "ada@exa", "lovelace", "mb-2026-000001", "case 1"):
        with database.session() as session:
            found = case_page(session, MANAGER, CaseFilters(search=text))
        assert (references(found), found.total) == (["1"], 1), text
    with database.session() as session:
        assert case_page(session, MANAGER, CaseFilters(search="100%")).rows == []
        assert references(case_page(session, MANAGER, CaseFilters(search="case"))) == [
            "5",
            "4",
            "3",
            "2",
            "1",
        ]


def test_a_search_that_finds_more_than_it_sorts_apart_lists_the_same_pages(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 6 cases a search for "case" finds, and a search sorted apart only up to 3 cases
    add_cases(database, 6)
    monkeypatch.setattr(caselist, "SEARCH_FIRST_MAX", 3)
    seen, totals = [], []
    for number in range(1, 5):  # the fourth page is past the end
        with database.session() as session:
            listing = case_page(
                session, MANAGER, CaseFilters(search="case", per_page=2, page=number)
            )
        seen += references(listing)
        totals.append(listing.total)
    # Then the broad search goes through the list's own query: every case once, counted
    assert seen == ["6", "5", "4", "3", "2", "1"]
    assert totals == [6, 6, 6, 6]
    with database.session() as session:  # a narrow one is still sorted apart
        narrow = case_page(session, MANAGER, CaseFilters(search="asbestos"))
    assert (references(narrow), narrow.total) == (["1"], 1)


def test_the_timeline_pages_newest_first_without_losing_entries_that_share_a_time(
    database: Database,
) -> None:
    add_cases(database, 1)
    moments = [START, START + timedelta(hours=1), START + timedelta(hours=1), START + timedelta(2)]
    with database.session() as session:
        case = session.query(Case).one()
        for n, moment in enumerate(moments):
            session.add(
                TimelineEntry(case_id=case.id, kind="note", occurred_at=moment, summary=f"{n}")
            )
    seen: list[str] = []
    before = None
    for _ in range(3):
        with database.session() as session:
            file = open_case_file(
                session, Settings(), MANAGER, "mb-2026-000001", limit=2, before=before
            )
        seen += [entry.summary for entry in file.timeline]
        before = file.older
        if before is None:
            break
    assert seen == ["3", "2", "1", "0"]  # the two entries at one time: the later id first


def test_the_case_page_shows_every_pinned_note_and_only_the_newest_notes(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a case with 6 notes, the oldest two pinned, and a page that shows the newest 3
    add_cases(database, 1)
    monkeypatch.setattr(casefile, "NOTES_LIMIT", 3)
    with database.session() as session:
        case = session.query(Case).one()
        for n in range(6):
            at = START + timedelta(minutes=n)
            session.add(CaseNote(case_id=case.id, body=f"{n}", pinned=n < 2, created_at=at))
    with database.session() as session:
        file = open_case_file(session, Settings(), MANAGER, "MB-2026-000001")
        # Then both pinned notes show above, newest first, and the list has the newest 3
        assert [note.body for note in file.pinned] == ["1", "0"]
        assert [note.body for note in file.notes] == ["5", "4", "3"]


def test_a_councillors_list_is_counted_only_to_the_councillors_cap(
    database: Database, monkeypatch
) -> None:
    add_cases(database, 5)
    with database.session() as session:  # every case is Ada's, in the councillor's ward
        ada = session.query(Constituent).filter_by(name="Ada Lovelace").one()
        session.query(Case).update({Case.constituent_id: ada.id})
    monkeypatch.setattr("crm.caselist.COUNCILLOR_COUNT_CAP", 3)
    councillor = Viewer(2, "cllr@council.example.org.uk", COUNCILLOR, ("EX4",))
    with database.session() as session:
        theirs = case_page(session, councillor, CaseFilters(per_page=2))
        everyone = case_page(session, MANAGER, CaseFilters(per_page=2))
    assert references(theirs) == ["5", "4"]
    assert (theirs.total, theirs.more, theirs.total_label) == (3, True, "3+")
    assert (everyone.total, everyone.more, everyone.total_label) == (5, False, "5")


def test_the_case_page_asks_who_is_looking_each_time(database: Database) -> None:
    """The case's statement is built once for each role: the person is bound when it runs,
    so one caseworker's right to a restricted case is never another's."""
    add_cases(database, 2)
    with database.session() as session:
        ensure_seeded(session)
        cara, cole = (
            Viewer.of(create_user(session, email, "a long password", role=CASEWORKER))
            for email in ("cara@office.example.org.uk", "cole@office.example.org.uk")
        )
        set_manual(session, "MB-2026-000002", Axis.SENSITIVITY, "Safeguarding", who="max")
        session.query(Case).filter_by(reference="MB-2026-000002").one().owner_id = cara.user_id
    assigned, other = cara, cole
    for viewer in (assigned, other, assigned, other):
        with database.session() as session:
            if viewer is assigned:
                file = open_case_file(session, Settings(), viewer, "MB-2026-000002")
                assert file.restricted and file.case.reference == "MB-2026-000002"
            else:
                with pytest.raises(NotFound):
                    open_case_file(session, Settings(), viewer, "MB-2026-000002")
                # ... and the case that is not restricted, on the same statement
                assert open_case_file(session, Settings(), viewer, "MB-2026-000001").emails

"""A councillor's wards are read from a copy of the constituent's postcode that each case
carries, kept by triggers (migration 0021): whatever moves a case or corrects a postcode, the
copy follows, and a councillor sees exactly the cases whose person lives in their wards."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from crm import constituents
from crm.access import Viewer, visible_cases
from crm.caselist import CaseFilters, case_page
from crm.constituents import ContactHints
from crm.db import Database
from crm.models import Case, Constituent
from crm.users.models import COUNCILLOR
from tests.support.locks import second_waits_for_first

EXETER = Viewer(97, "cllr.exeter@council.example.org.uk", COUNCILLOR, wards=("EX4",))
TOPSHAM = Viewer(96, "cllr.topsham@council.example.org.uk", COUNCILLOR, wards=("EX3 0",))
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

CARRIED_AND_HELD = text(
    "SELECT c.reference, c.constituent_postcode, upper(p.postcode) FROM cases c "
    "LEFT JOIN constituents p ON p.id = c.constituent_id ORDER BY c.reference"
)


def person(session: Session, email: str, postcode: str | None) -> int:
    return constituents.create(session, email, ContactHints(name=email, postcode=postcode)).id


def open_case(session: Session, reference: str, constituent_id: int | None) -> int:
    case = Case(
        reference=reference,
        constituent_id=constituent_id,
        opened_at=START,
        last_activity_at=START,
    )
    session.add(case)
    session.flush()
    return case.id


def seen_by(database: Database, viewer: Viewer) -> set[str]:
    """What the councillor's list and a single-case check both show, after checking that each
    case's copy is its person's postcode."""
    with database.session() as session:
        for reference, carried, held in session.execute(CARRIED_AND_HELD):
            assert carried == held, reference
        listed = {row.reference for row in case_page(session, viewer, CaseFilters()).rows}
        checked = set(session.scalars(select(Case.reference).where(visible_cases(viewer))))
    assert listed == checked
    return listed


def test_the_copy_follows_new_cases_corrections_moves_and_merges(database: Database) -> None:
    with database.session() as session:
        mary = person(session, "mary@example.com", "ex4 6pq")  # as typed: lower case
        sam = person(session, "sam@example.com", None)
        open_case(session, "MB-2026-000001", mary)
        open_case(session, "MB-2026-000002", sam)
        open_case(session, "MB-2026-000003", None)  # nobody yet
    assert seen_by(database, EXETER) == {"MB-2026-000001"}
    assert seen_by(database, TOPSHAM) == set()

    with database.session() as session:  # Mary's postcode corrected: her case moves ward
        session.get_one(Constituent, mary).postcode = "EX3 0AB"
    assert seen_by(database, EXETER) == set()
    assert seen_by(database, TOPSHAM) == {"MB-2026-000001"}

    with database.session() as session:  # Sam, who gave no postcode, is Mary: merged
        constituents.merge(session, mary, sam)
    assert seen_by(database, TOPSHAM) == {"MB-2026-000001", "MB-2026-000002"}

    with database.session() as session:  # the third case given to someone, past the ORM
        alex = person(session, "alex@example.com", "EX4 1AA")
        session.execute(
            update(Case).where(Case.reference == "MB-2026-000003").values(constituent_id=alex)
        )
    assert seen_by(database, EXETER) == {"MB-2026-000003"}

    with database.session() as session:  # a postcode taken away takes the case out too
        session.get_one(Constituent, alex).postcode = None
    assert seen_by(database, EXETER) == set()


def test_a_postcode_corrected_while_a_case_is_opened_reaches_the_case(
    database: Database,
) -> None:
    """One transaction opens a case for a person while another corrects their postcode: the
    correction waits for the case (which holds a share lock on the person) and then
    updates it too."""
    if database.is_sqlite:
        return  # SQLite has one writer at a time
    with database.session() as session:
        mary = person(session, "mary@example.com", "EX4 6PQ")
    second_waits_for_first(
        database,
        lambda session: open_case(session, "MB-2026-000001", mary),  # holds a share lock
        lambda session: session.execute(
            update(Constituent).where(Constituent.id == mary).values(postcode="EX3 0AB")
        ),
        "the correction never waited for the new case",
    )
    assert seen_by(database, TOPSHAM) == {"MB-2026-000001"}
    assert seen_by(database, EXETER) == set()

"""The lists' access check reads a copy of each case's sensitivity that triggers on case_tags
keep (migration 0019): whatever writes the tags, the copy follows, and a caseworker's list
hides exactly the cases the record says are restricted."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from crm.access import Viewer, restricted
from crm.caselist import CaseFilters, case_page
from crm.db import Database, insert_rows
from crm.models import Case
from crm.tags import service, taxonomy
from crm.tags.models import CaseTag, TagValue
from crm.tags.seed import ensure_seeded
from crm.users.models import CASEWORKER
from tagging.axes import PERSONAL, SAFEGUARDING, SPECIAL_CATEGORY, STANDARD, Axis

ANOTHER_CASEWORKER = Viewer(99, "someone@office.example.org.uk", CASEWORKER)  # owns nothing
REFERENCE = "MB-2026-000001"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def sensitivity(session: Session, name: str) -> int:
    found = select(TagValue.id).where(TagValue.axis == Axis.SENSITIVITY, TagValue.name == name)
    return session.scalars(found).one()


def state(database: Database) -> tuple[int | None, bool, bool]:
    """The copy, the record's word on it, and whether another caseworker's list shows it."""
    with database.session() as session:
        case = session.scalars(select(Case).where(Case.reference == REFERENCE)).one()
        listed = case_page(session, ANOTHER_CASEWORKER, CaseFilters()).rows
        return case.sensitivity_id, restricted(session, case.id), bool(listed)


def test_the_copy_follows_every_way_the_tags_are_written(database: Database) -> None:
    with database.session() as session:
        ensure_seeded(session)
        session.add(Case(reference=REFERENCE, opened_at=START, last_activity_at=START))
        session.flush()
        ids = {name: sensitivity(session, name) for name in (STANDARD, PERSONAL, SAFEGUARDING)}
        ids[SPECIAL_CATEGORY] = sensitivity(session, SPECIAL_CATEGORY)
    assert state(database) == (None, False, True)  # no sensitivity yet: listed

    for name, hidden in [(SAFEGUARDING, True), (PERSONAL, False), (SPECIAL_CATEGORY, True)]:
        with database.session() as session:  # the tag service: an UPDATE of the slot's row
            service.set_manual(session, REFERENCE, Axis.SENSITIVITY, name, who="test")
        assert state(database) == (ids[name], hidden, not hidden), name

    with database.session() as session:  # a taxonomy merge moves the cases' rows
        taxonomy.merge(session, Axis.SENSITIVITY, SPECIAL_CATEGORY, STANDARD, who="test")
    assert state(database) == (ids[STANDARD], False, True)

    with database.session() as session:  # the row deleted: no sensitivity, listed
        session.execute(delete(CaseTag).where(CaseTag.slot == Axis.SENSITIVITY))
    assert state(database) == (None, False, True)

    with database.session() as session:  # a bulk insert, past the ORM
        case_id = session.scalars(select(Case.id)).one()
        row = {"case_id": case_id, "tag_id": ids[SAFEGUARDING], "axis": Axis.SENSITIVITY}
        insert_rows(session, CaseTag, [{**row, "slot": Axis.SENSITIVITY, "source": "manual"}])
    assert state(database) == (ids[SAFEGUARDING], True, False)

    with database.session() as session:  # a bulk update, past the ORM
        sensitive = CaseTag.slot == Axis.SENSITIVITY
        session.execute(update(CaseTag).where(sensitive).values(tag_id=ids[PERSONAL]))
    assert state(database) == (ids[PERSONAL], False, True)

    with database.session() as session:  # only the reason changes: the value stands
        session.execute(update(CaseTag).where(sensitive).values(reason="checked again"))
    assert state(database) == (ids[PERSONAL], False, True)

"""The lists' access check reads a copy of each case's sensitivity that triggers on case_tags
keep (migration 0019), and on PostgreSQL their tag filters a copy of its tag ids (0020):
whatever writes the tags, the copies follow, and a caseworker's list hides exactly the cases
the record says are restricted."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from crm.access import Viewer, restricted
from crm.caselist import CaseFilters, case_page
from crm.db import Database, insert_rows
from crm.models import Case
from crm.tags import service, taxonomy
from crm.tags.models import CaseTag, TagValue
from crm.tags.seed import ensure_seeded
from crm.users.models import CASEWORKER, OFFICE_MANAGER
from tagging.axes import PERSONAL, SAFEGUARDING, SPECIAL_CATEGORY, STANDARD, Axis
from tests.support.locks import second_waits_for_first

ANOTHER_CASEWORKER = Viewer(99, "someone@office.example.org.uk", CASEWORKER)  # owns nothing
MANAGER = Viewer(98, "manager@office.example.org.uk", OFFICE_MANAGER)  # sees every case
REFERENCE = "MB-2026-000001"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def sensitivity(session: Session, name: str) -> int:
    found = select(TagValue.id).where(TagValue.axis == Axis.SENSITIVITY, TagValue.name == name)
    return session.scalars(found).one()


CARRIED_AND_HELD = text(
    "SELECT c.tag_ids, coalesce((SELECT array_agg(t.tag_id ORDER BY t.tag_id) "
    "FROM case_tags t WHERE t.case_id = c.id), '{}') FROM cases c"
)


def carried_and_held(session: Session) -> list[tuple[list[int], list[int]]]:
    """PostgreSQL: each case's copy of its tag ids beside the record's."""
    return [(list(carried), list(held)) for carried, held in session.execute(CARRIED_AND_HELD)]


def state(database: Database) -> tuple[int | None, bool, bool]:
    """The copy, the record's word on it, and whether another caseworker's list shows it;
    on PostgreSQL, the tag ids' copy is checked against the record on the way."""
    with database.session() as session:
        if not database.is_sqlite:
            for carried, held in carried_and_held(session):
                assert carried == held
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


def tag_row(case_id: int, value: TagValue, slot: str | None) -> dict[str, object]:
    return {
        "case_id": case_id,
        "tag_id": value.id,
        "axis": value.axis,
        "slot": slot,
        "source": "manual",
    }


def values_of(session: Session, axis: Axis) -> list[TagValue]:
    """The axis's values with nothing above them (a filter on one takes in those under it)."""
    found = session.scalars(select(TagValue).where(TagValue.axis == axis).order_by(TagValue.id))
    return [value for value in found if "›" not in value.path]


def test_a_tag_filter_finds_what_the_record_holds(database: Database) -> None:
    """Several tags at once, a secondary issue, one removed: the copy keeps up, and a list
    filtered by a value (read from the copy on PostgreSQL) finds exactly the cases holding it."""
    with database.session() as session:
        ensure_seeded(session)
        cases = [
            Case(reference=f"MB-2026-00000{n}", opened_at=START, last_activity_at=START)
            for n in (1, 2)
        ]
        session.add_all(cases)
        session.flush()
        first, second = (case.id for case in cases)
        housing, benefits, *_ = values_of(session, Axis.ISSUE)
        urgent = values_of(session, Axis.URGENCY)[0]
        insert_rows(  # one statement for a new case's tags, as the tag store writes them
            session,
            CaseTag,
            [
                tag_row(first, housing, Axis.ISSUE),
                tag_row(first, benefits, None),
                tag_row(first, urgent, Axis.URGENCY),
            ],
        )
        insert_rows(session, CaseTag, [tag_row(second, benefits, Axis.ISSUE)])

    def found(value: TagValue) -> set[str]:
        with database.session() as session:
            filters = CaseFilters(tags={Axis(value.axis): value.path})
            return {row.reference for row in case_page(session, MANAGER, filters).rows}

    assert found(housing) == {"MB-2026-000001"}
    assert found(benefits) == {"MB-2026-000001", "MB-2026-000002"}  # a secondary issue too
    assert found(urgent) == {"MB-2026-000001"}
    with database.session() as session:
        session.execute(delete(CaseTag).where(CaseTag.case_id == first, CaseTag.slot.is_(None)))
    assert found(benefits) == {"MB-2026-000002"}
    with database.session() as session:
        if not database.is_sqlite:
            for carried, held in carried_and_held(session):
                assert carried == held


def test_tags_written_at_once_by_two_offices_both_reach_the_copy(database: Database) -> None:
    """Two transactions tag the same case at the same time: the second's trigger waits for
    the first to commit and then counts its tags too (it locks the case before counting)."""
    if database.is_sqlite:
        return  # SQLite has one writer at a time and no copy of the tag ids
    with database.session() as session:
        ensure_seeded(session)
        case = Case(reference=REFERENCE, opened_at=START, last_activity_at=START)
        session.add(case)
        session.flush()
        case_id = case.id
        issue = values_of(session, Axis.ISSUE)[0]
        urgency = values_of(session, Axis.URGENCY)[0]
    second_waits_for_first(
        database,
        lambda session: insert_rows(session, CaseTag, [tag_row(case_id, issue, Axis.ISSUE)]),
        lambda session: insert_rows(session, CaseTag, [tag_row(case_id, urgency, Axis.URGENCY)]),
        "the second transaction never waited for the first",
    )
    with database.session() as session:
        assert carried_and_held(session) == [(sorted([issue.id, urgency.id]),) * 2]


def test_a_new_cases_tags_rewrite_it_once(database: Database) -> None:
    """Ingest writes a new case's four tags with one insert_rows: PostgreSQL's trigger then
    recounts the case once, not once for each tag (each rewrite adds index entries)."""
    if database.is_sqlite:
        return  # SQLite keeps only the sensitivity, with a row trigger of its own
    with database.session() as session:
        ensure_seeded(session)
        case = Case(reference=REFERENCE, opened_at=START, last_activity_at=START)
        session.add(case)
        session.flush()
        first = {axis: next(iter(values_of(session, axis))) for axis in Axis}
    with database.session() as session:
        rows = [tag_row(case.id, value, axis) for axis, value in first.items()]
        insert_rows(session, CaseTag, rows)
        updates = "SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'cases'"
        assert session.scalars(text(updates)).one() == 1
        assert carried_and_held(session) == [(sorted(v.id for v in first.values()),) * 2]

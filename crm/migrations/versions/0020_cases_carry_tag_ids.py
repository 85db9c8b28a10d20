"""cases carry their tag values' ids (PostgreSQL), kept by triggers: a list filtered by tag
reads its page from an index alone

A list filtered by issue asked case_tags of every case it passed: for one caseworker's
1,500 open cases, 1,500 probes of the (case_id, tag_id) index, 6 ms of the filtered list's
8. A copy of the case's tag ids on its own row, carried by the list's indexes with the
columns that access and the other filters read, answers from the index (0.5 ms).

case_tags stays the record. One statement-level trigger per event recounts the cases a
statement touched, both copies at once (the sensitivity of 0019 and these ids): a row
trigger had rewritten a new case once for each of its four tags. The cases are locked
before the recount, so it reads every change committed before it, and a row whose case,
slot and value did not change (a new reason) recounts nothing. SQLite keeps its 0019
triggers and asks case_tags, as it did.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, key columns, what PostgreSQL's copy carries), before and after. Only what the lists
# read: every message rewrites its case's entries (wider, the status index as well cost
# PostgreSQL ingest about 7%).
INDEXES_BEFORE = {
    "ix_cases_last_activity": (
        "last_activity_at, id",
        "owner_id, constituent_id, status, sensitivity_id",
    ),
    "ix_cases_owner_status_activity": ("owner_id, status, last_activity_at", ""),
}
INDEXES_AFTER = {
    "ix_cases_last_activity": (
        "last_activity_at, id",
        "owner_id, constituent_id, sensitivity_id, tag_ids, status",
    ),
    "ix_cases_owner_status_activity": (
        "owner_id, status, last_activity_at, id",
        "sensitivity_id, tag_ids",
    ),
}

BACKFILL = """
UPDATE cases SET tag_ids = held.ids
FROM (SELECT case_id, array_agg(tag_id ORDER BY tag_id) AS ids FROM case_tags GROUP BY case_id)
    AS held
WHERE held.case_id = cases.id
"""
POSTGRES_FUNCTION = """
CREATE FUNCTION case_tag_copies() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(SELECT DISTINCT case_id FROM added);
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(SELECT DISTINCT case_id FROM removed);
    ELSE  -- the rows whose case, slot or value changed, not only a reason or a rule's name
        touched := ARRAY(
            SELECT case_id FROM (SELECT id, case_id, slot, tag_id FROM removed
                                 EXCEPT SELECT id, case_id, slot, tag_id FROM added) AS gone
            UNION
            SELECT case_id FROM (SELECT id, case_id, slot, tag_id FROM added
                                 EXCEPT SELECT id, case_id, slot, tag_id FROM removed) AS came
        );
    END IF;
    IF cardinality(touched) = 0 THEN
        RETURN NULL;
    END IF;
    -- The cases locked first, in order: the recount, a statement of its own, then sees
    -- every change to their tags committed before it.
    PERFORM 1 FROM cases WHERE id = ANY (touched) ORDER BY id FOR UPDATE;
    UPDATE cases
    SET tag_ids = held.tag_ids, sensitivity_id = held.sensitivity_id
    FROM (
        SELECT touched_case.id,
               coalesce(array_agg(t.tag_id ORDER BY t.tag_id) FILTER (WHERE t.id IS NOT NULL),
                        '{}') AS tag_ids,
               min(t.tag_id) FILTER (WHERE t.slot = 'sensitivity') AS sensitivity_id
        FROM unnest(touched) AS touched_case(id)
        LEFT JOIN case_tags t ON t.case_id = touched_case.id
        GROUP BY touched_case.id
    ) AS held
    WHERE cases.id = held.id
      AND (cases.tag_ids, cases.sensitivity_id)
          IS DISTINCT FROM (held.tag_ids, held.sensitivity_id);
    RETURN NULL;
END
$$
"""
POSTGRES_TRIGGERS = {
    "case_tag_copies_on_insert": "AFTER INSERT ON case_tags REFERENCING NEW TABLE AS added",
    "case_tag_copies_on_update": (
        "AFTER UPDATE ON case_tags REFERENCING OLD TABLE AS removed NEW TABLE AS added"
    ),
    "case_tag_copies_on_delete": "AFTER DELETE ON case_tags REFERENCING OLD TABLE AS removed",
}
# 0019's row trigger, put back by the downgrade
ROW_FUNCTION = """
CREATE FUNCTION case_sensitivity_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.case_id, OLD.slot, OLD.tag_id)
            IS NOT DISTINCT FROM (NEW.case_id, NEW.slot, NEW.tag_id) THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.slot = 'sensitivity' THEN
        UPDATE cases SET sensitivity_id = NULL
        WHERE id = OLD.case_id AND sensitivity_id = OLD.tag_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.slot = 'sensitivity' THEN
        UPDATE cases SET sensitivity_id = NEW.tag_id
        WHERE id = NEW.case_id AND sensitivity_id IS DISTINCT FROM NEW.tag_id;
    END IF;
    RETURN NULL;
END
$$
"""
ROW_TRIGGER = """
CREATE TRIGGER case_sensitivity_copy AFTER INSERT OR UPDATE OR DELETE ON case_tags
FOR EACH ROW EXECUTE FUNCTION case_sensitivity_copy()
"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE cases ADD COLUMN tag_ids integer[] NOT NULL DEFAULT '{}'")
        op.execute(BACKFILL)
        op.execute("DROP TRIGGER case_sensitivity_copy ON case_tags")
        op.execute("DROP FUNCTION case_sensitivity_copy()")
        op.execute(POSTGRES_FUNCTION)
        for name, when in POSTGRES_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION case_tag_copies()"
            )
    _indexes(INDEXES_AFTER, postgres)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _indexes(INDEXES_BEFORE, postgres)
    if postgres:
        for name in POSTGRES_TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON case_tags")
        op.execute("DROP FUNCTION case_tag_copies()")
        op.execute(ROW_FUNCTION)
        op.execute(ROW_TRIGGER)
        op.execute("ALTER TABLE cases DROP COLUMN tag_ids")


def _indexes(indexes: dict[str, tuple[str, str]], postgres: bool) -> None:
    """The list's indexes over again; what they carry is PostgreSQL's (SQLite has no INCLUDE)."""
    for name, (keys, carried) in indexes.items():
        op.execute(f"DROP INDEX IF EXISTS {name}")
        include = f" INCLUDE ({carried})" if postgres and carried else ""
        op.execute(f"CREATE INDEX {name} ON cases ({keys}){include}")

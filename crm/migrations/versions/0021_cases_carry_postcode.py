"""cases carry their constituent's postcode, kept by triggers: a councillor's ward is read
from the case's row

A councillor sees the cases of the residents of their wards. The list asked for the ward's
8,000 residents first and hashed them, then looked up each case's constituent in that: 3.7 ms
before the first row, 6 ms in all for the councillor's list. With a copy of the postcode
(upper-cased, as the wards are matched) on the case, and carried by the list's index on
PostgreSQL, the walk down the index tests each case as it passes: 2.5 ms.

constituents.postcode stays the record. Triggers keep the copy whoever writes: a new case, a
case moved to another person (a merge), a postcode corrected. On PostgreSQL a new or moved case
reads the postcode with a share lock on the person, so a correction committed at the same
moment waits for the case and then updates it too, or the case waits and reads the
correction. Nothing in Python writes the column (crm.access.CARRIED_POSTCODE).

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMN = "constituent_postcode"
INDEX = "ix_cases_last_activity"
KEYS = "last_activity_at, id"
CARRIED_BEFORE = "owner_id, constituent_id, sensitivity_id, tag_ids, status"
CARRIED_AFTER = f"{CARRIED_BEFORE}, {COLUMN}"

BACKFILL = f"""
UPDATE cases SET {COLUMN} = (
    SELECT upper(postcode) FROM constituents WHERE constituents.id = cases.constituent_id
)
WHERE constituent_id IS NOT NULL
"""
POSTGRES_FUNCTIONS = {
    "case_postcode_copy": f"""
CREATE FUNCTION case_postcode_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.{COLUMN} := (SELECT upper(postcode) FROM constituents
                     WHERE id = NEW.constituent_id FOR SHARE);
    RETURN NEW;
END
$$
""",
    "constituent_postcode_copy": f"""
CREATE FUNCTION constituent_postcode_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases SET {COLUMN} = upper(NEW.postcode)
    WHERE constituent_id = NEW.id AND {COLUMN} IS DISTINCT FROM upper(NEW.postcode);
    RETURN NULL;
END
$$
""",
}
POSTGRES_TRIGGERS = {
    "case_postcode_copy": (
        "BEFORE INSERT OR UPDATE OF constituent_id ON cases FOR EACH ROW "
        "EXECUTE FUNCTION case_postcode_copy()"
    ),
    "constituent_postcode_copy": (
        "AFTER UPDATE OF postcode ON constituents FOR EACH ROW "
        "WHEN (OLD.postcode IS DISTINCT FROM NEW.postcode) "
        "EXECUTE FUNCTION constituent_postcode_copy()"
    ),
}
COPY_TO_CASE = f"""UPDATE cases SET {COLUMN} = (
        SELECT upper(postcode) FROM constituents WHERE id = NEW.constituent_id
    ) WHERE id = NEW.id;"""
SQLITE_TRIGGERS = {
    "case_postcode_on_insert": f"AFTER INSERT ON cases BEGIN {COPY_TO_CASE} END",
    "case_postcode_on_move": f"AFTER UPDATE OF constituent_id ON cases BEGIN {COPY_TO_CASE} END",
    "constituent_postcode_on_update": (
        "AFTER UPDATE OF postcode ON constituents WHEN OLD.postcode IS NOT NEW.postcode "
        f"BEGIN UPDATE cases SET {COLUMN} = upper(NEW.postcode) WHERE constituent_id = NEW.id; END"
    ),
}


def upgrade() -> None:
    op.execute(f"ALTER TABLE cases ADD COLUMN {COLUMN} varchar(10)")
    op.execute(BACKFILL)
    if op.get_bind().dialect.name != "postgresql":
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        return
    for function in POSTGRES_FUNCTIONS.values():
        op.execute(function)
    for name, when in POSTGRES_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when}")
    _index(CARRIED_AFTER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        # SQLite's own DROP COLUMN (3.35): a batch copy of the table would break the
        # triggers of 0019, which name it
        op.execute(f"ALTER TABLE cases DROP COLUMN {COLUMN}")
        return
    op.execute("DROP TRIGGER case_postcode_copy ON cases")
    op.execute("DROP TRIGGER constituent_postcode_copy ON constituents")
    for name in POSTGRES_FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    _index(CARRIED_BEFORE)
    op.execute(f"ALTER TABLE cases DROP COLUMN {COLUMN}")


def _index(carried: str) -> None:
    """The default order's index over again, carrying what the lists read (PostgreSQL)."""
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    op.execute(f"CREATE INDEX {INDEX} ON cases ({KEYS}) INCLUDE ({carried})")

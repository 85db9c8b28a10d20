"""cases carry a copy of their sensitivity, kept by triggers: who may see a case, per row

Every list asks of each case it passes whether its sensitivity is safeguarding or special
category. Asked of case_tags, PostgreSQL hashed all the restricted cases (8,000 of 100,000)
for every list and looked each case up in that: 1.7 ms of a case list's 2. A copy of the
value on the case is read with the row, and the activity index carries it (0017), so the
walk down it still reads no table rows. case_tags stays the record: triggers on it keep the
copy, whichever code writes the tags (the tag service, taxonomy merges, a bulk COPY).

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVITY_INDEX = "ix_cases_last_activity"
CARRIED = "owner_id, constituent_id, status"
BACKFILL = """
UPDATE cases SET sensitivity_id = (
    SELECT tag_id FROM case_tags WHERE case_id = cases.id AND slot = 'sensitivity'
)
"""
POSTGRES_FUNCTION = """
CREATE FUNCTION case_sensitivity_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.case_id, OLD.slot, OLD.tag_id)
            IS NOT DISTINCT FROM (NEW.case_id, NEW.slot, NEW.tag_id) THEN
        RETURN NULL;  -- a reason or a rule's name changed: the value stands
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
POSTGRES_TRIGGER = """
CREATE TRIGGER case_sensitivity_copy AFTER INSERT OR UPDATE OR DELETE ON case_tags
FOR EACH ROW EXECUTE FUNCTION case_sensitivity_copy()
"""
CLEARED = """UPDATE cases SET sensitivity_id = NULL
        WHERE OLD.slot = 'sensitivity' AND id = OLD.case_id AND sensitivity_id = OLD.tag_id;"""
SET = """UPDATE cases SET sensitivity_id = NEW.tag_id
        WHERE NEW.slot = 'sensitivity' AND id = NEW.case_id
        AND sensitivity_id IS NOT NEW.tag_id;"""
SQLITE_TRIGGERS = {
    "case_sensitivity_on_insert": f"AFTER INSERT ON case_tags BEGIN {SET} END",
    "case_sensitivity_on_update": (
        "AFTER UPDATE OF case_id, slot, tag_id ON case_tags "
        "WHEN (OLD.case_id, OLD.slot, OLD.tag_id) IS NOT (NEW.case_id, NEW.slot, NEW.tag_id) "
        f"BEGIN {CLEARED} {SET} END"
    ),
    "case_sensitivity_on_delete": f"AFTER DELETE ON case_tags BEGIN {CLEARED} END",
}


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("sensitivity_id", sa.Integer(), nullable=True))
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
        op.execute(f"DROP INDEX IF EXISTS {ACTIVITY_INDEX}")
        op.execute(
            f"CREATE INDEX {ACTIVITY_INDEX} ON cases (last_activity_at, id) "
            f"INCLUDE ({CARRIED}, sensitivity_id)"
        )
        return
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER case_sensitivity_copy ON case_tags")
        op.execute("DROP FUNCTION case_sensitivity_copy()")
        op.execute(f"DROP INDEX IF EXISTS {ACTIVITY_INDEX}")
        op.execute(f"CREATE INDEX {ACTIVITY_INDEX} ON cases (last_activity_at, id) INCLUDE ({CARRIED})")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("sensitivity_id")

"""web indexes: the case list's sort orders and filters; on PostgreSQL, search and no JIT

The case list walks cases in its sort order and stops after a page, so each sort order has
an index, as do the common narrowings (open cases, one person's open cases). Visibility asks
which cases are safeguarding or special category, and a tag filter which cases hold a value:
(tag_id, slot, case_id) answers both from the index alone.

Search looks for a fragment anywhere in a name, postcode, email address, reference, subject
or letter (`lower(column) LIKE '%text%'`); on PostgreSQL, trigram GIN indexes (pg_trgm)
answer that without reading every letter, and wards (postcode prefixes) get a pattern
index. SQLite keeps scanning: an embedded office is small. Without pg_trgm on the server
the trigram indexes are left out and search still works, only slower.

PostgreSQL's JIT compiler is turned off for this database: the planner costs the list's
visibility check once per case, so counting 100,000 cases passes `jit_above_cost`, and
compiling took 0.3-4 s for a query that runs in tens of milliseconds.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_cases_last_activity", "cases", ["last_activity_at", "id"]),
    ("ix_cases_opened", "cases", ["opened_at", "id"]),
    ("ix_cases_status_activity", "cases", ["status", "last_activity_at"]),
    ("ix_cases_owner_status_activity", "cases", ["owner_id", "status", "last_activity_at"]),
    ("ix_case_tags_tag_slot_case", "case_tags", ["tag_id", "slot", "case_id"]),
    ("ix_case_notes_case_id", "case_notes", ["case_id", "id"]),  # a case's newest notes
    # A tiny table: the index is there for its statistics, so the planner knows how many
    # values a tag filter ("Housing" and everything under it) takes in.
    ("ix_tag_values_lower_path", "tag_values", [sa.text("lower(path)")]),
)
# (index, table, column): searched as lower(column) LIKE '%…%'.
TRIGRAM_INDEXES = (
    ("ix_cases_reference_trgm", "cases", "reference"),
    ("ix_cases_subject_trgm", "cases", "subject"),
    ("ix_constituents_name_trgm", "constituents", "name"),
    ("ix_constituents_postcode_trgm", "constituents", "postcode"),
    ("ix_constituent_emails_email_trgm", "constituent_emails", "email"),
    ("ix_messages_subject_trgm", "messages", "subject"),
    ("ix_messages_body_text_trgm", "messages", "body_text"),
)
WARD_INDEX = "ix_constituents_postcode_upper"  # upper(postcode) LIKE 'EX4 %'


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")  # builds the GIN indexes faster
    op.execute(f"CREATE INDEX {WARD_INDEX} ON constituents (upper(postcode) text_pattern_ops)")
    if _trigrams():
        for name, table, column in TRIGRAM_INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin (lower({column}) gin_trgm_ops)")
    _database_setting("SET jit = off")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _database_setting("RESET jit")
        for name, _table, _column in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(f"DROP INDEX IF EXISTS {WARD_INDEX}")
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)


def _trigrams() -> bool:
    """pg_trgm ships in PostgreSQL's contrib package and is a trusted extension since 13; a
    server without it, or a role not allowed to create it, leaves search unindexed."""
    bind = op.get_bind()
    query = "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"
    if bind.execute(sa.text(query)).first() is None:
        return False
    return _try("CREATE EXTENSION IF NOT EXISTS pg_trgm")


def _database_setting(change: str) -> None:
    """ALTER DATABASE (this one) …: needs its owner; without that the server's own setting
    stays, and the same could be set by an administrator instead."""
    bind = op.get_bind()
    name = bind.execute(sa.text("SELECT current_database()")).scalar_one()
    _try(f"ALTER DATABASE {bind.dialect.identifier_preparer.quote(name)} {change}")


def _try(statement: str) -> bool:
    """Run it in a savepoint: a refusal leaves the rest of the migration going."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(sa.text(statement))
    except sa.exc.DBAPIError:
        return False
    return True

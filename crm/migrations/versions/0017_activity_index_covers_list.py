"""the activity index carries what the case list's conditions read: lists walk it alone

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVITY_INDEX = "ix_cases_last_activity"
CARRIED = "owner_id, constituent_id, status"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {ACTIVITY_INDEX}")
    op.execute(
        f"CREATE INDEX {ACTIVITY_INDEX} ON cases (last_activity_at, id) INCLUDE ({CARRIED})"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {ACTIVITY_INDEX}")
    op.execute(f"CREATE INDEX {ACTIVITY_INDEX} ON cases (last_activity_at, id)")

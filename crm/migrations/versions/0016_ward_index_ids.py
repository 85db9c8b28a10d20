"""ward index carries the ids: a councillor's ward is read from the index alone

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WARD_INDEX = "ix_constituents_postcode_upper"
EXPRESSION = "upper(postcode::text) text_pattern_ops"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {WARD_INDEX}")
    op.execute(f"CREATE INDEX {WARD_INDEX} ON constituents ({EXPRESSION}) INCLUDE (id, postcode)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {WARD_INDEX}")
    op.execute(f"CREATE INDEX {WARD_INDEX} ON constituents ({EXPRESSION})")

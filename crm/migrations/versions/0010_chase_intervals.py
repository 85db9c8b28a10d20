"""chase intervals: days from one chase to the next, per organisation and per case rule

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL: the office default (MAILBAG_SECOND_CHASE_DAYS).
    with op.batch_alter_table("third_parties", schema=None) as batch_op:
        batch_op.add_column(sa.Column("second_chase_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("grace_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("second_chase_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grace_rules", schema=None) as batch_op:
        batch_op.drop_column("second_chase_days")
    with op.batch_alter_table("third_parties", schema=None) as batch_op:
        batch_op.drop_column("second_chase_days")

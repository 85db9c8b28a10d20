"""case filters: the weekly reviews emailed, one row per week

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "weekly_reports_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week_ending", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("claimed_at", crm.types.UTCDateTime(), nullable=False),
        sa.Column("sent_at", crm.types.UTCDateTime(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "state IN ('sending', 'sent', 'failed')", name=op.f("ck_weekly_reports_sent_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weekly_reports_sent")),
        sa.UniqueConstraint("week_ending", name=op.f("uq_weekly_reports_sent_week_ending")),
    )


def downgrade() -> None:
    op.drop_table("weekly_reports_sent")

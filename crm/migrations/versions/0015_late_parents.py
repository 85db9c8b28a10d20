"""late parents: the Message-IDs that replies without a case are waiting for

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "awaited_parents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=400), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_pk"],
            ["messages.id"],
            name=op.f("fk_awaited_parents_message_pk_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awaited_parents")),
    )
    op.create_index(
        op.f("ix_awaited_parents_message_id"), "awaited_parents", ["message_id"], unique=False
    )
    op.create_index(
        op.f("ix_awaited_parents_message_pk"), "awaited_parents", ["message_pk"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_awaited_parents_message_pk"), table_name="awaited_parents")
    op.drop_index(op.f("ix_awaited_parents_message_id"), table_name="awaited_parents")
    op.drop_table("awaited_parents")

"""enquiries: form submissions with their consent, status-link nonces, public throttles

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enquiries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("route", sa.String(length=20), nullable=False),
        sa.Column("passed_on", sa.Boolean(), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("consented_at", crm.types.UTCDateTime(), nullable=False),
        sa.Column("created_at", crm.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_enquiries_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_pk"],
            ["messages.id"],
            name=op.f("fk_enquiries_message_pk_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enquiries")),
    )
    with op.batch_alter_table("enquiries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enquiries_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enquiries_message_pk"), ["message_pk"], unique=False)

    op.create_table(
        "case_status_links",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("issued_at", crm.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_status_links_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_status_links")),
    )

    op.create_table(
        "public_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=30), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", crm.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_throttle")),
    )
    with op.batch_alter_table("public_throttle", schema=None) as batch_op:
        batch_op.create_index(
            "ix_public_throttle_bucket_key_at", ["bucket", "key", "at"], unique=False
        )
        batch_op.create_index("ix_public_throttle_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("public_throttle", schema=None) as batch_op:
        batch_op.drop_index("ix_public_throttle_at")
        batch_op.drop_index("ix_public_throttle_bucket_key_at")
    op.drop_table("public_throttle")
    op.drop_table("case_status_links")
    with op.batch_alter_table("enquiries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enquiries_message_pk"))
        batch_op.drop_index(batch_op.f("ix_enquiries_case_id"))
    op.drop_table("enquiries")

"""informing: councillors' requests, status emails (with opt-outs), councillors' digests

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = "'queued', 'sending', 'sent', 'failed', 'empty', 'no_address'"


def upgrade() -> None:
    op.create_table(
        "councillor_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("raised_by_id", sa.Integer(), nullable=False),
        sa.Column("raised_by_label", sa.String(length=200), nullable=False),
        sa.Column("wanted", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("consented_at", crm.types.UTCDateTime(), nullable=False),
        sa.Column("created_at", crm.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_councillor_requests_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"], ["users.id"], name=op.f("fk_councillor_requests_raised_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_councillor_requests")),
        sa.UniqueConstraint("case_id", name=op.f("uq_councillor_requests_case_id")),
    )
    with op.batch_alter_table("councillor_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_councillor_requests_raised_by_id"), ["raised_by_id"], unique=False
        )

    op.create_table(
        "status_email_opt_outs",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", crm.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_status_email_opt_outs_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_status_email_opt_outs")),
    )

    op.create_table(
        "status_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("covered_until", crm.types.UTCDateTime(), nullable=False),
        sa.Column("latest", sa.String(length=20), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("outbox_letter_id", sa.Integer(), nullable=True),
        sa.Column("created_at", crm.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(f"outcome IN ({OUTCOMES})", name=op.f("ck_status_emails_outcome")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_status_emails_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_letter_id"],
            ["outbox.id"],
            name=op.f("fk_status_emails_outbox_letter_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_emails")),
        sa.UniqueConstraint("case_id", "sent_on", name="uq_status_emails_case_day"),
    )
    with op.batch_alter_table("status_emails", schema=None) as batch_op:
        batch_op.create_index(
            "ix_status_emails_case_covered", ["case_id", "covered_until"], unique=False
        )

    op.create_table(
        "digest_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("updated_at", crm.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "frequency IN ('none', 'daily', 'weekly')",
            name=op.f("ck_digest_preferences_frequency"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_digest_preferences_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_digest_preferences")),
    )

    op.create_table(
        "digests_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=12), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("covered_from", crm.types.UTCDateTime(), nullable=False),
        sa.Column("covered_until", crm.types.UTCDateTime(), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("deadlines", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", crm.types.UTCDateTime(), nullable=False),
        sa.Column("sent_at", crm.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(f"status IN ({OUTCOMES})", name=op.f("ck_digests_sent_status")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_digests_sent_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests_sent")),
        sa.UniqueConstraint("user_id", "period", name="uq_digests_sent_user_period"),
    )
    with op.batch_alter_table("digests_sent", schema=None) as batch_op:
        batch_op.create_index(
            "ix_digests_sent_user_covered", ["user_id", "covered_until"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("digests_sent", schema=None) as batch_op:
        batch_op.drop_index("ix_digests_sent_user_covered")
    op.drop_table("digests_sent")
    op.drop_table("digest_preferences")
    with op.batch_alter_table("status_emails", schema=None) as batch_op:
        batch_op.drop_index("ix_status_emails_case_covered")
    op.drop_table("status_emails")
    op.drop_table("status_email_opt_outs")
    with op.batch_alter_table("councillor_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_councillor_requests_raised_by_id"))
    op.drop_table("councillor_requests")

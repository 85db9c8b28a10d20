"""followups: what we wait for from third parties, chase attempts, their references

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grace_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("working_days", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", crm.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(case_id IS NULL) <> (organisation_id IS NULL)",
            name=op.f("ck_grace_rules_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_grace_rules_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["third_parties.id"],
            name=op.f("fk_grace_rules_organisation_id_third_parties"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grace_rules")),
        sa.UniqueConstraint("case_id", name=op.f("uq_grace_rules_case_id")),
        sa.UniqueConstraint("organisation_id", name=op.f("uq_grace_rules_organisation_id")),
    )
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("party_key", sa.String(length=330), nullable=False),
        sa.Column("party_address", sa.String(length=320), nullable=False),
        sa.Column("opened_by_message_pk", sa.Integer(), nullable=True),
        sa.Column("opened_at", crm.types.UTCDateTime(), nullable=False),
        sa.Column("recorded_at", crm.types.UTCDateTime(), nullable=False),
        sa.Column("due_at", crm.types.UTCDateTime(), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("working_days", sa.Boolean(), nullable=False),
        sa.Column("grace_source", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts_reserved", sa.Integer(), nullable=False),
        sa.Column("chases_sent", sa.Integer(), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.Column("satisfied_at", crm.types.UTCDateTime(), nullable=True),
        sa.Column("satisfied_by_message_pk", sa.Integer(), nullable=True),
        sa.Column("satisfied_reason", sa.Text(), nullable=False),
        sa.Column("satisfied_by", sa.String(length=200), nullable=False),
        sa.Column("extended_days", sa.Integer(), nullable=False),
        sa.Column("extension_reason", sa.Text(), nullable=False),
        sa.Column("escalated_at", crm.types.UTCDateTime(), nullable=True),
        sa.Column("updated_at", crm.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'chased', 'held', 'satisfied', 'escalated', 'cancelled')",
            name=op.f("ck_follow_ups_status"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_follow_ups_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_message_pk"],
            ["messages.id"],
            name=op.f("fk_follow_ups_opened_by_message_pk_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["third_parties.id"],
            name=op.f("fk_follow_ups_organisation_id_third_parties"),
        ),
        sa.ForeignKeyConstraint(
            ["satisfied_by_message_pk"],
            ["messages.id"],
            name=op.f("fk_follow_ups_satisfied_by_message_pk_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index("ix_follow_ups_case", ["case_id"], unique=False)
        batch_op.create_index("ix_follow_ups_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index(
            "uq_follow_ups_active_party",
            ["case_id", "party_key"],
            unique=True,
            sqlite_where=sa.text("status IN ('open', 'chased', 'held')"),
            postgresql_where=sa.text("status IN ('open', 'chased', 'held')"),
        )
    op.create_table(
        "third_party_references",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("party_key", sa.String(length=330), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=True),
        sa.Column("recorded_at", crm.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_third_party_references_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["message_pk"],
            ["messages.id"],
            name=op.f("fk_third_party_references_message_pk_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["third_parties.id"],
            name=op.f("fk_third_party_references_organisation_id_third_parties"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_third_party_references")),
        sa.UniqueConstraint("party_key", "reference", name="uq_third_party_references_party_ref"),
    )
    with op.batch_alter_table("third_party_references", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_third_party_references_case_id"), ["case_id"], unique=False
        )
    op.create_table(
        "chase_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("follow_up_id", sa.Integer(), nullable=False),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("outbox_letter_id", sa.Integer(), nullable=True),
        sa.Column("reserved_at", crm.types.UTCDateTime(), nullable=False),
        sa.Column("approved_at", crm.types.UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("confirmed_unsent", sa.Boolean(), nullable=False),
        sa.Column("sent_at", crm.types.UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("updated_at", crm.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('awaiting_approval', 'reserved', 'sent', 'failed', 'unknown', 'cancelled')",
            name=op.f("ck_chase_attempts_state"),
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["follow_ups.id"],
            name=op.f("fk_chase_attempts_follow_up_id_follow_ups"),
        ),
        sa.ForeignKeyConstraint(
            ["outbox_letter_id"],
            ["outbox.id"],
            name=op.f("fk_chase_attempts_outbox_letter_id_outbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chase_attempts")),
        sa.UniqueConstraint("follow_up_id", "attempt_number", name="uq_chase_attempts_attempt"),
    )
    with op.batch_alter_table("chase_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_chase_attempts_state", ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chase_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_chase_attempts_state")
    op.drop_table("chase_attempts")
    with op.batch_alter_table("third_party_references", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_third_party_references_case_id"))
    op.drop_table("third_party_references")
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_follow_ups_active_party",
            sqlite_where=sa.text("status IN ('open', 'chased', 'held')"),
            postgresql_where=sa.text("status IN ('open', 'chased', 'held')"),
        )
        batch_op.drop_index("ix_follow_ups_status_due")
        batch_op.drop_index("ix_follow_ups_case")
    op.drop_table("follow_ups")
    op.drop_table("grace_rules")

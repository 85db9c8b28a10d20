"""privacy: the erasure log, anonymous erased counts, and an append-only audit log

The audit log's case_id stops being a foreign key (entries outlive erased cases), and
triggers on both databases refuse any UPDATE or DELETE of an audit row.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSAL = "the audit log is append-only"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"""
    for event in ("UPDATE", "DELETE")
]
POSTGRES_TRIGGER = [
    f"""CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{REFUSAL}'; END; $$""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()""",
]


def upgrade() -> None:
    op.create_table(
        "erasure_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", crm.types.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("who", sa.String(length=320), nullable=False),
        sa.Column("case_references", sa.JSON(), nullable=False),
        sa.Column("constituent_ids", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_log")),
    )
    with op.batch_alter_table("erasure_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_log_at"), ["at"], unique=False)

    op.create_table(
        "erased_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("issue", sa.String(length=210), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erased_counts")),
        sa.UniqueConstraint("month", "kind", "issue", name="uq_erased_counts_month_kind_issue"),
    )

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint("fk_audit_log_case_id_cases", type_="foreignkey")
    statements = SQLITE_TRIGGERS if op.get_context().dialect.name == "sqlite" else POSTGRES_TRIGGER
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse_change()")
    # Fails if cases named by audit entries were erased since: their history cannot be undone.
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_foreign_key("fk_audit_log_case_id_cases", "cases", ["case_id"], ["id"])
    op.drop_table("erased_counts")
    with op.batch_alter_table("erasure_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_log_at"))
    op.drop_table("erasure_log")

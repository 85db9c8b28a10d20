"""unreadable messages: those the mail server would not hand over, remembered and asked for again

A message the server cannot read (a corrupt item on Exchange, an internal error in Dovecot)
failed every fetch of its batch: ingest stopped there on every run, and the mail behind it
waited. Now the message is fetched alone, and one the server refuses alone is kept here with
the server's words, the checkpoint passes it, and each run asks for it again.

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.types

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unreadable_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", crm.types.UTCDateTime(), nullable=False),
        sa.Column("last_tried_at", crm.types.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", crm.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unreadable_messages")),
        sa.UniqueConstraint(
            "mailbox",
            "folder",
            "uidvalidity",
            "uid",
            name=op.f("uq_unreadable_messages_mailbox"),
        ),
    )


def downgrade() -> None:
    op.drop_table("unreadable_messages")

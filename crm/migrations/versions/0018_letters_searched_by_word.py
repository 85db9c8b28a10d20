"""search finds letters by their words: on PostgreSQL, a generated column of words, indexed

Search looked for a fragment anywhere in a letter through a trigram index, which offers
every letter that shares the fragment's three-letter pieces, each then read again and
lower-cased to be sure: 4-5 ms for a word in 1,300 letters of 400,000. Letters are now
searched by word prefix (crm.words), which a text-search index answers exactly, at a fifth
of the trigram index's size. The words are a column PostgreSQL generates from the letter,
not an index expression: the planner costs an expression as if it were worked out again for
every letter, and for a common word chose to do just that (10 s, where the index takes 0.2).

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORDS_COLUMN = "body_words"
WORDS_INDEX = "ix_messages_body_words"
TRIGRAM_INDEX = "ix_messages_body_text_trgm"
# Words are runs of letters and digits: ASCII punctuation turns to spaces first, or the
# parser keeps hosts, emails, paths and signed numbers whole. At most 100,000 characters of
# a letter: PostgreSQL refuses a text-search vector over 1 MB.
PUNCTUATION = "!\"#$%&''()*+,-./:;<=>?@[\\]^_`{|}~"  # as a SQL literal: the quote doubled
WORDS = f"to_tsvector('simple', translate(left(body_text, 100000), '{PUNCTUATION}', '{' ' * 32}'))"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    op.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
    op.execute(
        f"ALTER TABLE messages ADD COLUMN {WORDS_COLUMN} tsvector GENERATED ALWAYS AS ({WORDS}) STORED"
    )
    op.execute(f"CREATE INDEX {WORDS_INDEX} ON messages USING gin ({WORDS_COLUMN})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE messages DROP COLUMN {WORDS_COLUMN}")  # and its index
    trigrams = op.get_bind().exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if trigrams.first():
        op.execute(f"CREATE INDEX {TRIGRAM_INDEX} ON messages USING gin (lower(body_text) gin_trgm_ops)")

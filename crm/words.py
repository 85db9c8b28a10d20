"""Words in the correspondence: how a search finds the letters that hold what was typed.

A letter matches when it holds every word typed, in any order, the last of them perhaps
only begun: "black mould" finds "mould ... black", "asbes" finds asbestos, "bestos" and
"asbes tiles" find nothing. Words are runs of letters and digits, so the parts of an
address, a reference or a phone number ("HO12345/67", "01392-123456") are words too. That
is how mail clients search, and it lets PostgreSQL answer from a full-text index of a
column of each letter's words that it generates itself (migration 0018), where a fragment
anywhere in the text had every letter a trigram index offered read again. Only the last
word is a prefix: the index answers a whole word by skipping through its letters with the
rarest word's, and a prefix only by gathering every letter it begins a word of ("ex4" in
23,000 letters of a postcode search: 2.6 ms, where "ex4 & 6pq:*" takes 0.1). SQLite,
embedded and small, checks each letter with regular expressions of the same words.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from sqlalchemy import Boolean, ColumnClause
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

INDEXED_CHARS = 100_000  # of a letter: PostgreSQL refuses a text-search vector over 1 MB
WORDS_COLUMN = "body_words"  # PostgreSQL's, generated from body_text (migration 0018)
WORDS_INDEX = "ix_messages_body_words"
MAX_WORDS = 8
MAX_WORD_CHARS = 100
SQLITE_FUNCTION = "mailbag_holds_words"
_WORD = re.compile(r"[^\W_]+")


def words_of(text: str) -> tuple[str, ...]:
    """The words a search looks for, lower-cased; none when it holds only punctuation."""
    return tuple(word[:MAX_WORD_CHARS] for word in _WORD.findall(text.lower()))[:MAX_WORDS]


def words_query(words: tuple[str, ...]) -> str:
    """The value bound for `holds_words`: PostgreSQL's tsquery, the last word a prefix
    ("black & mou:*"), which SQLite's function reads back. Words are letters and digits
    only, so nothing typed can reach the tsquery's own syntax."""
    return " & ".join(words[:-1] + tuple(f"{word}:*" for word in words[-1:]))


class holds_words(FunctionElement[bool]):  # named as the SQL function it stands for
    """`holds_words(messages.body_text, query)`: the letter holds every word of the query."""

    type = Boolean()
    inherit_cache = True
    name = SQLITE_FUNCTION


@compiles(holds_words, "postgresql")
def _holds_words_postgresql(element: holds_words, compiler: SQLCompiler, **kw: Any) -> str:
    text, query = element.clauses
    words: ColumnClause[Any] = ColumnClause(WORDS_COLUMN, _selectable=text.table)
    return (
        f"{compiler.process(words, **kw)} @@ to_tsquery('simple', {compiler.process(query, **kw)})"
    )


@compiles(holds_words)
def _holds_words_elsewhere(element: holds_words, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"  # crm.db registers it


def sqlite_holds_words(text: str | None, query: str | None) -> bool:
    """SQLite's `holds_words`, registered on each connection (crm.db)."""
    if not text or not query:
        return False
    lowered = text[:INDEXED_CHARS].lower()
    return all(pattern.search(lowered) for pattern in _patterns(query))


@functools.lru_cache(maxsize=64)
def _patterns(query: str) -> tuple[re.Pattern[str], ...]:
    """A word's start, not after a letter or digit; its end too, unless it is a prefix."""
    return tuple(_pattern(part) for part in query.split(" & ") if part.removesuffix(":*"))


def _pattern(part: str) -> re.Pattern[str]:
    prefix = part.endswith(":*")
    ended = "" if prefix else r"(?![^\W_])"
    return re.compile(r"(?<![^\W_])" + re.escape(part.removesuffix(":*")) + ended)

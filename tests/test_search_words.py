"""Search finds letters by their words, the same on SQLite and PostgreSQL: every word typed,
in any order, the last perhaps only begun; the parts of addresses, references and numbers;
any script; nothing typed can break the query; a letter too long to index whole is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.access import Viewer
from crm.caselist import CaseFilters, case_page
from crm.db import Database
from crm.models import Blob, Case, Message
from crm.users.models import OFFICE_MANAGER
from crm.words import INDEXED_CHARS

MANAGER = Viewer(1, "max@office.example.org.uk", OFFICE_MANAGER)
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LETTERS = {
    "MB-2026-000001": "The ceiling tiles may contain ASBESTOS, the surveyor said.",
    "MB-2026-000002": "Ref HO12345/67: call 01392-123456 or write to help@council.gov.uk",
    "MB-2026-000003": "Élise's naïve café on Rue d'Été; 東京 office_hours",
    "MB-2026-000004": "Black mould in the bathroom since March.",
}


def add_letters(database: Database, letters: dict[str, str]) -> None:
    with database.session() as session:
        session.add(Blob(sha256="0" * 64, size=0, data=b""))
        for n, (reference, body) in enumerate(letters.items()):
            case = Case(
                reference=reference,
                subject="Casework",
                opened_at=START,
                last_activity_at=START + timedelta(hours=n),
            )
            session.add(case)
            session.flush()
            session.add(
                Message(
                    dedupe_key=f"<{reference}@example.com>",
                    blob_sha256="0" * 64,
                    direction="in",
                    kind="constituent",
                    case_id=case.id,
                    body_text=body,
                )
            )


def found(database: Database, text: str) -> list[str]:
    with database.session() as session:
        page = case_page(session, MANAGER, CaseFilters(search=text))
    return sorted(row.reference[-1] for row in page.rows)


@pytest.mark.parametrize(
    ("text", "cases"),
    [
        ("asbestos", ["1"]),
        ("asbes", ["1"]),  # the start of a word
        ("bestos", []),  # not its middle
        ("tiles asbes", ["1"]),  # the last word may be only begun
        ("til asbestos", []),  # the others are whole words
        ("surveyor CEILING", ["1"]),  # every word, in any order, any case
        ("ceiling mould", []),  # not either word
        ("mould black", ["4"]),
        ("67", ["2"]),  # the parts of a reference, a number, an address
        ("123456", ["2"]),
        ("council gov", ["2"]),
        ("help@council", ["2"]),
        ("élise", ["3"]),
        ("NAÏVE caf", ["3"]),
        ("東京", ["3"]),
        ("hours", ["3"]),  # an underscore parts words too
        ("été", ["3"]),
    ],
)
def test_a_search_finds_letters_by_the_start_of_every_word_typed(
    database: Database, text: str, cases: list[str]
) -> None:
    add_letters(database, LETTERS)
    assert found(database, text) == cases, text


@pytest.mark.parametrize("text", ["&", "asbestos & !", "'asbestos':*", "(asbestos | mould)", "\\"])
def test_query_syntax_typed_in_a_search_is_only_punctuation(database: Database, text: str) -> None:
    add_letters(database, LETTERS)
    expected = ["1"] if "asbestos" in text else []
    if "mould" in text:
        expected = []  # both words, not either: no letter holds both
    assert found(database, text) == expected


def test_a_letter_too_long_to_index_whole_is_kept_and_found_by_its_start(
    database: Database,
) -> None:
    # Given a letter of 2 MB of distinct words: more than a text-search vector may hold
    words = " ".join(f"w{n:07d}" for n in range(250_000))
    body = f"Opening words about subsidence. {words} closing remark"
    assert len(body) > 10 * INDEXED_CHARS
    add_letters(database, {"MB-2026-000009": body})
    # Then it is stored, found by a word near its start, and not by one past the index
    with database.session() as session:
        assert session.query(Message).one().body_text == body
    assert found(database, "subsidence") == ["9"]
    assert found(database, "w0000001") == ["9"]
    assert found(database, "closing remark") == []

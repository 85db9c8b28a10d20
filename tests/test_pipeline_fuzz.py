"""Mutated, truncated and hostile MIME through the whole pipeline: no crash, nothing dropped.

Two generators: corpus mail cut, spliced and bit-flipped; and messages built from hostile
parts (garbled or 8-bit headers, unknown charsets, broken base64, multiparts without or with
the wrong boundary, deep nesting, NUL bytes). Each input goes through `Pipeline.process`
alone, and in batches through `run_batch` (the fast path without savepoints, redone isolated
when a message fails), on SQLite and PostgreSQL. Every input must end as a stored message,
a duplicate of one held, or a quarantine entry with its raw bytes.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crm.blobs import sha256_of
from crm.db import Database
from crm.models import Blob, Message, MessageSource, QuarantineEntry
from inbox.batches import run_batch
from inbox.message import Source
from inbox.pipeline import Outcome, Pipeline

CORPUS = sorted((Path(__file__).parent / "data" / "corpus").glob("*.eml"))
SEEDS = [path.read_bytes() for path in CORPUS]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_uids = itertools.count(1)


# --- generators ------------------------------------------------------------------------------


@st.composite
def mutated_mail(draw: st.DrawFn) -> bytes:
    """A corpus message cut, spliced, bit-flipped or stuffed with hostile bytes."""
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "splice"]))
        at = draw(st.integers(0, max(len(raw) - 1, 0)))
        if operation == "truncate":
            del raw[at:]
        elif operation == "flip" and raw:
            raw[at] ^= draw(st.integers(1, 255))
        elif operation == "insert":
            raw[at:at] = draw(
                st.sampled_from(
                    [b"\x00", b"\r\n\r\n", b"--", b"=?utf-8?B?", b"\xff\xfe", b"\n\t", b"boundary="]
                )
            )
        elif operation == "delete":
            del raw[at : at + draw(st.integers(1, 64))]
        else:
            raw[at:at] = draw(st.sampled_from(SEEDS))[: draw(st.integers(0, 400))]
    return bytes(raw)


CHARSETS = [
    "utf-8",
    "iso-8859-1",
    "windows-1252",
    "x-unknown-foo",
    "utf-7",
    "iso-2022-jp",
    "utf-16",
    "",
    '"utf-8',
    "utf-8'en'",
    "\u00e9\u00e9",
    "ascii\x00",
]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "b@se64", ""]
TEXTS = [
    "Dear Jane,\nMy landlord will not fix the damp.\nMary Jones\nEX1 2AB\n",
    "Zoë Łukasz Siobhán — €100 owed\n",
    "<p>Hello <script>alert(1)</script></p>",
    "",
]


def _word(charset: str, payload: bytes) -> bytes:
    """An RFC 2047 encoded word, possibly with a charset or payload nobody can decode."""
    return b"=?" + charset.encode("utf-8", "surrogateescape") + b"?B?" + payload + b"?="


HEADER_LINES = st.sampled_from(
    [
        b"Subject: Housing repairs",
        b"Subject: " + _word("x-klingon", b"SGVsbG8="),
        b"Subject: " + _word("utf-8", b"!!!not base64==="),
        b"Subject: =?utf-8?Q?unterminated",
        b"Subject: Caf\xe9 \xff\xfe raw 8-bit",
        b"Subject: nul\x00in\x00the\x00middle",
        b"From: " + _word("utf-8", b"w5Zyc8O2") + b" <mary@example.com>",
        b"From: =?unknown?Q?M=E9ry?= <mary@example.com>",
        b"From: \xc3\xa9l\xc3\xa8ve <eleve@example.com>",
        b"From: <<<>>>@@@",
        b"From: ",
        b"From: Mary Jones <mary@example.com",
        b"To: casework@office.example.org.uk",
        b"To: undisclosed-recipients:;",
        b"Cc: " + b"a@example.com, " * 200,
        b"Message-ID: <fuzz@example.com>",
        b"Message-ID: <>",
        b"Message-ID: <\xff\xfe@example.com>",
        b"Message-ID:",
        b"In-Reply-To: <" + b"x" * 900 + b"@example.com>",
        b"References: <a@b> <<c@d>> garbage \x00 <e@f",
        b"Date: Mon, 32 Foo 99999 25:61:61 +9999",
        b"Date: \xff",
        b"X-Long: " + b"y" * 5000,
        b"No colon on this header line",
        b": empty name",
        b" folded continuation with no header before it",
        b"Content-Disposition: attachment; filename*=x-bogus''%FF%FE%00.pdf",
        b'Content-Disposition: attachment; filename="../../etc/passwd\x00.exe"',
        b"Auto-Submitted: auto-replied",
        b"Content-Type: multipart/report; report-type=delivery-status",
    ]
)


@st.composite
def leaf_part(draw: st.DrawFn) -> bytes:
    """A single body part with a hostile charset, transfer encoding or payload."""
    charset = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(ENCODINGS))
    subtype = draw(st.sampled_from(["plain", "html", "calendar"]))
    text = draw(st.sampled_from(TEXTS)).encode("utf-8")
    body = draw(
        st.sampled_from(
            [
                text,
                b"!!!@@@ this is not base64 ===\r\nQUJD\r\n=",
                b"=ZZ=\r\n=\r\n=4",
                b"\x00" * 64 + text,
                b"\xff\xfe\xfd" + text,
                b"begin 644 file.txt\r\n#0V%T\r\n",
            ]
        )
        | st.binary(max_size=300)
    )
    headers = [f"Content-Type: text/{subtype}; charset={charset}".encode("utf-8", "replace")]
    if encoding:
        headers.append(f"Content-Transfer-Encoding: {encoding}".encode())
    if draw(st.booleans()):
        headers.append(draw(HEADER_LINES))
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


def multipart(draw: st.DrawFn, depth: int) -> bytes:
    """A multipart whose boundary may be missing, wrong, unterminated or nested deeply."""
    boundary = f"b{depth}"
    style = draw(st.sampled_from(["good", "missing", "wrong", "unterminated", "empty"]))
    declared = {"missing": "", "wrong": f'; boundary="other{depth}"', "empty": '; boundary=""'}
    header = f"Content-Type: multipart/{draw(st.sampled_from(['mixed', 'alternative', 'report']))}"
    header += declared.get(style, f'; boundary="{boundary}"')
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        deeper = depth < 6 and draw(st.booleans())
        parts.append(multipart(draw, depth + 1) if deeper else draw(leaf_part()))
    if draw(st.booleans()):  # a whole message inside, itself possibly broken
        parts.append(b"Content-Type: message/rfc822\r\n\r\n" + draw(st.sampled_from(SEEDS))[:600])
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    if style != "unterminated":
        body += b"--" + boundary.encode() + b"--\r\n"
    return header.encode() + b"\r\n\r\n" + body


@st.composite
def hostile_mime(draw: st.DrawFn) -> bytes:
    """A message assembled from hostile headers and parts, maybe truncated at the end."""
    headers = [
        b"From: Mary Jones <mary.jones@example.com>",
        b"To: casework@office.example.org.uk",
        b"MIME-Version: 1.0",
    ]
    headers += draw(st.lists(HEADER_LINES, max_size=6))
    if draw(st.booleans()):
        headers.append(f"Message-ID: <fuzz-{draw(st.uuids()).hex}@example.com>".encode())
    body = multipart(draw, 0) if draw(st.booleans()) else draw(leaf_part())
    newline = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    raw = newline.join(headers) + newline + body.replace(b"\r\n", newline)
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


any_mail = mutated_mail() | hostile_mime()


# --- what must hold --------------------------------------------------------------------------


def source() -> Source:
    return Source("INBOX", uidvalidity=1, uid=next(_uids))


def assert_kept(database: Database, raw: bytes, outcome: Outcome) -> None:
    """Stored as a message (or already held), or quarantined with its raw bytes: never lost."""
    assert outcome.status in {"stored", "duplicate", "quarantined"}, outcome
    digest = sha256_of(raw)
    with database.session() as session:
        blob = session.get(Blob, digest)
        assert blob is not None and bytes(blob.data) == raw
        if outcome.status == "stored":
            held = session.scalar(select(Message.id).where(Message.blob_sha256 == digest))
            assert held is not None
        elif outcome.status == "duplicate":
            assert outcome.ctx.message_pk is not None
            assert session.get(Message, outcome.ctx.message_pk) is not None
        else:
            entry = session.scalar(
                select(QuarantineEntry).where(QuarantineEntry.blob_sha256 == digest)
            )
            assert entry is not None and outcome.failure is not None
            assert entry.step and entry.error, "a quarantine entry must say where and why"


# --- the tests -------------------------------------------------------------------------------


@FUZZ
@given(raw=mutated_mail())
def test_mutated_mail_is_stored_or_quarantined(database: Database, pipeline: Pipeline, raw: bytes):
    with database.session() as session:
        outcome = pipeline.process(session, raw, source())
    assert_kept(database, raw, outcome)


@FUZZ
@given(raw=hostile_mime())
def test_hostile_headers_charsets_and_multiparts_are_stored_or_quarantined(
    database: Database, pipeline: Pipeline, raw: bytes
):
    with database.session() as session:
        outcome = pipeline.process(session, raw, source())
    assert_kept(database, raw, outcome)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raws=st.lists(any_mail, min_size=2, max_size=8))
def test_a_batch_of_bad_mail_keeps_every_message(
    database: Database, pipeline: Pipeline, raws: list[bytes]
):
    """The batch path (no savepoints first, then isolated on failure) loses nothing either."""
    batch = [(raw, source()) for raw in raws]
    counts = run_batch(database, pipeline, batch)
    assert counts.total == len(raws)
    with database.session() as session:
        for raw, where in batch:
            digest = sha256_of(raw)
            assert session.get(Blob, digest) is not None
            seen = session.scalar(select(MessageSource.id).where(MessageSource.uid == where.uid))
            quarantined = session.scalar(
                select(QuarantineEntry.id).where(QuarantineEntry.blob_sha256 == digest)
            )
            assert seen is not None or quarantined is not None, f"lost: {raw[:200]!r}"

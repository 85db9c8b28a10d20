"""The parser on the mail offices really get: odd charsets, hostile names, broken MIME."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import mailparser
import pytest
from mailparser.exceptions import MailParserError

from inbox.parse import ParseError, html_to_text, parse, parse_message_ids, safe_filename

HEAD = b"From: Mary Jones <mary@example.com>\nTo: casework@office.example.org.uk\n"


def mail(headers: bytes, body: bytes = b"Hello\n") -> bytes:
    """A message with the usual From and To, the given headers and body."""
    return HEAD + headers + b"\n" + body


def multipart(*parts: bytes, subtype: bytes = b"mixed") -> bytes:
    """A multipart message from parts given as their own header block and body."""
    body = b"".join(b"--BOUNDARY\n" + part + b"\n" for part in parts) + b"--BOUNDARY--\n"
    headers = b"Subject: parts\nContent-Type: multipart/" + subtype + b'; boundary="BOUNDARY"\n'
    return mail(headers, body)


# -- charsets -----------------------------------------------------------------------------

CHARSET_CASES = [
    pytest.param(
        b"text/plain; charset=iso-8859-1", b"caf\xe9 \xa315", "café £15", False, id="latin-1"
    ),
    pytest.param(
        b"text/plain; charset=windows-1252",
        b"\x93quoted\x94 \x80100",
        "“quoted” €100",
        False,
        id="windows-1252",
    ),
    pytest.param(b"text/plain; charset=utf-8", "Siân ☺".encode(), "Siân ☺", False, id="utf-8"),
    pytest.param(
        b"text/plain; charset=x-made-up", b"caf\xe9", "café", True, id="unknown charset, latin-1"
    ),
    pytest.param(
        b"text/plain; charset=x-made-up", "café".encode(), "café", True, id="unknown charset, utf-8"
    ),
    pytest.param(b"text/plain", "naïve".encode(), "naïve", False, id="8-bit utf-8, no charset"),
    pytest.param(b"text/plain", b"na\xefve", "naïve", True, id="8-bit latin-1, no charset"),
    pytest.param(
        b"text/plain; charset=us-ascii", b"caf\xe9", "café", True, id="8-bit under us-ascii"
    ),
    pytest.param(
        b"text/plain; charset=utf-8", b"bad \xff\xfe utf-8", "bad ÿþ utf-8", True, id="bad utf-8"
    ),
    pytest.param(
        b"text/plain; charset=unicode_escape", b"\\ud800 x", "\\ud800 x", False, id="odd codec"
    ),
]


@pytest.mark.parametrize(("content_type", "body", "text", "noted"), CHARSET_CASES)
def test_body_charsets(content_type: bytes, body: bytes, text: str, noted: bool) -> None:
    raw = mail(b"Subject: money\nContent-Type: " + content_type + b"\n", body)
    parsed = parse(raw)
    assert parsed.text.strip() == text
    assert "\ufffd" not in parsed.text
    assert any("charset" in d for d in parsed.defects) == noted


def test_quoted_printable_latin_1() -> None:
    raw = mail(
        b"Subject: qp\nContent-Type: text/plain; charset=iso-8859-1\n"
        b"Content-Transfer-Encoding: quoted-printable\n",
        b"Caf=E9 au lait =\nand more\n",
    )
    assert parse(raw).text.strip() == "Café au lait and more"


# -- headers --------------------------------------------------------------------------------


def test_encoded_names_and_subject() -> None:
    raw = (
        b"From: =?utf-8?q?Ji=C5=99=C3=AD_Nov=C3=A1k?= <Jiri.Novak@Example.CZ>\n"
        b'To: "=?iso-8859-1?q?Smith=2C_Ren=E9e?=" <RENEE@example.com>, plain@example.com\n'
        b"Cc: Team: one@example.com, Two <two@example.com>;\n"
        b"Subject: =?utf-8?b?RGFtcCBhbmQgbW91bGQg4oCT?=\n =?utf-8?b?IGZsYXQgMw==?=\n"
        b"X-Latin: Caf\xe9 raw 8-bit\n"
        b"\nBody\n"
    )
    parsed = parse(raw)
    assert parsed.sender is not None
    assert (parsed.sender.name, parsed.sender.email) == ("Jiří Novák", "jiri.novak@example.cz")
    assert [(a.name, a.email) for a in parsed.to] == [
        ("Smith, Renée", "renee@example.com"),
        ("", "plain@example.com"),
    ]
    assert [a.email for a in parsed.cc] == ["one@example.com", "two@example.com"]
    assert parsed.subject == "Damp and mould – flat 3"
    assert parsed.headers["x-latin"] == ["Café raw 8-bit"]


def test_headers_are_lower_cased_with_every_value() -> None:
    raw = mail(b"Subject: s\nReceived: from a\nRECEIVED: from b\nX-Thing: =?utf-8?q?=C3=A9?=\n")
    headers = parse(raw).headers
    assert headers["received"] == ["from a", "from b"]
    assert headers["x-thing"] == ["é"]
    assert all(name == name.lower() for name in headers)


@pytest.mark.parametrize(
    ("header", "message_id"),
    [
        (b"Message-ID: <abc@example.com>\n", "abc@example.com"),
        (b"Message-ID:   < spaced@example.com >\n", "spaced@example.com"),
        (b"Message-ID: bare-token@example.com\n", "bare-token@example.com"),
        (b"Message-ID: two words\n", None),
        (b"", None),
    ],
)
def test_message_id(header: bytes, message_id: str | None) -> None:
    assert parse(mail(b"Subject: s\n" + header)).message_id == message_id


def test_references_and_in_reply_to_tolerate_junk() -> None:
    raw = mail(
        b"Subject: s\n"
        b"In-Reply-To: message from Mary of Mon, 2 Nov 2026 <first@example.com>\n"
        b"References: <first@example.com> junk, <second@example.com>\n"
        b"\t<third@example.com><first@example.com> <not an id> <>\n"
    )
    parsed = parse(raw)
    assert parsed.in_reply_to == ["first@example.com"]
    assert parsed.references == ["first@example.com", "second@example.com", "third@example.com"]


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("<a@x> <b@x>", ["a@x", "b@x"]),
        ("a@x, b@x", ["a@x", "b@x"]),
        ("no ids here", []),
        ("", []),
    ],
)
def test_parse_message_ids(value: str, ids: list[str]) -> None:
    assert parse_message_ids(value) == ids


DATE_CASES = [
    (b"Mon, 2 Nov 2026 09:30:00 +0000", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
    (b"Mon, 2 Nov 2026 15:00:00 +0530", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
    (b"Mon, 2 Nov 2026 15:00:00 +05:30", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
    (b"Mon, 2 Nov 2026 01:30:00 -0800", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
    (b"Mon, 2 Nov 2026 04:30:00 EST", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
    (b"Mon, 2 Nov 2026 10:30:00 BST", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
    (b"Mon, 2 Nov 2026 09:30:00 +0000 (GMT)", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
    (b"Mon, 2 Nov 2026 09:30:00 -0000", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
    (b"2 Nov 2026 09:30", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
    (b"yesterday at noon", None),
    (b"Mon, 2 Nov 99999 09:30:00 +0000", None),
]


@pytest.mark.parametrize(("value", "expected"), DATE_CASES)
def test_dates_become_utc(value: bytes, expected: datetime | None) -> None:
    parsed = parse(mail(b"Subject: s\nDate: " + value + b"\n"))
    assert parsed.date == expected
    assert parsed.date is None or parsed.date.utcoffset() is not None
    assert parsed.headers["date"] == [value.decode()]


def test_missing_date_is_none() -> None:
    assert parse(mail(b"Subject: s\n")).date is None


# -- bodies --------------------------------------------------------------------------------


def test_plain_text_is_preferred_over_html() -> None:
    raw = multipart(
        b"Content-Type: text/plain; charset=utf-8\n\nPlain words\n",
        b"Content-Type: text/html; charset=utf-8\n\n<p>HTML words</p>\n",
        subtype=b"alternative",
    )
    parsed = parse(raw)
    assert parsed.text.strip() == "Plain words"
    assert parsed.html is not None and "HTML words" in parsed.html
    assert parsed.parser == "mail-parser"


def test_html_only_gives_readable_text_without_script() -> None:
    html = (
        b"<html><head><title>Title</title><style>p {color: red}</style>"
        b"<script>alert('x')</script></head><body><p>Dear&nbsp;Jane,</p>"
        b"<p>The damp &amp; mould<br>are worse.</p><ul><li>one</li><li>two</li></ul>"
        b"<script>document.write('hidden')</script></body></html>"
    )
    parsed = parse(mail(b"Subject: s\nContent-Type: text/html; charset=utf-8\n", html))
    assert parsed.text == "Dear Jane,\n\nThe damp & mould\nare worse.\n\none\n\ntwo"
    assert parsed.html is not None and "<script>" in parsed.html  # sanitised at display time


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("<div>x<script>bad()</script>y</div>", "xy"),
        ("<SCRIPT>bad()</SCRIPT>ok", "ok"),
        ("<![ bogus markup <p>still read</p>", "still read"),
        ("<style>unclosed", ""),
        ("<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>", "1 2\n\n3"),
        ("a &lt;b&gt; &#163;5", "a <b> £5"),
        ("", ""),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


@pytest.mark.parametrize("piece", ["<a ", '<a x="', "<!--", "<![", "</", "<script>"])
def test_hostile_markup_is_read_in_linear_time(piece: str) -> None:
    # html.parser on Python 3.11 took 19 s for 20,000 repeats of "<a "
    started = time.perf_counter()
    html_to_text(piece * 20_000)
    assert time.perf_counter() - started < 5


def test_attached_message_is_an_attachment_not_body() -> None:
    # Given a constituent forwarding a council email as an attachment
    raw = multipart(
        b"Content-Type: text/plain\n\nSee the council's reply.\n\nMary Jones\nEX1 2AB\n",
        b"Content-Type: message/rfc822\n\nFrom: officer@exeter.gov.uk\nSubject: Re\n\n"
        b"Regards\nHousing Officer\nCivic Centre\nEX1 1JN\n",
    )
    parsed = parse(raw)
    # Then the officer's signature stays out of the body, and the forward is kept whole
    assert "Civic Centre" not in parsed.text
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"]
    assert b"Civic Centre" in parsed.attachments[0].payload


def test_mail_parser_failure_falls_back_to_the_email_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(raw: bytes) -> None:
        raise MailParserError("boom")

    monkeypatch.setattr(mailparser, "parse_from_bytes", broken)
    parsed = parse(mail(b"Subject: s\nContent-Type: text/plain; charset=utf-8\n", b"Still here\n"))
    assert parsed.parser == "email"
    assert parsed.text.strip() == "Still here"


# -- attachments ---------------------------------------------------------------------------


def attachment(disposition: bytes, body: bytes = b"UERGIGRhdGE=\n") -> bytes:
    """A base64 application/pdf part with the given Content-Disposition."""
    return (
        b"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        b"Content-Disposition: " + disposition + b"\n\n" + body
    )


def test_attachments_get_safe_decoded_names() -> None:
    raw = multipart(
        b"Content-Type: text/plain\n\nSee attached.\n",
        attachment(b'attachment; filename="../../etc/passwd"'),
        attachment(b"attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20final.pdf"),
        attachment(b"attachment; filename*0*=utf-8''Lett; filename*1*=re%20%C3%A0%20.pdf"),
        attachment(b'attachment; filename="=?utf-8?b?w6lsw6h2ZS5wZGY=?="'),
        attachment(b"attachment"),
        attachment(b'attachment; filename="C:\\\\Users\\\\me\\\\.hidden.pdf"'),
    )
    parsed = parse(raw)
    assert [a.filename for a in parsed.attachments] == [
        "passwd",
        "résumé final.pdf",
        "Lettre à .pdf",
        "élève.pdf",
        "attachment-5.pdf",
        "hidden.pdf",
    ]
    assert all(a.payload == b"PDF data" for a in parsed.attachments)
    assert {a.content_type for a in parsed.attachments} == {"application/pdf"}
    assert parsed.text.strip() == "See attached."


SAFE_NAMES = [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\win.ini", "win.ini"),
    (".bashrc", "bashrc"),
    ("...", "attachment-3.bin"),
    ("..", "attachment-3.bin"),
    ("", "attachment-3.bin"),
    (None, "attachment-3.bin"),
    ("a\x00b\x1fc\x7f.txt", "abc.txt"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),
    ("line\nbreak.txt", "line break.txt"),
    ('what?<>:"|*.txt', "what_.txt"),
    ("con.txt", "_con.txt"),
    ("LPT1", "_LPT1"),
    ("trailing dots. . .", "trailing dots"),
    ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ("é" * 150 + ".pdf", "é" * 98 + ".pdf"),
]


@pytest.mark.parametrize(("name", "safe"), SAFE_NAMES)
def test_safe_filename(name: str | None, safe: str) -> None:
    assert safe_filename(name, 3) == safe


def test_oversize_attachment_is_dropped_with_a_defect() -> None:
    big = b"QUFB" * 100 + b"\n"  # 300 bytes once decoded
    raw = multipart(
        b"Content-Type: text/plain\n\nTwo files.\n",
        attachment(b'attachment; filename="big.pdf"', big),
        attachment(b'attachment; filename="small.pdf"'),
    )
    parsed = parse(raw, max_attachment_bytes=100)
    assert [a.filename for a in parsed.attachments] == ["small.pdf"]
    assert any("big.pdf" in d and "300 bytes" in d for d in parsed.defects)
    assert parse(raw, max_attachment_bytes=300).attachments[0].filename == "big.pdf"


# -- broken and non-mail input --------------------------------------------------------------


def test_truncated_multipart_parses_with_defects() -> None:
    raw = multipart(
        b"Content-Type: text/plain\n\nThe start of my letter.\n",
        attachment(b'attachment; filename="cut.pdf"', b"UERGIG"),
    ).rsplit(b"--BOUNDARY", 1)[0]
    parsed = parse(raw)
    assert "The start of my letter." in parsed.text
    assert parsed.defects


def test_multipart_without_boundary_is_read_as_text() -> None:
    raw = mail(b"Subject: s\nContent-Type: multipart/mixed\n", b"Just words.\n")
    parsed = parse(raw)
    assert "Just words." in parsed.text
    assert any("Boundary" in d for d in parsed.defects)


def test_deeply_nested_mime_keeps_the_headers() -> None:
    nesting = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(3000)
    )
    parsed = parse(HEAD + b"Subject: deep\n" + nesting + b"Content-Type: text/plain\n\nhi\n")
    assert parsed.subject == "deep"
    assert parsed.defects


def test_headers_only_message_parses() -> None:
    parsed = parse(HEAD + b"Subject: no body")
    assert (parsed.subject, parsed.text) == ("no body", "")


@pytest.mark.parametrize(
    ("prefix", "noted"),
    [
        pytest.param(b"\r\n\r\n", False, id="blank lines"),
        pytest.param(b"\xef\xbb\xbf", False, id="byte order mark"),
        pytest.param(b"\x00\x00garbled first line\n", True, id="garbled first line"),
    ],
)
def test_junk_before_the_headers_is_tolerated(prefix: bytes, noted: bool) -> None:
    parsed = parse(prefix + mail(b"Subject: s\n"))
    assert (parsed.subject, parsed.text.strip()) == ("s", "Hello")
    assert any("first line" in d for d in parsed.defects) == noted


def test_part_the_email_package_cannot_read_is_skipped_with_a_defect() -> None:
    # A NUL in a charset parameter makes the standard library raise ValueError
    raw = multipart(
        b"Content-Type: text/plain; charset=iso-8859\x00-1\n\nfirst part\n",
        b"Content-Type: text/plain\n\nsecond part\n",
    )
    parsed = parse(raw)
    assert "second part" in parsed.text
    assert any("MIME part 1 unreadable" in d for d in parsed.defects)


def test_content_type_is_lower_cased() -> None:
    assert parse(mail(b"Subject: s\nContent-Type: TEXT/Plain\n")).content_type == "text/plain"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"  \r\n\t\n", id="whitespace"),
        pytest.param(b"Hello, this is not an email at all.\nJust text.\n", id="no header block"),
        pytest.param(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", id="a pdf"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", id="a png"),
        pytest.param(b"X-Only: header\n\n", id="no from, no subject, no body"),
    ],
)
def test_non_email_raises_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError):
        parse(raw)


# -- large messages -------------------------------------------------------------------------


def photographs(*, html: bool) -> bytes:
    """A letter in windows-1252 (and HTML) with two photographs and a PDF: over 3 MB."""
    text = b"Dear Councillor,\n\nThe damp is back \x96 see the photos.\n\nMary Jones\nEX4 6PQ\n"
    body = b"Content-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: 8bit\n\n"
    parts = [body + text]
    if html:
        parts = [
            b'Content-Type: multipart/alternative; boundary="ALT"\n\n--ALT\n'
            + parts[0]
            + b"\n--ALT\nContent-Type: text/html; charset=utf-8\n\n"
            + b"<p>Dear Councillor,</p><p>The damp is back \xe2\x80\x93 see the photos.</p>"
            + b"\n--ALT--\n"
        ]
    for n, kind in enumerate([b"image/jpeg", b"image/jpeg", b"application/pdf"]):
        payload = base64.encodebytes(bytes(range(256)) * 4_000 + bytes([n]))
        parts.append(
            b"Content-Type: " + kind + b"\nContent-Transfer-Encoding: base64\n"
            b'Content-Disposition: attachment; filename="photo'
            + str(n).encode()
            + b'"\n\n'
            + payload
        )
    return multipart(*parts)


@pytest.mark.parametrize("html", [False, True], ids=["text", "text and html"])
def test_a_large_message_parses_as_it_would_with_mail_parser_reading_all_of_it(
    html: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mail-parser is spared the photographs' bytes; what the message says is the same."""
    raw = photographs(html=html)
    assert len(raw) > 3_000_000
    shortened = parse(raw)
    monkeypatch.setattr("inbox.parse.LARGE_MESSAGE_BYTES", len(raw) + 1)
    whole = parse(raw)
    assert shortened.parser == whole.parser == "mail-parser"
    assert "damp is back – see" in shortened.text
    assert (shortened.text, shortened.html, shortened.defects) == (
        whole.text,
        whole.html,
        whole.defects,
    )
    assert [(a.filename, a.content_type, a.payload) for a in shortened.attachments] == [
        (a.filename, a.content_type, a.payload) for a in whole.attachments
    ]
    assert [a.size for a in shortened.attachments] == [1_024_001] * 3

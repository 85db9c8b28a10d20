"""Turn raw bytes into a ParsedMessage: mail-parser reads bodies, the standard library the rest."""

from __future__ import annotations

import copy
import email
import email.policy
import logging
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import MessageError
from email.header import decode_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from itertools import islice

import mailparser
from mailparser.exceptions import MailParserError

from inbox.message import Address, Attachment, Headers, ParsedMessage

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_FILENAME_BYTES = 200
MAX_MIME_DEPTH = 40
LARGE_MESSAGE_BYTES = 1024 * 1024  # past this, mail-parser is not given the attachments

# What the email package raises on hostile input (e.g. a NUL in a charset parameter).
EMAIL_PACKAGE_ERRORS = (
    MessageError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    LookupError,
)
# mail-parser is third-party code fed hostile input; the standard library walk backs it up.
_MAILPARSER_ERRORS = (MailParserError, RecursionError, *EMAIL_PACKAGE_ERRORS, KeyError)

_FALLBACK_CHARSETS = ("utf-8", "cp1252")
# Names seen in real mail that Python's codecs do not know.
_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "gb2312": "gb18030",
    "x-gbk": "gbk",
    "windows-874": "cp874",
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
}
# The default policy rewrites these from what it parsed; keep what the sender wrote.
_VERBATIM_HEADERS = frozenset({"date", "resent-date"})
# Headers the default policy parses into a normalised form (addresses, MIME parameters).
_STRUCTURED_HEADERS = frozenset(
    {
        *("from", "sender", "reply-to", "to", "cc", "bcc"),
        *("resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc"),
        *("content-type", "content-disposition", "content-transfer-encoding"),
        *("message-id", "mime-version", "orig-date"),
    }
)
_SURROGATE_RE = re.compile("[\udc80-\udcff]")
_MESSAGE_ID_RE = re.compile(r"<\s*([^<>\s]{1,998}?)\s*>")
_COLON_ZONE_RE = re.compile(r"([+-]\d{2}):(\d{2})( ?(?:\([^)]*\))? ?)$")
# Named zones that Python's date parser does not know but British mail uses.
_EXTRA_ZONES = {"BST": "+0100", "CET": "+0100", "CEST": "+0200"}
_ZONE_NAME_RE = re.compile(r"\b(" + "|".join(_EXTRA_ZONES) + r")\b")
_FILENAME_SPACE_RE = re.compile("[ \t\r\n\v\f\xa0\u2028\u2029]+")
_UNSAFE_FILENAME_RE = re.compile(r'[<>:"|?*]+')
_RESERVED_FILENAME_RE = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\.|$)", re.IGNORECASE)
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


class ParseError(Exception):
    """The bytes are not an email at all, so only the raw blob can be kept."""


# -- text in unknown charsets -------------------------------------------------


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Decode bytes in a declared charset or the usual suspects; the note says what was guessed."""
    declared = (charset or "").strip().strip('"').lower()
    declared = _CHARSET_ALIASES.get(declared, declared)
    if declared:
        try:
            text = data.decode(declared)
            text.encode("utf-8")  # odd codecs (unicode_escape) can yield lone surrogates
            return text, None
        except (LookupError, UnicodeError):
            pass
    elif data.isascii():
        return data.decode("ascii"), None
    for candidate in _FALLBACK_CHARSETS:
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        return text, _charset_note(charset, candidate)
    return data.decode("latin-1", "replace"), _charset_note(charset, "latin-1")


def _charset_note(declared: str | None, used: str) -> str:
    """Describe a charset guess for the defects list."""
    if declared:
        return f"charset {declared!r} could not decode the text; read as {used}"
    return f"8-bit text without a declared charset; read as {used}"


def _unsurrogate(value: str, charset: str | None = None) -> str:
    """Re-read raw 8-bit header bytes (kept as surrogates by the email package) as text:
    UTF-8, else the charset the message's body declares, else the usual suspects."""
    if not _SURROGATE_RE.search(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    if charset:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            text, note = decode_text(data, charset)
            if note is None:
                return text
    return decode_text(data, None)[0]


# -- headers -------------------------------------------------------------------


def decode_header_text(value: str) -> str:
    """Decode RFC 2047 words with the charset fallbacks, for when the email package gives up."""
    value = _unsurrogate(value).replace("\r", "").replace("\n", "")
    try:
        chunks = decode_header(value)
    except EMAIL_PACKAGE_ERRORS:
        return value
    return _as_shown("".join(_header_chunk(chunk, charset) for chunk, charset in chunks))


def _header_chunk(chunk: bytes | str, charset: str | None) -> str:
    """One piece from decode_header; plain pieces come back as raw-unicode-escape bytes."""
    if isinstance(chunk, str):
        return chunk
    if charset is None:
        try:
            return chunk.decode("raw-unicode-escape")
        except UnicodeDecodeError:
            pass
    return decode_text(chunk, charset)[0]


def _header_value(name: str, raw: str) -> str:
    """One header as text, cleaned of NULs and C1 controls (see _as_shown)."""
    return _as_shown(_decoded_header_value(name, raw))


def _decoded_header_value(name: str, raw: str) -> str:
    """One header as text: the default policy when it copes, our own decoder when not.

    A value with no encoded word and no 8-bit byte only needs unfolding: the policy's full
    structured parse of every Received and DKIM line was a third of the cost of parsing.
    """
    value = _unsurrogate(raw)
    lowered = name.lower()
    plain = "=?" not in value and value.isascii() and lowered not in _STRUCTURED_HEADERS
    if plain or lowered in _VERBATIM_HEADERS:
        return value.replace("\r", "").replace("\n", "")
    try:
        return str(email.policy.default.header_fetch_parse(name, value))
    except EMAIL_PACKAGE_ERRORS:
        return decode_header_text(value)


def _raw_headers(msg: Message) -> list[tuple[str, str]]:
    """Every header as written, with raw 8-bit bytes read in the body's charset when not UTF-8.

    Old mail programs write 8-bit headers in the message's own charset (GB2312, windows-1251,
    KOI8-R) and mail readers read them so; the cp1252 fallback alone made them mojibake.
    """
    items = [(name, str(raw)) for name, raw in msg.raw_items()]
    if not any(_SURROGATE_RE.search(value) for _, value in items):
        return items
    charset = _body_charset(msg)
    return [(name, _unsurrogate(value, charset)) for name, value in items]


# Declared for 8-bit text that is mostly windows-1252 in practice: the fallback reads it so.
_NOT_TELLING_CHARSETS = frozenset({"us-ascii", "ascii", "utf-8", "utf8", "iso-8859-1", "latin-1"})
_CHARSET_PARTS_READ = 20


def _body_charset(msg: Message) -> str | None:
    """The first charset a part declares that says more than ASCII, UTF-8 or Latin-1."""
    try:
        for part in islice(msg.walk(), _CHARSET_PARTS_READ):
            charset = part.get_content_charset()
            if charset and charset not in _NOT_TELLING_CHARSETS:
                return charset
    except (RecursionError, *EMAIL_PACKAGE_ERRORS):
        pass
    return None


def _raw_values(items: list[tuple[str, str]], name: str) -> list[str]:
    """The undecoded values of one header, unfolded and with 8-bit bytes read as text."""
    return [
        _as_shown(_unsurrogate(value)).replace("\r", "").replace("\n", "")
        for key, value in items
        if key.lower() == name
    ]


def parse_message_ids(value: str) -> list[str]:
    """Message-IDs in a header value, without angle brackets, skipping what is not one."""
    ids = _MESSAGE_ID_RE.findall(value)
    if not ids:
        ids = [token.strip("<>,;") for token in value.split() if "@" in token]
    return list(dict.fromkeys(i for i in ids if i))


def _message_id(values: list[str]) -> str | None:
    """The message's own id; a lone bare token is accepted as broken mailers send one."""
    if not values:
        return None
    ids = parse_message_ids(values[0])
    if ids:
        return ids[0]
    token = values[0].strip().strip("<>")
    return token if token and not any(ch.isspace() for ch in token) else None


def _addresses(values: list[str]) -> list[Address]:
    """Mailboxes from address headers: names decoded, emails lower-cased, empty ones dropped.

    A token without "@" ("From: Residents Association", an undecoded =?koi8-r?...?= name) is a
    name with no mailbox, as mail readers show it: taken for an address, it became a sender
    "residents" that different writers shared.
    """
    found = []
    for name, addr in getaddresses(values):
        addr = addr.strip().lower()
        if "@" in addr:
            found.append(Address(name=decode_header_text(name).strip(), email=addr))
    return found


def _date(values: list[str]) -> datetime | None:
    """The Date header in UTC; a date without a zone is taken as UTC, garbage as None."""
    if not values:
        return None
    value = _COLON_ZONE_RE.sub(r"\1\2\3", " ".join(values[0].split()))
    value = _ZONE_NAME_RE.sub(lambda match: _EXTRA_ZONES[match.group(1)], value)
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# -- readable text from HTML -------------------------------------------------------
# Not html.parser: on Python 3.11 it takes quadratic time on hostile markup ("<a " repeated
# 20,000 times took 19 s), so a small scanner that is linear by construction reads the text.

_HIDDEN_OPEN_RE = re.compile(r"<(script|style|title|noscript|template)\b", re.IGNORECASE)
_HIDDEN_CLOSE_RE = {
    name: re.compile(rf"</{name}\b[^<>]*>?", re.IGNORECASE)
    for name in ("script", "style", "title", "noscript", "template")
}
# Each alternative always completes once started ('>' optional), so no input backtracks.
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^<>]*>?|<[!?/][^<>]*>?")
_BLOCK_TAGS = frozenset(
    {"address", "article", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "h1", "h2"}
    | {"h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table"}
    | {"tr", "ul"}
)
_CELL_TAGS = frozenset({"td", "th"})
_HTML_SPACE_RE = re.compile(r"[ \t\r\n\f\xa0]+")


def html_to_text(markup: str) -> str:
    """Readable text from an HTML body, for search, tagging and messages with no text part."""
    text = _visible_text(_without_hidden(_without_comments(markup)))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _without_comments(markup: str) -> str:
    """Drop <!-- --> comments; an unclosed one runs to the end, as in browsers."""
    kept, pos = [], 0
    while (start := markup.find("<!--", pos)) != -1:
        kept.append(markup[pos:start])
        end = markup.find("-->", start + 4)
        pos = len(markup) if end == -1 else end + 3
    kept.append(markup[pos:])
    return "".join(kept)


def _without_hidden(markup: str) -> str:
    """Drop script, style and title elements with their content; unclosed ones run to the end."""
    kept, pos = [], 0
    while (opened := _HIDDEN_OPEN_RE.search(markup, pos)) is not None:
        kept.append(markup[pos : opened.start()])
        closed = _HIDDEN_CLOSE_RE[opened.group(1).lower()].search(markup, opened.end())
        pos = len(markup) if closed is None else closed.end()
    kept.append(markup[pos:])
    return "".join(kept)


def _visible_text(markup: str) -> str:
    """Text between tags, with line breaks for block elements and spaces between cells."""
    chunks, pos = [], 0
    for tag in _TAG_RE.finditer(markup):
        chunks.append(_HTML_SPACE_RE.sub(" ", unescape(markup[pos : tag.start()])))
        name = (tag.group(2) or "").lower()
        if name in _BLOCK_TAGS:
            chunks.append("\n")
        elif name in _CELL_TAGS and not tag.group(1):
            chunks.append(" ")
        pos = tag.end()
    chunks.append(_HTML_SPACE_RE.sub(" ", unescape(markup[pos:])))
    return "".join(chunks)


# -- attachments ---------------------------------------------------------------


# Extensions for parts sent without a filename, so a caseworker's computer can open them: a
# returned or forwarded message as .eml, not "attachment-1.bin". A fixed list, not mimetypes,
# whose answers depend on the machine's /etc/mime.types.
_EXTENSIONS = {
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "text/rfc822-headers": ".txt",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
}


def safe_filename(name: str | None, index: int, content_type: str = "") -> str:
    """A filename safe to show and store: a bare, printable, length-limited basename."""
    fallback = f"attachment-{index}{_EXTENSIONS.get(content_type.lower(), '.bin')}"
    if not name:
        return fallback
    name = _unsurrogate(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _FILENAME_SPACE_RE.sub(" ", unicodedata.normalize("NFC", name))
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    name = _UNSAFE_FILENAME_RE.sub("_", name).strip(" .")
    if _RESERVED_FILENAME_RE.match(name):
        name = "_" + name
    return _truncate_filename(name) or fallback


def _truncate_filename(name: str) -> str:
    """Cut a filename to MAX_FILENAME_BYTES of UTF-8, keeping a short extension."""
    if len(name.encode()) <= MAX_FILENAME_BYTES:
        return name
    stem, ext = os.path.splitext(name)
    if len(ext.encode()) > 16:
        stem, ext = name, ""
    room = MAX_FILENAME_BYTES - len(ext.encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(" .")
    return stem + ext if stem else ""


def _filename(part: Message) -> str | None:
    """The part's declared filename, RFC 2231 and RFC 2047 decoded."""
    try:
        name = part.get_filename()
    except EMAIL_PACKAGE_ERRORS:
        return None
    if name and "=?" in name:
        name = decode_header_text(name)
    return name


def _payload_bytes(part: Message) -> bytes | None:
    """The decoded bytes of a leaf part; an attached message (or report) is kept whole."""
    if not part.is_multipart():
        payload = part.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""
    payload = part.get_payload()
    if not isinstance(payload, list):
        return b""
    try:
        return b"\n".join(bytes(inner.as_bytes()) for inner in payload)
    except EMAIL_PACKAGE_ERRORS:
        return None


# -- the standard library walk -----------------------------------------------------


@dataclass
class _Body:
    """What a walk of the MIME tree found; notes on skipped parts are kept whichever body wins."""

    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    has_attached_mail: bool = False


def _content_type(part: Message) -> str:
    """The part's MIME type; a header the email package chokes on counts as missing."""
    try:
        return part.get_content_type()
    except EMAIL_PACKAGE_ERRORS:
        return "application/octet-stream"


def _part_defects(part: Message) -> list[str]:
    """The email package's defects on one part, as readable strings."""
    ctype = _content_type(part)
    return [
        f"{ctype}: {type(defect).__name__}: {(defect.__doc__ or '').strip().splitlines()[0]}"
        if defect.__doc__
        else f"{ctype}: {type(defect).__name__}"
        for defect in part.defects
    ]


def _leaves(part: Message, body: _Body, depth: int = 0) -> Iterator[Message]:
    """Leaf parts in order; attached messages count as leaves, too-deep nesting is noted."""
    body.defects.extend(_part_defects(part))
    if not (part.is_multipart() and _content_type(part).startswith("multipart/")):
        yield part
        return
    if depth >= MAX_MIME_DEPTH:
        body.notes.append(f"MIME nested deeper than {MAX_MIME_DEPTH} levels; inner parts skipped")
        return
    for child in part.get_payload():
        if isinstance(child, Message):
            yield from _leaves(child, body, depth + 1)


def _is_body_text(part: Message, filename: str | None) -> bool:
    """Inline text/plain or text/html without a filename is body, everything else attached."""
    if filename or part.get_content_disposition() == "attachment":
        return False
    ctype = _content_type(part)
    return ctype.startswith("multipart/") or ctype in ("text/plain", "text/html")


def _take_text(part: Message, body: _Body) -> None:
    """Decode a body part with charset fallbacks and file it as text or HTML."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    text, note = decode_text(data, part.get_content_charset())
    ctype = _content_type(part)
    if note:
        body.defects.append(f"{ctype}: {note}")
    (body.htmls if ctype == "text/html" else body.texts).append(text)


def _take_attachment(part: Message, filename: str | None, body: _Body, limit: int) -> None:
    """Keep an attachment under the size limit; note the ones dropped and why."""
    index = len(body.attachments) + len(body.notes) + 1
    name = safe_filename(filename, index, _content_type(part))
    payload = _payload_bytes(part)
    if payload is None:
        body.notes.append(f"attachment {name!r} could not be read and was not kept")
    elif len(payload) > limit:
        body.notes.append(
            f"attachment {name!r} ({len(payload)} bytes) is over the {limit}-byte limit"
            " and was not kept"
        )
    else:
        body.attachments.append(Attachment(name, _content_type(part), payload))


def _take_part(part: Message, body: _Body, limit: int) -> None:
    """File one leaf part as body text or as an attachment."""
    body.has_attached_mail |= part.get_content_maintype() == "message"
    filename = _filename(part)
    if _is_body_text(part, filename):
        _take_text(part, body)
    else:
        _take_attachment(part, filename, body, limit)


def _walk(msg: Message, limit: int) -> _Body:
    """Read the MIME tree with the standard library alone; an unreadable part is noted."""
    body = _Body()
    for number, part in enumerate(_leaves(msg, body), start=1):
        try:
            _take_part(part, body, limit)
        except EMAIL_PACKAGE_ERRORS as error:  # e.g. a NUL in the charset parameter
            body.notes.append(f"MIME part {number} unreadable by the email package ({error!r})")
    return body


# -- mail-parser ------------------------------------------------------------------


@dataclass
class _MailParserBody:
    """The body text mail-parser found, with its defects flattened to strings."""

    texts: list[str]
    htmls: list[str]
    defects: list[str]


def _for_mailparser(raw: bytes, msg: Message) -> bytes:
    """The message for mail-parser, which reads every byte of it again (and again, in its own
    two passes) though only its body text is taken: a large message goes without the
    contents of its images and documents (a 4 MB photograph cost its parse 120 ms more).
    Text and attached mail stay as they are; anything that will not rewrite goes whole."""
    if len(raw) < LARGE_MESSAGE_BYTES or not msg.is_multipart():
        return raw
    try:
        reduced = copy.deepcopy(msg)  # the parts' text is shared, not copied: it is immutable
        for part in reduced.walk():
            if not part.is_multipart() and part.get_content_maintype() not in _BODY_MAINTYPES:
                part.set_payload("")
        return reduced.as_bytes()
    except (*EMAIL_PACKAGE_ERRORS, RecursionError):
        return raw


_BODY_MAINTYPES = frozenset({"text", "message"})


def _mailparser_body(raw: bytes) -> _MailParserBody | None:
    """Ask mail-parser for the body; None when it fails, so the walk's result is used."""
    try:
        parsed = mailparser.parse_from_bytes(raw)
        texts = [str(t) for t in parsed.text_plain]
        htmls = [str(h) for h in parsed.text_html]
        defects = [
            f"{where}: {item}"
            for entry in parsed.defects
            for where, items in entry.items()
            for item in items
        ]
    except _MAILPARSER_ERRORS as error:
        log.warning("mail-parser failed (%s); using the email package", type(error).__name__)
        return None
    return _MailParserBody(texts, htmls, defects)


def _is_sound(found: _MailParserBody, walked: _Body) -> bool:
    """mail-parser's body is used unless it lost text, garbled it, or mixed in attached mail."""
    if walked.has_attached_mail:
        return False  # it reads attached messages into the body: a forward's signature is not ours
    if not (found.texts or found.htmls):
        return not (walked.texts or walked.htmls)
    lossy = "\ufffd" in "".join(found.texts + found.htmls)
    return not lossy or "\ufffd" in "".join(walked.texts + walked.htmls)


# -- putting it together ----------------------------------------------------------


@dataclass
class _Loaded:
    """The parsed tree, the bytes it came from, and whether its body could be read at all."""

    raw: bytes
    msg: Message
    whole: bool = True
    notes: list[str] = field(default_factory=list)


def _load(raw: bytes) -> _Loaded:
    """Parse the MIME tree, or just the headers when the tree is nested past Python's limit."""
    # compat32 leaves header values as written: they are decoded one by one, where a
    # failure can be caught, not inside get_content_type() or get_filename().
    try:
        return _Loaded(raw, email.message_from_bytes(raw, policy=email.policy.compat32))
    except RecursionError:
        headers_only = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        return _Loaded(raw, headers_only, False, ["MIME nested too deeply to read; body not read"])


def _header_block(raw: bytes) -> _Loaded:
    """Parse, skipping one garbled first line when the headers start on the next."""
    loaded = _load(raw)
    if loaded.msg.keys():
        return loaded
    loaded = _load(raw.partition(b"\n")[2])
    if not (loaded.msg["from"] or loaded.msg["subject"]):
        raise ParseError("no header block")
    loaded.notes.insert(0, "the first line was not a header and was skipped")
    return loaded


def _as_shown(text: str) -> str:
    """Text with NULs dropped and C1 controls read as windows-1252, as mail readers show it.

    NUL: spam in mail-parser's corpus ends its base64 with NULs, and PostgreSQL refuses them
    (the message went to quarantine at the record step while SQLite kept it). C1: Outlook
    labels windows-1252 text iso-8859-1, whose decoder turns its quotes and dashes into
    invisible controls (U+0092 for the apostrophe); every browser reads the label as
    windows-1252 (WHATWG), and no mail means a C1 control.
    """
    if not _NUL_OR_C1_RE.search(text):
        return text
    return text.replace("\x00", "").translate(_C1_AS_CP1252)


_NUL_OR_C1_RE = re.compile("[\x00\x80-\x9f]")
_C1_AS_CP1252 = {
    code: bytes([code]).decode("cp1252")
    for code in range(0x80, 0xA0)
    if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)  # no windows-1252 character there
}


def _one_line(value: str) -> str:
    """A header shown on one line: the tab that folding leaves (RFC 5322 unfolding only drops
    the CRLF) and runs of spaces become one space, as mail readers display them."""
    return " ".join(value.split())


def _newlines(text: str) -> str:
    """One line ending everywhere, whatever the sender used."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _chosen_body(raw: bytes, msg: Message, limit: int) -> tuple[_Body, str]:
    """The walk's attachments with mail-parser's body when it is sound; names the parser used."""
    walked = _walk(msg, limit)
    found = _mailparser_body(_for_mailparser(raw, msg))
    if found is None or not _is_sound(found, walked):
        return walked, "email"
    chosen = _Body(found.texts, found.htmls, walked.attachments, found.defects)
    chosen.notes = walked.notes
    return chosen, "mail-parser"


def parse(raw: bytes, max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES) -> ParsedMessage:
    """Read one message; malformed mail parses with defects, only non-email raises ParseError."""
    raw = raw.removeprefix(b"\xef\xbb\xbf").lstrip()  # a BOM from Windows tools, blank lines
    if not raw:
        raise ParseError("empty message")
    loaded = _header_block(raw)
    body, parser = _Body(), "email"
    if loaded.whole:
        body, parser = _chosen_body(loaded.raw, loaded.msg, max_attachment_bytes)
    items = _raw_headers(loaded.msg)
    headers = Headers(items, _header_value)
    if not ("from" in headers or "subject" in headers or _has_body(body)):
        raise ParseError("no From, no Subject and no body")
    defects = loaded.notes + body.defects + body.notes
    return _assemble(loaded.msg, items, headers, body, parser, defects)


def _has_body(body: _Body) -> bool:
    """Whether the walk found anything beyond the header block."""
    return any(t.strip() for t in body.texts + body.htmls) or bool(body.attachments)


def _assemble(
    msg: Message,
    items: list[tuple[str, str]],
    headers: Headers,
    body: _Body,
    parser: str,
    defects: list[str],
) -> ParsedMessage:
    """Fill a ParsedMessage from the header block and the chosen body."""
    texts = [_as_shown(_newlines(t)) for t in body.texts]
    html = _as_shown("\n".join(body.htmls)) or None
    text = "\n\n".join(texts) if any(t.strip() for t in texts) else html_to_text(html or "")
    senders = _addresses(_raw_values(items, "from")) or _addresses(_raw_values(items, "sender"))
    return ParsedMessage(
        message_id=_message_id(_raw_values(items, "message-id")),
        in_reply_to=parse_message_ids(" ".join(_raw_values(items, "in-reply-to"))),
        references=parse_message_ids(" ".join(_raw_values(items, "references"))),
        subject=_one_line(headers.get("subject", [""])[0]),
        sender=senders[0] if senders else None,
        to=_addresses(_raw_values(items, "to")),
        cc=_addresses(_raw_values(items, "cc")),
        date=_date(_raw_values(items, "date")),
        text=text,
        html=html,
        attachments=body.attachments,
        headers=headers,
        content_type=_content_type(msg).lower(),
        defects=list(dict.fromkeys(defects)),
        parser=parser,
    )

"""The typed context a message carries through the pipeline steps (no dicts of strings)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from inbox.signature import ContactDetails, extract_contact


class Kind(enum.StrEnum):
    """What a message is, decided by the classification rules."""

    CONSTITUENT = "constituent"
    THIRD_PARTY = "third_party"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    OUTGOING = "outgoing"


@dataclass(frozen=True)
class Address:
    """One mailbox from a header; `email` is lower-cased, `name` decoded (may be empty)."""

    name: str
    email: str


@dataclass(frozen=True)
class Attachment:
    """An attachment with a filename safe to show and to store under."""

    filename: str
    content_type: str
    payload: bytes

    @property
    def size(self) -> int:
        return len(self.payload)


class Headers(Mapping[str, list[str]]):
    """Lower-cased header name -> every value in order, each decoded when first read.

    The pipeline reads a handful of headers; decoding every address and MIME header of every
    message up front was most of the parser's own cost.
    """

    __slots__ = ("_decode", "_decoded", "_raw")

    def __init__(
        self,
        raw: Iterator[tuple[str, str]] | list[tuple[str, str]],
        decode: Callable[[str, str], str],
    ) -> None:
        self._raw: dict[str, list[tuple[str, str]]] = {}
        for name, value in raw:
            self._raw.setdefault(name.lower(), []).append((name, value))
        self._decode = decode  # a module-level function, so the mapping pickles
        self._decoded: dict[str, list[str]] = {}

    def __getitem__(self, key: str) -> list[str]:
        if key not in self._decoded:
            self._decoded[key] = [self._decode(name, value) for name, value in self._raw[key]]
        return self._decoded[key]

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"Headers({sorted(self._raw)})"


@dataclass
class ParsedMessage:
    """What the parser makes of the raw bytes; Message-IDs are kept without angle brackets."""

    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: Address | None
    to: list[Address]
    cc: list[Address]
    date: datetime | None  # UTC-aware, or None when missing or unreadable
    text: str  # the plain-text body (derived from the HTML when there is no text part)
    html: str | None  # the original HTML, sanitised only at display time
    attachments: list[Attachment]
    headers: Mapping[str, list[str]]  # lower-cased header name -> every decoded value
    content_type: str  # top-level MIME type, lower-cased, e.g. "multipart/report"
    defects: list[str] = field(default_factory=list)
    parser: str = "mail-parser"  # which parser produced this ("mail-parser" or "email")

    def header(self, name: str) -> str:
        """First value of a header, or "" when absent."""
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    @cached_property
    def contact(self) -> ContactDetails:
        """The writer's signature: read once, by the parse worker when there is one (it has
        cores to spare while the steps run), and carried back with the message."""
        return extract_contact(self.text)


SENT_FOLDER_NAMES = frozenset({"sent", "sent items", "sent messages", "sent mail", "sent-mail"})


@dataclass(frozen=True)
class Source:
    """Where the raw bytes came from: an IMAP folder and UID, or a file path."""

    folder: str  # IMAP folder name; for a file, its mailbox's folder name, or "import"
    uidvalidity: int | None = None
    uid: int | None = None
    path: str | None = None

    @property
    def imported_from_sent(self) -> bool:
        """A file from a folder named as mail programs name their Sent folder ("Sent Items",
        "Sent Messages"): an export carries no server's mark to say so."""
        return self.path is not None and self.folder.casefold() in SENT_FOLDER_NAMES

    def describe(self) -> str:
        if self.uid is not None:
            return f"{self.folder} uid {self.uid} (uidvalidity {self.uidvalidity})"
        return self.path or self.folder


@dataclass(frozen=True)
class Classification:
    """A kind with the human-readable reasons the rules gave for it."""

    kind: Kind
    reasons: tuple[str, ...]
    writer: Address | None = None  # who wrote it, when not the sender (a forward by the office)


@dataclass
class MessageContext:
    """Everything the pipeline learns about one message, step by step."""

    raw: bytes
    source: Source
    sha256: str = ""
    dedupe_key: str = ""  # set by the deduplicate step; how a later copy is recognised
    parsed: ParsedMessage | None = None
    classification: Classification | None = None
    constituent_id: int | None = None
    constituent_address: str = ""  # the address the writing constituent was recognised by
    new_constituent: bool = False  # first seen in this message: no earlier case can be theirs
    case_id: int | None = None
    message_pk: int | None = None
    thread_reason: str = ""
    opened_case: bool = False  # the thread step opened a new case for this message
    campaign_id: int | None = None  # joined a campaign: no case of its own unless kept
    campaign_case: bool = False  # a campaign letter with a real personal problem: its own case
    notes: list[str] = field(default_factory=list)

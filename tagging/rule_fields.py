"""What a rule may match on, each field with the check that normalises it or says why not."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable

from tagging.keywords import check_keyword
from tagging.postcodes import normalise_areas

MIN_PRIORITY, MAX_PRIORITY = 0, 1000
KIND_NAMES = {
    "constituent": "constituent mail",
    "third_party": "a third-party reply",
    "auto_reply": "an auto-reply",
    "bounce": "a bounce",
    "outgoing": "outgoing mail",
}
KINDS = tuple(KIND_NAMES)
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$")
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


class SearchIn(enum.StrEnum):
    """Where a rule's keywords count."""

    ANYWHERE = "subject and body"
    SUBJECT = "subject"
    BODY = "body"


def _items(items: tuple[str, ...], *, allow_semicolon: bool = False) -> tuple[str, ...]:
    """Trimmed, blanks and repeats dropped; one line each, and no ; where lists are ;-joined."""
    cleaned = tuple(dict.fromkeys(i.strip() for i in items if i and i.strip()))
    for item in cleaned:
        if "\n" in item or "\r" in item or (";" in item and not allow_semicolon):
            raise ValueError(f"{item!r}: one item per entry, without ; or line breaks")
    return cleaned


def check_keywords(items: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = _items(items)
    for keyword in cleaned:
        check_keyword(keyword)
    return cleaned


def check_patterns(items: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = _items(items, allow_semicolon=True)
    for pattern in cleaned:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"{pattern!r} is not a valid regular expression: {error}") from None
    return cleaned


def check_senders(items: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(s.lower().lstrip("@") for s in _items(items)))
    for sender in cleaned:
        local, at, domain = sender.rpartition("@")
        if (at and not local) or not _DOMAIN.match(domain):
            raise ValueError(f"{sender!r} is neither an email address nor a domain")
    return cleaned


def check_postcodes(items: tuple[str, ...]) -> tuple[str, ...]:
    return normalise_areas(_items(items))


def check_attachment_types(items: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(t.lower() for t in _items(items)))
    for content_type in cleaned:
        if not _CONTENT_TYPE.match(content_type):
            raise ValueError(f"{content_type!r} is not a content type such as application/pdf")
    return cleaned


def check_kinds(items: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(k.lower().replace("-", "_") for k in _items(items)))
    for kind in cleaned:
        if kind not in KINDS:
            raise ValueError(f"unknown message kind {kind!r} (expected one of {', '.join(KINDS)})")
    return cleaned


# The things a rule can match on, each with the check that normalises it.
FIELD_CHECKS: dict[str, Callable[[tuple[str, ...]], tuple[str, ...]]] = {
    "keywords": check_keywords,
    "patterns": check_patterns,
    "senders": check_senders,
    "postcodes": check_postcodes,
    "outside_postcodes": check_postcodes,
    "attachment_types": check_attachment_types,
    "kinds": check_kinds,
}

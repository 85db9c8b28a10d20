"""Who first wrote a message that someone forwarded, from the header block quoted in the body.

Members and staff forward constituents' mail to the shared inbox all day; the case belongs
to the constituent, not to whoever pressed Forward. Each mail program quotes the original's
headers its own way (Gmail, Outlook, Apple Mail, Thunderbird); all put a From line near the
top of the quoted block.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email.utils import parseaddr

from inbox.message import Address
from inbox.signature import REPLY_MARKERS  # where a quoted or forwarded message begins

_FROM_RE = re.compile(r"^\*?from:\*? *(?P<value>.+)$", re.IGNORECASE)
_MAILTO_RE = re.compile(r"^(?P<name>.*?)\s*\[mailto:(?P<email>[^\]\s]+)\]", re.IGNORECASE)
_EMAIL_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
HEADER_LINES = 8  # how far below a marker the quoted From line may be


def original_sender(text: str, skip: Callable[[str], bool]) -> Address | None:
    """The first quoted sender below a forward marker whose address `skip` does not refuse."""
    for line in _quoted_from_lines(text):
        found = _address(line)
        if found is not None and not skip(found.email):
            return found
    return None


def forwarded_text(text: str) -> str:
    """The innermost forwarded message's own text: below its quoted header block."""
    lines = [line.lstrip("> \t").rstrip() for line in text.splitlines()]
    start = 0
    for number, _ in _quoted_blocks(lines):
        start = number
    if not start:
        return text
    blank = next((n for n in range(start, len(lines)) if not lines[n].strip()), len(lines))
    return "\n".join(lines[blank:])


def _quoted_from_lines(text: str) -> Iterator[str]:
    lines = [line.lstrip("> \t").strip() for line in text.splitlines()]
    for _, value in _quoted_blocks(lines):
        yield value


def _quoted_blocks(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(line number of the quoted From line, its value) below each forward marker."""
    for number, line in enumerate(lines):
        if any(marker.match(line.strip()) for marker in REPLY_MARKERS):
            for offset, below in enumerate(lines[number + 1 : number + 1 + HEADER_LINES]):
                found = _FROM_RE.match(below.strip())
                if found:
                    yield number + 1 + offset, found.group("value")
                    break


def _address(value: str) -> Address | None:
    """`Name <a@b>`, Outlook's `Name [mailto:a@b]`, or a bare address, lower-cased."""
    value = value.replace("*", "").strip()
    outlook = _MAILTO_RE.match(value)
    if outlook:
        name, email = outlook.group("name"), outlook.group("email")
    else:
        name, email = parseaddr(value)
    if not _EMAIL_RE.fullmatch(email or ""):
        bare = _EMAIL_RE.search(value)
        if bare is None:
            return None
        name, email = value[: bare.start()].strip(" <\"'"), bare.group(0)
    return Address(name=name.strip().strip("\"'"), email=email.lower())

"""Mail from files: .eml files, mbox files and Maildirs, alone or anywhere in a folder tree.

An office moving from a desktop mail program brings an export: Thunderbird's folders are mbox
files without an extension beside their .msf indexes, a server's Maildir keeps its Sent and
other folders as ".Sent" inside it, a folder of saved messages may hold anything. Every
mailbox found is read, but for drafts, spam and deleted mail; whatever is left out is listed
(`Survey.skipped`), never passed over without a word. A mailbox's folder name is kept as the
messages' folder, so a Sent folder's mail is read as the office's own.
"""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from crm.errors import MailbagError
from inbox.message import Source

IMPORTED = "import"  # the folder of mail given directly, not found inside a named folder
OUTLOOK_MSG = b"\xd0\xcf\x11\xe0"  # an OLE compound file: Outlook's own .msg, not RFC 5322
MESSAGE_SUFFIXES = frozenset({".eml", ".msg", ".txt"})  # a message however damaged its start
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")  # a header field's name and colon (RFC 5322)
# Folders of a tree that are not correspondence: unsent drafts would read as letters sent,
# spam as constituents. Given as the path itself, such a folder is read all the same.
LEFT_OUT = "drafts, spam or deleted mail, left out (import the folder on its own to read it)"
LEFT_OUT_FOLDERS = frozenset(
    {
        "drafts",
        "templates",
        "outbox",
        "junk",
        "junk e-mail",
        "junk email",
        "spam",
        "trash",
        "deleted",
        "deleted items",
        "deleted messages",
    }
)


class ImportPathError(MailbagError):
    """The path is not something Mailbag can read mail from."""


@dataclass(frozen=True)
class FoundMailbox:
    """One place mail is read from, and the folder name its messages are given."""

    kind: Literal["message", "mbox", "maildir"]
    path: Path
    folder: str


@dataclass
class Survey:
    """What a path holds: the mailboxes to read, and the files that are not mail, with why."""

    mailboxes: list[FoundMailbox] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def count(self) -> int:
        """How many messages the import will see, for the progress bar."""
        return sum(_count(found) for found in self.mailboxes)


def survey(path: Path) -> Survey:
    """Every mailbox in the path (a file, a Maildir or any folder tree)."""
    found = Survey()
    if path.is_file():
        _add_file(found, path, IMPORTED)
        if found.skipped:
            raise ImportPathError(f"{path}: {found.skipped[0][1]}")
    elif path.is_dir():
        _add_dir(found, path, IMPORTED)
    else:
        raise ImportPathError(f"{path}: no such file or directory")
    return found


def iter_messages(found: Survey) -> Iterator[tuple[bytes, Source]]:
    """Raw bytes one message at a time, so a large export never sits in memory whole."""
    for mailbox_found in found.mailboxes:
        yield from _READERS[mailbox_found.kind](mailbox_found)


def _add_dir(found: Survey, path: Path, folder: str) -> None:
    if _is_maildir(path):
        _add_maildir(found, path, folder)
        return
    for entry in sorted(path.iterdir()):
        # A file's folder is its name without the suffix ("Junk.msf" goes with "Junk");
        # Apple Mail's folders are named "Sent Messages.mbox".
        name = entry.stem if entry.is_file() else entry.name.removesuffix(".mbox")
        if entry.is_symlink() and entry.is_dir():
            found.skipped.append((entry, "a link to a folder, not followed"))
        elif _left_out(name):
            found.skipped.append((entry, LEFT_OUT))
        elif entry.is_dir():
            _add_dir(found, entry, name)
        elif entry.is_file():
            _add_file(found, entry, folder, in_tree=True)
        else:
            found.skipped.append((entry, "not a file or a folder (a broken link?)"))


def _add_maildir(found: Survey, path: Path, folder: str) -> None:
    """The Maildir and its Maildir++ folders (".Sent", ".INBOX.Archive" beside cur/new/tmp)."""
    found.mailboxes.append(FoundMailbox("maildir", path, folder))
    for entry in sorted(path.iterdir()):
        if entry.name.startswith(".") and entry.is_dir() and _is_maildir(entry):
            name = entry.name.lstrip(".").removeprefix("INBOX.") or folder
            if _left_out(name):
                found.skipped.append((entry, LEFT_OUT))
            else:
                found.mailboxes.append(FoundMailbox("maildir", entry, name))


def _add_file(found: Survey, path: Path, folder: str, *, in_tree: bool = False) -> None:
    """A file by what it begins with. In a tree an mbox file is a folder of its own ("Sent"),
    but for Apple Mail's, which is called "mbox" inside the folder it stands for."""
    try:
        with path.open("rb") as handle:
            start = handle.read(1024)
    except OSError as error:
        found.skipped.append((path, f"could not be read ({error.strerror or error})"))
        return
    if start.startswith(b"From "):
        name = path.stem if in_tree and path.name != "mbox" else folder
        found.mailboxes.append(FoundMailbox("mbox", path, name))
    elif start.startswith(OUTLOOK_MSG):
        reason = "an Outlook .msg file, which is not read: save it as .eml, or export mbox"
        found.skipped.append((path, reason))
    elif path.suffix.lower() in MESSAGE_SUFFIXES or _looks_like_mail(start):
        found.mailboxes.append(FoundMailbox("message", path, folder))
    else:
        found.skipped.append((path, "not an email message, mbox or Maildir"))


def _left_out(name: str) -> bool:
    """Whether a folder of the tree is drafts, spam or deleted mail (a Thunderbird "Junk" mbox
    file, a Maildir's ".Trash")."""
    return name.casefold() in LEFT_OUT_FOLDERS


def _looks_like_mail(start: bytes) -> bool:
    """A file without a mail suffix (an MH folder's "1", "2"...) that begins with a header."""
    return _HEADER_LINE.match(start.lstrip(b"\xef\xbb\xbf\r\n\t ")) is not None


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _count(found: FoundMailbox) -> int:
    if found.kind == "message":
        return 1
    if found.kind == "maildir":
        return len(mailbox.Maildir(found.path, factory=None, create=False))
    return len(mailbox.mbox(found.path, factory=None, create=False))


def _message(found: FoundMailbox) -> Iterator[tuple[bytes, Source]]:
    yield found.path.read_bytes(), Source(folder=found.folder, path=str(found.path))


def _maildir(found: FoundMailbox) -> Iterator[tuple[bytes, Source]]:
    box = mailbox.Maildir(found.path, factory=None, create=False)
    for key in sorted(box.keys()):
        yield box.get_bytes(key), Source(folder=found.folder, path=f"{found.path}#{key}")


def _mbox(found: FoundMailbox) -> Iterator[tuple[bytes, Source]]:
    box = mailbox.mbox(found.path, factory=None, create=False)
    try:
        for index, key in enumerate(box.keys()):
            path = f"{found.path}#{index + 1}"
            yield box.get_bytes(key), Source(folder=found.folder, path=path)
    finally:
        box.close()


_READERS = {"message": _message, "mbox": _mbox, "maildir": _maildir}

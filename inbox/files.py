"""Mail from files: a directory of .eml files, an mbox file, or a Maildir."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

from crm.errors import MailbagError
from inbox.message import Source


class ImportPathError(MailbagError):
    """The path is not something Mailbag can read mail from."""


def iter_messages(path: Path) -> Iterator[tuple[bytes, Source]]:
    """Raw bytes one message at a time, so a large export never sits in memory whole."""
    if path.is_dir():
        if _is_maildir(path):
            yield from _maildir(path)
        else:
            yield from _eml_files(path)
    elif path.is_file():
        if _is_mbox(path):
            yield from _mbox(path)
        else:
            yield path.read_bytes(), Source(folder="import", path=str(path))
    else:
        raise ImportPathError(f"{path}: no such file or directory")


def count_messages(path: Path) -> int | None:
    """How many messages an import will see, for the progress bar (None when unknown cheaply)."""
    if path.is_dir():
        if _is_maildir(path):
            return len(mailbox.Maildir(path, factory=None, create=False))
        return sum(1 for _ in _eml_paths(path))
    if path.is_file() and _is_mbox(path):
        return len(mailbox.mbox(path, factory=None, create=False))
    return 1 if path.is_file() else None


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def _eml_paths(path: Path) -> Iterator[Path]:
    for candidate in sorted(path.rglob("*")):
        if candidate.is_file() and candidate.suffix.lower() in {".eml", ".msg", ".txt"}:
            yield candidate


def _eml_files(path: Path) -> Iterator[tuple[bytes, Source]]:
    for file in _eml_paths(path):
        yield file.read_bytes(), Source(folder="import", path=str(file))


def _maildir(path: Path) -> Iterator[tuple[bytes, Source]]:
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.keys()):
        yield box.get_bytes(key), Source(folder="import", path=f"{path}#{key}")


def _mbox(path: Path) -> Iterator[tuple[bytes, Source]]:
    box = mailbox.mbox(path, factory=None, create=False)
    try:
        for index, key in enumerate(box.keys()):
            yield box.get_bytes(key), Source(folder="import", path=f"{path}#{index + 1}")
    finally:
        box.close()

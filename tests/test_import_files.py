"""`mailbag import` on the exports offices bring: Maildirs with their folders, Thunderbird's
mbox tree, saved messages; what is not mail is named, never passed over in silence."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.db import Database
from crm.models import Message
from inbox.files import ImportPathError, survey
from inbox.importer import import_path
from inbox.pipeline import Pipeline
from tests.support.mail import make_message

OFFICE = "casework@office.example.org.uk"
OUTLOOK_MSG = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def letter(n: int, *, sent: bool = False) -> bytes:
    if sent:  # from a caseworker's own address, which only the Sent folder marks as ours
        return make_message(
            sender="Jo Case <jo.case@example.net>",
            to=f"Resident {n} <resident{n}@example.org>",
            subject=f"Reply {n}",
            message_id=f"<reply-{n}@example.net>",
        )
    return make_message(
        sender=f"Resident {n} <resident{n}@example.org>",
        subject=f"Letter {n}",
        message_id=f"<letter-{n}@example.org>",
    )


def maildir(path: Path, messages: list[bytes]) -> None:
    box = mailbox.Maildir(path, create=True)
    for raw in messages:
        box.add(raw)


def mbox(path: Path, messages: list[bytes]) -> None:
    box = mailbox.mbox(path, create=True)
    for raw in messages:
        box.add(raw)
    box.close()


def held(database: Database) -> dict[str, str]:
    """Each stored message's Message-ID and how it was classified."""
    with database.session() as session:
        rows = session.execute(select(Message.message_id, Message.kind)).all()
    return {message_id: kind for message_id, kind in rows}


def test_a_maildir_is_read_with_its_sent_and_archive_folders(
    database: Database, pipeline: Pipeline, tmp_path: Path
) -> None:
    root = tmp_path / "Maildir"
    maildir(root, [letter(1)])
    maildir(root / ".Sent", [letter(2, sent=True)])
    maildir(root / ".INBOX.Archive", [letter(3)])
    maildir(root / ".Drafts", [letter(8, sent=True)])  # never sent: not a letter of the case
    maildir(root / ".Junk", [letter(9)])

    found = survey(root)
    assert [(f.folder, f.kind) for f in found.mailboxes] == [
        ("import", "maildir"),
        ("Archive", "maildir"),
        ("Sent", "maildir"),
    ]
    assert found.count() == 3
    assert [(p.name, why.split(",")[0]) for p, why in found.skipped] == [
        (".Drafts", "drafts"),
        (".Junk", "drafts"),
    ]
    counts = import_path(database, pipeline, root)
    assert counts.stored == 3
    assert held(database) == {
        "letter-1@example.org": "constituent",
        "reply-2@example.net": "outgoing",
        "letter-3@example.org": "constituent",
    }


def test_a_thunderbird_tree_is_read_and_what_is_not_mail_is_named(
    database: Database, pipeline: Pipeline, tmp_path: Path
) -> None:
    root = tmp_path / "Local Folders"
    (root / "Archives.sbd").mkdir(parents=True)
    mbox(root / "Inbox", [letter(1), letter(2)])
    mbox(root / "Sent", [letter(3, sent=True)])
    mbox(root / "Archives.sbd" / "2025", [letter(4)])
    mbox(root / "Junk", [letter(9)])
    (root / "Inbox.msf").write_bytes(b'// <!-- <mdb:mork:z v="1.4"/> -->\n')
    (root / "Saved").mkdir()
    (root / "Saved" / "from the council.eml").write_bytes(letter(5))
    (root / "Saved" / "5").write_bytes(letter(6))  # an MH folder's message: no suffix
    (root / "Saved" / "outlook.msg").write_bytes(OUTLOOK_MSG)
    (root / "Saved" / "gone.eml").symlink_to(root / "nowhere.eml")  # a link to nothing

    found = survey(root)
    assert found.count() == 6
    assert sorted((p.name, why.split(",")[0]) for p, why in found.skipped) == [
        ("Inbox.msf", "not an email message"),
        ("Junk", "drafts"),
        ("gone.eml", "not a file or a folder (a broken link?)"),
        ("outlook.msg", "an Outlook .msg file"),
    ]
    counts = import_path(database, pipeline, root)
    assert counts.stored == 6
    kinds = held(database)
    assert kinds.pop("reply-3@example.net") == "outgoing"
    assert sorted(kinds) == sorted(f"letter-{n}@example.org" for n in (1, 2, 4, 5, 6))


def test_an_apple_mail_sent_messages_mbox_is_read_as_the_office_s_own(
    database: Database, pipeline: Pipeline, tmp_path: Path
) -> None:
    mailboxes = (
        ("Sent Messages", letter(10, sent=True)),
        ("Inbox", letter(11)),
        ("Junk", letter(9)),
    )
    for name, mail in mailboxes:
        (tmp_path / f"{name}.mbox").mkdir()  # as Apple Mail exports a mailbox
        mbox(tmp_path / f"{name}.mbox" / "mbox", [mail])
        (tmp_path / f"{name}.mbox" / "Info.plist").write_bytes(b"<?xml version='1.0'?>")
    assert import_path(database, pipeline, tmp_path).stored == 2
    assert held(database) == {
        "reply-10@example.net": "outgoing",
        "letter-11@example.org": "constituent",
    }


def test_a_junk_folder_given_on_its_own_is_read(tmp_path: Path) -> None:
    maildir(tmp_path / ".Junk", [letter(9)])
    assert survey(tmp_path / ".Junk").count() == 1


def test_one_outlook_msg_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    saved = tmp_path / "letter.msg"
    saved.write_bytes(OUTLOOK_MSG)
    with pytest.raises(ImportPathError, match=r"Outlook \.msg file.*save it as \.eml"):
        survey(saved)


def test_a_damaged_eml_file_is_still_imported_to_be_parsed_or_quarantined(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.eml"
    damaged.write_bytes(b"\x00\x01garbage first line\n" + letter(7))
    assert [f.kind for f in survey(tmp_path).mailboxes] == ["message"]


def test_a_file_that_cannot_be_read_is_named_and_the_rest_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fine.eml").write_bytes(letter(12))
    (tmp_path / "locked.eml").write_bytes(letter(13))
    opened = Path.open

    def refuse_locked(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == "locked.eml":
            raise PermissionError(13, "Permission denied")
        return opened(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refuse_locked)
    found = survey(tmp_path)
    assert [f.path.name for f in found.mailboxes] == ["fine.eml"]
    assert [(p.name, why) for p, why in found.skipped] == [
        ("locked.eml", "could not be read (Permission denied)")
    ]

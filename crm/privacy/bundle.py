"""Writing a subject access bundle: index.html (plain, self-contained, every value escaped)
beside the original .eml files and the attachments, into a directory or a zip file."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from crm.blobs import load_blob
from crm.models import Attachment, Message
from crm.privacy.errors import PrivacyError
from crm.privacy.sar import SubjectAccess

HERE = Path(__file__).parent


class Bundle(Protocol):
    def write(self, name: str, data: bytes) -> None: ...


class DirectoryBundle:
    """Files under a new (or empty) directory: never mixed with an earlier export."""

    def __init__(self, root: Path) -> None:
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise PrivacyError(f"{root} is not an empty directory: choose a new one")
        root.mkdir(parents=True, exist_ok=True)
        self.root = root

    def write(self, name: str, data: bytes) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


class ZipBundle:
    """The same files in a zip archive (the web view's download)."""

    def __init__(self, target: IO[bytes]) -> None:
        self.archive = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED)

    def write(self, name: str, data: bytes) -> None:
        self.archive.writestr(name, data)

    def close(self) -> None:
        self.archive.close()


def eml_name(message: Message) -> str:
    return f"messages/{message.id:06d}.eml"


def attachment_name(message: Message, attachment: Attachment) -> str:
    return f"attachments/{message.id:06d}-{attachment.id}-{safe_filename(attachment.filename)}"


def safe_filename(name: str) -> str:
    """A sender's file name made harmless: no folders, no control or shell characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in base)
    return kept.strip(" .")[:80] or "attachment"


def write_bundle(session: Session, access: SubjectAccess, bundle: Bundle) -> int:
    """The original bytes of every message and attachment, then the index; files written."""
    written = 0
    for message in access.messages:
        bundle.write(eml_name(message), load_blob(session, message.blob_sha256))
        written += 1
        for attachment in message.attachments:
            bundle.write(
                attachment_name(message, attachment), load_blob(session, attachment.blob_sha256)
            )
            written += 1
    bundle.write("index.html", render_index(access).encode("utf-8"))
    return written + 1


def render_index(access: SubjectAccess) -> str:
    environment = Environment(
        loader=FileSystemLoader(HERE),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
    )
    environment.globals.update(eml_name=eml_name, attachment_name=attachment_name)
    environment.filters["when"] = lambda d: d.strftime("%d %b %Y %H:%M UTC") if d else ""
    return environment.get_template("sar.html").render(access=access)

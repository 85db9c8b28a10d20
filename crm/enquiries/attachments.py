"""Files sent with an enquiry: a few, not too big, and really what their names say they are.

The type is read from the file's first bytes (its "magic number"), never trusted from the
name or from what the browser claims: a .pdf that is really a program is refused.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

MAX_FILES = 3
MAX_FILE_BYTES = 5 * 1024 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Kind -> (content type we record, the extensions a file of that kind may have).
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "PDF": ("application/pdf", (".pdf",)),
    "JPEG image": ("image/jpeg", (".jpg", ".jpeg")),
    "PNG image": ("image/png", (".png",)),
    "HEIC photo": ("image/heic", (".heic", ".heif")),
    "Word document": (DOCX, (".docx",)),
}
ALLOWED_TEXT = "PDF, JPEG, PNG, HEIC or Word (.docx)"
ACCEPT = ",".join(ext for _type, exts in KINDS.values() for ext in exts)
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Accepted:
    """A file we keep: a safe name and the content type its bytes prove."""

    filename: str
    content_type: str
    data: bytes


def check_uploads(uploads: list[Upload]) -> tuple[list[Accepted], list[str]]:
    """The files to keep, and one message per problem (an empty list when all is well)."""
    chosen = [u for u in uploads if u.filename or u.data]
    if len(chosen) > MAX_FILES:
        return [], [f"Choose up to {MAX_FILES} files: you chose {len(chosen)}"]
    accepted: list[Accepted] = []
    problems: list[str] = []
    for upload in chosen:
        result = check_upload(upload)
        if isinstance(result, Accepted):
            accepted.append(result)
        else:
            problems.append(result)
    return accepted, problems


def check_upload(upload: Upload) -> Accepted | str:
    """The accepted file, or what is wrong with it in words the sender understands."""
    name = safe_name(upload.filename)
    if not upload.data:
        return f"{name} is empty"
    if len(upload.data) > MAX_FILE_BYTES:
        return f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"
    extension = name[name.rfind(".") :].lower() if "." in name else ""
    claimed = next((kind for kind, (_t, exts) in KINDS.items() if extension in exts), None)
    if claimed is None:
        return f"{name}: the file must be a {ALLOWED_TEXT}"
    actual = sniff(upload.data)
    if actual != claimed:
        return f"{name} is not really a {claimed}, whatever its name says"
    return Accepted(name, KINDS[actual][0], upload.data)


def sniff(data: bytes) -> str | None:
    """The kind of file these bytes are, among the allowed kinds, or None."""
    if b"%PDF-" in data[:1024]:
        return "PDF"
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG image"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG image"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIC_BRANDS:
        return "HEIC photo"
    if data[:4] == b"PK\x03\x04" and _is_docx(data):
        return "Word document"
    return None


def safe_name(filename: str) -> str:
    """The file's own name without any folder, control or shell characters."""
    base = re.split(r"[/\\]", filename)[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" ._") or "attachment"
    return cleaned[-100:]


def _is_docx(data: bytes) -> bool:
    """A Word document without macros: the parts a .docx has, and no macro-enabled type."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names or "word/document.xml" not in names:
                return False
            with archive.open("[Content_Types].xml") as types:
                declared = types.read(200_000)
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError):
        return False
    return b"macroEnabled" not in declared and "word/vbaProject.bin" not in names

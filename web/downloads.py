"""Files handed to the browser to save, never to show: a constituent's attachment is
hostile input like their HTML (an .html or .svg "photograph" would run in our origin)."""

from __future__ import annotations

import re
from urllib.parse import quote

from litestar import Response

OCTET_STREAM = "application/octet-stream"
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_UNSAFE_IN_QUOTES = re.compile(r'[^\x20-\x7e]|["\\]')


def as_download(filename: str, media_type: str, data: bytes) -> Response[bytes]:
    """The bytes as an attachment to save, under their own name (RFC 6266, any script), with
    the sender's media type only when it is a plain type/subtype (no header can be forged);
    private to the browser, never kept by a cache on the way."""
    kind = media_type.strip().lower()
    name = filename.strip() or "attachment"
    fallback = _UNSAFE_IN_QUOTES.sub("_", name)
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(
        content=data,
        media_type=kind if _MEDIA_TYPE.fullmatch(kind) else OCTET_STREAM,
        headers={"content-disposition": disposition, "cache-control": "private, no-store"},
    )

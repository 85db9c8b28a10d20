"""Office managers' data protection downloads: a person's subject access bundle (zip) and
the audit log (CSV). Thin routes over crm.privacy; both are exports, and audited."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from litestar import Response, Router, get, post
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromQuery

from crm.errors import NotFound
from crm.privacy import auditlog
from crm.privacy.bundle import ZipBundle, write_bundle
from crm.privacy.errors import PrivacyError
from crm.privacy.sar import gather, record_export
from web.current import managers_only
from web.pages import AnyRequest, Form, services


@post("/sar", sync_to_thread=True)
def subject_access(request: AnyRequest, data: Form) -> Response[bytes]:
    """Everything held about one constituent, as a zip of index.html and the originals."""
    person = data.get("person", "").strip()[:320]
    buffer = io.BytesIO()
    with services(request).database.session() as session:
        try:
            access = gather(session, person)
        except NotFound:
            raise NotFoundException("no such constituent") from None
        except PrivacyError as error:
            raise ValidationException(str(error)) from None
        bundle = ZipBundle(buffer)
        write_bundle(session, access, bundle)
        bundle.close()
        record_export(session, access, who=request.user.email)
    name = f"subject-access-{access.person.id}-{access.made_at:%Y%m%d}.zip"
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@get("/audit.csv", sync_to_thread=True)
def audit_csv(request: AnyRequest, since: FromQuery[str] = "") -> Response[str]:
    """The audit log as CSV (formula-safe), all of it or from a day on."""
    start = _day(since)
    out = io.StringIO()
    with services(request).database.session() as session:
        written = auditlog.write_csv(auditlog.entries(session, start), out)
        auditlog.record_csv_export(session, who=request.user.email, since=start, written=written)
    return Response(
        "\ufeff" + out.getvalue(),  # the mark Excel needs to read UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="mailbag-audit-log.csv"'},
    )


def _day(text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise ValidationException("since: expected a day like 2026-11-02") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


router = Router(path="/privacy", guards=[managers_only], route_handlers=[subject_access, audit_csv])

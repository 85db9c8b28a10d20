"""Reading the audit log out: entries since a day, and as CSV that a spreadsheet opens
without running anything (a cell that looks like a formula is written as text)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm.audit import AuditEntry
from crm.reports.cells import safe_text

HEADER = ("id", "at (UTC)", "action", "who", "case id", "detail")
# What Excel, LibreOffice and Google Sheets take for the start of a formula (OWASP).


def entries(session: Session, since: datetime | None = None) -> Iterator[AuditEntry]:
    """Oldest first, streamed: the log of a busy office is long."""
    query = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    yield from session.scalars(query.execution_options(yield_per=1000))


def row(entry: AuditEntry) -> list[str]:
    at = entry.at.strftime("%Y-%m-%d %H:%M:%S")
    values = (entry.id, at, entry.action, entry.who, entry.case_id, entry.detail)
    return [safe_text(v) for v in values]


def write_csv(rows: Iterator[AuditEntry], out: TextIO) -> int:
    """The header and one line per entry; how many entries were written."""
    writer = csv.writer(out)
    writer.writerow(HEADER)
    written = 0
    for entry in rows:
        writer.writerow(row(entry))
        written += 1
    return written


def record_csv_export(session: Session, *, who: str, since: datetime | None, written: int) -> None:
    """Reading the log out is itself an export, and is logged."""
    start = f" since {since:%Y-%m-%d}" if since else ""
    audit.record(session, "export", who=who, detail=f"audit log CSV{start}: {written} entries")

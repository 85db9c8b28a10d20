"""Cases carry their tag values' ids (PostgreSQL): a list filters by tag from the case's row.

case_tags is the record. On PostgreSQL, triggers on it keep a copy of each case's tag ids in
`cases.tag_ids` (migration 0020), which the list's indexes carry, so a list filtered by
issue reads its page from an index alone: asking case_tags of each of a caseworker's 1,500
open cases had cost 6 ms of the filtered list's 8. The column is PostgreSQL's alone and
outside the ORM, since nothing in Python writes it; SQLite asks case_tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnClause, ColumnElement, exists, select
from sqlalchemy.orm import Session

from crm.db import dialect_of, id_array
from crm.models import Case
from crm.tags.models import CaseTag

TAG_IDS_COLUMN = "tag_ids"


def tagged_with_any(session: Session, tag_ids: Sequence[int]) -> ColumnElement[bool]:
    """The case (the list's `cases`) holds one of these tag values."""
    if dialect_of(session) == "postgresql":
        carried: ColumnClause[Any] = ColumnClause(TAG_IDS_COLUMN, _selectable=Case.__table__)
        return carried.op("&&")(id_array(tag_ids))
    held = select(CaseTag.id).where(CaseTag.case_id == Case.id, CaseTag.tag_id.in_(tag_ids))
    return exists(held)

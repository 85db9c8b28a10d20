"""The office's own wording of a letter, edited on the web: one row per letter part."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base
from crm.types import utcnow


class LetterOverride(Base):
    """Replaces one file of a letter (its subject or body) for this office, over any file."""

    __tablename__ = "letter_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))  # the letter, e.g. "chase_first"
    part: Mapped[str] = mapped_column(String(40))  # the file, e.g. "body.txt.j2"
    source: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(320), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("name", "part", name="uq_letter_overrides_name_part"),)

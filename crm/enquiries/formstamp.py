"""The signed moment a form was shown: a person takes seconds to fill it in, a bot does not."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from crm.enquiries.signing import key_for, sign, verify
from crm.settings import Settings

MIN_FILL = timedelta(seconds=3)
MAX_AGE = timedelta(days=1)
PURPOSE = "enquiry form shown"


class Stamp(StrEnum):
    OK = "ok"
    TOO_FAST = "too fast"
    STALE = "stale"
    INVALID = "invalid"


def issue(settings: Settings, now: datetime) -> str:
    """A token naming when the form was shown, e.g. "1793872800.Xy3..."."""
    shown = str(int(now.timestamp()))
    return f"{shown}.{sign(key_for(settings, PURPOSE), shown)}"


def check(settings: Settings, token: str, now: datetime) -> Stamp:
    """Whether the form came back from a person, after a believable time."""
    shown, _, signature = token.strip().partition(".")
    if not shown.isdigit() or len(shown) > 12:
        return Stamp.INVALID
    if not verify(key_for(settings, PURPOSE), signature, shown):
        return Stamp.INVALID
    elapsed = now.timestamp() - int(shown)
    if elapsed < MIN_FILL.total_seconds():
        return Stamp.TOO_FAST
    if elapsed > MAX_AGE.total_seconds():
        return Stamp.STALE
    return Stamp.OK

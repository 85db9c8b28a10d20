"""The four axes every case is tagged on, and the short ordered scales of the last three."""

from __future__ import annotations

import enum


class Axis(enum.StrEnum):
    """What a tag answers: what about, how soon, who may see it, who can resolve it."""

    ISSUE = "issue"
    URGENCY = "urgency"
    SENSITIVITY = "sensitivity"
    TRANSFERABILITY = "transferability"


AXES: tuple[Axis, ...] = tuple(Axis)
SCALE_AXES: tuple[Axis, ...] = (Axis.URGENCY, Axis.SENSITIVITY, Axis.TRANSFERABILITY)

IMMEDIATE, HIGH, NORMAL, LOW = "immediate", "high", "normal", "low"
STANDARD, PERSONAL, SPECIAL_CATEGORY, SAFEGUARDING = (
    "standard",
    "personal",
    "special category",
    "safeguarding",
)
OFFICE_CAN_RESOLVE = "office can resolve"
REFER_TO_GOVERNMENT = "refer to a government department"
REFER_TO_COUNCIL = "refer to the council"
NOT_FOR_THIS_REPRESENTATIVE = "not for this representative"

# In display order; an office may edit these lists through the workbook.
DEFAULT_SCALES: dict[Axis, tuple[str, ...]] = {
    Axis.URGENCY: (IMMEDIATE, HIGH, NORMAL, LOW),
    Axis.SENSITIVITY: (STANDARD, PERSONAL, SPECIAL_CATEGORY, SAFEGUARDING),
    Axis.TRANSFERABILITY: (
        OFFICE_CAN_RESOLVE,
        REFER_TO_GOVERNMENT,
        REFER_TO_COUNCIL,
        NOT_FOR_THIS_REPRESENTATIVE,
    ),
}

OTHER_ISSUE = "Other"

# The value a case carries on an axis until a rule or a person says otherwise.
FALLBACK: dict[Axis, str] = {
    Axis.ISSUE: OTHER_ISSUE,
    Axis.URGENCY: NORMAL,
    Axis.SENSITIVITY: STANDARD,
    Axis.TRANSFERABILITY: OFFICE_CAN_RESOLVE,
}


def parse_axis(text: str) -> Axis:
    """An axis from what a person typed ("Urgency", " issue "); ValueError names the choices."""
    try:
        return Axis(text.strip().lower())
    except ValueError:
        choices = ", ".join(a.value for a in AXES)
        raise ValueError(f"unknown axis {text.strip()!r} (expected one of {choices})") from None

"""Where things sit in the taxonomy workbook: sheet names, columns, list separators."""

from __future__ import annotations

from tagging.axes import Axis

README_SHEET, RULES_SHEET, LISTS_SHEET = "Read me", "Rules", "Lists"
SHEETS: dict[Axis, str] = {
    Axis.ISSUE: "Issue",
    Axis.URGENCY: "Urgency",
    Axis.SENSITIVITY: "Sensitivity",
    Axis.TRANSFERABILITY: "Transferability",
}
ISSUE_COLUMNS = ("ID", "Issue", "Sub-issue", "Status", "Aliases")
SCALE_COLUMNS = ("ID", "Value", "Status", "Aliases")
RULE_COLUMNS = (
    "Name",
    "Description",
    "Axis",
    "Value",
    "Priority",
    "Enabled",
    "Keywords",
    "Search in",
    "Patterns",
    "Senders",
    "Postcodes",
    "Outside postcodes",
    "Attachment types",
    "Message kinds",
)
# Rule columns that hold lists, and the Rule field each fills.
LIST_FIELDS = {
    "Keywords": "keywords",
    "Patterns": "patterns",
    "Senders": "senders",
    "Postcodes": "postcodes",
    "Outside postcodes": "outside_postcodes",
    "Attachment types": "attachment_types",
    "Message kinds": "kinds",
}
YES, NO = "yes", "no"
VALIDATED_ROWS = 2000  # drop-downs reach well below the last row, for rows an office adds


def join_list(items: tuple[str, ...], column: str = "") -> str:
    """Patterns one per line (a regex may hold a ;), everything else separated by ; ."""
    return "\n".join(items) if column == "Patterns" else "; ".join(items)


def split_list(text: str, column: str = "") -> tuple[str, ...]:
    parts = text.splitlines() if column == "Patterns" else text.replace("\n", ";").split(";")
    return tuple(part.strip() for part in parts if part.strip())

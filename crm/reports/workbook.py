"""The weekly review as an Excel workbook: Summary (with charts), Cases, Waiting on third
parties, Tags, and Campaigns when there were any. Written in openpyxl's write-only mode, so
the Cases sheet of a large office streams from the database to the file, never all in memory.

Every sheet keeps its header in view and its columns sized; the data sheets have filters on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from crm.reports import cells
from crm.reports.caserows import CaseRow
from crm.reports.charts import issue_chart, trend_chart
from crm.reports.figures import Breakdown
from crm.reports.period import office_time
from crm.reports.weekly import WeeklyReview

SUMMARY, CASES, WAITING, TAGS = "Summary", "Cases", "Waiting on third parties", "Tags"
CAMPAIGNS = "Campaigns"
CASE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("Reference", 17),
    ("Status", 9),
    ("Constituent", 24),
    ("Constituent email", 30),
    ("Subject", 48),
    ("Opened", 17),
    ("Last activity", 17),
    ("Issue", 34),
    ("Urgency", 11),
    ("Sensitivity", 17),
    ("Transferability", 30),
    ("Owner", 20),
    ("Messages", 10),
    ("Waiting on", 30),
    ("Chase due", 12),
)
WAITING_COLUMNS = (
    "Organisation",
    "Open follow-ups",
    "Past due",
    "Oldest (days)",
    "Chases sent",
    "Escalated",
    "Median reply (days, 12 weeks)",
    "Replies (12 weeks)",
)
TAG_COLUMNS = (
    "Axis",
    "Tag",
    "Status",
    "Cases",
    "Primary",
    "Secondary issue",
    "Open at week end",
    "New this week",
    "Last applied",
)
CAMPAIGN_COLUMNS = (
    "Campaign",
    "Status",
    "New this week",
    "Letters this week",
    "Senders this week",
    "Kept as cases this week",
    "Senders in all",
    "Constituents in all",
)
FIGURES = ("New", "Closed", "Open at week end", "Overdue")
AUDIENCE_NAMES = {
    "office_manager": "office managers",
    "caseworker": "caseworkers",
    "councillor": "councillors",
}


@dataclass(frozen=True)
class Written:
    """What went into the file: the Cases sheet's rows, and how many were withheld."""

    cases: int
    withheld: int


def write_workbook(
    review: WeeklyReview, rows: Iterable[CaseRow], target: str | Path | IO[bytes]
) -> Written:
    """Write the whole workbook; `rows` is consumed once, as it streams."""
    book = Workbook(write_only=True)
    _summary(book.create_sheet(SUMMARY), review)
    written = _cases(book.create_sheet(CASES), rows)
    _waiting(book.create_sheet(WAITING), review)
    _tags(book.create_sheet(TAGS), review)
    if review.campaigns:
        _campaigns(book.create_sheet(CAMPAIGNS), review)
    book.save(target)
    return written


class _Sheet:
    """A write-only sheet that knows which row it is on (charts need the row numbers)."""

    def __init__(self, ws: WriteOnlyWorksheet, widths: Sequence[float]) -> None:
        self.ws = ws
        self.row = 0
        for index, width in enumerate(widths, 1):
            ws.column_dimensions[get_column_letter(index)].width = width

    def append(self, values: Sequence[Any]) -> int:
        self.ws.append(list(values))
        self.row += 1
        return self.row

    def filter(self, columns: int) -> None:
        self.ws.auto_filter.ref = f"A1:{get_column_letter(columns)}{max(self.row, 1)}"


def _summary(ws: WriteOnlyWorksheet, review: WeeklyReview) -> None:
    labels = [b.label for b in (*review.by_issue, *review.by_caseworker, *review.by_urgency)]
    sheet = _Sheet(ws, [_fit([*labels, "Week ending", "Open at week end"], 16, 40), 11, 11, 11, 11])
    ws.freeze_panes = "A4"
    week = review.week
    title = f"Weekly review: {review.office}" if review.office else "Weekly review"
    sheet.append([cells.styled(ws, title, cells.TITLE_FONT)])
    sheet.append([f"{week.describe()}; figures as at the end of {week.ending:%A %d %B %Y}"])
    made = office_time(review.made_at)
    assert made is not None
    audience = AUDIENCE_NAMES[review.audience]
    sheet.append([f"Made {made:%d/%m/%Y %H:%M} for {audience}"])
    sheet.append([])
    _section(sheet, "This week", ["", *FIGURES])
    now = review.this_week
    sheet.append(["Cases", now.new, now.closed, now.open, now.overdue])
    sheet.append([])
    header = _section(sheet, "Last 12 weeks", ["Week ending", *FIGURES])
    for figures in review.trend:
        sheet.append(
            [
                cells.day(ws, figures.week.ending),
                figures.new,
                figures.closed,
                figures.open,
                figures.overdue,
            ]
        )
    ws.add_chart(trend_chart(ws, header, sheet.row), "G2")
    header = _breakdown(sheet, "By primary issue", "Issue", review.by_issue)
    if review.by_issue:
        ws.add_chart(issue_chart(ws, header, sheet.row), f"G{header}")
    _breakdown(sheet, "By caseworker", "Caseworker", review.by_caseworker)
    _breakdown(sheet, "By urgency", "Urgency", review.by_urgency)
    sheet.append([])
    for note in _notes(review):
        sheet.append([note])


def _section(sheet: _Sheet, title: str, columns: list[str]) -> int:
    sheet.append([cells.styled(sheet.ws, title, cells.SECTION_FONT)])
    return sheet.append(cells.header(sheet.ws, columns))


def _breakdown(sheet: _Sheet, title: str, first: str, rows: list[Breakdown]) -> int:
    sheet.append([])
    header = _section(sheet, title, [first, *FIGURES])
    for row in rows:
        sheet.append([cells.text(sheet.ws, row.label), row.new, row.closed, row.open, row.overdue])
    return header


def _notes(review: WeeklyReview) -> list[str]:
    notes = [
        "Overdue: open at the end of the week and past the response deadline its urgency "
        "sets (working days from the day the urgency was set).",
        "Open at week end counts cases opened before the end of the week and not closed by then.",
    ]
    restricted = review.restricted_open
    if review.describes_restricted:
        notes.append(
            f"{restricted} safeguarding or special-category case(s) open at the end of the week "
            "are described in this workbook: keep it to office managers."
        )
    else:
        notes.append(
            f"{restricted} safeguarding or special-category case(s) open at the end of the week "
            "are counted in every figure but not described: the Cases sheet gives their "
            "reference only."
        )
    return notes


def _cases(ws: WriteOnlyWorksheet, rows: Iterable[CaseRow]) -> Written:
    sheet = _Sheet(ws, [width for _, width in CASE_COLUMNS])
    ws.freeze_panes = "B2"
    sheet.append(cells.header(ws, [title for title, _ in CASE_COLUMNS]))
    count = withheld = 0
    text = cells.text
    for row in rows:
        ws.append(
            [
                row.reference,
                row.status,
                text(ws, row.constituent),
                text(ws, row.constituent_email),
                text(ws, row.subject),
                cells.moment(ws, row.opened_at),
                cells.moment(ws, row.last_activity_at),
                text(ws, row.issue),
                text(ws, row.urgency),
                text(ws, row.sensitivity),
                text(ws, row.transferability),
                text(ws, row.owner),
                row.messages,
                text(ws, row.waiting_on),
                cells.moment(ws, row.chase_due, cells.DATE),
            ]
        )
        count += 1
        withheld += row.withheld
    sheet.row += count
    sheet.filter(len(CASE_COLUMNS))
    return Written(count, withheld)


def _waiting(ws: WriteOnlyWorksheet, review: WeeklyReview) -> None:
    names = [w.organisation for w in review.waiting]
    sheet = _Sheet(ws, [_fit(names, 24, 50), 11, 9, 9, 9, 10, 14, 10])
    ws.freeze_panes = "B2"
    sheet.append(cells.header(ws, WAITING_COLUMNS))
    for wait in review.waiting:
        sheet.append(
            [
                cells.text(ws, wait.organisation),
                wait.open_follow_ups,
                wait.past_due,
                wait.oldest_days,
                wait.chases_sent,
                wait.escalations,
                cells.number(ws, wait.median_reply_days, cells.DAYS),
                wait.replies,
            ]
        )
    sheet.filter(len(WAITING_COLUMNS))


def _tags(ws: WriteOnlyWorksheet, review: WeeklyReview) -> None:
    paths = [usage.tag for usage in review.tags]
    sheet = _Sheet(ws, [15, _fit(paths, 20, 50), 14, 8, 9, 10, 11, 10, 13])
    ws.freeze_panes = "C2"
    sheet.append(cells.header(ws, TAG_COLUMNS))
    for usage in review.tags:
        sheet.append(
            [
                usage.axis,
                cells.text(ws, usage.tag),
                cells.text(ws, usage.status),
                usage.cases,
                usage.primary,
                usage.secondary,
                usage.open,
                usage.new,
                cells.moment(ws, usage.last_used, cells.DATE),
            ]
        )
    sheet.filter(len(TAG_COLUMNS))


def _campaigns(ws: WriteOnlyWorksheet, review: WeeklyReview) -> None:
    """Campaigns with letters this week, busiest first (only when there are any)."""
    names = [campaign.name for campaign in review.campaigns]
    sheet = _Sheet(ws, [_fit(names, 24, 60), 9, 9, 9, 9, 11, 9, 12])
    ws.freeze_panes = "B2"
    sheet.append(cells.header(ws, CAMPAIGN_COLUMNS))
    for campaign in review.campaigns:
        sheet.append(
            [
                cells.text(ws, campaign.name),
                campaign.status,
                "yes" if campaign.new else "no",
                campaign.letters,
                campaign.senders,
                campaign.kept_as_cases,
                campaign.total_senders,
                campaign.total_constituents,
            ]
        )
    sheet.filter(len(CAMPAIGN_COLUMNS))


def _fit(values: Iterable[str], least: float, most: float) -> float:
    """A column as wide as its longest text, within bounds (write-only sizes come first)."""
    longest = max((len(value) for value in values), default=0)
    return min(most, max(least, longest + 2))

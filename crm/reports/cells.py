"""Cells that are safe and typed: email text always as text, times as real Excel dates.

Text from emails is hostile input. openpyxl writes a string beginning with "=" as a
formula, and Excel re-reads "+", "-" and "@" as one as soon as the cell is edited; so such
text is written as a string cell with Excel's quote prefix, assigned first and typed after
(assigning again would detect the formula again). Characters XML cannot hold are dropped,
and text is cut at Excel's cell limit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from crm.reports.period import office_time

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
EXCEL_CELL_LIMIT = 32_767
DATE_TIME = "dd/mm/yyyy hh:mm"
DATE = "dd/mm/yyyy"
DAYS = "0.0"

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")
TITLE_FONT = Font(bold=True, size=14)
SECTION_FONT = Font(bold=True, size=12)
WRAP = Alignment(wrap_text=True, vertical="top")


def safe_text(value: object) -> str:
    """Text a spreadsheet shows as it is (CSV): formula-like values behind an apostrophe."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def clean(value: str) -> str:
    """Text Excel can hold: no XML-illegal control characters, no more than a cell takes."""
    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return value[:EXCEL_CELL_LIMIT]


def text(ws: WriteOnlyWorksheet, value: str) -> str | WriteOnlyCell | None:
    """Plain text as is; formula-like text as a string cell with the quote prefix; nothing
    for empty text (a blank cell costs nothing in the file)."""
    if not value:
        return None
    value = clean(value)
    if not value.startswith(FORMULA_STARTS):
        return value
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def moment(ws: WriteOnlyWorksheet, value: datetime | None, fmt: str = DATE_TIME) -> Any:
    """A stored UTC instant as the office's local time, a real Excel date with a format."""
    if value is None:
        return None
    cell = WriteOnlyCell(ws, value=office_time(value))
    cell.number_format = fmt
    return cell


def day(ws: WriteOnlyWorksheet, value: date) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = DATE
    return cell


def number(ws: WriteOnlyWorksheet, value: float | None, fmt: str) -> Any:
    if value is None:
        return None
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = fmt
    return cell


def styled(ws: WriteOnlyWorksheet, value: str, font: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=clean(value))
    cell.data_type = "s"
    cell.font = font
    return cell


def header(ws: WriteOnlyWorksheet, titles: list[str] | tuple[str, ...]) -> list[WriteOnlyCell]:
    """A header row: bold white on blue, wrapped so narrow number columns stay narrow."""
    cells = []
    for title in titles:
        cell = WriteOnlyCell(ws, value=title)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = WRAP
        cells.append(cell)
    return cells

"""The taxonomy and rules as an Excel workbook an office edits: one sheet per axis, one of rules.

`write_workbook` lays it out with drop-downs; `read_workbook` checks every row and either
returns the whole taxonomy or raises `WorkbookInvalid` listing every problem found, each with
its sheet, row and column. Neither touches a database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from tagging.axes import AXES, Axis
from tagging.rules import Rule
from tagging.taxonomy import STATUSES, TagSpec, TaxonomySpec
from tagging.workbook_layout import (
    ISSUE_COLUMNS,
    LIST_FIELDS,
    LISTS_SHEET,
    NO,
    README_SHEET,
    RULE_COLUMNS,
    RULES_SHEET,
    SCALE_COLUMNS,
    SHEETS,
    VALIDATED_ROWS,
    YES,
    join_list,
)
from tagging.workbook_read import WorkbookInvalid, read_workbook

__all__ = ["WorkbookInvalid", "read_workbook", "write_workbook"]

_README = (
    "Mailbag taxonomy and tagging rules",
    "",
    "Issue, Urgency, Sensitivity, Transferability: the values of each axis, in display order.",
    "  Issue has two levels: leave Sub-issue empty for a top-level issue.",
    "  Status is active or retired. Aliases are old names that still match, separated by ;",
    "  Keep the ID column as it is: it ties a row to the tag cases already carry, so a name",
    "  changed here is a rename. Leave it empty for a new value.",
    "Rules: each rule sets Value on Axis when everything it lists matches (any item of a list).",
    "  Priority 0-1000: the highest matching rule wins an axis.",
    "  Keywords, Senders, Postcodes, Outside postcodes, Attachment types and Message kinds are",
    "  separated by ; and Patterns (regular expressions) go one per line.",
    "  A keyword ending in * matches any word it starts, e.g. evict* matches evicted.",
    "  Postcodes are areas, districts or sectors (EX, EX4, EX4 6). Outside postcodes matches",
    "  mail whose postcode is outside every listed one: that is how out-of-area mail is found.",
    "  Message kinds: constituent, third_party, auto_reply, bounce, outgoing.",
    "Import checks every row and changes nothing unless the whole workbook is valid.",
)


def write_workbook(spec: TaxonomySpec, path: Path) -> None:
    """Every axis and rule of `spec` in an .xlsx file, with drop-downs where values are fixed."""
    book = Workbook()
    readme = book.active
    assert readme is not None
    readme.title = README_SHEET
    for line in _README:
        _append(readme, [line])
    readme.column_dimensions["A"].width = 100
    for axis in AXES:
        _axis_sheet(book.create_sheet(SHEETS[axis]), axis, spec.on(axis))
    _lists_sheet(book, spec)
    _rules_sheet(book.create_sheet(RULES_SHEET), spec.rules)
    book.move_sheet(LISTS_SHEET, offset=1)
    book.save(path)


def _axis_sheet(sheet: Worksheet, axis: Axis, tags: tuple[TagSpec, ...]) -> None:
    columns = ISSUE_COLUMNS if axis is Axis.ISSUE else SCALE_COLUMNS
    _header(sheet, columns, widths=(8, 36, 36, 10, 48) if axis is Axis.ISSUE else (8, 36, 10, 48))
    for tag in tags:
        names = [tag.parent or tag.name, tag.name if tag.parent else ""]
        values = [tag.id, *(names if axis is Axis.ISSUE else [tag.name])]
        _append(sheet, [*values, tag.status, join_list(tag.aliases)])
    status = columns.index("Status") + 1
    _validate_list(sheet, status, f'"{",".join(STATUSES)}"', "Choose active or retired.")


def _rules_sheet(sheet: Worksheet, rules: tuple[Rule, ...]) -> None:
    _header(sheet, RULE_COLUMNS, widths=(28, 40, 14, 40, 9, 9, 60, 16, 40, 30, 20, 20, 20, 20))
    for rule in rules:
        row: list[Any] = [
            rule.name,
            rule.description,
            rule.axis.value,
            rule.value,
            rule.priority,
            YES if rule.enabled else NO,
        ]
        for column in RULE_COLUMNS[6:]:
            if column == "Search in":
                row.append(rule.search_in.value)
            else:
                row.append(join_list(getattr(rule, LIST_FIELDS[column]), column))
        _append(sheet, row)
    for cell in sheet[get_column_letter(RULE_COLUMNS.index("Patterns") + 1)]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    axis = RULE_COLUMNS.index("Axis") + 1
    axis_letter = get_column_letter(axis)
    _validate_list(sheet, axis, f'"{",".join(a.value for a in AXES)}"', "Choose an axis.")
    _validate_list(
        sheet, RULE_COLUMNS.index("Value") + 1, f"INDIRECT(${axis_letter}2)", "A value of the axis."
    )
    _validate_list(sheet, RULE_COLUMNS.index("Enabled") + 1, f'"{YES},{NO}"', "yes or no.")
    _validate_list(
        sheet,
        RULE_COLUMNS.index("Search in") + 1,
        '"subject and body,subject,body"',
        "Where the keywords count.",
    )
    priority = DataValidation(type="whole", operator="between", formula1="0", formula2="1000")
    priority.error, priority.showErrorMessage = "A whole number from 0 to 1000.", True
    sheet.add_data_validation(priority)
    letter = get_column_letter(RULE_COLUMNS.index("Priority") + 1)
    priority.add(f"{letter}2:{letter}{VALIDATED_ROWS}")


def _lists_sheet(book: Workbook, spec: TaxonomySpec) -> None:
    """The drop-down sources, one column per axis, each under a name the Value column uses."""
    sheet = book.create_sheet(LISTS_SHEET)
    sheet.sheet_state = "hidden"
    for index, axis in enumerate(AXES, start=1):
        values = [tag.path for tag in spec.on(axis) if tag.status == "active"]
        sheet.cell(row=1, column=index, value=axis.value)
        for row, value in enumerate(values, start=2):
            _safe_cell(sheet.cell(row=row, column=index), value)
        letter = get_column_letter(index)
        ref = f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${max(len(values), 1) + 1}"
        book.defined_names[axis.value] = DefinedName(axis.value, attr_text=ref)


def _header(sheet: Worksheet, columns: tuple[str, ...], widths: tuple[int, ...]) -> None:
    sheet.append(list(columns))
    for index, width in enumerate(widths, start=1):
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"


def _validate_list(sheet: Worksheet, column: int, formula: str, message: str) -> None:
    validation = DataValidation(type="list", formula1=formula, allow_blank=True)
    validation.error, validation.showErrorMessage = message, True
    sheet.add_data_validation(validation)
    letter = get_column_letter(column)
    validation.add(f"{letter}2:{letter}{VALIDATED_ROWS}")


def _append(sheet: Worksheet, values: list[Any]) -> None:
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            _safe_cell(cell, cell.value)


def _safe_cell(cell: Any, value: str) -> None:
    """Text from an office or an email is never a formula: set, then force the type."""
    cell.value = value
    cell.data_type = "s"
    if value[:1] in ("=", "+", "-", "@"):
        cell.quotePrefix = True

"""Reading the taxonomy workbook back: every row checked, every problem named by cell."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from tagging.axes import AXES, FALLBACK, Axis, parse_axis
from tagging.errors import TaggingError
from tagging.rule_fields import FIELD_CHECKS, MAX_PRIORITY, MIN_PRIORITY, SearchIn
from tagging.rules import Rule
from tagging.taxonomy import (
    ACTIVE,
    STATUSES,
    TagSpec,
    TaxonomySpec,
    clean_name,
    normalise_path,
    path_key,
    split_path,
)
from tagging.workbook_layout import (
    ISSUE_COLUMNS,
    LIST_FIELDS,
    RULE_COLUMNS,
    RULES_SHEET,
    SCALE_COLUMNS,
    SHEETS,
    split_list,
)

_BOOLEANS = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False}
_BOOLEANS |= {"false": False, "0": False}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the workbook, where an office can find it."""

    sheet: str
    row: int | None
    column: str | None
    letter: str | None
    message: str

    def __str__(self) -> str:
        where = self.sheet
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None and self.letter is not None:
            where += f", column {self.letter} ({self.column})"
        elif self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class WorkbookInvalid(TaggingError):
    """The workbook was not used: `problems` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        super().__init__(f"{count} problem{'s' * (count != 1)} in the workbook; nothing changed")


@dataclass
class _Sheet:
    """One sheet's rows as cell values by header, and the problems found so far."""

    name: str
    columns: dict[str, int]
    rows: list[tuple[int, dict[str, Any]]]
    problems: list[Problem]

    def problem(self, row: int | None, column: str | None, message: str) -> None:
        letter = get_column_letter(self.columns[column] + 1) if column in self.columns else None
        self.problems.append(Problem(self.name, row, column, letter, message))


@dataclass
class _Names:
    """Every name and alias on one axis, so duplicates and rule values can be checked."""

    keys: dict[str, str] = field(default_factory=dict)  # key -> canonical path

    def claim(self, sheet: _Sheet, row: int, column: str, text: str, path: str) -> bool:
        key = path_key(text)
        if key in self.keys:
            sheet.problem(row, column, f'"{text}" is already used by "{self.keys[key]}"')
            return False
        self.keys[key] = path
        return True


def read_workbook(path: Path, known: Mapping[int, Iterable[str]] | None = None) -> TaxonomySpec:
    """The taxonomy in the workbook, or WorkbookInvalid naming every problem in it.

    `known` maps a stored value's ID to the names it has had: a rule may still name a value
    the office has just renamed in the sheet, and it follows the row with that ID."""
    problems: list[Problem] = []
    book = _open(path)
    sheets = {name: _sheet(book, name, _columns_of(name), problems) for name in _expected()}
    tags: list[tuple[_Sheet, int, TagSpec]] = []
    names: dict[Axis, _Names] = {}
    for axis in AXES:
        sheet = sheets[SHEETS[axis]]
        names[axis] = _Names()
        if sheet is not None:
            tags.extend((sheet, row, tag) for row, tag in _read_axis(sheet, axis, names[axis]))
    _check_ids(tags)
    for _, _, tag in tags:
        for name in (known or {}).get(tag.id, ()) if tag.id is not None else ():
            names[tag.axis].keys.setdefault(path_key(name), tag.path)
    rules_sheet = sheets[RULES_SHEET]
    rules = _read_rules(rules_sheet, names) if rules_sheet is not None else []
    if problems:
        raise WorkbookInvalid(problems)
    return TaxonomySpec(tuple(tag for _, _, tag in tags), tuple(rules))


def _expected() -> list[str]:
    return [*SHEETS.values(), RULES_SHEET]


def _columns_of(name: str) -> tuple[str, ...]:
    if name == RULES_SHEET:
        return RULE_COLUMNS
    return ISSUE_COLUMNS if name == SHEETS[Axis.ISSUE] else SCALE_COLUMNS


def _open(path: Path) -> Any:
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
        reason = type(error).__name__ if not str(error) else str(error).splitlines()[0]
        problem = Problem(path.name, None, None, None, f"cannot be read as an .xlsx ({reason})")
        raise WorkbookInvalid([problem]) from None


def _sheet(
    book: Any, name: str, columns: tuple[str, ...], problems: list[Problem]
) -> _Sheet | None:
    if name not in book.sheetnames:
        problems.append(Problem(name, None, None, None, "sheet is missing"))
        return None
    rows = book[name].iter_rows(values_only=True)
    header = [_text(v) for v in next(rows, ())]
    positions = {title: i for i, title in enumerate(header) if title in columns}
    sheet = _Sheet(name, positions, [], problems)
    for column in columns:
        if column not in positions:
            problems.append(Problem(name, 1, column, None, "column is missing from row 1"))
    if len(positions) < len(columns):
        return None
    for number, values in enumerate(rows, start=2):
        cells = {c: values[i] if i < len(values) else None for c, i in positions.items()}
        if any(_text(v) for v in cells.values()):
            sheet.rows.append((number, cells))
    return sheet


def _read_axis(sheet: _Sheet, axis: Axis, names: _Names) -> list[tuple[int, TagSpec]]:
    """Each row a value; then the checks that need the whole sheet (parents, fallback)."""
    read: list[tuple[int, TagSpec]] = []
    for number, cells in sheet.rows:
        tag = _read_tag(sheet, axis, number, cells)
        if tag is not None and names.claim(sheet, number, _name_column(tag), tag.path, tag.path):
            read.append((number, tag))
    for number, tag in read:
        for alias in tag.aliases:
            names.claim(sheet, number, "Aliases", alias, tag.path)
    parents = {path_key(t.name) for _, t in read if t.parent is None}
    for number, tag in read:
        if tag.parent is not None and path_key(tag.parent) not in parents:
            sheet.problem(number, "Issue", f'no top-level issue "{tag.parent}" in this sheet')
    if not any(t.status == ACTIVE for _, t in read):
        sheet.problem(None, None, f"the {axis.value} axis needs at least one active value")
    fallback = next((t for _, t in read if path_key(t.path) == path_key(FALLBACK[axis])), None)
    if fallback is None or fallback.status != ACTIVE:
        sheet.problem(None, None, f'"{FALLBACK[axis]}" must stay active: every case starts with it')
    return read


def _name_column(tag: TagSpec) -> str:
    if tag.axis is not Axis.ISSUE:
        return "Value"
    return "Sub-issue" if tag.parent else "Issue"


def _read_tag(sheet: _Sheet, axis: Axis, number: int, cells: dict[str, Any]) -> TagSpec | None:
    """The row's value; None only when its name is unusable (other problems are recorded, and
    the name still counts, so rules naming it are not reported as well)."""
    tag_id = _optional_id(sheet, number, cells["ID"])
    try:
        if axis is Axis.ISSUE:
            top, sub = _text(cells["Issue"]), _text(cells["Sub-issue"])
            parent, name = (clean_name(top), clean_name(sub)) if sub else (None, clean_name(top))
        else:
            parent, name = None, clean_name(_text(cells["Value"]))
    except ValueError as error:
        column = "Value" if axis is not Axis.ISSUE else "Issue"
        if axis is Axis.ISSUE and _text(cells["Issue"]) and _text(cells["Sub-issue"]):
            column = "Sub-issue" if _valid_name(_text(cells["Issue"])) else "Issue"
        sheet.problem(number, column, str(error))
        return None
    status = _text(cells["Status"]).lower() or ACTIVE
    if status not in STATUSES:
        sheet.problem(number, "Status", f'"{status}" is not one of: {", ".join(STATUSES)}')
        status = ACTIVE
    aliases = _aliases(sheet, axis, number, _text(cells["Aliases"]))
    return TagSpec(axis, name, parent, status, aliases, tag_id if isinstance(tag_id, int) else None)


def _valid_name(text: str) -> bool:
    try:
        clean_name(text)
    except ValueError:
        return False
    return True


def _aliases(sheet: _Sheet, axis: Axis, number: int, text: str) -> tuple[str, ...]:
    aliases: list[str] = []
    for item in split_list(text):
        try:
            aliases.append(normalise_path(item, axis))
        except ValueError as error:
            sheet.problem(number, "Aliases", str(error))
    return tuple(dict.fromkeys(aliases))


def _optional_id(sheet: _Sheet, number: int, value: Any) -> int | bool | None:
    text = _text(value)
    if not text:
        return None
    if not text.isdigit() or int(text) == 0:
        sheet.problem(number, "ID", f'"{text}" is not an ID: keep the exported one or leave empty')
        return False
    return int(text)


def _check_ids(tags: list[tuple[_Sheet, int, TagSpec]]) -> None:
    """An ID names one stored tag: two rows with the same ID would be one tag twice."""
    seen: dict[int, TagSpec] = {}
    for sheet, row, tag in tags:
        if tag.id is None:
            continue
        if tag.id in seen:
            sheet.problem(row, "ID", f'ID {tag.id} is also on "{seen[tag.id].path}"')
        seen.setdefault(tag.id, tag)


def _read_rules(sheet: _Sheet, names: dict[Axis, _Names]) -> list[Rule]:
    rules: list[Rule] = []
    first_row: dict[str, int] = {}
    for number, cells in sheet.rows:
        name = " ".join(_text(cells["Name"]).split()).casefold()
        if name and name in first_row:
            sheet.problem(
                number, "Name", f'the rule on row {first_row[name]} is already called "{name}"'
            )
        first_row.setdefault(name, number)
        rule = _read_rule(sheet, number, cells, names)
        if rule is not None:
            rules.append(rule)
    return rules


def _read_rule(
    sheet: _Sheet, number: int, cells: dict[str, Any], names: dict[Axis, _Names]
) -> Rule | None:
    before = len(sheet.problems)
    name = " ".join(_text(cells["Name"]).split())
    if not name:
        sheet.problem(number, "Name", "a rule needs a name")
    axis = _rule_axis(sheet, number, _text(cells["Axis"]))
    value = _rule_value(sheet, number, axis, _text(cells["Value"]), names)
    priority = _priority(sheet, number, _text(cells["Priority"]))
    enabled = _enabled(sheet, number, _text(cells["Enabled"]))
    search_in = _search_in(sheet, number, _text(cells["Search in"]))
    lists = {
        field_name: _list(sheet, number, column, _text(cells[column]))
        for column, field_name in LIST_FIELDS.items()
    }
    if not any(lists.values()) and len(sheet.problems) == before:
        sheet.problem(number, "Keywords", "a rule needs at least one thing to match on")
    if len(sheet.problems) > before or axis is None or value is None or search_in is None:
        return None
    try:
        return Rule(
            name=name,
            description=_text(cells["Description"]),
            axis=axis,
            value=value,
            priority=priority if priority is not None else 50,
            enabled=enabled if enabled is not None else True,
            search_in=search_in,
            **lists,
        )
    except TaggingError as error:
        sheet.problem(number, "Name", str(error))
        return None


def _rule_axis(sheet: _Sheet, number: int, text: str) -> Axis | None:
    try:
        return parse_axis(text)
    except ValueError as error:
        sheet.problem(number, "Axis", str(error))
        return None


def _rule_value(
    sheet: _Sheet, number: int, axis: Axis | None, text: str, names: dict[Axis, _Names]
) -> str | None:
    if axis is None:
        return None
    try:
        split_path(text, axis)
    except ValueError as error:
        sheet.problem(number, "Value", str(error))
        return None
    found = names[axis].keys.get(path_key(text))
    if found is None:
        sheet.problem(
            number,
            "Value",
            f'no {axis.value} value "{text}" on sheet {SHEETS[axis]} (to stop using a value '
            "that rules name, mark it retired rather than deleting its row)",
        )
    return found


def _priority(sheet: _Sheet, number: int, text: str) -> int | None:
    if not text:
        return None
    if not text.lstrip("-").isdigit() or not MIN_PRIORITY <= int(text) <= MAX_PRIORITY:
        sheet.problem(
            number,
            "Priority",
            f'"{text}" is not a whole number from {MIN_PRIORITY} to {MAX_PRIORITY}',
        )
        return None
    return int(text)


def _enabled(sheet: _Sheet, number: int, text: str) -> bool | None:
    if not text:
        return None
    if text.lower() not in _BOOLEANS:
        sheet.problem(number, "Enabled", f'"{text}" is not yes or no')
        return None
    return _BOOLEANS[text.lower()]


def _search_in(sheet: _Sheet, number: int, text: str) -> SearchIn | None:
    try:
        return SearchIn(text.lower() or SearchIn.ANYWHERE.value)
    except ValueError:
        choices = ", ".join(s.value for s in SearchIn)
        sheet.problem(number, "Search in", f'"{text}" is not one of: {choices}')
        return None


def _list(sheet: _Sheet, number: int, column: str, text: str) -> tuple[str, ...]:
    try:
        return FIELD_CHECKS[LIST_FIELDS[column]](split_list(text, column))
    except ValueError as error:
        sheet.problem(number, column, str(error))
        return ()


def _text(value: Any) -> str:
    """A cell as text: numbers Excel stored as floats come back without ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()

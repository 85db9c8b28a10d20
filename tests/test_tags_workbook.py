"""The taxonomy workbook: what Excel will show, lossless round trips, and imports that
either apply whole or change nothing and name every problem."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from crm.db import Database
from crm.tags import names, service, spreadsheet
from crm.tags.errors import TagError
from crm.tags.models import TagEvent
from mailbag.cli import main
from tagging.axes import Axis
from tagging.default_taxonomy import default_taxonomy
from tagging.rules import Rule
from tagging.workbook import WorkbookInvalid, read_workbook, write_workbook
from tests.support.mail import make_message


def export(database: Database, path: Path) -> Path:
    with database.session() as session:
        spreadsheet.export_workbook(session, path)
    return path


def cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(path)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def test_the_export_is_a_workbook_an_office_can_edit(tmp_path):
    path = tmp_path / "taxonomy.xlsx"
    write_workbook(default_taxonomy(), path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "Read me",
        "Issue",
        "Urgency",
        "Sensitivity",
        "Transferability",
        "Rules",
        "Lists",
    ]
    assert [c.value for c in book["Issue"][1]] == ["ID", "Issue", "Sub-issue", "Status", "Aliases"]
    assert [c.value for c in book["Urgency"][1]] == ["ID", "Value", "Status", "Aliases"]
    assert [r[1] for r in book["Urgency"].iter_rows(min_row=2, values_only=True)] == [
        "immediate",
        "high",
        "normal",
        "low",
    ]
    repairs = next(r for r in book["Issue"].iter_rows(values_only=True) if r[2] == "Repairs")
    assert repairs == (None, "Housing", "Repairs", "active", None)
    assert book["Lists"].sheet_state == "hidden"
    assert book.defined_names["urgency"].attr_text == "'Lists'!$B$2:$B$5"
    rules = {str(dv.sqref)[0]: dv for dv in book["Rules"].data_validations.dataValidation}
    assert (rules["C"].type, rules["C"].formula1) == (
        "list",
        '"issue,urgency,sensitivity,transferability"',
    )
    assert (rules["D"].type, rules["D"].formula1) == ("list", "INDIRECT($C2)")
    assert (rules["E"].type, rules["E"].formula1, rules["E"].formula2) == ("whole", "0", "1000")
    assert (rules["F"].type, rules["F"].formula1) == ("list", '"yes,no"')
    assert str(rules["C"].sqref) == "C2:C2000"
    status = book["Sensitivity"].data_validations.dataValidation[0]
    assert (status.formula1, str(status.sqref)) == ('"active,retired"', "C2:C2000")


def test_round_trip_of_the_default_taxonomy_is_lossless(tmp_path):
    path = tmp_path / "taxonomy.xlsx"
    spec = default_taxonomy()
    write_workbook(spec, path)
    assert read_workbook(path) == spec


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    spec = default_taxonomy()
    hostile = Rule(
        name='=HYPERLINK("http://x.example","click")',
        description="+cmd|' /C calc'!A0",
        axis=Axis.URGENCY,
        value="high",
        keywords=("=1+1", "@sum"),
    )
    spec = dataclasses.replace(spec, rules=(*spec.rules, hostile))
    path = tmp_path / "taxonomy.xlsx"
    write_workbook(spec, path)
    sheet = openpyxl.load_workbook(path)["Rules"]
    last = sheet.max_row
    assert {sheet.cell(last, c).data_type for c in (1, 2, 7)} == {"s"}
    assert read_workbook(path).rules[-1] == hostile


def test_export_then_import_changes_nothing(database, tmp_path):
    first = export(database, tmp_path / "first.xlsx")
    with database.session() as session:
        summary = spreadsheet.import_workbook(session, first, who="ann")
    assert not summary.changed, summary.describe()
    assert cells(export(database, tmp_path / "second.xlsx")) == cells(first)


def test_an_edited_workbook_renames_creates_retires_and_replaces_rules(
    database, pipeline, tmp_path
):
    # Given a case tagged "Housing › Damp and mould", and the exported workbook
    with database.session() as session:
        pipeline.process(session, make_message(message_id="<w1@example.com>"), _source())
    path = export(database, tmp_path / "taxonomy.xlsx")
    book = openpyxl.load_workbook(path)
    issues = book["Issue"]
    # When the office renames one value, adds one, deletes one and edits a rule
    row = _row(issues, 3, "Damp and mould")
    issues.cell(row, 3).value = "Damp, mould and condensation"
    issues.append([None, "Housing", "Cladding", "active", "EWS1"])
    issues.delete_rows(_row(issues, 3, "Temporary accommodation"))
    rules = book["Rules"]
    rules.delete_rows(_row(rules, 1, "issue: Housing › Temporary accommodation"))
    rule_row = _row(rules, 1, "issue: Housing › Repairs")
    rules.cell(rule_row, 7).value = "repair; cladding"
    rules.cell(rule_row, 4).value = "Housing › Cladding"
    book.save(path)
    with database.session() as session:
        summary = spreadsheet.import_workbook(session, path, who="ann")
    # Then the case follows the rename, and the changes are as written
    assert summary.renamed == ["Housing › Damp and mould → Housing › Damp, mould and condensation"]
    assert summary.created == ["Housing › Cladding"]
    assert summary.retired == ["Housing › Temporary accommodation"]
    assert summary.rules_replaced
    with database.session() as session:
        case_issue = [r.tag.path for r in service.case_tags(session, 1) if r.slot is Axis.ISSUE]
        assert case_issue == ["Housing › Damp, mould and condensation"]
        assert names.require(session, Axis.ISSUE, "EWS1").path == "Housing › Cladding"
        assert names.require(session, Axis.ISSUE, "Housing › Damp and mould").name == (
            "Damp, mould and condensation"
        )


BAD_EDITS = [
    # (sheet, row finder (column, text), column number, new value, expected problem text)
    (
        "Rules",
        (1, "safeguarding: urgency"),
        3,
        "speed",
        "Rules row {row}, column C (Axis): unknown axis",
    ),
    (
        "Rules",
        (1, "health"),
        4,
        "Health › Teeth",
        "Rules row {row}, column D (Value): 'Health › Teeth': sensitivity values have one level",
    ),
    (
        "Rules",
        (1, "council matter"),
        5,
        "high",
        'Rules row {row}, column E (Priority): "high" is not a whole number',
    ),
    (
        "Rules",
        (1, "imminent eviction: urgency"),
        9,
        "([broken",
        "Rules row {row}, column I (Patterns): '([broken' is not a valid regular expression",
    ),
    (
        "Rules",
        (1, "constituent casework"),
        1,
        "Health",
        'Rules row {row}, column A (Name): the rule on row 9 is already called "health"',
    ),
    (
        "Rules",
        (1, "financial details"),
        12,
        "EX1; Exeter",
        "Rules row {row}, column L (Outside postcodes): 'Exeter' is not a postcode",
    ),
    (
        "Urgency",
        (2, "low"),
        3,
        "gone",
        'Urgency row {row}, column C (Status): "gone" is not one of: active, retired',
    ),
    (
        "Issue",
        (3, "Repairs"),
        2,
        "Homes",
        'Issue row {row}, column B (Issue): no top-level issue "Homes" in this sheet',
    ),
    (
        "Issue",
        (2, "Energy"),
        5,
        "Planning",
        'Issue row {row}, column E (Aliases): "Planning" is already used by "Planning"',
    ),
    ("Sensitivity", (2, "standard"), 3, "retired", 'Sensitivity: "standard" must stay active'),
]


def test_a_workbook_with_errors_changes_nothing_and_names_every_problem(database, tmp_path):
    path = export(database, tmp_path / "taxonomy.xlsx")
    before = cells(path)
    book = openpyxl.load_workbook(path)
    expected = []
    for sheet_name, (column, text), target, value, message in BAD_EDITS:
        sheet = book[sheet_name]
        row = _row(sheet, column, text)
        sheet.cell(row, target).value = value
        expected.append(message.format(row=row))
    issues = book["Issue"]
    issues.append([None, "Homes", "Garages", "active", None])
    expected.append(
        f'Issue row {issues.max_row}, column B (Issue): no top-level issue "Homes" in this sheet'
    )
    book.save(path)
    with database.session() as session:
        events_before = session.scalar(select(func.count()).select_from(TagEvent))
        with pytest.raises(WorkbookInvalid) as raised:
            spreadsheet.import_workbook(session, path, who="ann")
    found = [str(p) for p in raised.value.problems]
    for message in expected:
        assert any(p.startswith(message) for p in found), (message, found)
    assert len(found) == len(expected)
    assert str(raised.value) == f"{len(expected)} problems in the workbook; nothing changed"
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(TagEvent)) == events_before
    assert cells(export(database, tmp_path / "after.xlsx")) == before


def test_a_workbook_from_another_database_is_refused_whole(database, tmp_path):
    path = export(database, tmp_path / "taxonomy.xlsx")
    book = openpyxl.load_workbook(path)
    book["Urgency"].cell(2, 1).value = 99999
    book.save(path)
    with database.session() as session, pytest.raises(TagError, match="ID 99999"):
        spreadsheet.import_workbook(session, path, who="ann")


def test_missing_sheets_columns_and_unreadable_files_are_problems_too(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Issue"
    book["Issue"].append(["ID", "Issue", "Status"])
    path = tmp_path / "thin.xlsx"
    book.save(path)
    with pytest.raises(WorkbookInvalid) as raised:
        read_workbook(path)
    problems = [str(p) for p in raised.value.problems]
    assert problems == [
        "Issue row 1, column Sub-issue: column is missing from row 1",
        "Issue row 1, column Aliases: column is missing from row 1",
        "Urgency: sheet is missing",
        "Sensitivity: sheet is missing",
        "Transferability: sheet is missing",
        "Rules: sheet is missing",
    ]
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook")
    with pytest.raises(WorkbookInvalid, match="1 problem in the workbook"):
        read_workbook(text)


def test_the_command_line_prints_every_problem_and_exits_2(tmp_path):
    env = {"MAILBAG_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    path = tmp_path / "taxonomy.xlsx"
    exported = runner.invoke(main, ["tags", "export", str(path)], env=env)
    assert exported.exit_code == 0, exported.output
    book = openpyxl.load_workbook(path)
    book["Rules"].cell(2, 3).value = "speed"
    book["Rules"].cell(3, 5).value = "-4"
    book.save(path)
    result = runner.invoke(main, ["tags", "import", str(path)], env=env)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("Rules row 2, column C (Axis): unknown axis 'speed'")
    assert lines[1].startswith('Rules row 3, column E (Priority): "-4" is not a whole number')
    assert lines[2] == "mailbag: error: 2 problems in the workbook; nothing changed"


def _row(sheet: openpyxl.worksheet.worksheet.Worksheet, column: int, text: str) -> int:
    for cell in sheet[openpyxl.utils.get_column_letter(column)]:
        if cell.value == text:
            return cell.row
    raise AssertionError(f"{text!r} not found on sheet {sheet.title}")


def _source() -> object:
    from inbox.message import Source

    return Source("INBOX", uidvalidity=1, uid=1)

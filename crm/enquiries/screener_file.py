"""Read the screener from its TOML file, checking every key: a mistake is one clear line."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, NoReturn

from crm.enquiries.errors import ScreenerError
from crm.enquiries.screener import (
    ROUTES,
    Answer,
    Area,
    Council,
    EmergencyNumber,
    Question,
    Screener,
)
from crm.settings import Settings
from tagging.axes import AXES, Axis
from tagging.postcodes import normalise_areas

DEFAULT_FILE = Path(__file__).with_name("screener.toml")
Table = dict[str, Any]
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_TOP = {"area", "council", "consent", "emergency_numbers", "questions"}
_cache: dict[tuple[str, int, int], Screener] = {}


def screener_for(settings: Settings) -> Screener:
    """The office's screener (MAILBAG_SCREENER_FILE) or the shipped one, re-read when edited."""
    return load_screener(settings.screener_file or DEFAULT_FILE)


def load_screener(path: Path) -> Screener:
    """Read and check the file; any mistake is a ScreenerError naming the file and the key."""
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        cached = _cache.get(key)
        if cached is not None:
            return cached
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ScreenerError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise ScreenerError(f"{path}: cannot read the screener file ({error.strerror})") from None
    screener = parse_screener(data, str(path))
    if len(_cache) >= 8:
        _cache.clear()
    _cache[key] = screener
    return screener


def parse_screener(data: Table, source: str) -> Screener:
    """The screener from a parsed TOML document; `source` names the file in errors."""
    reader = _Reader(source)
    reader.only(data, "", _TOP)
    area = reader.table(data, "area")
    council = reader.table(data, "council")
    consent = reader.table(data, "consent")
    reader.only(
        area, "area", {"name", "postcodes", "find_representative_url", "find_representative_text"}
    )
    reader.only(council, "council", {"name", "url", "out_of_hours"})
    reader.only(consent, "consent", {"text"})
    return Screener(
        source=source,
        area=Area(
            name=reader.text(area, "area.name"),
            postcodes=reader.postcodes(area, "area.postcodes"),
            find_representative_url=reader.url(area, "area.find_representative_url"),
            find_representative_text=reader.text(area, "area.find_representative_text"),
        ),
        council=Council(
            name=reader.text(council, "council.name"),
            url=reader.url(council, "council.url"),
            out_of_hours=reader.text(council, "council.out_of_hours", required=False),
        ),
        consent_text=" ".join(reader.text(consent, "consent.text").split()),
        emergency_numbers=tuple(
            _number(reader, item, f"emergency_numbers[{n}]")
            for n, item in enumerate(reader.tables(data, "emergency_numbers"), 1)
        ),
        questions=_questions(reader, data),
    )


def _number(reader: _Reader, item: Table, key: str) -> EmergencyNumber:
    reader.only(item, key, {"number", "label"})
    return EmergencyNumber(reader.text(item, f"{key}.number"), reader.text(item, f"{key}.label"))


def _questions(reader: _Reader, data: Table) -> tuple[Question, ...]:
    questions: list[Question] = []
    for n, item in enumerate(reader.tables(data, "questions"), 1):
        key = f"questions[{n}]"
        reader.only(item, key, {"id", "legend", "hint", "answers"})
        question_id = reader.identifier(item, f"{key}.id")
        if any(q.id == question_id for q in questions):
            reader.fail(f"{key}.id", f"{question_id!r} is used by an earlier question")
        key = f"questions[{question_id}]"
        answers = reader.tables(item, f"{key}.answers", minimum=2)
        questions.append(
            Question(
                id=question_id,
                legend=reader.text(item, f"{key}.legend"),
                hint=reader.text(item, f"{key}.hint", required=False),
                answers=_answers(reader, answers, key),
            )
        )
    return tuple(questions)


def _answers(reader: _Reader, items: list[Table], question_key: str) -> tuple[Answer, ...]:
    answers: list[Answer] = []
    for n, item in enumerate(items, 1):
        key = f"{question_key}.answers[{n}]"
        reader.only(item, key, {"id", "label", "route", "tags", "priority"})
        answer_id = reader.identifier(item, f"{key}.id")
        if any(a.id == answer_id for a in answers):
            reader.fail(f"{key}.id", f"{answer_id!r} is used by an earlier answer")
        key = f"{question_key}.answers[{answer_id}]"
        answers.append(
            Answer(
                id=answer_id,
                label=reader.text(item, f"{key}.label"),
                route=reader.choice(item, f"{key}.route", ROUTES),
                tags=reader.tags(item, f"{key}.tags"),
                priority=reader.priority(item, f"{key}.priority"),
            )
        )
    return tuple(answers)


class _Reader:
    """Typed access to the document; every complaint names the file and the dotted key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ScreenerError(f"{self.source}: {key}: {problem}")

    def only(self, table: Table, key: str, allowed: set[str]) -> None:
        for name in table:
            if name not in allowed:
                where = f"{key}.{name}" if key else name
                self.fail(where, f"unknown key (expected one of {', '.join(sorted(allowed))})")

    def _value(self, table: Table, key: str) -> Any:
        return table.get(key.rpartition(".")[2])

    def table(self, data: Table, key: str) -> Table:
        value = self._value(data, key)
        if not isinstance(value, dict):
            self.fail(key, "missing: expected a table like [" + key + "]")
        return value

    def tables(self, data: Table, key: str, minimum: int = 1) -> list[Table]:
        value = self._value(data, key)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(key, "missing: expected one or more [[" + key.rpartition(".")[2] + "]]")
        if len(value) < minimum:
            self.fail(key, f"expected at least {minimum}, found {len(value)}")
        return value

    def text(self, table: Table, key: str, *, required: bool = True) -> str:
        value = self._value(table, key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(key, f"expected some text, got {_shown(value)}")
        return str(value).strip()

    def identifier(self, table: Table, key: str) -> str:
        value = self._value(table, key)
        if not isinstance(value, str) or not _ID.match(value):
            self.fail(key, f"expected a short id of a-z, 0-9, - or _, got {_shown(value)}")
        return str(value)

    def url(self, table: Table, key: str) -> str:
        value = self.text(table, key)
        if not value.startswith(("https://", "http://")):
            self.fail(key, f"expected an https:// address, got {value[:60]!r}")
        return value

    def choice(self, table: Table, key: str, choices: tuple[str, ...]) -> str:
        value = self._value(table, key)
        if value is None:
            return ""
        if value not in choices:
            self.fail(key, f"expected one of {', '.join(choices)}, got {_shown(value)}")
        return str(value)

    def priority(self, table: Table, key: str) -> int:
        value = self._value(table, key)
        if value is None:
            return 20
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
            self.fail(key, f"expected a whole number from 0 to 1000, got {_shown(value)}")
        return int(value)

    def postcodes(self, table: Table, key: str) -> tuple[str, ...]:
        value = self._value(table, key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, f'expected a list like ["EX1", "EX4 6"], got {_shown(value)}')
        try:
            return normalise_areas(value)
        except ValueError as error:
            self.fail(key, str(error))

    def tags(self, table: Table, key: str) -> tuple[tuple[Axis, str], ...]:
        value = self._value(table, key)
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.fail(key, f'expected a table like {{ issue = "Housing" }}, got {_shown(value)}')
        found: list[tuple[Axis, str]] = []
        for name, tag in value.items():
            if name not in {axis.value for axis in AXES}:
                axes = ", ".join(axis.value for axis in AXES)
                self.fail(f"{key}.{name}", f"unknown axis (expected one of {axes})")
            if not isinstance(tag, str) or not tag.strip():
                self.fail(f"{key}.{name}", f"expected a tag value, got {_shown(tag)}")
            found.append((Axis(name), " ".join(tag.split())))
        return tuple(found)


def _shown(value: Any) -> str:
    """A value as the office wrote it, short enough for one line."""
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

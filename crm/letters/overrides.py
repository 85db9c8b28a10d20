"""The office's own wording of letters, kept in the database and preferred over the files.

Only a letter's subject and body can be edited: the wrappers (greeting, signature, footer)
and `about.j2` stay in files. Nothing is saved unless every edited part renders, strictly,
against a sample case: a broken template would otherwise stop the chases that use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm import audit
from crm.letters.errors import LetterError
from crm.letters.models import LetterOverride
from crm.letters.sample import sample_context, sender_variables
from crm.letters.templates import BODY, SUBJECT, Letters, letters_for
from crm.settings import Settings

EDITABLE = (SUBJECT, BODY)
MAX_SOURCE = 20_000


class TemplateRefused(LetterError):
    """Edited wording that does not render; `problems` maps each part to its one-line error."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{part}: {text}" for part, text in self.problems.items()))


@dataclass(frozen=True)
class Wording:
    """A letter's editable parts as they stand, and which of them the office has changed."""

    name: str
    sources: dict[str, str]
    overridden: frozenset[str]


def office_letters(
    session: Session, settings: Settings, draft: Mapping[str, str] | None = None
) -> Letters:
    """The letters as the office has them: stored overrides, then a draft being tried, first."""
    stored = _stored(session)
    if draft:
        return Letters(settings.templates_dir, {**stored, **draft})
    if not stored:
        return letters_for(settings.templates_dir)
    return _letters_with(settings.templates_dir, tuple(sorted(stored.items())))


def wording(session: Session, settings: Settings, name: str) -> Wording:
    letters = office_letters(session, settings)
    letters.info(name)  # an unknown letter is an error here, not an empty form
    assert letters.env.loader is not None
    sources = {
        part: letters.env.loader.get_source(letters.env, f"{name}/{part}")[0] for part in EDITABLE
    }
    overridden = {part for part in EDITABLE if f"{name}/{part}" in _stored(session)}
    return Wording(name, sources, frozenset(overridden))


def draft_of(name: str, sources: Mapping[str, str]) -> dict[str, str]:
    """Form fields (part -> text) as template files, line endings as a browser sends them fixed."""
    return {
        f"{name}/{part}": sources[part].replace("\r\n", "\n")
        for part in EDITABLE
        if part in sources
    }


def check(session: Session, settings: Settings, name: str, sources: Mapping[str, str]) -> None:
    """Raise TemplateRefused naming each part that does not parse or render on the sample."""
    draft = draft_of(name, sources)
    letters = office_letters(session, settings, draft)
    values = sample_context(letters.info(name)).as_mapping()
    # What only the sender gives stays undefined, as when a sender leaves it out.
    given = given_variables(settings, name, values)
    values = {**{n: jinja2.ChainableUndefined(name=n) for n in sorted(given)}, **values}
    problems: dict[str, str] = {}
    for part in EDITABLE:
        key = f"{name}/{part}"
        if len(draft.get(key, "")) > MAX_SOURCE:
            problems[part] = f"longer than {MAX_SOURCE} characters"
            continue
        if key in draft and not draft[key].strip():
            problems[part] = "empty: a letter needs words"
            continue
        try:
            letters.render(key, values)
        except LetterError as error:
            problems[part] = str(error)
    if problems:
        raise TemplateRefused(problems)


def given_variables(settings: Settings, name: str, known: Iterable[str]) -> set[str]:
    """Variables beyond the sample's that the letter's standard wording uses."""
    files = Letters(settings.templates_dir)
    return sender_variables(files.env, [f"{name}/{part}" for part in EDITABLE], known)


def save(
    session: Session, settings: Settings, name: str, sources: Mapping[str, str], *, who: str
) -> None:
    """Store the office's wording (all parts or none), audited; only what differs from files."""
    check(session, settings, name, sources)
    files = Letters(settings.templates_dir)
    changed = []
    for key, source in draft_of(name, sources).items():
        row = session.scalar(
            select(LetterOverride).where(
                LetterOverride.name == name, LetterOverride.part == key.split("/", 1)[1]
            )
        )
        if _same(_file_source(files, key), source):  # the file's own words: no override
            if row is not None:
                session.delete(row)
                changed.append(key)
            continue
        if row is None:
            row = LetterOverride(name=name, part=key.split("/", 1)[1], source=source)
            session.add(row)
        elif _same(row.source, source):
            continue
        row.source, row.updated_by = source, who[:320]
        changed.append(key)
    session.flush()
    if changed:
        audit.record(session, "template_change", who=who, detail=f"edited {', '.join(changed)}")


def revert(session: Session, name: str, *, who: str) -> int:
    """Drop the office's wording of a letter: the files' words are used again."""
    removed = session.execute(delete(LetterOverride).where(LetterOverride.name == name)).rowcount  # type: ignore[attr-defined]
    if removed:
        audit.record(session, "template_change", who=who, detail=f"{name}: back to the file")
    return int(removed or 0)


def _stored(session: Session) -> dict[str, str]:
    rows = session.execute(select(LetterOverride.name, LetterOverride.part, LetterOverride.source))
    return {f"{name}/{part}": source for name, part, source in rows}


def _same(file_source: str | None, source: str) -> bool:
    """Equal but for trailing newlines, which a letter's subject and body never show."""
    return file_source is not None and file_source.rstrip("\n") == source.rstrip("\n")


def _file_source(letters: Letters, key: str) -> str | None:
    assert letters.env.loader is not None
    try:
        return letters.env.loader.get_source(letters.env, key)[0]
    except jinja2.TemplateNotFound:
        return None


@lru_cache(maxsize=16)
def _letters_with(office_dir: Path | None, overrides: tuple[tuple[str, str], ...]) -> Letters:
    """One environment per set of overrides, so a template compiles once, not per letter."""
    return Letters(office_dir, dict(overrides))

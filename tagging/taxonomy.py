"""Tag names and paths ("Housing › Repairs"), and the plain structure a taxonomy travels in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from tagging.axes import Axis
from tagging.rules import Rule

SEPARATOR = " › "
MAX_NAME = 100
ACTIVE, RETIRED = "active", "retired"
STATUSES = (ACTIVE, RETIRED)

_SPLIT = re.compile(r"\s*(?:›|>)\s*")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_name(text: str) -> str:
    """One level of a tag name: trimmed, single-spaced, checked; ValueError says what is wrong."""
    name = _SPACES.sub(" ", text).strip()
    if not name:
        raise ValueError("a tag name cannot be empty")
    if len(name) > MAX_NAME:
        raise ValueError(f"a tag name can be at most {MAX_NAME} characters")
    if _CONTROL.search(name) or any(c in name for c in "›>;"):
        raise ValueError(f"{name!r}: a tag name cannot contain ›, >, ; or control characters")
    return name


def split_path(text: str, axis: Axis = Axis.ISSUE) -> tuple[str | None, str]:
    """(parent, name) from "Housing › Repairs" or "Housing > Repairs"; scales have one level."""
    parts = _SPLIT.split(text.strip())
    if len(parts) == 1:
        return None, clean_name(parts[0])
    if axis is not Axis.ISSUE:
        raise ValueError(f"{text.strip()!r}: {axis.value} values have one level, not two")
    if len(parts) > 2:
        raise ValueError(f"{text.strip()!r}: an issue has at most two levels")
    return clean_name(parts[0]), clean_name(parts[1])


def join_path(parent: str | None, name: str) -> str:
    return f"{parent}{SEPARATOR}{name}" if parent else name


def normalise_path(text: str, axis: Axis = Axis.ISSUE) -> str:
    """The canonical spelling of a typed path: "housing>repairs" keeps its case, gains " › "."""
    return join_path(*split_path(text, axis))


@lru_cache(maxsize=4096)
def path_key(text: str) -> str:
    """What two spellings of the same name share: case and spacing do not make a new tag.

    Remembered: ingest looks up the same few values (the rules' and the fallbacks') a dozen
    times for every message."""
    return _SPLIT.sub(">", _SPACES.sub(" ", text).strip()).casefold()


@dataclass(frozen=True)
class TagSpec:
    """One value on an axis, as an office edits it; `id` ties a workbook row to a stored tag."""

    axis: Axis
    name: str
    parent: str | None = None
    status: str = ACTIVE
    aliases: tuple[str, ...] = ()
    id: int | None = None

    @property
    def path(self) -> str:
        return join_path(self.parent, self.name)


@dataclass(frozen=True)
class TaxonomySpec:
    """Every tag on every axis, in display order, and the rules: what the workbook holds."""

    tags: tuple[TagSpec, ...] = ()
    rules: tuple[Rule, ...] = field(default=())

    def on(self, axis: Axis) -> tuple[TagSpec, ...]:
        return tuple(tag for tag in self.tags if tag.axis is axis)

"""What the templates call on every page: office-time dates, tag labels and option lists.

Made in Python rather than in template loops: a list page shows fifty rows and four selects
of up to a hundred choices, and each step of a template loop costs several calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from crm.types import office_time


def when(moment: datetime | None) -> str:
    """A moment as the office reads it: on the UK's clock (summer time included), not UTC,
    which is what the database gives back."""
    return office_time(moment).strftime("%d %b %Y %H:%M") if moment else ""


def day(moment: date | None) -> str:
    """A date, or the office's date of a moment (23:30 UTC in July is the next day)."""
    if isinstance(moment, datetime):
        moment = office_time(moment)
    return moment.strftime("%a %d %b %Y") if moment else ""


def size(count: int) -> str:
    """A file's size as people say it: 820 bytes, 14 KB, 4.1 MB."""
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.0f} KB"
    return f"{count / (1024 * 1024):.1f} MB"


def tag_labels(tags: Any) -> Markup:
    """A listed case's tags as labels: a filter, since a macro called per row cost a tenth of
    the list page's time, and each label made once (the taxonomy is small and governed)."""
    return Markup("".join([_tag_label(tag.axis, tag.name) for tag in tags]))


@lru_cache(maxsize=4096)
def _tag_label(axis: str, name: str) -> str:
    """One label's HTML, escaped; Markup.format per label cost a fifth of the list page."""
    return f'<span class="tag {escape(axis)}" title="{escape(axis)}">{escape(name)}</span>'


def options(choices: Iterable[Any], selected: Any = None) -> Markup:
    """A select's <option>s with the chosen one marked. A choice is a value that is its own
    label, or a (value, label) pair; `selected` matches a value as text (ids come as text
    from a form). The same choices and selection make the same HTML, so it is kept."""
    chosen = "" if selected is None else str(selected)
    return Markup(_options(tuple(choices), chosen))


@lru_cache(maxsize=512)
def _options(choices: tuple[Any, ...], selected: str) -> str:
    html = []
    for choice in choices:
        value, label = (choice, choice) if isinstance(choice, str) else choice
        mark = " selected" if str(value) == selected else ""
        html.append(f'<option value="{escape(value)}"{mark}>{escape(label)}</option>')
    return "".join(html)

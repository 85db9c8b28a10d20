"""The template of a campaign, and what each writer added to it in their own words.

Sentences are compared as sets of words (names, numbers and postcodes left out), so a
reordered paragraph is still the template and a sentence of one's own is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from crm.campaigns.normalise import letter_body, paragraphs, sentences, words

NEAR = 0.6  # word overlap at which a sentence counts as the template's, lightly edited


@dataclass(frozen=True)
class Personal:
    """The writer's own sentences, as written, and how many words they make."""

    text: str
    words: int


def sentence_words(sentence: str, drop: Iterable[str] = ()) -> frozenset[str]:
    return frozenset(words(sentence, drop))


@lru_cache(maxsize=64)
def template_sentences(template_text: str) -> tuple[frozenset[str], ...]:
    """The template's sentences as word sets; kept, as every copy is compared with them."""
    return tuple(ws for s in sentences(template_text) if (ws := sentence_words(s)))


def personal_part(
    text: str, template: Sequence[frozenset[str]], drop: Iterable[str] = ()
) -> Personal:
    """The sentences of a letter that are not in the template (greeting and signature aside)."""
    dropped = set(drop)
    own = [
        s
        for s in sentences(letter_body(text))
        if (ws := sentence_words(s, dropped)) and not _in_template(ws, template)
    ]
    joined = " ".join(own)
    return Personal(joined, len(joined.split()))


def derive_template(texts: Sequence[str]) -> str:
    """The sentences most copies share (a majority, at least two), in the letters' order.

    Laid out as the copy that holds most of them, paragraph by paragraph.
    """
    bodies = [letter_body(text) for text in texts]
    groups: list[frozenset[str]] = []
    votes: list[int] = []
    for body in bodies:
        seen: set[int] = set()
        for sentence in sentences(body):
            ws = sentence_words(sentence)
            if not ws:
                continue
            index = _group_of(ws, groups)
            if index is None:
                groups.append(ws)
                votes.append(0)
                index = len(groups) - 1
            if index not in seen:
                seen.add(index)
                votes[index] += 1
    needed = max(2, (len(bodies) + 1) // 2)
    shared = [g for g, v in zip(groups, votes, strict=True) if v >= needed]
    if not shared:
        return ""
    best = max(bodies, key=lambda body: _template_share(body, shared))
    kept_paragraphs = []
    for paragraph in paragraphs(best):
        kept = [s for s in sentences(paragraph) if _in_template(sentence_words(s), shared)]
        if kept:
            kept_paragraphs.append(" ".join(kept))
    return "\n\n".join(kept_paragraphs)


def _template_share(body: str, shared: Sequence[frozenset[str]]) -> int:
    return sum(_in_template(sentence_words(s), shared) for s in sentences(body))


def _in_template(ws: frozenset[str], template: Sequence[frozenset[str]]) -> bool:
    return _group_of(ws, template) is not None


def _group_of(ws: frozenset[str], groups: Sequence[frozenset[str]]) -> int | None:
    for index, group in enumerate(groups):
        if ws == group or len(ws & group) >= NEAR * len(ws | group):
            return index
    return None

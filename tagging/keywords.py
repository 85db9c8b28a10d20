"""Keywords and phrases compiled into one trie-shaped regex, so a text is scanned once."""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)

MAX_SCAN = 200_000  # characters of one text; what matters is near the top of a letter
_GAP = re.compile(r"[\s\-]+")
_GAP_PATTERN = r"[\s\-]+"
_END, _STEM = "", "*"  # trie markers; neither can be a character of a keyword key
Trie = dict[str, "Trie"]


def keyword_key(text: str) -> str:
    """How a keyword is compared: lower case, straight quotes, spaces and hyphens alike."""
    return _GAP.sub(" ", text.lower().replace("\u2019", "'")).strip()


def prepare(text: str) -> str:
    """The text as the scanner reads it; done once per text, not once per keyword."""
    return text[:MAX_SCAN].lower().replace("\u2019", "'")


def check_keyword(text: str) -> str:
    """The keyword's key, or ValueError when it can never match anything."""
    key = keyword_key(text)
    if not key.rstrip("*").strip():
        raise ValueError(f"keyword {text!r} is empty")
    if "*" in key[:-1]:
        raise ValueError(f"keyword {text!r}: * may only end a word stem, as in evict*")
    return key


class KeywordIndex(Generic[T]):
    """Which owners (rules) each keyword belongs to, and one pattern that finds them all."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._exact: dict[str, list[tuple[T, str]]] = {}
        self._stems: list[tuple[str, T, str]] = []
        for term, owner in entries:
            key = check_keyword(term)
            if key.endswith("*"):
                self._stems.append((key[:-1], owner, term))
            else:
                self._exact.setdefault(key, []).append((owner, term))
        self._credit_inner_keywords()
        self.pattern = _compile(self._exact, [stem for stem, _, _ in self._stems])

    def find(self, prepared: str) -> dict[T, list[str]]:
        """Owner -> the terms (as the owner wrote them) found in an already prepared text."""
        found: dict[T, list[str]] = {}
        if self.pattern is None:
            return found
        for matched in self.pattern.findall(prepared):
            key = _GAP.sub(" ", matched)
            for owner, term in self._exact.get(key) or self._stem_owners(key):
                terms = found.setdefault(owner, [])
                if term not in terms:
                    terms.append(term)
        return found

    def _stem_owners(self, key: str) -> list[tuple[T, str]]:
        return [(owner, key) for stem, owner, _ in self._stems if key.startswith(stem)]

    def _credit_inner_keywords(self) -> None:
        """A match on "domestic abuse" also counts for a rule that only says "abuse"."""
        additions: dict[str, list[tuple[T, str]]] = {}
        for key in self._exact:
            words = key.split(" ")
            for start in range(len(words)):
                for end in range(start + 1, len(words) + 1):
                    inner = " ".join(words[start:end])
                    if inner != key and inner in self._exact:
                        additions.setdefault(key, []).extend(self._exact[inner])
                    if end == start + 1:
                        additions.setdefault(key, []).extend(
                            (owner, words[start])
                            for stem, owner, _ in self._stems
                            if words[start].startswith(stem)
                        )
        for key, extra in additions.items():
            self._exact[key] = _unique([*self._exact[key], *extra])


def _unique(items: list[tuple[T, str]]) -> list[tuple[T, str]]:
    return list(dict.fromkeys(items))


def _compile(exact: Iterable[str], stems: Iterable[str]) -> re.Pattern[str] | None:
    """A trie of every key as one regex: the engine tries a few branches, not hundreds."""
    trie: Trie = {}
    for key, marker in [*((k, _END) for k in exact), *((s, _STEM) for s in stems)]:
        node = trie
        for char in key:
            node = node.setdefault(char, {})
        node[marker] = {}
    if not trie:
        return None
    return re.compile(_emit(trie, first=True))


def _emit(node: Trie, first: bool = False, last: str = "") -> str:
    branches = []
    for char in sorted(c for c in node if c not in (_END, _STEM)):
        head = _GAP_PATTERN if char == " " else re.escape(char)
        if first and _is_word(char):
            head += f"(?<!\\w{re.escape(char)})"  # a word starts here, not mid-word
        branches.append(head + _emit(node[char], last=char))
    if _STEM in node:
        branches.append(r"\w*")
    if _END in node:
        branches.append(r"\b" if _is_word(last) else "")
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


def _is_word(char: str) -> bool:
    return bool(char) and (char.isalnum() or char == "_")

"""Subject keys for threading, our case tokens, and the references third parties quote."""

from __future__ import annotations

import re
from functools import lru_cache

# Reply and forward prefixes in the languages our mail clients speak, with counters ("Re[2]:"),
# list tags ("[residents]") and responder prefixes ("Automatic reply:"); any number in a row.
_PREFIXES_RE = re.compile(
    r"^(?: ?(?:"
    r"(?:re|aw|antw|sv|vs|r|rif|res|fwd?|fw|wg|tr|enc|rv|vl|odp|pd|doorst)"
    r" ?(?:\[\d+\]|\(\d+\))? ?[:：]"
    r"|\[[^\]]*\]"
    r"|(?:automatic reply|auto[- ]?reply|out of (?:the )?office|réponse automatique"
    r"|abwesenheitsnotiz|automatische antwort) ?[:：]"
    r"))+",
    re.IGNORECASE,
)
_FWD_SUFFIX_RE = re.compile(r" ?\((?:fwd|fw)\)$", re.IGNORECASE)
# Any office's case token, whatever its prefix, so keys match across prefix changes.
_ANY_CASE_TOKEN_RE = re.compile(r"\[ ?[A-Za-z0-9]+-\d{4}-\d{6} ?\]")
# Run on text with whitespace collapsed to single spaces, so no pattern can backtrack far.
_THIRD_PARTY_REF_RE = re.compile(
    r"(?<![\w/])(?<!your )(?:(?:our|case|my) )?ref(?:erence)?(?: (?:no\.?|number))? ?(?:[:.] ?)?"
    r"(?P<ref>[A-Za-z0-9][A-Za-z0-9/_.-]{1,38}[A-Za-z0-9])",
    re.IGNORECASE,
)


def _collapse(text: str) -> str:
    """Every run of whitespace as one space."""
    return " ".join(text.split())


def normalise_subject(subject: str) -> str:
    """A key that stays the same across replies, forwards, list tags and our own tokens."""
    text = _collapse(_ANY_CASE_TOKEN_RE.sub(" ", _collapse(subject)))
    text = _FWD_SUFFIX_RE.sub("", _PREFIXES_RE.sub("", text))
    return _collapse(text).casefold()


@lru_cache(maxsize=16)
def _token_re(prefix: str, bracketed: bool) -> re.Pattern[str]:
    """The case token pattern for one office prefix; brackets required in subjects."""
    core = rf"({re.escape(prefix)})-(\d{{4}})-(\d{{6}})"
    if bracketed:
        return re.compile(rf"\[\s*{core}\s*\]", re.IGNORECASE)
    return re.compile(rf"(?<![\w-]){core}(?![\w-])", re.IGNORECASE)


def _reference(text: str, prefix: str, bracketed: bool) -> str | None:
    """The first token found, spelt with the configured prefix."""
    found = _token_re(prefix, bracketed).search(text)
    return f"{prefix}-{found.group(2)}-{found.group(3)}" if found else None


def find_reference(text: str, prefix: str = "MB") -> str | None:
    """Our case reference in a subject: "[MB-2026-000123]" gives "MB-2026-000123".

    The bracketed token comes first; a bare one counts too, as people retype it by hand.
    """
    return _reference(text, prefix, bracketed=True) or _reference(text, prefix, bracketed=False)


def find_reference_in_body(text: str, prefix: str = "MB") -> str | None:
    """Our case reference in a body, where people also type it without brackets."""
    return _reference(text, prefix, bracketed=False)


def find_third_party_reference(text: str) -> str | None:
    """The sender's own reference ("Our ref: MPC/123456"), to thread replies that drop ours."""
    for found in _THIRD_PARTY_REF_RE.finditer(_collapse(text)):
        ref = found.group("ref")
        if any(ch.isdigit() for ch in ref):
            return ref
    return None

"""The letter a campaigner wrote, without greeting, signature, quoted mail or personal details.

Pure text functions: what two copies of one campaign letter have in common survives, and
what makes each copy one person's (their name, address, postcode, phone) does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SHINGLE_WORDS = 3
TAIL_LINES = 12  # a sign-off is looked for among the last lines only

_REPLY_START = (
    re.compile(r"^-{2,}\s*(?:original|forwarded) message\s*-{2,}", re.IGNORECASE),
    re.compile(r"^begin forwarded message:", re.IGNORECASE),
    re.compile(r"^_{10,}$"),
    re.compile(r"^on\s.{0,200}wrote:?$", re.IGNORECASE),
)
_GREETING_RE = re.compile(
    r"^(?:dear|hi|hello|hey|good (?:morning|afternoon|evening)|greetings|to whom it may concern)"
    r"\b[^,\n:!]{0,50}[,:!]?\s*",
    re.IGNORECASE,
)
_SIGNOFF_RE = re.compile(
    r"^(?:(?:with\s+)?(?:kind(?:est)?|best|warm(?:est)?)\s+(?:regards|wishes)|regards"
    r"|yours(?:\s+(?:sincerely|faithfully|truly))?|sincerely|all the best|best|cheers"
    r"|(?:many|with)\s+thanks|thanks(?:\s+(?:again|so much|very much))?"
    r"|thank\s+you(?:\s+(?:again|so much|very much))?)\b[\s,.!]*(?P<rest>.*)$",
    re.IGNORECASE,
)
_SIGNATURE_MARKS = re.compile(r"^(?:--\s*|sent from my \w+.*)$", re.IGNORECASE)
POSTCODE_RE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
_CONTACT_RE = re.compile(r"\S+@\S+|https?://\S+|www\.\S+")
_WORD_RE = re.compile(r"[a-z]+(?:['’][a-z]+)*")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(]?[A-Z0-9])")


def letter_body(text: str) -> str:
    """The writer's own letter: quoted mail, greeting and signature left out, paragraphs kept."""
    lines = _own_lines(text)
    lines = _without_signature(lines)
    lines = _without_greeting(lines)
    return "\n".join(lines).strip()


def words(text: str, drop: Iterable[str] = ()) -> list[str]:
    """Lower-case words with postcodes, addresses, numbers and the given names taken out."""
    cleaned = _CONTACT_RE.sub(" ", POSTCODE_RE.sub(" ", text))
    dropped = {word.lower() for word in drop}
    return [w.replace("’", "'") for w in _WORD_RE.findall(cleaned.lower()) if w not in dropped]


def most_words(text: str) -> int:
    """An upper bound on the words `words(letter_body(text), drop)` finds, in one scan.

    The letter body only leaves lines and a greeting out, and the cleaning blanks
    postcodes, addresses and links, which hold what no word does (digits, "@", "." or
    ":"): no word is ever split in two, so the whole text never has fewer words.
    """
    return len(_WORD_RE.findall(text.lower()))


def shingles(tokens: list[str], size: int = SHINGLE_WORDS) -> list[bytes]:
    """Overlapping runs of `size` words, the units two letters are compared on."""
    if len(tokens) < size:
        return [" ".join(tokens).encode()] if tokens else []
    return list(
        dict.fromkeys(
            " ".join(tokens[i : i + size]).encode() for i in range(len(tokens) - size + 1)
        )
    )


def name_words(*names: str) -> set[str]:
    """The words of a person's names, to be left out of what is compared."""
    return {w for name in names for w in _WORD_RE.findall(name.lower()) if len(w) > 1}


def sentences(body: str) -> list[str]:
    """Sentences of a letter body, paragraph by paragraph, as written."""
    found: list[str] = []
    for paragraph in re.split(r"\n\s*\n", body):
        flat = " ".join(paragraph.split())
        found.extend(part.strip() for part in _SENTENCE_END_RE.split(flat) if part.strip())
    return found


def paragraphs(body: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]


def _own_lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    for index, line in enumerate(lines):
        stripped = line.strip()
        if any(marker.match(stripped) for marker in _REPLY_START):
            lines = lines[:index]
            break
        if re.match(r"^\*?from:", stripped, re.IGNORECASE) and any(
            re.match(r"^\*?(?:sent|date):", n.strip(), re.IGNORECASE)
            for n in lines[index + 1 : index + 4]
        ):
            lines = lines[:index]
            break
    return [line for line in lines if not line.lstrip().startswith(">")]


def _without_signature(lines: list[str]) -> list[str]:
    """Everything from the last sign-off (or a "-- " line) near the end is the signature."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    for index in reversed(filled[-TAIL_LINES:]):
        stripped = lines[index].strip()
        if _SIGNATURE_MARKS.match(stripped) or _is_signoff(stripped):
            return (
                _without_signature(lines[:index])
                if _SIGNATURE_MARKS.match(stripped)
                else (lines[:index])
            )
    return lines


def _is_signoff(line: str) -> bool:
    """A sign-off line: the words alone, or followed by a short name ("Thanks, Mary Jones")."""
    found = _SIGNOFF_RE.match(line)
    if found is None:
        return False
    rest = found.group("rest").strip()
    return not rest or (len(rest.split()) <= 4 and rest[0].isupper() and not rest.endswith("."))


def _without_greeting(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        found = _GREETING_RE.match(line.strip())
        if found is None or (len(line.split()) > 12 and not found.group().rstrip().endswith(",")):
            return lines[index:]
        rest = line.strip()[found.end() :]
        return [rest, *lines[index + 1 :]] if rest else lines[index + 1 :]
    return []

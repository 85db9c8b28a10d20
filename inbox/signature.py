"""Contact details from the end of a constituent's email: name, postal address, phone."""

from __future__ import annotations

import re
from dataclasses import dataclass

POSTCODE_RE = re.compile(
    r"\b(?:GIR[ \t]?0AA"
    r"|[A-PR-UWYZ](?:[0-9][0-9A-HJKPSTUW]?|[A-HK-Y][0-9][0-9ABEHMNPRVWXY]?)"
    r"[ \t]{0,2}[0-9][ABD-HJLNP-UW-Z]{2})\b",
    re.IGNORECASE,
)
TAIL_LINES = 15
MAX_ADDRESS_LINES = 4

REPLY_MARKERS = (
    re.compile(r"^-{2,}\s*(?:original|forwarded) message\s*-{2,}", re.IGNORECASE),
    re.compile(r"^begin forwarded message:", re.IGNORECASE),
    re.compile(r"^_{10,}$"),  # Outlook's rule above the quoted header block
)
_ON_RE = re.compile(r"^on\s", re.IGNORECASE)
_WROTE_RE = re.compile(r"wrote:?$", re.IGNORECASE)
_FROM_RE = re.compile(r"^\*?from:", re.IGNORECASE)
_SENT_RE = re.compile(r"^\*?(?:sent|date):", re.IGNORECASE)
_SIGNOFF_RE = re.compile(
    r"^(?:(?:with\s+)?(?:kind(?:est)?|best|warm(?:est)?)\s+(?:regards|wishes)"
    r"|regards|yours\s+(?:sincerely|faithfully|truly)|sincerely|all the best|best|cheers"
    r"|(?:many|with)\s+thanks|thanks(?:\s+(?:again|so much|very much))?"
    r"|thank\s+you(?:\s+(?:again|so much|very much))?)\b[\s,.!]*(?P<rest>.*)$",
    re.IGNORECASE,
)
_PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+44[ \t-]?(?:\(0\)[ \t-]?)?|\(?0)(?:\d[ \t\-()]{0,2}){8,10}\d(?!\d)"
)
_CONTACT_RE = re.compile(
    r"@|https?:|www\.|^(?:tel|phone|mobile|mob|email|e-mail|fax|[tme])\b\s*[:.]", re.IGNORECASE
)
# Web-form labels whose values are address lines; other labelled lines end an address block.
_FORM_FIELD_RE = re.compile(
    r"^(?:address(?: line \d)?|street|town|city|county|post ?code) ?: *(?P<value>\S.*)$",
    re.IGNORECASE,
)
_FORM_NAME_RE = re.compile(r"^(?:full |your )?name ?: *(?P<value>\S.*)$", re.IGNORECASE)
_LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z /-]{0,30}:( |$)")
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "cllr", "sir", "dame"})
_PARTICLES = frozenset({"van", "von", "de", "der", "da", "di", "du", "le", "la", "bin", "al"})
_ADDRESS_WORDS = frozenset(
    {"street", "st", "road", "rd", "lane", "ln", "avenue", "ave", "close", "drive", "way"}
    | {"court", "ct", "crescent", "cres", "place", "pl", "gardens", "gdns", "terrace"}
    | {"square", "sq", "hill", "park", "grove", "row", "walk", "mews", "cottage", "cottages"}
    | {"house", "farm", "lodge", "flat", "apartment", "apt", "estate", "view", "rise", "green"}
    | {"parade", "wharf", "quay", "mill", "manor", "barn", "bungalow", "villas", "chase"}
    | {"meadow", "meadows", "fields"}
)


@dataclass(frozen=True)
class ContactDetails:
    """What a signature told us; anything not found is None or empty, never a guess."""

    name: str | None = None
    address_lines: tuple[str, ...] = ()
    postcode: str | None = None
    phone: str | None = None


def normalise_postcode(text: str) -> str | None:
    """A UK postcode in its standard form ("ex12ab" -> "EX1 2AB"), or None if it is not one."""
    compact = "".join(text.split()).upper()
    if not POSTCODE_RE.fullmatch(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def extract_contact(text: str) -> ContactDetails:
    """Read the sender's own signature, ignoring quoted replies and forwarded mail."""
    lines = _tail(_own_lines(text))
    found = _find_postcode(lines)
    address: list[str] = []
    block_name = None
    if found is not None:
        index, match = found
        address, block_name = _address_above(lines, index, match)
    return ContactDetails(
        name=_form_name(lines) or _best_name(_signoff_name(lines), block_name),
        address_lines=tuple(address),
        postcode=normalise_postcode(found[1].group()) if found else None,
        phone=_find_phone(lines),
    )


# -- the sender's own lines ---------------------------------------------------------


def _own_lines(text: str) -> list[str]:
    """The lines the sender wrote: quoted lines and everything after a reply header dropped."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    lines = lines[: _reply_start(lines)]
    own = ["" if line in ("--", "-- ") else line for line in lines if not line.startswith(">")]
    return [_unlabelled(part) for line in own for part in _pipe_split(line)]


def _pipe_split(line: str) -> list[str]:
    """One-line signatures ("Name | 9 The Crescent | Town | EX9 1ZZ") read as separate lines."""
    return [part.strip() for part in line.split(" | ")] if " | " in line else [line]


def _unlabelled(line: str) -> str:
    """A web form's "Address:  6 Church View" as the bare value; other labels are kept."""
    found = _FORM_FIELD_RE.match(line)
    return found.group("value") if found else line


def _reply_start(lines: list[str]) -> int:
    """Where a quoted reply or forward begins, or the end of the text."""
    for i, line in enumerate(lines):
        if any(marker.match(line) for marker in REPLY_MARKERS):
            return i
        if _ON_RE.match(line) and _ends_with_wrote(lines, i):
            return i
        if _FROM_RE.match(line) and any(_SENT_RE.match(n) for n in lines[i + 1 : i + 4]):
            return i
    return len(lines)


def _ends_with_wrote(lines: list[str], i: int) -> bool:
    """'On ... wrote:' headers are often wrapped over two or three lines."""
    return any(_WROTE_RE.search(line) for line in lines[i : i + 3])


def _tail(lines: list[str]) -> list[str]:
    """The last TAIL_LINES non-blank lines, with the blank lines between them."""
    count = 0
    start = len(lines)
    while start > 0 and count < TAIL_LINES:
        start -= 1
        count += bool(lines[start])
    return lines[start:]


# -- postcode and address -------------------------------------------------------------


def _find_postcode(lines: list[str]) -> tuple[int, re.Match[str]] | None:
    """The last believable postcode: in capitals or ending its line, and not in a sentence."""
    for index in range(len(lines) - 1, -1, -1):
        for match in reversed(list(POSTCODE_RE.finditer(lines[index]))):
            at_end = not lines[index][match.end() :].strip(" ,.;")
            in_sentence = _is_prose(lines[index][: match.start()])
            if (at_end or match.group().isupper()) and not in_sentence:
                return index, match
    return None


def _address_above(
    lines: list[str], index: int, match: re.Match[str]
) -> tuple[list[str], str | None]:
    """Address lines ending at the postcode, and a name line found just above them."""
    head = lines[index][: match.start()].strip(" ,;-")
    inline = [part.strip() for part in head.split(",") if part.strip()]
    above: list[str] = []
    i = index - 1
    while i >= 0 and len(above) < MAX_ADDRESS_LINES and not _ends_block(lines[i]):
        above.insert(0, lines[i].rstrip(" ,"))
        i -= 1
    after_signoff = i >= 0 and _signoff(lines[i]) is not None
    if above and _is_name_line(above, inline, after_signoff):
        return above[1:] + inline, above[0]
    if i >= 0 and len(above) == MAX_ADDRESS_LINES and _looks_like_name(lines[i], single=False):
        return above + inline, lines[i]
    return above + inline, None


def _ends_block(line: str) -> bool:
    """Blank lines, sign-offs, contact lines, form labels and sentences end an address."""
    if not line or _LABEL_RE.match(line) or _is_contact(line) or _is_prose(line):
        return True
    return _signoff(line) is not None


def _is_prose(text: str) -> bool:
    """Long lines, questions, labels, and lines of mostly lower-case words are sentences."""
    words = text.split()
    lower = sum(word[0].islower() for word in words)
    if len(words) > 8 or len(text) > 60 or text.endswith(("?", "!", ":")):
        return True
    return len(words) >= 3 and lower * 2 > len(words)


def _is_contact(line: str) -> bool:
    """An email, web or phone line."""
    if _CONTACT_RE.search(line):
        return True
    return any(_is_uk_number(m.group()) for m in _PHONE_RE.finditer(line))


def _is_name_line(above: list[str], inline: list[str], after_signoff: bool) -> bool:
    """The top line is a name when a sign-off precedes it or a street line follows it."""
    rest = above[1:] + inline
    if not rest or not _looks_like_name(above[0], single=after_signoff):
        return False
    return after_signoff or _looks_like_address(rest[0])


def _looks_like_address(line: str) -> bool:
    """Digits or a street word ("Road", "Cottage", "Flat") mark an address line."""
    words = re.findall(r"[a-z]+", line.lower())
    return any(ch.isdigit() for ch in line) or any(w in _ADDRESS_WORDS for w in words)


# -- name ---------------------------------------------------------------------------


def _signoff(line: str) -> str | None:
    """For a sign-off line, the name written after it ("" if none); None for other lines."""
    match = _SIGNOFF_RE.match(line)
    if match is None:
        return None
    rest = match.group("rest").strip()
    if rest and not _looks_like_name(rest, single=True):
        return None  # "Thanks for your help" is a sentence, not a sign-off
    return rest


def _form_name(lines: list[str]) -> str | None:
    """The "Name:" field of a web form, the most explicit name there is."""
    for line in lines:
        found = _FORM_NAME_RE.match(line)
        if found and _looks_like_name(found.group("value"), single=True):
            return found.group("value")
    return None


def _signoff_name(lines: list[str]) -> str | None:
    """The name on or just after the last sign-off line, in full if the line above has it."""
    for i in range(len(lines) - 1, -1, -1):
        rest = _signoff(lines[i])
        if rest is None:
            continue
        name = rest or next((line for line in lines[i + 1 :] if line), "")
        if not _looks_like_name(name, single=True):
            return None
        above = lines[i - 1] if i > 0 else ""
        return _best_name(name, above if _looks_like_name(above, single=False) else None)
    return None


def _looks_like_name(line: str, single: bool) -> bool:
    """One to four capitalised words (titles allowed), no digits, no street words."""
    words = line.replace(",", " ").split()
    while words and words[0].lower().rstrip(".") in _TITLES:
        words = words[1:]
    if len(line) > 50 or not (1 if single else 2) <= len(words) <= 4:
        return False
    if _looks_like_address(line) or _is_contact(line):
        return False
    return all(_is_name_word(word) for word in words)


def _is_name_word(word: str) -> bool:
    """A capitalised word of letters, apostrophes, hyphens and dots, or a name particle."""
    if word.lower() in _PARTICLES:
        return True
    return word[0].isupper() and all(ch.isalpha() or ch in "'’-." for ch in word)


def _best_name(signoff: str | None, block: str | None) -> str | None:
    """The sign-off name, unless the line above the address spells the same name in full."""
    if signoff and block and block.split()[0].lower() == signoff.split()[0].lower():
        return block if len(block) > len(signoff) else signoff
    return signoff or block


# -- phone ----------------------------------------------------------------------------


def _find_phone(lines: list[str]) -> str | None:
    """The last UK number in the signature, as written."""
    for line in reversed(lines):
        for match in reversed(list(_PHONE_RE.finditer(line))):
            if _is_uk_number(match.group()):
                return " ".join(match.group().split())
    return None


def _is_uk_number(text: str) -> bool:
    """10 or 11 national digits starting 01, 02, 03, 07 or 08 (07, 02, 03 always 11)."""
    digits = re.sub(r"\D", "", text)
    if digits.startswith("44"):
        digits = digits[2:] if digits[2:3] == "0" else "0" + digits[2:]
    if digits[:2] in ("02", "03", "07"):
        return len(digits) == 11
    return digits[:2] in ("01", "08") and len(digits) in (10, 11)

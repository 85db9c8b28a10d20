"""Subject keys, our case tokens and third parties' references: pairs of input and answer."""

from __future__ import annotations

import pytest

from inbox.subjects import (
    find_reference,
    find_reference_in_body,
    find_third_party_reference,
    normalise_subject,
)

SUBJECT_PAIRS = [
    ("Damp in my flat", "damp in my flat"),
    ("Re: Fwd:  Re:  Software", "software"),
    ("RE: RE: re: Bin collection", "bin collection"),
    ("Re[2]: Bin collection", "bin collection"),
    ("FW: Planning objection", "planning objection"),
    ("Fwd: FW: Re: Planning objection", "planning objection"),
    ("AW: WG: Antrag", "antrag"),
    ("Sv: Antw: Vs: Parking", "parking"),
    ("TR: RV: Parking", "parking"),
    ("[Residents] Re: Street lights", "street lights"),
    ("Re: [Residents] Fwd: Street lights", "street lights"),
    ("Re: Housing repair [MB-2026-000123]", "housing repair"),
    ("[MB-2026-000123] Housing repair", "housing repair"),
    ("Re: [CW-2025-004567] Housing repair", "housing repair"),
    ("Automatic reply: Universal Credit delay", "universal credit delay"),
    ("Out of Office: Re: Universal Credit delay", "universal credit delay"),
    ("Réponse automatique : Visa", "visa"),
    ("Visa  application\t  delay", "visa application delay"),
    ("Street lights (fwd)", "street lights"),
    ("Straße gesperrt", "strasse gesperrt"),
    ("Rent arrears: help needed", "rent arrears: help needed"),
    ("Fwd:", ""),
    ("", ""),
]


@pytest.mark.parametrize(("subject", "expected"), SUBJECT_PAIRS)
def test_normalise_subject(subject: str, expected: str) -> None:
    assert normalise_subject(subject) == expected


REFERENCE_CASES = [
    ("Re: Housing repair [MB-2026-000123]", "MB", "MB-2026-000123"),
    ("[mb-2026-000123] lower-case token", "MB", "MB-2026-000123"),
    ("[ MB-2026-000123 ] spaced token", "MB", "MB-2026-000123"),
    ("Housing repair MB-2026-000123", "MB", "MB-2026-000123"),  # typed by hand, no brackets
    ("Housing repair XMB-2026-000123", "MB", None),
    ("[MB-2026-000999] again, not MB-2026-000123", "MB", "MB-2026-000999"),  # brackets first
    ("Re: [CW-2026-000042] Parking", "CW", "CW-2026-000042"),
    ("Re: [CW-2026-000042] Parking", "MB", None),
    ("[MB-2026-00012] too short", "MB", None),
    ("[MB-26-000123] short year", "MB", None),
    ("[A.B-2026-000123] dotted prefix", "A.B", "A.B-2026-000123"),
    ("[AXB-2026-000123] a dot is not a wildcard", "A.B", None),
]


@pytest.mark.parametrize(("subject", "prefix", "expected"), REFERENCE_CASES)
def test_find_reference(subject: str, prefix: str, expected: str | None) -> None:
    assert find_reference(subject, prefix) == expected


def test_find_reference_default_prefix() -> None:
    assert find_reference("Re: [MB-2026-000123]") == "MB-2026-000123"


BODY_CASES = [
    ("Please quote MB-2026-000123 in reply.", "MB", "MB-2026-000123"),
    ("Your ref [MB-2026-000123]", "MB", "MB-2026-000123"),
    ("> On 1 Mar you wrote about mb-2026-000999", "MB", "MB-2026-000999"),
    ("XMB-2026-000123 is part of a longer word", "MB", None),
    ("MB-2026-0001234 has too many digits", "MB", None),
    ("Case CW-2026-000001", "CW", "CW-2026-000001"),
    ("No reference at all", "MB", None),
]


@pytest.mark.parametrize(("body", "prefix", "expected"), BODY_CASES)
def test_find_reference_in_body(body: str, prefix: str, expected: str | None) -> None:
    assert find_reference_in_body(body, prefix) == expected


THIRD_PARTY_CASES = [
    ("Our ref: MPC/123456\nYour ref: MB-2026-000123", "MPC/123456"),
    ("Our reference: TO-2026-1234", "TO-2026-1234"),
    ("Ref: ABC123/45.", "ABC123/45"),
    ("Our Ref MPC/123456", "MPC/123456"),
    ("Case reference number: HO 1234567", None),  # a space splits it: no digit in "HO"
    ("Case reference number: HO1234567", "HO1234567"),
    ("Your ref: MB-2026-000123", None),  # that is our reference quoted back
    ("With reference to your letter", None),
    ("My preference: 12345", None),
    ("Ref: Housing", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), THIRD_PARTY_CASES)
def test_find_third_party_reference(text: str, expected: str | None) -> None:
    assert find_third_party_reference(text) == expected

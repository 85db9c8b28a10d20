"""Where an enquiry goes first: emergency numbers, another representative, the council, or us."""

from __future__ import annotations

from dataclasses import dataclass

from crm.enquiries.form import normalise_postcode
from crm.enquiries.screener import COUNCIL, EMERGENCY, OUTSIDE, Screener
from crm.settings import Settings
from tagging.postcodes import within

# The most pressing route wins when answers lead to several.
PRECEDENCE = (EMERGENCY, OUTSIDE, COUNCIL)


@dataclass(frozen=True)
class Decision:
    """The route ("" for casework here) and why, in words staff and tests can read."""

    route: str
    reason: str = ""
    by_postcode: bool = False  # outside the area by the postcode typed, not by an answer


def decide(
    screener: Screener, settings: Settings, answers: dict[str, str], postcode: str
) -> Decision:
    """The route the answers (and a readable postcode outside the area) lead to."""
    found: dict[str, str] = {}
    for question in screener.questions:
        answer = question.answer(answers.get(question.id, ""))
        if answer is not None and answer.route:
            found.setdefault(answer.route, f"answer “{answer.label}” to “{question.legend}”")
    outside = postcode_outside(screener, settings, postcode)
    if outside is not None:
        found.setdefault(OUTSIDE, outside)
    for route in PRECEDENCE:
        if route in found:
            return Decision(route, found[route], by_postcode=found[route] == outside)
    return Decision("")


def postcode_outside(screener: Screener, settings: Settings, text: str) -> str | None:
    """Why the postcode is outside the area, or None (unreadable, no list, or inside)."""
    patch = screener.patch(settings)
    postcode, problem = normalise_postcode(text)
    if not patch or problem is not None:
        return None
    if within(postcode, patch) is not None:
        return None
    return f"postcode {postcode} is outside the area"

"""The enquiry form's screener as Mailbag holds it: questions, answers, routes and numbers."""

from __future__ import annotations

from dataclasses import dataclass

from crm.settings import Settings
from tagging.axes import Axis

EMERGENCY, OUTSIDE, COUNCIL = "emergency", "outside", "council"
ROUTES = (EMERGENCY, OUTSIDE, COUNCIL)


@dataclass(frozen=True)
class Answer:
    id: str
    label: str
    route: str = ""
    tags: tuple[tuple[Axis, str], ...] = ()
    priority: int = 20


@dataclass(frozen=True)
class Question:
    id: str
    legend: str
    answers: tuple[Answer, ...]
    hint: str = ""

    @property
    def field(self) -> str:
        """The form field (and HTML id stem) of this question."""
        return f"q_{self.id}"

    def answer(self, answer_id: str) -> Answer | None:
        return next((a for a in self.answers if a.id == answer_id), None)


@dataclass(frozen=True)
class EmergencyNumber:
    number: str
    label: str


@dataclass(frozen=True)
class Area:
    name: str
    postcodes: tuple[str, ...]
    find_representative_url: str
    find_representative_text: str


@dataclass(frozen=True)
class Council:
    name: str
    url: str
    out_of_hours: str = ""


@dataclass(frozen=True)
class Screener:
    """Everything the form asks before the person's own words, and where answers lead."""

    source: str
    area: Area
    council: Council
    consent_text: str
    emergency_numbers: tuple[EmergencyNumber, ...]
    questions: tuple[Question, ...]

    def patch(self, settings: Settings) -> frozenset[str]:
        """The postcode prefixes of the area: the file's, else the office's setting."""
        return frozenset(self.area.postcodes or settings.constituency_postcodes)

"""What can go wrong with a letter before it is sent, each said in one line."""

from __future__ import annotations

from crm.errors import MailbagError


class LetterError(MailbagError):
    """A letter cannot be rendered as it stands; nothing half-written is ever sent."""


class UnknownTemplate(LetterError):
    """No letter, or no part of a letter, by that name in the office's or the shipped set."""


class TemplateVariableMissing(LetterError):
    """A template uses a variable the context does not have: never an empty gap in a letter."""

    def __init__(self, variable: str, template: str, line: int | None = None) -> None:
        self.variable = variable
        self.template = template
        self.line = line
        where = f"{template}, line {line}" if line else template
        super().__init__(f"letter template {where} uses {variable}, which is not defined")


class TemplateBroken(LetterError):
    """A template that jinja2 cannot read (a syntax error), named with file and line."""


class MissingRecipient(LetterError):
    """The letter has no one to go to: no address for the constituent or organisation."""

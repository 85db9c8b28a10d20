"""The letter templates: the office's own directory first, then the shipped set, read strictly."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup, escape

import templates_letters
from crm.letters.dates import uk_long_date
from crm.letters.errors import LetterError, TemplateBroken, TemplateVariableMissing, UnknownTemplate

SUBJECT, BODY, TEXT, HTML, PRINTABLE, ABOUT = (
    "subject.txt.j2",
    "body.txt.j2",
    "email.txt.j2",
    "email.html.j2",
    "letter.txt.j2",
    "about.j2",
)
SHARED = "_parts"
CONSTITUENT, THIRD_PARTY = "constituent", "third_party"


class _MissingVariable(jinja2.UndefinedError):
    """Raised by `_Strict` with the dotted name of what was missing, e.g. "case.mp_reference"."""


class _Strict(jinja2.StrictUndefined):
    """StrictUndefined that names the variable as the template spells it."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = jinja2.utils.missing,
        name: str | None = None,
        exc: type[jinja2.exceptions.TemplateRuntimeError] = jinja2.UndefinedError,
    ) -> None:
        # The sandbox refuses unsafe attributes with an undefined that raises SecurityError:
        # keep that, so the refusal reads as one rather than as a missing variable.
        refused = isinstance(exc, type) and issubclass(exc, SecurityError)
        super().__init__(hint, obj, name, exc if refused else _MissingVariable)

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        name = str(self._undefined_name)
        if self._undefined_obj is jinja2.utils.missing:
            return name
        parent = getattr(type(self._undefined_obj), "variable", type(self._undefined_obj).__name__)
        return f"{parent}.{name}"


@dataclass(frozen=True)
class LetterInfo:
    """What a letter is for: shown in lists, used to pick its recipient and outbox kind."""

    name: str
    title: str
    kind: str
    audience: str  # CONSTITUENT or THIRD_PARTY
    source: str  # "shipped" or "office"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class Letters:
    """Every letter the office can send; an office directory adds or overrides file by file."""

    def __init__(
        self, office_dir: Path | None = None, overrides: Mapping[str, str] | None = None
    ) -> None:
        self.office_dir = office_dir
        # Files edited on the office's pages ("chase_first/body.txt.j2" -> source) win.
        self.overrides = dict(overrides or {})
        roots = [office_dir] if office_dir else []
        self.roots = [*roots, Path(templates_letters.TEMPLATES_DIR)]
        files = jinja2.FileSystemLoader([str(root) for root in self.roots])
        self.env = ImmutableSandboxedEnvironment(
            loader=jinja2.ChoiceLoader([jinja2.DictLoader(self.overrides), files]),
            undefined=_Strict,
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html", "html.j2"), default_for_string=False, default=False
            ),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["uk_date"] = uk_long_date
        self.env.filters["paragraphs"] = paragraphs_html

    def names(self) -> list[str]:
        """Letter names: folders holding a subject template, skipping shared `_parts`."""
        found: set[str] = set()
        for root in self.roots:
            if root.is_dir():
                found.update(
                    child.name
                    for child in root.iterdir()
                    if child.is_dir() and child.name[0] not in "._" and (child / SUBJECT).is_file()
                )
        return sorted(found)

    def list(self) -> list[LetterInfo]:
        return [self._info(name) for name in self.names()]  # the folders walked once

    def info(self, name: str) -> LetterInfo:
        """Title, kind and audience from the letter's `about.j2`, with plain defaults."""
        if name not in self.names():
            known = ", ".join(self.names())
            raise UnknownTemplate(f"no letter template {name!r} (known: {known})")
        return self._info(name)

    def _info(self, name: str) -> LetterInfo:
        about = self._module(f"{name}/{ABOUT}")
        office = (self.office_dir is not None and (self.office_dir / name).is_dir()) or any(
            key.startswith(f"{name}/") for key in self.overrides
        )
        audience = str(getattr(about, "audience", CONSTITUENT))
        if audience not in (CONSTITUENT, THIRD_PARTY):
            raise LetterError(f"{name}/{ABOUT}: audience must be constituent or third_party")
        return LetterInfo(
            name=name,
            title=str(getattr(about, "title", name.replace("_", " ").capitalize())),
            kind=str(getattr(about, "kind", "letter")),
            audience=audience,
            source="office" if office else "shipped",
        )

    def render_email(self, name: str, context: Mapping[str, object]) -> RenderedEmail:
        """Subject on one line, then the body inside the email's text and HTML wrappers."""
        subject = " ".join(self.render(f"{name}/{SUBJECT}", context).split())
        if not subject:
            raise LetterError(f"letter template {name}/{SUBJECT} gives an empty subject")
        full = {**context, "body": self._body(name, context)}
        return RenderedEmail(
            subject=subject,
            text=self.render(self._part(name, TEXT), full),
            html=self.render(self._part(name, HTML), full),
        )

    def render_printable(self, name: str, context: Mapping[str, object]) -> str:
        """The posted letter's text, from salutation to signature."""
        full = {**context, "body": self._body(name, context)}
        return self.render(self._part(name, PRINTABLE), full)

    def _body(self, name: str, context: Mapping[str, object]) -> str:
        """The words of the letter, written once; a plain str, so HTML escapes it."""
        return self.render(f"{name}/{BODY}", context).strip("\n")

    def _part(self, name: str, part: str) -> str:
        """The letter's own wrapper when it has one, else the shared one."""
        own = f"{name}/{part}"
        return own if self._exists(own) else f"{SHARED}/{part}"

    def render(self, template_name: str, context: Mapping[str, object]) -> str:
        """Render one file strictly: any gap or fault is a LetterError naming file and line."""
        template = self._template(template_name)
        try:
            return template.render(context)
        except _MissingVariable as error:
            where, line = _where(error, template_name)
            raise TemplateVariableMissing(str(error), where, line) from None
        except SecurityError as error:
            raise LetterError(f"letter template {template_name} is not allowed: {error}") from None
        except jinja2.TemplateError as error:
            where, line = _where(error, template_name)
            raise TemplateBroken(f"letter template {where}, line {line}: {error}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError) as error:
            where, line = _where(error, template_name)
            raise TemplateBroken(f"letter template {where}, line {line}: {error}") from None

    def _template(self, template_name: str) -> jinja2.Template:
        try:
            return self.env.get_template(template_name)
        except jinja2.TemplateNotFound:
            raise UnknownTemplate(f"no letter template file {template_name}") from None
        except jinja2.TemplateSyntaxError as error:
            where = error.name or template_name
            raise TemplateBroken(
                f"letter template {where}, line {error.lineno}: {error.message}"
            ) from None

    def _module(self, template_name: str) -> Any:
        """The top-level `{% set %}` values of a template, or None when it does not exist."""
        if not self._exists(template_name):
            return None
        try:
            return self._template(template_name).module
        except _MissingVariable as error:
            raise TemplateVariableMissing(str(error), template_name) from None

    def _exists(self, template_name: str) -> bool:
        return template_name in self.overrides or any(
            (root / template_name).is_file() for root in self.roots
        )


def paragraphs_html(text: str) -> Markup:
    """Plain text as HTML paragraphs: blank lines part them, line breaks stay, all escaped."""
    blocks = [block for block in str(text).strip().split("\n\n") if block.strip()]
    breaks = Markup("<br>\n")
    return Markup("\n").join(
        Markup("<p>{}</p>").format(breaks.join(escape(line) for line in block.split("\n")))
        for block in blocks
    )


def _where(error: BaseException, fallback: str) -> tuple[str, int | None]:
    """The innermost template file and line in a rendering traceback (jinja2 rewrites it)."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.endswith(".j2"):
            parts = Path(frame.filename).parts
            return "/".join(parts[-2:]), frame.lineno
    return fallback, None


@lru_cache(maxsize=8)
def letters_for(office_dir: Path | None) -> Letters:
    """One environment per templates directory, so jinja2 compiles each file once."""
    return Letters(office_dir)

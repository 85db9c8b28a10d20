"""The posted letter as a Word document: A4, letterhead, address block, reference and date.

Word (.docx, through python-docx) rather than PDF: caseworkers finish and sign letters in
Word, any Unicode name prints without font embedding, and it needs no system libraries.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from crm.letters.context import LetterContext
from crm.letters.dates import uk_long_date

GREY = RGBColor(0x55, 0x55, 0x55)


def letter_docx(context: LetterContext, heading: str, body: str) -> bytes:
    """One letter, ready to print or to finish in Word."""
    document = Document()
    _a4(document)
    _letterhead(document, context)
    _lines(document.add_paragraph(), context.recipient.address_block)
    reference = document.add_paragraph()
    reference.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _lines(reference, (f"Our ref: {context.case.reference}", uk_long_date(context.today)))
    title = document.add_paragraph()
    title.add_run(heading).bold = True
    for block in paragraphs(body):
        _lines(document.add_paragraph(), block.splitlines())
    footer = document.sections[0].footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _small(footer.add_run(f"Please quote our reference {context.case.reference} in any reply."))
    document.core_properties.title = heading
    document.core_properties.author = context.office.name
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def paragraphs(body: str) -> list[str]:
    """Blank lines separate paragraphs; more blank lines leave room (for a signature)."""
    return [block.strip("\n") for block in body.strip().split("\n\n")]


def _a4(document: DocumentObject) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    font = document.styles["Normal"].font
    font.name, font.size = "Arial", Pt(11)


def _letterhead(document: DocumentObject, context: LetterContext) -> None:
    office = context.office
    head = document.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    name = head.add_run(office.representative)
    name.bold, name.font.size = True, Pt(16)
    reach = " · ".join(part for part in (office.phone, office.email) if part)
    contact = [", ".join(office.address_lines), reach]
    details = document.add_paragraph()
    details.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for index, line in enumerate(filter(None, contact)):
        if index:
            details.add_run().add_break()
        _small(details.add_run(line))


def _lines(paragraph: Paragraph, lines: Iterable[str]) -> None:
    for index, line in enumerate(lines):
        if index:
            paragraph.add_run().add_break()
        paragraph.add_run(line)


def _small(run: Run) -> None:
    run.font.size = Pt(9)
    run.font.color.rgb = GREY

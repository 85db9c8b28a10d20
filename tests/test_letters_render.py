"""Every shipped letter, rendered strictly with a realistic case: email, HTML and Word letter."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import docx
import pytest

from crm.errors import SettingsError
from crm.letters.context import (
    CaseView,
    ConstituentView,
    LetterContext,
    OfficeView,
    ThirdPartyView,
    constituent_recipient,
    office_view,
    third_party_recipient,
)
from crm.letters.dates import uk_long_date
from crm.letters.errors import (
    LetterError,
    MissingRecipient,
    TemplateBroken,
    TemplateVariableMissing,
)
from crm.letters.preview import preview
from crm.letters.printable import letter_docx
from crm.letters.templates import THIRD_PARTY, Letters
from crm.outgoing import directory
from crm.settings import Settings
from inbox.message import Source
from tests.support.mail import make_message
from tests.support.smtp_fixtures import office_settings

TODAY = date(2026, 11, 24)
SHIPPED = [
    "acknowledgement",
    "referral_department",
    "referral_council",
    "holding_reply",
    "chase_first",
    "chase_second",
    "escalation",
    "closing",
    "status_link",
    "status_referred",
    "status_reply_received",
    "status_closed",
]
CASE = CaseView(
    reference="MB-2026-000123",
    subject="Pothole outside 4 Mill Lane",
    opened_on="3 November 2026",
    tags=("Transport › Roads",),
    referred_to=("Exampleshire Council – Highways",),
)
ZOE = ConstituentView(
    name="Zoë Ní Bhriain",
    email="zoe.nibhriain@example.ie",
    address_lines=("4 Mill Lane", "Exampletown"),
    postcode="EX2 4PQ",
)
ZOE_BY_EMAIL_ONLY = ConstituentView(name="Zoë Ní Bhriain", email="zoe.nibhriain@example.ie")
OFFICE = OfficeView(
    representative="Jane Doe MP",
    name="Office of Jane Doe MP",
    email="casework@office.example.org.uk",
    address_lines=("1 Market Square", "Exampletown", "EX1 1NS"),
    phone="020 7946 0123",
    signature_lines=("Jane Doe MP", "Member of Parliament for Exampletown"),
)
HIGHWAYS = ThirdPartyView(
    name="Exampleshire Council – Highways",
    kind="council",
    email="highways@exampleshire.gov.uk",
    address_lines=("County Hall", "Exampletown", "EX1 1AA"),
    reply_standard_days=14,
    reply_by="8 December 2026",
    first_written_on="10 November 2026",
    last_written_on="17 November 2026",
    letters_sent=2,
)


def context_for(name: str, person: ConstituentView, letters: Letters) -> LetterContext:
    if letters.info(name).audience == THIRD_PARTY:
        return LetterContext(CASE, person, OFFICE, third_party_recipient(HIGHWAYS), TODAY, HIGHWAYS)
    return LetterContext(CASE, person, OFFICE, constituent_recipient(person), TODAY)


def docx_text(data: bytes) -> tuple[str, docx.document.Document]:
    document = docx.Document(io.BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs)
    return text, document


def test_the_shipped_set_is_the_uk_set():
    assert Letters().names() == sorted(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("person", [ZOE, ZOE_BY_EMAIL_ONLY], ids=["postal", "email-only"])
def test_every_shipped_letter_renders_in_every_form(name, person):
    letters = Letters()
    context = context_for(name, person, letters)
    values = context.as_mapping()
    # When the letter is rendered as an email and as a posted letter
    email = letters.render_email(name, values)
    printed = letters.render_printable(name, values)
    # Then every form is complete: no gaps, no template syntax, the right people and dates
    for text in (email.subject, email.text, email.html, printed):
        assert "None" not in text and "{{" not in text and "{%" not in text
    assert "\n" not in email.subject and len(email.subject) > 10
    assert "Zoë Ní Bhriain" in email.text and "Zoë Ní Bhriain" in email.html
    assert email.text.startswith(f"Dear {context.recipient.salutation},\n\n")
    assert "MB-2026-000123" in email.text and "MB-2026-000123" in email.html
    assert email.html.lstrip().startswith("<!DOCTYPE html>") and "<p>" in email.html
    assert "Jane Doe MP" in printed.splitlines()[-2:][0]
    if letters.info(name).audience == THIRD_PARTY:
        assert "Dear Sir or Madam" in email.text and "Yours faithfully" in email.text
    else:
        assert "Dear Zoë Ní Bhriain" in email.text and "Yours sincerely" in email.text
    # And the Word letter is A4, with the letterhead, address block, reference and date
    text, document = docx_text(letter_docx(context, email.subject, printed))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert "Jane Doe MP" in text and "Our ref: MB-2026-000123" in text
    assert "24 November 2026" in text
    for line in context.recipient.address_block:
        assert line in text


def test_referrals_carry_the_consent_line():
    letters = Letters()
    for name in ("referral_department", "referral_council"):
        text = letters.render_email(name, context_for(name, ZOE, letters).as_mapping()).text
        assert "Zoë Ní Bhriain has given consent for me to raise this matter" in text


def test_a_constituent_without_a_postal_address_is_written_to_by_email():
    # Given a constituent who gave only an email address
    letters = Letters()
    context = context_for("holding_reply", ZOE_BY_EMAIL_ONLY, letters)
    # Then the posted form says how it is addressed instead of leaving a hole
    assert context.recipient.address_block == (
        "Zoë Ní Bhriain",
        "By email: zoe.nibhriain@example.ie",
    )
    text, _ = docx_text(
        letter_docx(
            context, "Update", letters.render_printable("holding_reply", context.as_mapping())
        )
    )
    assert "By email: zoe.nibhriain@example.ie" in text
    # And the acknowledgement asks for the postal address it lacks
    ack = letters.render_email("acknowledgement", context.as_mapping()).text
    assert "please reply with your full postal address" in ack
    with_address = letters.render_email(
        "acknowledgement", context_for("acknowledgement", ZOE, letters).as_mapping()
    ).text
    assert "postal address" not in with_address


def test_html_is_escaped_and_text_is_not():
    letters = Letters()
    hostile = CaseView("MB-2026-000124", "<script>alert(1)</script> Rent & repairs", "1 May 2026")
    context = LetterContext(hostile, ZOE, OFFICE, constituent_recipient(ZOE), TODAY)
    email = letters.render_email("holding_reply", context.as_mapping())
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Rent &amp; repairs" in email.html
    assert "<script>alert(1)</script> Rent & repairs" in email.text


def write(root, path: str, text: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def test_a_missing_variable_is_an_error_naming_it(tmp_path):
    # Given an office template that uses a field the case does not have
    write(
        tmp_path, "acknowledgement/body.txt.j2", "Thanks.\n\nYour MP ref: {{ case.mp_reference }}\n"
    )
    write(tmp_path, "council_tax/subject.txt.j2", "Council tax: {{ council_account }}\n")
    write(tmp_path, "council_tax/body.txt.j2", "About your account.\n")
    letters = Letters(tmp_path)
    values = context_for("acknowledgement", ZOE, letters).as_mapping()
    # Then rendering stops with the variable, file and line named; no letter with a gap
    with pytest.raises(TemplateVariableMissing) as caught:
        letters.render_email("acknowledgement", values)
    assert caught.value.variable == "case.mp_reference"
    assert str(caught.value) == (
        "letter template acknowledgement/body.txt.j2, line 3 uses case.mp_reference, "
        "which is not defined"
    )
    with pytest.raises(TemplateVariableMissing) as top_level:
        letters.render_email("council_tax", values)
    assert top_level.value.variable == "council_account"


def test_a_constituent_letter_cannot_use_third_party_details(tmp_path):
    write(tmp_path, "closing/body.txt.j2", "We heard back from {{ third_party.name }}.\n")
    letters = Letters(tmp_path)
    values = context_for("closing", ZOE, letters).as_mapping()
    with pytest.raises(TemplateVariableMissing) as caught:
        letters.render_email("closing", values)
    assert caught.value.variable == "third_party"


def test_a_broken_template_names_file_and_line(tmp_path):
    write(tmp_path, "closing/body.txt.j2", "Line one\n{% if note %}\nunclosed\n")
    letters = Letters(tmp_path)
    with pytest.raises(TemplateBroken, match=r"closing/body.txt.j2, line \d"):
        letters.render_email("closing", context_for("closing", ZOE, letters).as_mapping())


def test_an_office_directory_adds_and_overrides_letters_without_code(tmp_path, monkeypatch):
    # Given an office directory with its own subject for the acknowledgement and a new letter
    write(tmp_path, "acknowledgement/subject.txt.j2", "Thank you for writing to Jane\n")
    write(tmp_path, "about_your_bins/subject.txt.j2", "Your bins: {{ case.subject }}\n")
    write(tmp_path, "about_your_bins/body.txt.j2", "The council collects on {{ note }}.\n")
    write(tmp_path, "about_your_bins/about.j2", '{% set title = "Bin collections" %}')
    monkeypatch.setenv("MAILBAG_TEMPLATES_DIR", str(tmp_path))
    letters = Letters(Settings.from_env().templates_dir)
    # Then both are listed as the office's, and used; the rest come from the shipped set
    infos = {info.name: info for info in letters.list()}
    assert infos["acknowledgement"].source == "office"
    assert infos["about_your_bins"].title == "Bin collections"
    assert infos["closing"].source == "shipped"
    values = context_for("closing", ZOE, letters).as_mapping() | {"note": "Tuesdays"}
    assert (
        letters.render_email("acknowledgement", values).subject == "Thank you for writing to Jane"
    )
    bins = letters.render_email("about_your_bins", values)
    assert "The council collects on Tuesdays." in bins.text
    assert "<p>The council collects on Tuesdays.</p>" in bins.html


def test_a_templates_dir_that_does_not_exist_names_the_variable(tmp_path):
    with pytest.raises(SettingsError, match=r"^MAILBAG_TEMPLATES_DIR: expected an existing"):
        Settings.from_env({"MAILBAG_TEMPLATES_DIR": str(tmp_path / "nope")})


def test_letters_need_the_representatives_name(tmp_path):
    with pytest.raises(SettingsError, match="MAILBAG_REPRESENTATIVE_NAME is not set"):
        office_view(Settings(data_dir=tmp_path))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 11, 24), "24 November 2026"),
        (date(2026, 3, 1), "1 March 2026"),
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "1 July 2026"),  # already July in London
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "31 December 2026"),  # GMT in winter
    ],
)
def test_uk_long_dates(value, expected):
    assert uk_long_date(value) == expected


# -- with a real case from the database ---------------------------------------------------


ZOE_WRITES = (
    "Dear Jane,\n\nThe pothole outside my house has burst two tyres this month.\n\n"
    "Kind regards,\nZoë Ní Bhriain\n4 Mill Lane\nExampletown\nEX2 4PQ\n"
)


def open_case(database, pipeline, body: str, sender: str) -> str:
    raw = make_message(sender=sender, subject="Pothole on Mill Lane", body=body)
    with database.session() as session:
        outcome = pipeline.process(session, raw, Source("INBOX", uidvalidity=1, uid=1))
        assert outcome.status == "stored", outcome.failure
        from crm.models import Case

        case = session.get(Case, outcome.ctx.case_id)
        assert case is not None
        return case.reference


def test_preview_uses_a_real_cases_data(database, pipeline, tmp_path):
    # Given Zoë's case, opened from her email with her address in the signature
    reference = open_case(database, pipeline, ZOE_WRITES, "Zoë Ní Bhriain <zoe@example.ie>")
    settings = office_settings(tmp_path, 25)
    with database.session() as session:
        directory.seed_directory(session)
        # When the office previews a referral to the council's highways team
        shown = preview(
            session,
            settings,
            "referral_council",
            reference.lower(),
            to="highways",
            note="Two tyres burst.",
            now=datetime(2026, 11, 24, 10, tzinfo=UTC),
        )
    # Then it is the real case, constituent and organisation, and nothing is sent
    assert shown.recipient.email == "highways@exampleshire.gov.uk"
    assert shown.subject == (
        f"Member enquiry on behalf of Zoë Ní Bhriain: Pothole on Mill Lane [{reference}]"
    )
    assert "Zoë Ní Bhriain of 4 Mill Lane, Exampletown, EX2 4PQ" in shown.email.text
    assert "Two tyres burst." in shown.email.text and "8 December 2026" in shown.email.text
    text, _ = docx_text(shown.docx())
    assert "Exampleshire Council – Highways" in text and "24 November 2026" in text


def test_preview_without_a_postal_address_falls_back_to_email(database, pipeline, tmp_path):
    body = "Dear Jane,\n\nThe pothole is back.\n\nZoë\n"
    reference = open_case(database, pipeline, body, "Zoë Ní Bhriain <zoe@example.ie>")
    with database.session() as session:
        shown = preview(session, office_settings(tmp_path, 25), "holding_reply", reference)
        assert not shown.postal
        text, _ = docx_text(shown.docx())
        assert "By email: zoe@example.ie" in text
        # And a third-party letter with no third party named says so
        with pytest.raises(MissingRecipient, match="goes to a third party"):
            preview(session, office_settings(tmp_path, 25), "chase_first", reference)


def test_a_letter_on_behalf_of_someone_unnamed_is_refused(database, pipeline, tmp_path):
    # Given a constituent known only by an email address, no name anywhere
    reference = open_case(database, pipeline, "Dear Jane,\n\nHelp please.\n", "zz@example.ie")
    settings = office_settings(tmp_path, 25)
    with database.session() as session:
        directory.seed_directory(session)
        # Then a letter to them still greets them properly
        assert preview(session, settings, "holding_reply", reference).email.text.startswith(
            "Dear Sir or Madam,"
        )
        # But a referral on their behalf is refused rather than sent with a gap for the name
        with pytest.raises(LetterError, match="their name is not on record yet"):
            preview(session, settings, "referral_council", reference, to="highways")

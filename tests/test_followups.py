"""Follow-ups: opened when we write to a third party, satisfied by their reply, never by a robot."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from crm import cases
from crm.followups import grace, references
from crm.followups.models import OPEN, SATISFIED, FollowUp, ThirdPartyReference
from crm.outgoing import directory
from crm.types import utcnow
from inbox.pipeline import Pipeline
from mailbag.cli import main
from tests.support.chase_cases import (
    DWP_NAME,
    constituent_writes,
    dwp_replies,
    feed,
    follow_up_of,
    refer,
    timeline,
)
from tests.support.mail import make_message
from tests.support.smtp_fixtures import OFFICE, office_settings


def office(tmp_path, smtp_server):
    return office_settings(tmp_path, smtp_server.port, auto_acknowledge=False)


def test_a_referral_sent_opens_a_follow_up_due_in_21_days(database, smtp_server, tmp_path):
    settings = office(tmp_path, smtp_server)
    pipeline = Pipeline(settings)
    reference = constituent_writes(database, pipeline)
    # When the office refers the case to the DWP from Mailbag
    referral_id = refer(database, settings, reference)
    # Then one follow-up waits for the DWP, due 21 days after the referral went
    follow_up = follow_up_of(database, reference)
    assert follow_up.status == OPEN and follow_up.party_address == "mp.enquiries@dwp.gov.uk"
    assert follow_up.due_at - follow_up.opened_at == timedelta(days=21)
    assert follow_up.grace_source == f"{DWP_NAME}'s reply standard"
    assert abs(follow_up.opened_at - utcnow()) < timedelta(minutes=1)
    # And the timeline says what the case is waiting for
    assert any(
        line.startswith("email_out: ") and f" — waiting for a reply from {DWP_NAME}: due " in line
        for line in timeline(database, reference)
    )
    # And the copy of the referral found later in the Sent folder opens nothing more
    raw = smtp_server.received[-1].raw
    assert feed(database, pipeline, raw, folder="Sent").status == "duplicate"
    assert follow_up_of(database, reference).id == follow_up.id
    assert referral_id.endswith("@office.example.org.uk")


def test_a_caseworkers_own_email_in_sent_opens_one_with_the_office_default(
    database, smtp_server, tmp_path
):
    settings = office(tmp_path, smtp_server)
    pipeline = Pipeline(settings)
    reference = constituent_writes(database, pipeline)
    # When a caseworker writes from Outlook to a council not in the directory, quoting the case
    sent_at = utcnow() - timedelta(hours=1)
    raw = make_message(
        sender=f"Casework <{OFFICE}>",
        to="Housing Team <housing@newtown.gov.uk>",
        subject=f"Mould at 4 Mill Lane [{reference}]",
        body="Please could you inspect the property.\n",
        date=sent_at,
    )
    outcome = feed(database, pipeline, raw, folder="Sent")
    assert outcome.status == "stored" and outcome.ctx.case_id is not None
    # Then it waits for the unlisted council by its domain, for the office's 21 days
    follow_up = follow_up_of(database, reference)
    assert follow_up.organisation_id is None and follow_up.party_key == "domain:newtown.gov.uk"
    assert follow_up.due_at == sent_at.replace(microsecond=0) + timedelta(days=21)
    assert not follow_up.needs_approval
    # And the directory was not touched
    with database.session() as session:
        assert directory.find_by_address(session, "housing@newtown.gov.uk") is None


def test_grace_per_organisation_in_working_days_and_per_case(database, smtp_server, tmp_path):
    settings = office(tmp_path, smtp_server)
    pipeline = Pipeline(settings)
    first = constituent_writes(database, pipeline, who="amy")
    second = constituent_writes(database, pipeline, who="bob")
    # Given the DWP answers MPs within 15 working days, and the second case is urgent
    with database.session() as session:
        dwp = directory.find_by_name(session, DWP_NAME)
        grace.set_rule(
            session,
            organisation_id=dwp.id,
            days=15,
            working_days=True,
            reason="MP hotline standard",
            who="manager",
        )
        case_id = cases.get(session, second).id
        grace.set_rule(
            session, case_id=case_id, days=5, working_days=None, reason="urgent", who="amy"
        )
    # When both cases are referred to the DWP
    refer(database, settings, first)
    refer(database, settings, second)
    # Then the first waits 15 working days (bank holidays skipped), the second 5 working days
    one, two = follow_up_of(database, first), follow_up_of(database, second)
    assert one.working_days and one.grace_days == 15
    assert one.due_at == grace.add_days(one.opened_at, 15, working_days=True)
    assert two.working_days and two.grace_days == 5 and two.grace_source == "this case's own rule"
    assert two.due_at == grace.add_days(two.opened_at, 5, working_days=True)


def test_a_reply_from_the_third_party_satisfies_it_and_the_timeline_says_so(
    database, smtp_server, tmp_path
):
    settings = office(tmp_path, smtp_server)
    pipeline = Pipeline(settings)
    reference = constituent_writes(database, pipeline)
    referral_id = refer(database, settings, reference)
    # When the DWP answers the referral
    outcome = dwp_replies(database, pipeline, in_reply_to=referral_id)
    # Then the reply is on the case and the follow-up is satisfied by it
    assert outcome.ctx.case_id is not None
    follow_up = follow_up_of(database, reference)
    assert follow_up.status == SATISFIED
    assert follow_up.satisfied_by_message_pk == outcome.ctx.message_pk
    assert (
        f"third_party_reply: Your enquiry — reply from {DWP_NAME}: follow-up satisfied"
        in timeline(database, reference)
    )


def test_an_auto_reply_or_a_newsletter_from_the_same_body_does_not(database, smtp_server, tmp_path):
    settings = office(tmp_path, smtp_server)
    pipeline = Pipeline(settings)
    reference = constituent_writes(database, pipeline)
    referral_id = refer(database, settings, reference)
    # When the DWP's mailbox answers automatically, from the very address we wrote to
    auto = dwp_replies(
        database,
        pipeline,
        in_reply_to=referral_id,
        sender="mp.enquiries@dwp.gov.uk",
        subject="Automatic reply: Enquiry",
        body="Thank you for your email. We aim to reply within 20 working days.\n",
        headers={"Auto-Submitted": "auto-replied"},
    )
    # And a DWP newsletter quotes the case in its subject
    bulk = dwp_replies(
        database,
        pipeline,
        in_reply_to=referral_id,
        subject=f"Stakeholder bulletin [{reference}]",
        headers={"List-Id": "<bulletin.dwp.gov.uk>", "Precedence": "bulk"},
    )
    # And its case system sends a receipt with none of the auto-reply headers
    receipt = dwp_replies(
        database,
        pipeline,
        in_reply_to=referral_id,
        sender="mp.enquiries@dwp.gov.uk",
        subject="Thank you for contacting the Department for Work and Pensions",
        body="We have logged your enquiry as 1234567.\n",
    )
    # Then all three are on the case, and the follow-up still waits for a real reply
    assert auto.ctx.case_id is not None and bulk.ctx.case_id is not None
    assert receipt.ctx.case_id is not None and receipt.ctx.classification.kind == "auto_reply"
    assert follow_up_of(database, reference).status == OPEN


def test_their_reference_is_recorded_and_later_mail_quoting_it_threads_to_the_case(
    database, smtp_server, tmp_path
):
    settings = office(tmp_path, smtp_server)
    pipeline = Pipeline(settings)
    reference = constituent_writes(database, pipeline)
    referral_id = refer(database, settings, reference)
    # Given the DWP's first reply carries its own reference
    dwp_replies(
        database,
        pipeline,
        in_reply_to=referral_id,
        body=f"Our ref: MPC/123456\nYour ref: {reference}\n\nWe are looking into this.\n",
    )
    with database.session() as session:
        [recorded] = session.scalars(select(ThirdPartyReference)).all()
        assert recorded.reference == "MPC/123456"
    assert any(
        line.startswith("third_party_reply: ") and f"reference from {DWP_NAME}: MPC/123456" in line
        for line in timeline(database, reference)
    )
    # When a different DWP team writes weeks later: no token, no threading headers
    later = dwp_replies(
        database,
        pipeline,
        in_reply_to=None,
        sender="Decision Makers <decisions@dwp.gov.uk>",
        subject="Mandatory reconsideration outcome",
        body="Dear Ms Doe,\n\nOur ref: MPC/123456\n\nThe decision has been revised.\n",
    )
    # Then it threads to the case by their reference
    with database.session() as session:
        assert later.ctx.case_id == cases.get(session, reference).id
    assert later.ctx.thread_reason == (
        "the sender's own reference MPC/123456 is recorded on this case"
    )
    # But HMRC quoting the same string is another body's reference: no case
    other = dwp_replies(
        database,
        pipeline,
        in_reply_to=None,
        sender="HMRC <mp.team@hmrc.gov.uk>",
        body="Our ref: MPC/123456\n",
    )
    assert other.ctx.case_id is None
    # And the same reference cannot be recorded on a second case
    second = constituent_writes(database, pipeline, who="yan")
    with database.session() as session:
        case_id = cases.get(session, second).id
        assert not references.record_reference(
            session,
            settings,
            case_id,
            sender="x@dwp.gov.uk",
            reference="mpc/123456",
            message_pk=None,
            when=utcnow(),
        )


def test_manual_satisfy_and_extend_with_a_reason(database, smtp_server, tmp_path, monkeypatch):
    settings = office(tmp_path, smtp_server)
    pipeline = Pipeline(settings)
    first = constituent_writes(database, pipeline, who="amy")
    second = constituent_writes(database, pipeline, who="bob")
    refer(database, settings, first)
    refer(database, settings, second)
    one, two = follow_up_of(database, first), follow_up_of(database, second)
    env = {"MAILBAG_DATABASE_URL": database.url, "MAILBAG_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    # When a caseworker extends the first by 14 days: the council asked for time
    result = runner.invoke(
        main,
        [
            "followups",
            "extend",
            str(one.id),
            "--days",
            "14",
            "--reason",
            "asked for time",
            "--by",
            "amy",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    extended = follow_up_of(database, first)
    assert extended.due_at == one.due_at + timedelta(days=14)
    assert extended.extension_reason == "asked for time" and extended.extended_days == 14
    assert any(
        "extended by 14 days" in line and "asked for time" in line
        for line in timeline(database, first)
    )
    # And marks the second satisfied: the reply came by post
    result = runner.invoke(
        main,
        ["followups", "satisfy", str(two.id), "--reason", "letter by post", "--by", "bob"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    done = follow_up_of(database, second)
    assert (done.status, done.satisfied_reason, done.satisfied_by) == (
        SATISFIED,
        "letter by post",
        "bob",
    )
    # And a reason is required; a finished follow-up cannot be satisfied again
    result = runner.invoke(main, ["followups", "satisfy", str(two.id), "--reason", " "], env=env)
    assert result.exit_code == 2 and "already satisfied" in result.output
    # And the list shows what the first case waits for, and since when
    result = runner.invoke(main, ["followups", "list"], env=env)
    assert result.exit_code == 0
    assert f"reply from {DWP_NAME} since" in result.output and first in result.output
    assert second not in result.output
    with database.session() as session:
        assert session.scalar(select(FollowUp.status).where(FollowUp.id == two.id)) == SATISFIED


def test_a_housing_association_in_the_directory_is_a_third_party_not_a_constituent(
    database, smtp_server, tmp_path
):
    settings = office(tmp_path, smtp_server)
    pipeline = Pipeline(settings)
    reference = constituent_writes(database, pipeline)
    with database.session() as session:
        directory.add_organisation(session, "Exampleshire Homes", domains=["exhomes.example"])
    # Given the office referred the case to the housing association from Outlook,
    # when an officer answers from her own address at the association's domain
    outcome = refer_and_answer(
        database,
        pipeline,
        to="Repairs <repairs@exhomes.example>",
        subject=f"Damp at 4 Mill Lane [{reference}]",
        answer_from="Dana Officer <dana.officer@repairs.exhomes.example>",
        answer="We will send a surveyor on Tuesday.\n",
    )
    # Then it is the association's reply on the case: no constituent record for the officer
    assert outcome.ctx.classification.kind == "third_party"
    assert "Exampleshire Homes's, in the directory" in outcome.ctx.classification.reasons[0]
    assert outcome.ctx.case_id is not None and outcome.ctx.constituent_id is None
    assert follow_up_of(database, reference).status == SATISFIED
    # And unsolicited mail from the association opens no case for it
    newsletter = make_message(sender="News <news@exhomes.example>", subject="Our tenant newsletter")
    assert feed(database, pipeline, newsletter).ctx.case_id is None


def test_a_body_in_the_directory_by_one_address_at_an_ordinary_domain_is_a_third_party(
    database, smtp_server, tmp_path
):
    # Ingest asks about follow-ups and references only for senders who may be a third party
    # (the directory, or a third-party domain): this one is known by its address alone.
    settings = office(tmp_path, smtp_server)
    pipeline = Pipeline(settings)
    reference = constituent_writes(database, pipeline)
    with database.session() as session:
        directory.add_organisation(session, "Exampletown Advice", emails=["Help@Advice.example"])
    # When the body answers the office's referral from that address, quoting its own reference
    refer_and_answer(
        database,
        pipeline,
        to="Advice <help@advice.example>",
        subject=f"Benefit appeal [{reference}]",
        answer_from="Exampletown Advice <HELP@advice.example>",
        answer="Our ref: EXA/4411\n\nWe will take the appeal on.\n",
    )
    # Then the follow-up is satisfied and their reference is kept
    assert follow_up_of(database, reference).status == SATISFIED
    with database.session() as session:
        [recorded] = session.scalars(select(ThirdPartyReference)).all()
        assert recorded.reference == "EXA/4411"
    # And later mail from them quoting only that reference threads to the case
    later = make_message(
        sender="help@advice.example", subject="Appeal date", body="Our ref: EXA/4411\n"
    )
    outcome = feed(database, pipeline, later)
    with database.session() as session:
        case_id = cases.get(session, reference).id
    assert outcome.ctx.case_id == case_id
    # While someone else at the same ordinary domain is not that body
    colleague = make_message(
        sender="other@advice.example", subject="Appeal date", body="Our ref: EXA/4411\n"
    )
    assert feed(database, pipeline, colleague).ctx.case_id != case_id


def refer_and_answer(database, pipeline, *, to: str, subject: str, answer_from: str, answer: str):
    """The office's referral sent from Outlook three days ago, and the body's answer to it
    yesterday (by In-Reply-To, the reference token left out of the answer's subject)."""
    mailbox = to.rsplit("<", 1)[-1].split("@", 1)[0]
    referral_id = f"<referral-{mailbox}@office.example.org.uk>"
    referral = make_message(
        sender=f"Casework <{OFFICE}>",
        to=to,
        subject=subject,
        message_id=referral_id,
        date=utcnow() - timedelta(days=3),
    )
    feed(database, pipeline, referral, folder="Sent")
    reply = make_message(
        sender=answer_from,
        subject="RE: " + subject.split(" [", 1)[0],
        in_reply_to=referral_id,
        body=answer,
        date=utcnow() - timedelta(days=1),
    )
    return feed(database, pipeline, reply)

"""Campaign mail: grouped at ingest with measured precision and recall, folded in, kept
apart when it hides a real problem, and answered exactly once per sender, even after a stop."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from crm import cases
from crm.campaigns import detect, normalise, personal
from crm.campaigns.errors import CampaignError
from crm.campaigns.models import Campaign, CampaignMember, CampaignSignature
from crm.campaigns.reply import ReplyProgress, reply_progress, reply_to_all, sender_ids
from crm.campaigns.report import campaigns_this_week
from crm.campaigns.service import campaign_of_case
from crm.campaigns.summary import summary
from crm.db import Database
from crm.errors import SettingsError
from crm.models import Case, Message, TimelineEntry
from crm.outgoing.send import deliver_queued
from crm.settings import Settings
from crm.tags.service import case_tags
from crm.types import utcnow
from inbox.message import Source
from inbox.parse import parse
from inbox.pipeline import Pipeline
from tests.support.campaigngen import PROBLEM, TEMPLATES, Letter, campaign_letters, mixed_mailbox
from tests.support.mail import make_message
from tests.support.smtp import SmtpServer
from tests.support.smtp_fixtures import OFFICE, office_settings

_uids = itertools.count(1)
PATCH = ("EX1", "EX2", "EX3", "EX4")


def ingest(database: Database, pipeline: Pipeline, letters: Sequence[Letter]) -> None:
    """Through the real pipeline in batches, one transaction per batch as ingest does."""
    for start in range(0, len(letters), 25):
        with database.session() as session:
            for letter in letters[start : start + 25]:
                outcome = pipeline.process(session, letter.raw, Source("INBOX", 3, next(_uids)))
                assert outcome.status == "stored", outcome.failure


def grouping(database: Database) -> dict[str, int]:
    """Message-ID -> campaign id, for every message Mailbag put in a campaign."""
    with database.session() as session:
        rows = session.execute(
            select(Message.message_id, CampaignMember.campaign_id)
            .join(CampaignSignature, CampaignSignature.message_key == Message.dedupe_key)
            .join(CampaignMember, CampaignMember.signature_id == CampaignSignature.id)
        ).all()
    return {str(mid): cid for mid, cid in rows}


def pair_scores(truth: dict[str, str | None], found: dict[str, int]) -> tuple[float, float]:
    """Precision and recall over pairs of messages put together (the usual clustering measure)."""

    def pairs(groups: dict[str, object]) -> set[frozenset[str]]:
        by: dict[object, list[str]] = {}
        for message_id, group in groups.items():
            if group is not None:
                by.setdefault(group, []).append(message_id)
        return {frozenset(p) for ids in by.values() for p in itertools.combinations(ids, 2)}

    true_pairs, found_pairs = pairs(dict(truth)), pairs(dict(found))
    together = len(true_pairs & found_pairs)
    return together / max(len(found_pairs), 1), together / max(len(true_pairs), 1)


@pytest.fixture
def office(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        office_addresses=frozenset({OFFICE}),
        constituency_postcodes=PATCH,
    )


def test_generated_campaigns_are_grouped_folded_in_and_problems_kept(database, office):
    # Given two campaigns (hundreds of personalised copies) mixed with ordinary casework
    mail = mixed_mailbox({"libraries": 150, "buses": 60}, 300, seed=7, problem_at=40)
    # When it all arrives through the pipeline
    ingest(database, Pipeline(office), mail)
    # Then the grouping matches the truth
    truth = {letter.message_id: letter.campaign for letter in mail}
    found = grouping(database)
    precision, recall = pair_scores(truth, found)
    in_campaigns = [m for m, c in truth.items() if c]
    caught = sum(1 for m in in_campaigns if m in found)
    wrong = sum(1 for m, c in truth.items() if c is None and m in found)
    print(
        f"\ncampaign grouping ({database.engine.dialect.name}): pairwise precision "
        f"{precision:.3f}, recall {recall:.3f}; {caught}/{len(in_campaigns)} campaign letters "
        f"grouped, {wrong} of {len(truth) - len(in_campaigns)} casework letters grouped"
    )
    assert precision >= 0.95 and recall >= 0.95
    with database.session() as session:
        campaigns = session.scalars(select(Campaign).order_by(Campaign.id)).all()
        assert len(campaigns) == 2
        # the template is the campaign's own text, without anyone's personal sentence
        libraries = next(c for c in campaigns if "librar" in c.name.lower())
        assert "oppose the plan to close eleven" in libraries.template_text
        assert "Saturday story time" not in libraries.template_text
        members = session.scalars(select(CampaignMember)).all()
        _the_first_letters_were_folded_in(session, members)
        _problem_letters_are_cases_of_their_own(session, members, mail)
        # campaign letters that are not kept opened no case
        plain = [m for m in members if not m.kept_as_case and not m.folded_in]
        assert plain and all(_message_of(session, m).case_id is None for m in plain)
        # the page and the weekly review count senders and constituents
        shown = summary(session, office, libraries.id)
        letters = [x for x in mail if x.campaign == "libraries"]
        assert shown.row.letters == len(letters)
        assert shown.row.senders == len({x.sender for x in letters})
        assert 0 < shown.row.constituents < shown.row.senders
        assert shown.row.constituents + shown.outside + shown.unknown == shown.row.senders
        assert shown.additions and shown.additions[0].senders > 1
        assert [k.reference for k in shown.kept]
        assert ("sensitivity", "personal") in shown.tags
        week = campaigns_this_week(session, now=max(m.written_at for m in members))
        assert {w.campaign_id for w in week} == {c.id for c in campaigns}


def _message_of(session, member: CampaignMember) -> Message:
    signature = session.get(CampaignSignature, member.signature_id)
    message = session.scalar(select(Message).where(Message.dedupe_key == signature.message_key))
    assert message is not None
    return message


def _the_first_letters_were_folded_in(session, members: Sequence[CampaignMember]) -> None:
    """The copies that came before recognition opened cases: closed into it, history kept."""
    folded = [m for m in members if m.folded_in and not m.kept_as_case]
    assert len(folded) >= 4  # at least two per campaign (the third copy made it one)
    for member in folded:
        case = session.get(Case, _message_of(session, member).case_id)
        assert case is not None and case.status == cases.CLOSED
        reasons = [e.summary for e in cases.timeline(session, case.id)]
        assert any(f"closed into campaign {member.campaign_id}" in r for r in reasons)
        assert any(e.kind == "email_in" for e in cases.timeline(session, case.id))


def _problem_letters_are_cases_of_their_own(session, members, mail: Sequence[Letter]) -> None:
    problems = {x.message_id for x in mail if x.problem}
    assert len(problems) == 2
    for message_id in problems:
        message = session.scalar(select(Message).where(Message.message_id == message_id))
        assert message is not None and message.case_id is not None
        case = session.get(Case, message.case_id)
        assert case.status == cases.OPEN
        linked = campaign_of_case(session, case.id)
        assert linked is not None
        [member] = [m for m in members if _message_of(session, m).id == message.id]
        assert member.kept_as_case and "no food" in member.kept_reason
        assert PROBLEM[:40] in member.personal_text
        values = {(t.axis.value, t.tag.path) for t in case_tags(session, case.id)}
        assert ("urgency", "immediate") in values


REPLY_TEMPLATE = {
    "about.j2": '{% set title = "Reply to a campaign" %}\n{% set audience = "constituent" %}\n',
    "subject.txt.j2": "Your letter about {{ campaign.name }}\n",
    "body.txt.j2": (
        "Thank you for writing to me about {{ campaign.name }}, as {{ campaign.senders }} "
        "people in the area have. I share your concern and have written to the council.\n"
    ),
}


@pytest.fixture
def replying(tmp_path: Path, smtp_server: SmtpServer) -> Settings:
    templates = tmp_path / "letters"
    (templates / "campaign_reply").mkdir(parents=True)
    for name, text in REPLY_TEMPLATE.items():
        (templates / "campaign_reply" / name).write_text(text)
    return office_settings(
        tmp_path, smtp_server.port, templates_dir=templates, constituency_postcodes=PATCH
    )


class Crash(Exception):
    """Stands for the process being stopped in the middle of a run."""


def test_reply_to_all_sends_one_letter_per_sender_even_after_interruptions(
    database, smtp_server, replying
):
    # Given a campaign of fresh letters, ingested and acknowledged as ingest does
    letters = campaign_letters(40, seed=3, problem_at=5, start=utcnow() - timedelta(hours=1))
    ingest(database, Pipeline(replying), letters)
    deliver_queued(database, replying)
    acknowledged = [r.rcpt_tos[0] for r in smtp_server.received]
    # only letters that opened a case were acknowledged: the two before recognition, the problem
    assert len(acknowledged) == 3
    smtp_server.clear()
    with database.session() as session:
        campaign_id = session.scalar(select(Campaign.id))
        senders = len(sender_ids(session, campaign_id))
    assert senders == len({x.sender for x in letters})
    # When a reply to all is stopped after 10 letters
    first = reply_to_all(database, replying, campaign_id, "campaign_reply", chunk=8, limit=10)
    assert (first.sent, first.total, first.done) == (10, senders, False)
    # and the next run crashes in the middle of a chunk
    seen: list[int] = []

    def crash_after_five(state: ReplyProgress) -> None:
        seen.append(state.sent)
        if len(seen) == 5:
            raise Crash

    with pytest.raises(Crash):
        reply_to_all(database, replying, campaign_id, "campaign_reply", progress=crash_after_five)
    assert len(smtp_server.received) == 15
    # and it is run once more, and then again
    done = reply_to_all(database, replying, campaign_id, "campaign_reply", chunk=8)
    again = reply_to_all(database, replying, campaign_id, "campaign_reply")
    # Then every sender got exactly one reply, personalised, and nobody got two
    recipients = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert set(recipients) == {x.sender for x in letters}
    assert set(recipients.values()) == {1}
    assert done.done and (done.sent, done.total) == (senders, senders)
    assert again.sent == senders and len(smtp_server.received) == senders
    sample = smtp_server.received[0].message()
    body = sample.get_body(("plain",)).get_content()
    assert f"{senders} people in the area" in body
    assert body.startswith("Dear ") and "Sir or Madam" not in body
    with database.session() as session:
        assert session.get(Campaign, campaign_id).status == "replied"
        assert reply_progress(session, campaign_id).done
        # each reply is on the sender's own case, which stays closed unless it is casework
        open_cases = session.scalars(select(Case).where(Case.status == cases.OPEN)).all()
        assert len(open_cases) == 1  # the letter with a real problem
        entries = session.scalars(
            select(TimelineEntry).where(TimelineEntry.kind == "email_out")
        ).all()
        assert len(entries) == senders + 3  # replies and the three acknowledgements


def test_a_campaign_keeps_one_reply_template(database, smtp_server, replying):
    letters = campaign_letters(6, seed=5)
    ingest(database, Pipeline(replying), letters)
    with database.session() as session:
        campaign_id = session.scalar(select(Campaign.id))
    reply_to_all(database, replying, campaign_id, "campaign_reply", limit=1)
    with pytest.raises(CampaignError, match="being answered with 'campaign_reply'"):
        reply_to_all(database, replying, campaign_id, "holding_reply")
    with pytest.raises(CampaignError, match="no campaign 999"):
        reply_to_all(database, replying, 999, "campaign_reply")


def test_two_senders_or_short_notes_make_no_campaign(database, office):
    body = "\n\n".join(TEMPLATES["libraries"][1])
    two = [
        make_message(sender=f"Person {i} <p{i}@example.org>", subject="Libraries", body=body)
        for i in range(2)
    ]
    short = [
        make_message(sender=f"Writer {i} <w{i}@example.org>", body="Any news on my case?\n")
        for i in range(5)
    ]
    pipeline = Pipeline(office)
    for raw in [*two, *short]:
        with database.session() as session:
            pipeline.process(session, raw, Source("INBOX", 3, next(_uids)))
    with database.session() as session:
        assert session.scalar(select(Campaign.id)) is None
        assert len(session.scalars(select(Case)).all()) == 7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dear Jane,\n\nPlease act.\n\nKind regards,\nMary Jones\n1 Mill Lane", "Please act."),
        ("Hello Jane, please act now.\n\nThanks, Sam", "please act now."),
        ("Please act.\n\nOn 2 May, Office <o@x.org> wrote:\n> old", "Please act."),
        ("Please act.\n-- \nMary | EX1 2AB", "Please act."),
        ("Please act. Thank you for reading this.", "Please act. Thank you for reading this."),
    ],
)
def test_letter_body_drops_greeting_signature_and_quotes(text, expected):
    assert normalise.letter_body(text) == expected


def test_words_leave_out_postcodes_numbers_addresses_and_names():
    text = "I am Mary Jones of 12 Mill Lane, EX1 2AB (mary@example.com), call 07700 900123."
    words = normalise.words(text, drop=normalise.name_words("Mary Jones"))
    assert words == ["i", "am", "of", "mill", "lane", "call"]


TRICKY = [
    "Dear " + "Annabelle" * 9 + " Smith-Jones,\n\nwe ask " * 3,  # a greeting cut mid-word
    "o'ab1 2cd'ef o’SW1A 1AA’s xhttps://x.org/a'b awww.y.org mary@x.org's it's",
    "Kelvin \u212a and \u0130stanbul \u0130\u0130 don’t ’twas",
    "> quoted words\nmine\n\nOn 2 May, Office <o@x.org> wrote:\n> more quoted",
    "a,b,c;d.e:f!g?h(i)j[k]l{m}n/o\\p|q\r\ns\rt\u00a0u\u2003v",
]


@pytest.mark.parametrize("seed", range(3))
def test_the_quick_word_count_never_falls_below_the_words_compared(seed):
    # The campaign step skips reading letters this count says are too short: it must never
    # say fewer words than the letter body gives, whatever names are dropped
    letters = [letter.raw for letter in mixed_mailbox({"libraries": 30, "buses": 10}, 40, seed)]
    texts = [parse(raw, max_attachment_bytes=10**7).text for raw in letters] + TRICKY
    for text in texts:
        for drop in ((), normalise.name_words("Mary Jones", "Annabelle")):
            found = len(normalise.words(normalise.letter_body(text), drop))
            assert normalise.most_words(text) >= found, text


def test_a_letter_just_long_enough_is_still_fingerprinted():
    body = " ".join(f"word{chr(97 + i % 26)}" for i in range(detect.MIN_WORDS))
    letter = f"Dear Jane,\n\n{body}\n\nKind regards,\nMary Jones\nEX1 2AB"
    assert detect.fingerprint(letter) is not None
    assert detect.fingerprint(letter.replace(" worda", "", 1)) is None


def test_personal_part_is_what_the_template_does_not_say():
    template = "We need the library. It is the heart of the town.\n\nPlease keep it open."
    letter = (
        "Dear Jane,\n\nIt is the heart of the town. My son reads there daily. "
        "We need the library.\n\nPlease keep it open.\n\nYours,\nAnn"
    )
    part = personal.personal_part(letter, personal.template_sentences(template))
    assert part.text == "My son reads there daily."
    assert part.words == 5


def test_template_is_what_most_copies_share():
    copies = [
        "Save it. It matters to us all. I am a nurse.",
        "It matters to us all. Save it. I read there.",
        "Save it. It matters to us all.",
    ]
    assert personal.derive_template(copies) == "Save it. It matters to us all."


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MAILBAG_CAMPAIGN_THRESHOLD", "1.5", "between 0 and 1"),
        ("MAILBAG_CAMPAIGN_THRESHOLD", "high", "between 0 and 1"),
        ("MAILBAG_CAMPAIGN_MIN_SENDERS", "1", "2 or more"),
    ],
)
def test_campaign_settings_name_the_variable_when_wrong(variable, value, message):
    with pytest.raises(SettingsError, match=f"{variable}: .*{message}"):
        Settings.from_env({variable: value})


def test_the_background_actor_resumes_after_the_server_was_down(database, smtp_server, replying):
    from crm.campaigns.errors import ReplyIncomplete
    from crm.workers import actors, runtime
    from tests.support.smtp import free_port

    # Given a campaign, and a reply to all started while the SMTP server is unreachable
    letters = campaign_letters(8, seed=9)
    ingest(database, Pipeline(replying), letters)
    with database.session() as session:
        campaign_id = session.scalar(select(Campaign.id))
    down = dataclasses.replace(replying, smtp_port=free_port())
    runtime.use(down, database)
    with pytest.raises(ReplyIncomplete):
        actors.reply_to_campaign(campaign_id, "campaign_reply")
    assert smtp_server.received == []
    # When the worker retries once the server is back
    runtime.use(replying, database)
    actors.reply_to_campaign(campaign_id, "campaign_reply")
    # Then every sender has exactly one reply, the one that failed included
    recipients = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert set(recipients) == {x.sender for x in letters} and set(recipients.values()) == {1}


def test_the_command_line_lists_shows_and_replies(database, smtp_server, replying):
    from click.testing import CliRunner

    from mailbag.cli import main

    letters = campaign_letters(12, seed=4)
    ingest(database, Pipeline(replying), letters)
    with database.session() as session:
        campaign_id = session.scalar(select(Campaign.id))
    env = {
        "MAILBAG_DATABASE_URL": database.url,
        "MAILBAG_SMTP_HOST": "127.0.0.1",
        "MAILBAG_SMTP_PORT": str(smtp_server.port),
        "MAILBAG_SMTP_STARTTLS": "off",
        "MAILBAG_FROM_ADDRESS": f"Office of Jane Doe MP <{OFFICE}>",
        "MAILBAG_REPRESENTATIVE_NAME": "Jane Doe MP",
        "MAILBAG_TEMPLATES_DIR": str(replying.templates_dir),
    }
    runner = CliRunner()
    listed = runner.invoke(main, ["campaigns", "list"], env=env)
    assert listed.exit_code == 0 and "12 letters" in listed.output
    shown = runner.invoke(main, ["campaigns", "show", str(campaign_id)], env=env)
    assert shown.exit_code == 0 and "oppose the plan to close eleven" in shown.output
    replied = runner.invoke(
        main, ["campaigns", "reply", str(campaign_id), "campaign_reply"], env=env
    )
    senders = len({x.sender for x in letters})
    assert replied.exit_code == 0, replied.output
    assert f"{senders} of {senders} sent" in replied.output
    missing = runner.invoke(main, ["campaigns", "show", "999"], env=env)
    assert missing.exit_code == 2 and missing.output.strip() == "mailbag: error: no campaign 999"

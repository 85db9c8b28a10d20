"""Tags on cases, on SQLite and PostgreSQL: applied at ingest, overridden, governed."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.db import Database
from crm.errors import SettingsError
from crm.models import Case, Message
from crm.settings import Settings
from crm.tags import governance, names, service, taxonomy
from crm.tags.deadlines import response_deadline
from crm.tags.errors import TagError
from crm.tags.models import CaseTag, TagEvent, TagRule
from inbox.message import Source
from inbox.pipeline import Pipeline
from mailbag.cli import main
from tagging.axes import Axis
from tests.support.mail import make_message

_uids = itertools.count(1)


def feed(database: Database, pipeline: Pipeline, raw: bytes, folder: str = "INBOX") -> None:
    with database.session() as session:
        outcome = pipeline.process(session, raw, Source(folder, uidvalidity=7, uid=next(_uids)))
    assert outcome.status == "stored", outcome.failure


def case_of(database: Database, message_id: str) -> Case:
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.message_id == message_id))
        assert message is not None and message.case_id is not None
        case = session.get(Case, message.case_id)
        assert case is not None
        return case


def tags(database: Database, case: Case) -> dict[str, tuple[str, str, str]]:
    """axis (or "issue+" for a secondary issue) -> (value, source, reason)."""
    with database.session() as session:
        rows = service.case_tags(session, case.id)
        found: dict[str, tuple[str, str, str]] = {}
        for row in rows:
            key = row.axis.value if row.slot else f"{row.axis.value}+{row.tag.path}"
            found[key] = (row.tag.path, row.source, row.reason)
        return found


def values(database: Database, case: Case) -> dict[str, str]:
    return {axis: value for axis, (value, _, _) in tags(database, case).items()}


def letter(body: str, postcode: str = "EX1 2AB") -> str:
    """A constituent's letter signed with an address, so the postcode is known."""
    signature = f"Kind regards,\nMary Jones\n12 Acacia Avenue\nExampletown\n{postcode}\n"
    return f"Dear Jane,\n\n{body}\n\n{signature}"


def test_the_pipeline_tags_a_new_case_on_every_axis_with_reasons(database, pipeline):
    # Given a constituent who writes about a visa and says she has no food
    body = "My husband's spouse visa has taken 30 weeks. We have no food left this week."
    feed(
        database,
        pipeline,
        make_message(message_id="<t1@example.com>", subject="Visa", body=letter(body)),
    )
    # Then the case carries one value per axis, each with the rule and words that set it
    found = tags(database, case_of(database, "t1@example.com"))
    assert found["issue"][:2] == ("Immigration and visas › Visa applications and delays", "rule")
    assert found["urgency"] == (
        "immediate",
        "rule",
        'rule "safeguarding: urgency": words "no food"',
    )
    assert found["sensitivity"][0] == "safeguarding"
    assert found["transferability"][:2] == ("refer to a government department", "rule")


def test_a_case_no_rule_matches_still_has_the_usual_values(database, pipeline):
    feed(
        database,
        pipeline,
        make_message(message_id="<t2@example.com>", subject="Hello", body="Hi.\n"),
    )
    assert values(database, case_of(database, "t2@example.com")) == {
        "issue": "Other",
        "urgency": "normal",
        "sensitivity": "personal",  # constituent mail is personal data
        "transferability": "office can resolve",
    }


def test_mail_from_outside_the_patch_is_not_for_this_representative(database, settings):
    pipeline = Pipeline(dataclasses.replace(settings, constituency_postcodes=("EX1", "EX4 6")))
    body = "I object to the planning application on Harrow Fields."
    feed(
        database,
        pipeline,
        make_message(message_id="<o1@example.com>", body=letter(body, "YO62 7HL")),
    )
    feed(
        database,
        pipeline,
        make_message(
            sender="Ann Lee <ann@example.org>",
            message_id="<o2@example.com>",
            body=letter(body, "EX4 6HQ"),
        ),
    )
    outside = tags(database, case_of(database, "o1@example.com"))["transferability"]
    assert outside[0] == "not for this representative"
    assert outside[2] == 'rule "out of area": postcode YO62 7HL is outside the listed areas'
    inside = values(database, case_of(database, "o2@example.com"))["transferability"]
    assert inside == "refer to the council"


def test_auto_replies_do_not_change_a_cases_tags(database, pipeline):
    feed(
        database,
        pipeline,
        make_message(message_id="<a1@example.com>", subject="Bins", body="Hi.\n"),
    )
    ooo = make_message(
        sender="Officer <officer@council.gov.uk>",
        subject="Automatic reply: Bins",
        body="I am away. For anything urgent about suicide or self-harm call 999.\n",
        in_reply_to="<a1@example.com>",
        headers={"Auto-Submitted": "auto-replied"},
    )
    feed(database, pipeline, ooo)
    assert values(database, case_of(database, "a1@example.com"))["urgency"] == "normal"


def test_a_manual_tag_survives_later_mail_and_re_tagging(database, pipeline, settings):
    # Given a case tagged immediate by the safeguarding rule
    feed(
        database,
        pipeline,
        make_message(message_id="<m1@example.com>", body=letter("I feel suicidal.")),
    )
    case = case_of(database, "m1@example.com")
    # When a caseworker sets the urgency by hand
    with database.session() as session:
        changes = service.set_manual(
            session, case.reference, Axis.URGENCY, "high", who="sam", reason="called her; safe"
        )
    assert [(c.before, c.after) for c in changes] == [("immediate", "high")]
    # And more alarming mail arrives, and everything is re-tagged
    reply = make_message(
        message_id="<m2@example.com>", in_reply_to="<m1@example.com>", body="No food.\n"
    )
    feed(database, pipeline, reply)
    with database.session() as session:
        retag_changes = service.retag(session, settings)
    # Then the manual value stands, with who set it and why
    assert tags(database, case)["urgency"] == ("high", "manual", "called her; safe")
    assert all(c.axis is not Axis.URGENCY for c in retag_changes)


def test_re_tagging_says_what_changed(database, pipeline, settings):
    feed(
        database,
        pipeline,
        make_message(message_id="<r1@example.com>", body=letter("My council tax is wrong.")),
    )
    case = case_of(database, "r1@example.com")
    with database.session() as session:
        assert service.retag(session, settings) == []  # nothing new: nothing changes
    moved = dataclasses.replace(settings, constituency_postcodes=("SW1A",))
    with database.session() as session:
        changes = service.retag(session, moved)
    assert [(c.reference, c.axis, c.before, c.after) for c in changes] == [
        (
            case.reference,
            Axis.TRANSFERABILITY,
            "refer to the council",
            "not for this representative",
        )
    ]


def test_a_manual_primary_issue_keeps_the_rules_issue_as_secondary(database, pipeline):
    feed(
        database,
        pipeline,
        make_message(message_id="<p1@example.com>", body=letter("Black mould everywhere.")),
    )
    case = case_of(database, "p1@example.com")
    with database.session() as session:
        service.set_manual(session, case.reference, Axis.ISSUE, "Housing > Repairs", who="sam")
    found = values(database, case)
    assert found["issue"] == "Housing › Repairs"
    assert found["issue+Housing › Damp and mould"] == "Housing › Damp and mould"


def test_merging_tags_moves_every_case_and_records_it(database, pipeline):
    # Given one case about private renting and one about repairs that also mentions a landlord
    feed(
        database,
        pipeline,
        make_message(
            message_id="<g1@example.com>",
            subject="My deposit",
            body=letter("The letting agent kept my deposit."),
        ),
    )
    feed(
        database,
        pipeline,
        make_message(
            sender="Bob <bob@example.net>",
            message_id="<g2@example.com>",
            subject="Boiler",
            body=letter("The landlord will not repair the boiler or the broken window."),
        ),
    )
    renting, repairs = case_of(database, "g1@example.com"), case_of(database, "g2@example.com")
    assert values(database, repairs)["issue+Housing › Private renting"]
    # When private renting is merged into repairs
    with database.session() as session:
        moved = taxonomy.merge(
            session, Axis.ISSUE, "Housing › Private renting", "Housing › Repairs", who="ann"
        )
    # Then both cases carry repairs, once each, and the old name still finds it
    assert moved == 2
    assert values(database, renting)["issue"] == "Housing › Repairs"
    assert values(database, repairs) == {
        "issue": "Housing › Repairs",
        "urgency": "normal",
        "sensitivity": "personal",
        "transferability": "office can resolve",
    }
    with database.session() as session:
        assert (
            names.require(session, Axis.ISSUE, "housing > private renting").path
            == "Housing › Repairs"
        )
        rule_targets = session.scalars(
            select(TagRule.tag_id).where(TagRule.name == "issue: Housing › Private renting")
        ).all()
        assert rule_targets == [names.require(session, Axis.ISSUE, "Housing › Repairs").id]
        history = session.scalars(select(TagEvent.detail).where(TagEvent.action == "merged")).all()
    assert history == ["Housing › Private renting → Housing › Repairs (2 cases)"]


def test_a_retired_value_is_kept_on_cases_but_no_longer_proposed_or_chosen(database, pipeline):
    feed(
        database,
        pipeline,
        make_message(message_id="<x1@example.com>", body=letter("Black mould again.")),
    )
    old = case_of(database, "x1@example.com")
    with database.session() as session:
        taxonomy.retire(session, Axis.ISSUE, "Housing › Damp and mould", who="ann")
    feed(
        database,
        pipeline,
        make_message(
            sender="C <c@example.com>", message_id="<x2@example.com>", body=letter("Mould!")
        ),
    )
    assert values(database, old)["issue"] == "Housing › Damp and mould"
    assert values(database, case_of(database, "x2@example.com"))["issue"] == "Other"
    with database.session() as session, pytest.raises(TagError, match="retired"):
        service.set_manual(
            session, old.reference, Axis.ISSUE, "Housing › Damp and mould", who="sam"
        )
    with database.session() as session, pytest.raises(TagError, match="every case starts with"):
        taxonomy.retire(session, Axis.URGENCY, "normal", who="ann")


def test_aliases_and_old_names_still_match(database, pipeline):
    feed(database, pipeline, make_message(message_id="<u1@example.com>", body=letter("Hello.")))
    case = case_of(database, "u1@example.com")
    with database.session() as session:
        taxonomy.alias(
            session, Axis.ISSUE, "Benefits and Universal Credit › Universal Credit", "UC", who="ann"
        )
        taxonomy.rename(session, Axis.ISSUE, "Housing", "Homes", who="ann")
    with database.session() as session:
        service.set_manual(session, case.reference, Axis.ISSUE, "uc", who="sam")
        service.set_manual(
            session, case.reference, Axis.ISSUE, "Housing › Repairs", who="sam", secondary=True
        )
    found = values(database, case)
    assert found["issue"] == "Benefits and Universal Credit › Universal Credit"
    assert found["issue+Homes › Repairs"] == "Homes › Repairs"
    with database.session() as session, pytest.raises(TagError, match="already a name"):
        taxonomy.alias(session, Axis.ISSUE, "Energy", "uc", who="ann")


BAD_RENAMES = [
    ("Benefits and Universal Credit", 'is already a name of the issue value "Benefits'),
    ("   ", "a tag name cannot be empty"),
    ("Housing › Repairs › Roof", "an issue has at most two levels"),
    ("x" * 101, "a tag name can be at most 100 characters"),
]


@pytest.mark.parametrize(("new", "message"), BAD_RENAMES)
def test_a_bad_rename_is_our_own_error_and_changes_nothing(database, new, message):
    # When an office manager renames "Housing" onto a taken or an unusable name
    with database.session() as session, pytest.raises(TagError) as refused:
        taxonomy.rename(session, Axis.ISSUE, "Housing", new, who="ann")
    # Then it is refused with our own error, and "Housing" keeps its name
    assert message in str(refused.value)
    with database.session() as session:
        assert names.require(session, Axis.ISSUE, "Housing").path == "Housing"


@pytest.mark.parametrize(("new", "message"), BAD_RENAMES[:2])
def test_a_bad_rename_at_the_command_line_is_one_line(database, tmp_path, new, message):
    env = {"MAILBAG_DATA_DIR": str(tmp_path / "data"), "MAILBAG_DATABASE_URL": database.url}
    result = CliRunner().invoke(main, ["tags", "rename", "issue", "Housing", new], env=env)
    assert result.exit_code == 2
    [line] = result.output.splitlines()
    assert line.startswith("mailbag: error: ") and message in line


def test_rules_follow_a_renamed_value(database, pipeline):
    with database.session() as session:
        service.retag(session, pipeline.settings)  # seeds the defaults
        taxonomy.rename(
            session,
            Axis.ISSUE,
            "Housing › Damp and mould",
            "Damp, mould and condensation",
            who="ann",
        )
    feed(
        database,
        pipeline,
        make_message(message_id="<n1@example.com>", body=letter("Mould on the walls.")),
    )
    assert values(database, case_of(database, "n1@example.com"))["issue"] == (
        "Housing › Damp, mould and condensation"
    )


def test_the_database_allows_one_value_per_axis(database, pipeline):
    feed(database, pipeline, make_message(message_id="<c1@example.com>", body=letter("Hello.")))
    case = case_of(database, "c1@example.com")
    with pytest.raises(IntegrityError), database.session() as session:
        low = names.require(session, Axis.URGENCY, "low")
        session.add(
            CaseTag(
                case_id=case.id,
                tag_id=low.id,
                axis=Axis.URGENCY,
                slot=Axis.URGENCY,
                source="manual",
            )
        )
        session.flush()


def test_governance_report_finds_unused_rare_and_near_duplicate_tags(database, pipeline):
    feed(
        database,
        pipeline,
        make_message(message_id="<v1@example.com>", body=letter("Black mould again.")),
    )
    with database.session() as session:
        names.create(session, Axis.ISSUE, "Housing › Damp and mold")
    with database.session() as session:
        found = governance.report(session, fewer_than=2)
    unused = {(u.axis, u.path) for u in found.unused}
    assert (Axis.ISSUE, "Housing › Damp and mold") in unused
    assert (Axis.URGENCY, "immediate") in unused
    rare = {(u.path, u.cases) for u in found.rarely_used}
    assert ("Housing › Damp and mould", 1) in rare and ("Housing", 1) in rare
    assert [(d.first, d.second) for d in found.near_duplicates] == [
        ("Housing › Damp and mold", "Housing › Damp and mould")
    ]


def test_the_response_deadline_follows_urgency_in_working_days(database, pipeline, settings):
    # Given mail dated Monday 2 November 2026 that is safeguarding (dated outright: by
    # default each test message is a minute after the last one made in the run)
    monday = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    body = letter("I want to end my life.")
    feed(database, pipeline, make_message(message_id="<d1@example.com>", body=body, date=monday))
    case = case_of(database, "d1@example.com")
    with database.session() as session:
        tags = service.case_tags(session, case.id)
    deadline = response_deadline(tags, settings)
    slower = response_deadline(
        tags, dataclasses.replace(settings, response_days=(("immediate", 3),))
    )
    assert deadline is not None and slower is not None
    assert (deadline.urgency, deadline.start, deadline.due) == (
        "immediate",
        date(2026, 11, 2),
        date(2026, 11, 3),
    )
    assert slower.due == date(2026, 11, 5)


def test_bad_tagging_settings_name_the_variable():
    with pytest.raises(SettingsError, match=r"^MAILBAG_CONSTITUENCY_POSTCODES: 'EXETER' is not"):
        Settings.from_env({"MAILBAG_CONSTITUENCY_POSTCODES": "EX1, EXETER"})
    with pytest.raises(SettingsError, match=r"^MAILBAG_RESPONSE_DAYS: expected urgency=days"):
        Settings.from_env({"MAILBAG_RESPONSE_DAYS": "high=soon"})
    parsed = Settings.from_env(
        {"MAILBAG_CONSTITUENCY_POSTCODES": "ex1, ex4 6", "MAILBAG_RESPONSE_DAYS": "High=4"}
    )
    assert parsed.constituency_postcodes == ("EX1", "EX4 6")
    assert parsed.response_days == (("high", 4),)


def test_every_case_change_is_in_the_history(database, pipeline):
    raw = make_message(message_id="<h1@example.com>", subject="Council tax", body="Too high.\n")
    feed(database, pipeline, raw)
    case = case_of(database, "h1@example.com")
    with database.session() as session:
        events = session.scalars(
            select(TagEvent.detail).where(TagEvent.case_id == case.id).order_by(TagEvent.id)
        ).all()
    assert events == [
        f'{case.reference}  issue: — → Council tax › Bills and arrears  (rule "issue: Council tax'
        ' › Bills and arrears": words "council tax")',
        f"{case.reference}  urgency: — → normal  (no rule matched: the usual value)",
        f'{case.reference}  sensitivity: — → personal  (rule "constituent casework": message is'
        " constituent mail)",
        f'{case.reference}  transferability: — → refer to the council  (rule "council matter":'
        ' words "council tax")',
    ]


def test_the_command_line_sets_shows_and_re_tags(tmp_path):
    # Given an office whose inbox held one alarming letter
    env = {"MAILBAG_DATA_DIR": str(tmp_path / "data")}
    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "1.eml").write_bytes(make_message(subject="Help", body=letter("I feel suicidal.")))
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    assert runner.invoke(main, ["import", str(mail)], env=env).exit_code == 0
    # When a caseworker lowers the urgency, and the rules are run again
    lowered = runner.invoke(
        main, ["tags", "set", "MB-2026-000001", "urgency", "high", "--who", "sam"], env=env
    )
    again = runner.invoke(main, ["tags", "apply", "--all"], env=env)
    shown = runner.invoke(main, ["tags", "show", "MB-2026-000001"], env=env)
    # Then each says what happened, and the manual value stands with who set it
    assert lowered.output.strip() == "MB-2026-000001  urgency: immediate → high  (set by sam)"
    assert again.output.strip() == "0 changes on 0 case(s)"
    assert "urgency                high\n                       manual: set by sam" in shown.output
    assert "(5 working day(s))" in shown.output  # high: counted from when sam set it
    wrong = runner.invoke(main, ["tags", "set", "MB-2026-000001", "urgency", "soonish"], env=env)
    assert (wrong.exit_code, wrong.output.strip()) == (
        2,
        'mailbag: error: no urgency value "soonish"',
    )

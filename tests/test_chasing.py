"""Chasing: the sweep, real dramatiq workers on a real Redis, a real SMTP server.

Time travels through `mailbag chase --due --now` (and the `now` a sweep message carries);
the workers are `mailbag worker` processes; nothing here is a stand-in for our own code.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text, update

from crm import cases
from crm.db import Database
from crm.followups import grace, sweep
from crm.followups.chasing import RECHECK, RETRY_AFTER
from crm.followups.errors import FollowUpError
from crm.followups.models import (
    AWAITING_APPROVAL,
    CHASED,
    ESCALATED,
    FAILED,
    HELD,
    OPEN,
    RESERVED,
    SATISFIED,
    SENT,
    UNKNOWN,
    ChaseAttempt,
    FollowUp,
)
from crm.models import Constituent
from crm.outgoing import directory
from crm.settings import Settings
from crm.types import utcnow
from crm.workers import broker as brokers
from crm.workers import runtime
from crm.workers import scheduler as schedules
from inbox.pipeline import Pipeline
from mailbag.cli import main
from tests.support import databases
from tests.support.chase_cases import (
    DWP,
    DWP_NAME,
    attempts_of,
    constituent_writes,
    dwp_replies,
    feed,
    follow_up_of,
    refer,
    timeline,
)
from tests.support.mail import make_message
from tests.support.smtp import SmtpServer, free_port
from tests.support.smtp_fixtures import OFFICE, office_settings
from tests.support.workers import (
    HangingSmtp,
    Process,
    RedisSpace,
    redis_space,  # noqa: F401 - a fixture
    settings_env,
    wait_until,
)

DAY = timedelta(days=1)


def office(tmp_path, port: int) -> Settings:
    return office_settings(tmp_path, port, auto_acknowledge=False)


def chase_due(database: Database, settings: Settings, now: datetime, **extra: str) -> Result:
    """`mailbag chase --due --now ...`, as cron (or a test that travels in time) runs it."""
    env = settings_env(settings, database.url, **extra)
    result = CliRunner().invoke(main, ["chase", "--due", "--now", now.isoformat()], env=env)
    assert result.exit_code in (0, 2), result.output
    return result


def chases(server: SmtpServer) -> list:
    return [
        r.message()
        for r in server.received
        if r.message()["Subject"].startswith(("Reminder:", "Second reminder:"))
    ]


def referred(database, settings) -> tuple[str, str, datetime]:
    """A constituent's case referred to the DWP: (case reference, referral id, sent at)."""
    pipeline = Pipeline(settings)
    reference = constituent_writes(database, pipeline)
    referral_id = refer(database, settings, reference)
    return reference, referral_id, follow_up_of(database, reference).opened_at


def test_21_days_after_a_referral_exactly_one_chase_arrives(database, smtp_server, tmp_path):
    settings = office(tmp_path, smtp_server.port)
    reference, referral_id, sent = referred(database, settings)
    # When the sweep runs a day before the deadline, nothing goes
    assert "0 sent" in chase_due(database, settings, sent + 20 * DAY).output
    assert chases(smtp_server) == []
    # When it runs once the 21 days are up, and again (cron every few minutes)
    assert "1 sent" in chase_due(database, settings, sent + 21 * DAY + timedelta(minutes=1)).output
    chase_due(database, settings, sent + 21 * DAY + timedelta(minutes=6))
    chase_due(database, settings, sent + 21 * DAY + timedelta(hours=3))
    # Then exactly one chase arrived, to the DWP, threaded under the referral
    [chase] = chases(smtp_server)
    assert chase["To"].addresses[0].addr_spec == DWP
    assert chase["In-Reply-To"] == f"<{referral_id}>"
    assert chase["Subject"].endswith(f"[{reference}]")
    assert "I have not yet received a reply" in chase.get_body(("plain",)).get_content()
    follow_up = follow_up_of(database, reference)
    assert (follow_up.status, follow_up.chases_sent) == (CHASED, 1)
    [attempt] = attempts_of(database, follow_up.id)
    assert (attempt.attempt_number, attempt.state, attempt.template) == (1, SENT, "chase_first")
    assert any(f"first chase sent to {DWP_NAME}" in line for line in timeline(database, reference))


def test_a_reply_before_the_deadline_cancels_the_chase(database, smtp_server, tmp_path):
    settings = office(tmp_path, smtp_server.port)
    reference, referral_id, sent = referred(database, settings)
    # Given the DWP replies within its three weeks
    dwp_replies(database, Pipeline(settings), in_reply_to=referral_id)
    assert follow_up_of(database, reference).status == SATISFIED
    # When the deadline passes
    result = chase_due(database, settings, sent + 22 * DAY)
    # Then nothing is chased
    assert result.output.startswith("0 processed, 0 sent")
    assert chases(smtp_server) == []


def test_second_chase_after_seven_days_then_escalation(database, smtp_server, tmp_path):
    settings = office(tmp_path, smtp_server.port)
    reference, _referral_id, sent = referred(database, settings)
    first = sent + 21 * DAY + timedelta(minutes=1)
    chase_due(database, settings, first)
    # Six days after the first chase: nothing; seven days: the second chase
    chase_due(database, settings, first + 6 * DAY)
    assert len(chases(smtp_server)) == 1
    chase_due(database, settings, first + 7 * DAY + timedelta(minutes=1))
    assert [m["Subject"].split(":")[0] for m in chases(smtp_server)] == [
        "Reminder",
        "Second reminder",
    ]
    # Seven days after the second chase: no third letter; the case is flagged for the MP
    result = chase_due(database, settings, first + 14 * DAY + timedelta(minutes=2))
    assert "1 escalated" in result.output
    chase_due(database, settings, first + 40 * DAY)
    assert len(chases(smtp_server)) == 2
    follow_up = follow_up_of(database, reference)
    assert (follow_up.status, follow_up.chases_sent) == (ESCALATED, 2)
    assert any(
        line.startswith("follow_up: Escalate: no reply from")
        for line in timeline(database, reference)
    )
    listed = CliRunner().invoke(
        main, ["followups", "list", "--escalated"], env=settings_env(settings, database.url)
    )
    assert reference in listed.output and "escalated to the representative" in listed.output


def _chase_subjects(server: SmtpServer) -> list[str]:
    return [m["Subject"].split(":")[0] for m in chases(server)]


def test_an_organisation_s_own_interval_sets_the_second_chase_and_escalation(
    database, smtp_server, tmp_path
):
    settings = office(tmp_path, smtp_server.port)
    reference, _referral_id, sent = referred(database, settings)
    env = settings_env(settings, database.url)
    # Given the office manager gives the DWP three days between chases
    command = ["directory", "add", DWP_NAME, "--second-chase-days", "3"]
    assert CliRunner().invoke(main, command, env=env).exit_code == 0
    first = sent + 21 * DAY + timedelta(minutes=1)
    chase_due(database, settings, first)
    assert any("next chase due" in line for line in timeline(database, reference))
    # When the sweep runs two days after the first chase, then three
    chase_due(database, settings, first + 2 * DAY + timedelta(minutes=1))
    assert _chase_subjects(smtp_server) == ["Reminder"]
    chase_due(database, settings, first + 3 * DAY + timedelta(minutes=1))
    # Then the second chase went after three days, and escalation three days after that
    assert _chase_subjects(smtp_server) == ["Reminder", "Second reminder"]
    result = chase_due(database, settings, first + 6 * DAY + timedelta(minutes=2))
    assert "1 escalated" in result.output
    assert follow_up_of(database, reference).status == ESCALATED


def test_a_case_s_own_interval_wins_over_its_organisation_s(database, smtp_server, tmp_path):
    settings = office(tmp_path, smtp_server.port)
    reference, _referral_id, sent = referred(database, settings)
    # Given the DWP's chases are three days apart, but this case waits ten
    with database.session() as session:
        org = directory.find_by_name(session, DWP_NAME)
        grace.set_second_chase_days(session, org, 3)
        grace.set_rule(
            session,
            case_id=cases.get(session, reference).id,
            days=None,
            working_days=None,
            second_chase_days=10,
            reason="the DWP asked for more time on this claim",
            who="amy",
        )
        # (an organisation's interval has one home, its directory entry, not a grace rule)
        with pytest.raises(FollowUpError, match="is in the directory"):
            grace.set_rule(
                session,
                organisation_id=org.id,
                days=None,
                working_days=None,
                second_chase_days=4,
                reason="",
                who="amy",
            )
    first = sent + 21 * DAY + timedelta(minutes=1)
    chase_due(database, settings, first)
    # When the sweep runs nine days after the first chase, then ten
    chase_due(database, settings, first + 9 * DAY + timedelta(minutes=1))
    assert _chase_subjects(smtp_server) == ["Reminder"]
    chase_due(database, settings, first + 10 * DAY + timedelta(minutes=1))
    # Then the second chase kept to the case's ten days
    assert _chase_subjects(smtp_server) == ["Reminder", "Second reminder"]


def test_a_case_s_own_interval_is_set_and_dropped_at_the_command_line(
    database, smtp_server, tmp_path
):
    settings = office(tmp_path, smtp_server.port)
    reference, _referral_id, sent = referred(database, settings)
    env = settings_env(settings, database.url)
    grace_command = ["followups", "grace", "--reason", "the DWP asked for more time", "--by", "amy"]
    # Given the DWP's chases are three days apart, and this case is given ten at the CLI
    command = ["directory", "add", DWP_NAME, "--second-chase-days", "3"]
    assert CliRunner().invoke(main, command, env=env).exit_code == 0
    command = [*grace_command, "--case", reference, "--second-chase-days", "10"]
    result = CliRunner().invoke(main, command, env=env)
    assert (result.exit_code, result.output) == (0, "grace period set\n")
    # (an organisation's interval is set in the directory, said in one line)
    command = [*grace_command, "--organisation", DWP_NAME, "--second-chase-days", "4"]
    result = CliRunner().invoke(main, command, env=env)
    assert result.exit_code == 2
    assert result.output.strip() == (
        "mailbag: error: an organisation's interval between chases is in the directory"
    )
    first = sent + 21 * DAY + timedelta(minutes=1)
    chase_due(database, settings, first)
    # When the sweep runs nine days after the first chase, then ten
    chase_due(database, settings, first + 9 * DAY + timedelta(minutes=1))
    assert _chase_subjects(smtp_server) == ["Reminder"]
    chase_due(database, settings, first + 10 * DAY + timedelta(minutes=1))
    # Then the second chase kept to the case's ten days
    assert _chase_subjects(smtp_server) == ["Reminder", "Second reminder"]
    # And 0 drops the case's own interval: the DWP's three days apply again
    command = [*grace_command, "--case", reference, "--second-chase-days", "0"]
    assert CliRunner().invoke(main, command, env=env).exit_code == 0
    with database.session() as session:
        follow_up = session.get(FollowUp, follow_up_of(database, reference).id)
        assert follow_up is not None
        assert grace.second_chase_days(session, settings, follow_up) == 3
    result = CliRunner().invoke(main, [*command[:-1], "400"], env=env)
    assert result.output.strip() == (
        "mailbag: error: the interval between chases is between 1 and 365 days"
    )


def test_without_an_interval_of_its_own_an_organisation_uses_the_office_default(
    database, smtp_server, tmp_path
):
    settings = office(tmp_path, smtp_server.port)
    reference, _referral_id, sent = referred(database, settings)
    env = settings_env(settings, database.url)
    # Given the DWP once had an interval of its own, and it was set back to the default
    for days in ("12", "0"):
        command = ["directory", "add", DWP_NAME, "--second-chase-days", days]
        assert CliRunner().invoke(main, command, env=env).exit_code == 0
    with database.session() as session:
        assert directory.find_by_name(session, DWP_NAME).second_chase_days is None
    # When the chases go with MAILBAG_SECOND_CHASE_DAYS=5
    first = sent + 21 * DAY + timedelta(minutes=1)
    five = {"MAILBAG_SECOND_CHASE_DAYS": "5"}
    chase_due(database, settings, first, **five)
    chase_due(database, settings, first + 4 * DAY + timedelta(minutes=1), **five)
    assert _chase_subjects(smtp_server) == ["Reminder"]
    chase_due(database, settings, first + 5 * DAY + timedelta(minutes=1), **five)
    # Then the second chase kept to the office's five days
    assert _chase_subjects(smtp_server) == ["Reminder", "Second reminder"]
    assert follow_up_of(database, reference).chases_sent == 2


def test_the_directory_list_shows_each_organisation_s_interval_between_chases(database, tmp_path):
    env = settings_env(office(tmp_path, free_port()), database.url)
    # Given one organisation with five days between chases and one on the office default
    for command in (
        ["directory", "add", DWP_NAME, "--kind", "department", "--second-chase-days", "5"],
        ["directory", "add", "Anytown Council", "--kind", "council"],
    ):
        assert CliRunner().invoke(main, command, env=env).exit_code == 0
    # When the directory is listed
    result = CliRunner().invoke(main, ["directory", "list"], env=env)
    # Then each line says the organisation's interval, or that it uses the default
    lines = [line for line in result.output.splitlines() if "[" in line]
    assert lines == [
        "Anytown Council  [council, 20 days, auto-chase, second chase after: default]",
        f"{DWP_NAME}  [department, 20 days, auto-chase, second chase after: 5 days]",
    ]


@pytest.mark.parametrize("days", ["-1", "366"])
def test_an_interval_out_of_range_is_one_clear_line(database, tmp_path, days):
    settings = office(tmp_path, free_port())
    env = settings_env(settings, database.url)
    result = CliRunner().invoke(
        main, ["directory", "add", DWP_NAME, "--second-chase-days", days], env=env
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        "mailbag: error: the interval between chases is between 1 and 365 days"
    )
    with database.session() as session:  # nothing half-done: the organisation was not added
        assert directory.organisations(session) == []


def test_an_organisation_without_auto_chase_waits_for_one_click(database, smtp_server, tmp_path):
    settings = office(tmp_path, smtp_server.port)
    reference, _referral_id, sent = referred(database, settings)
    with database.session() as session:
        directory.add_organisation(session, DWP_NAME, auto_chase=False)
    env = settings_env(settings, database.url)
    # When the deadline passes, the chase is prepared but not sent
    result = chase_due(database, settings, sent + 21 * DAY + timedelta(minutes=1))
    assert "1 queued for approval" in result.output and chases(smtp_server) == []
    follow_up = follow_up_of(database, reference)
    [attempt] = attempts_of(database, follow_up.id)
    assert (follow_up.status, attempt.state) == (HELD, AWAITING_APPROVAL)
    # And the sweep does not prepare it twice
    chase_due(database, settings, sent + 22 * DAY)
    assert len(attempts_of(database, follow_up.id)) == 1
    # When a caseworker approves it from the list
    listed = CliRunner().invoke(main, ["chases", "list"], env=env)
    assert f"{attempt.id:>6}  {reference}" in listed.output
    approved = CliRunner().invoke(
        main, ["chases", "approve", str(attempt.id), "--by", "amy"], env=env
    )
    assert approved.exit_code == 0, approved.output
    # Then it goes, once
    assert len(chases(smtp_server)) == 1
    assert follow_up_of(database, reference).status == CHASED
    again = CliRunner().invoke(main, ["chases", "approve", str(attempt.id)], env=env)
    assert again.exit_code == 2 and "nothing to approve" in again.output
    assert len(chases(smtp_server)) == 1


def test_old_sent_mail_read_late_never_chases_by_itself(database, smtp_server, tmp_path):
    settings = office(tmp_path, smtp_server.port)
    pipeline = Pipeline(settings)
    reference = constituent_writes(database, pipeline)
    # Given Mailbag reads, today, a caseworker's email to the DWP from five weeks ago
    raw = make_message(
        sender=f"Casework <{OFFICE}>",
        to=DWP,
        subject=f"Universal Credit [{reference}]",
        body="Please could you look into this claim.\n",
        date=utcnow() - 35 * DAY,
    )
    assert feed(database, pipeline, raw, folder="Sent").status == "stored"
    follow_up = follow_up_of(database, reference)
    assert follow_up.needs_approval and follow_up.due_at < utcnow()
    # When the sweep runs: the DWP is chased automatically, but this chase waits for a person
    result = chase_due(database, settings, utcnow())
    assert "1 queued for approval" in result.output and chases(smtp_server) == []


def test_a_chase_reserved_by_a_worker_that_died_is_sent_once_later(database, smtp_server, tmp_path):
    settings = office(tmp_path, smtp_server.port)
    reference, _referral_id, sent = referred(database, settings)
    due = sent + 21 * DAY + timedelta(minutes=1)
    # Given a sweep reserved the chase and its worker died before sending anything
    counts = sweep.run(database, settings, now=due, dispatch=lambda _attempt: None)
    assert counts.dispatched == 1 and chases(smtp_server) == []
    # When sweeps run before and after the reservation is looked at again
    chase_due(database, settings, due + timedelta(minutes=5))
    assert chases(smtp_server) == []
    chase_due(database, settings, due + RECHECK + timedelta(minutes=1))
    chase_due(database, settings, due + RECHECK + timedelta(minutes=6))
    # Then the same attempt went, exactly once
    assert len(chases(smtp_server)) == 1
    [attempt] = attempts_of(database, follow_up_of(database, reference).id)
    assert attempt.state == SENT


def test_with_the_smtp_server_down_the_chase_is_tried_again_later_once(
    database, smtp_server, tmp_path
):
    settings = office(tmp_path, smtp_server.port)
    reference, _referral_id, sent = referred(database, settings)
    due = sent + 21 * DAY + timedelta(minutes=1)
    # When the chase falls due while the SMTP server is down
    result = chase_due(database, office(tmp_path, free_port()), due)
    assert "1 failed" in result.output and result.exit_code == 2
    follow_up = follow_up_of(database, reference)
    [attempt] = attempts_of(database, follow_up.id)
    assert (follow_up.status, attempt.state, attempt.permanent) == (OPEN, FAILED, False)
    # Then the sweeps leave it a while, try the same attempt again, and it goes once
    chase_due(database, settings, due + timedelta(minutes=10))
    assert chases(smtp_server) == []
    chase_due(database, settings, due + RETRY_AFTER + timedelta(minutes=1))
    chase_due(database, settings, due + RETRY_AFTER + timedelta(minutes=7))
    assert len(chases(smtp_server)) == 1
    assert [a.state for a in attempts_of(database, follow_up.id)] == [SENT]


def test_each_due_follow_up_fails_on_its_own(database, smtp_server, tmp_path):
    settings = office(tmp_path, smtp_server.port)
    pipeline = Pipeline(settings)
    broken = constituent_writes(database, pipeline, who="amy")
    fine = constituent_writes(database, pipeline, who="bob")
    refer(database, settings, broken)
    refer(database, settings, fine)
    # Given the constituent's name on one case has been lost: its chase cannot be written
    with database.session() as session:
        person = cases.get(session, broken).constituent
        assert isinstance(person, Constituent)
        person.name = ""
    # When both fall due
    result = chase_due(database, settings, utcnow() + 21 * DAY + timedelta(minutes=1))
    # Then the good one went and the broken one waits for staff with the reason on the case
    assert "1 sent" in result.output and "1 failed" in result.output
    assert len(chases(smtp_server)) == 1
    assert follow_up_of(database, fine).status == CHASED
    assert follow_up_of(database, broken).status == HELD
    assert any(
        "not sent" in line and "name is not on record" in line
        for line in timeline(database, broken)
    )


def test_a_clash_on_the_attempt_constraint_holds_up_only_its_own_row(
    database, smtp_server, tmp_path
):
    settings = office(tmp_path, smtp_server.port)
    pipeline = Pipeline(settings)
    clashing = constituent_writes(database, pipeline, who="amy")
    fine = constituent_writes(database, pipeline, who="bob")
    refer(database, settings, clashing)
    refer(database, settings, fine)
    # Given an attempt row already holds the number the next chase of one case would take
    follow_up = follow_up_of(database, clashing)
    with database.session() as session:
        session.add(
            ChaseAttempt(
                follow_up_id=follow_up.id,
                attempt_number=1,
                state=SENT,
                template="chase_first",
                reserved_at=utcnow(),
            )
        )
    # When both fall due in the same sweep
    counts = sweep.run(database, settings, now=utcnow() + 21 * DAY + timedelta(minutes=1))
    # Then the constraint refuses the clashing one alone; the other case is chased
    assert (counts.processed, counts.sent, counts.skipped) == (2, 1, 1)
    [chase] = chases(smtp_server)
    assert chase["Subject"].endswith(f"[{fine}]")
    assert follow_up_of(database, clashing).attempts_reserved == 0


# -- real workers, real Redis ----------------------------------------------------------


def _fell_due(database: Database, reference: str) -> None:
    """The 21 days have passed (real workers sweep at the real time)."""
    follow_up = follow_up_of(database, reference)
    with database.session() as session:
        session.execute(
            update(FollowUp)
            .where(FollowUp.id == follow_up.id)
            .values(due_at=utcnow() - timedelta(minutes=1))
        )


def test_after_redis_is_flushed_the_scheduled_sweep_still_chases(
    database,
    smtp_server,
    tmp_path,
    redis_space: RedisSpace,  # noqa: F811
):
    settings = office(tmp_path, smtp_server.port)
    reference, _referral_id, _sent = referred(database, settings)
    env = settings_env(settings, database.url, redis_space, MAILBAG_SWEEP_MINUTES="60")
    # Given workers were running when the referral went, then Redis lost everything
    with Process("worker", env, tmp_path / "worker-1.log", "--threads", "2") as worker:
        worker.wait_ready()
        # "ready for action" is logged before the worker's first word to Redis
        wait_until(redis_space.workers_seen, "the worker's heartbeat in Redis")
    assert redis_space.flush() > 0
    _fell_due(database, reference)
    # When the workers and the scheduler start again
    with (
        Process("worker", env, tmp_path / "worker-2.log", "--threads", "2"),
        Process("scheduler", env, tmp_path / "scheduler.log"),
    ):
        wait_until(lambda: len(chases(smtp_server)) == 1, "the chase at the SMTP server")
        wait_until(redis_space.drained, "the workers to finish")
    # Then the chase went, once
    assert len(chases(smtp_server)) == 1
    assert follow_up_of(database, reference).status == CHASED


def _attempt_state(database: Database, reference: str) -> str:
    [attempt] = attempts_of(database, follow_up_of(database, reference).id)
    return attempt.state


def test_a_worker_killed_mid_send_then_restarted_sends_no_second_chase(
    database,
    smtp_server,
    tmp_path,
    redis_space: RedisSpace,  # noqa: F811
):
    settings = office(tmp_path, smtp_server.port)
    reference, _referral_id, sent = referred(database, settings)
    due = sent + 21 * DAY + timedelta(minutes=1)
    with HangingSmtp() as hanging:
        # Given a worker is stuck in the SMTP conversation: the server holds the whole chase
        # and has not answered DATA (nor will it, however long the worker waits)
        env = settings_env(
            settings,
            database.url,
            redis_space,
            MAILBAG_SMTP_PORT=str(hanging.port),
            MAILBAG_SMTP_TIMEOUT="600",
        )
        first = Process("worker", env, tmp_path / "worker-1.log", "--threads", "2")
        redis_space.sweep_at(due)
        wait_until(lambda: len(hanging.received) == 1, "the chase to reach the SMTP server")
        assert _attempt_state(database, reference) == RESERVED
        # When the worker is killed there and then, and a worker starts again
        dead = redis_space.workers_seen()
        first.kill()
        env = settings_env(settings, database.url, redis_space)
        with Process("worker", env, tmp_path / "worker-2.log", "--threads", "2"):
            # And the sweep runs once the reservation is due to be looked at again, and later
            redis_space.sweep_at(due + RECHECK + timedelta(minutes=5))
            wait_until(
                lambda: _attempt_state(database, reference) == UNKNOWN,
                "the interrupted chase to be settled",
            )
            wait_until(lambda: redis_space.drained(dead), "the workers to finish")
            redis_space.sweep_at(due + RECHECK + timedelta(hours=1))
            wait_until(lambda: redis_space.drained(dead), "the workers to finish")
    # Then exactly one chase reached an SMTP server, and the doubt is put to staff on the case
    # (the README: an ambiguous send is never resent automatically)
    assert len(hanging.received) == 1 and chases(smtp_server) == []
    follow_up = follow_up_of(database, reference)
    [attempt] = attempts_of(database, follow_up.id)
    assert (follow_up.status, attempt.state, follow_up.chases_sent) == (HELD, UNKNOWN, 0)
    assert any("may or may not have arrived" in line for line in timeline(database, reference))
    env = settings_env(settings, database.url)
    listed = CliRunner().invoke(main, ["chases", "list"], env=env)
    assert f"{attempt.id:>6}  {reference}" in listed.output and UNKNOWN in listed.output
    # And no one can start a new chase round it until it is settled
    extend = ["followups", "extend", str(follow_up.id), "--days", "7", "--reason", "wait"]
    refused = CliRunner().invoke(main, extend, env=env)
    assert refused.exit_code == 2 and "may have been sent: settle it first" in refused.output
    # When staff confirm the DWP got it, the follow-up carries on to the second chase
    resolved = CliRunner().invoke(
        main, ["chases", "resolve", str(attempt.id), "--sent", "--by", "amy"], env=env
    )
    assert resolved.exit_code == 0, resolved.output
    follow_up = follow_up_of(database, reference)
    assert (follow_up.status, follow_up.chases_sent) == (CHASED, 1)
    assert chases(smtp_server) == []


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Database]:
    """PostgreSQL only: where several worker processes share one database in production."""
    yield from databases.postgres_database(postgres_url)


@contextmanager
def _rows_locked(database: Database) -> Iterator[None]:
    """Every follow-up row locked (FOR UPDATE) until the block ends."""
    with database.engine.connect() as connection, connection.begin():
        connection.execute(select(FollowUp.id).with_for_update()).all()
        yield


def _waiting_on_a_lock(database: Database) -> set[str]:
    """The application names of this database's sessions that wait for a row lock."""
    query = text(
        "SELECT DISTINCT application_name FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with database.engine.connect() as connection:
        return set(connection.scalars(query))


def test_sweeps_in_two_worker_processes_at_once_send_each_chase_once(
    postgres,
    smtp_server,
    tmp_path,
    redis_space: RedisSpace,  # noqa: F811
):
    database = postgres
    settings = office(tmp_path, smtp_server.port)
    pipeline = Pipeline(settings)
    references = [constituent_writes(database, pipeline, who=w) for w in ("amy", "bob", "cat")]
    for reference in references:
        refer(database, settings, reference)
    due = utcnow() + 21 * DAY + timedelta(minutes=1)
    # Given two worker processes, two threads each, each taking two messages at a time (so
    # neither can take every sweep), named in PostgreSQL so their waits can be seen
    workers = []
    for name in ("worker-1", "worker-2"):
        url = f"{database.url}?application_name={name}"
        env = settings_env(settings, url, redis_space, dramatiq_queue_prefetch="2")
        workers.append(Process("worker", env, tmp_path / f"{name}.log", "--threads", "2"))
    for worker in workers:
        worker.wait_ready()
    # When eight sweeps are sent while the due rows are locked, so that sweeps in both
    # processes reach the claim and wait there, and then all go at the same moment
    with _rows_locked(database):
        for _ in range(8):
            redis_space.sweep_at(due)
        wait_until(
            lambda: _waiting_on_a_lock(database) == {"worker-1", "worker-2"},
            "sweeps in both workers to wait for the same rows",
        )
    wait_until(lambda: len(chases(smtp_server)) >= 3, "three chases")
    wait_until(redis_space.drained, "the workers to finish")
    for worker in workers:
        worker.stop()
    # Then each case's chase arrived exactly once
    arrived = sorted(m["Subject"].rsplit("[", 1)[1].rstrip("]") for m in chases(smtp_server))
    assert arrived == sorted(references)
    for reference in references:
        assert [a.state for a in attempts_of(database, follow_up_of(database, reference).id)] == [
            SENT
        ]


def test_without_redis_the_same_actors_run_in_process(database, smtp_server, tmp_path):
    settings = office(tmp_path, smtp_server.port)
    reference, _referral_id, _sent = referred(database, settings)
    _fell_due(database, reference)
    broker = brokers.install(settings)
    assert brokers.in_process(broker)
    runtime.use(settings, database)
    stop = threading.Event()
    # When the scheduler runs embedded (the in-process broker and worker)
    thread = threading.Thread(target=schedules.run, args=(settings, stop), daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(chases(smtp_server)) == 1, "the chase at the SMTP server")
    finally:
        stop.set()
        thread.join(timeout=20)
    # Then the chase went through the same sweep and send actors
    assert follow_up_of(database, reference).status == CHASED
    assert follow_up_of(database, reference).chases_sent == 1

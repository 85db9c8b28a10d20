"""Chasing: the sweep, real dramatiq workers on a real Redis, a real SMTP server.

Time travels through `mailbag chase --due --now` (and the `now` a sweep message carries);
the workers are `mailbag worker` processes; nothing here is a stand-in for our own code.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from crm import cases
from crm.db import Database
from crm.followups import sweep
from crm.followups.chasing import RECHECK, RETRY_AFTER
from crm.followups.models import (
    AWAITING_APPROVAL,
    CHASED,
    ESCALATED,
    FAILED,
    HELD,
    OPEN,
    SATISFIED,
    SENT,
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
    Process,
    clean_redis,  # noqa: F401 - a fixture
    queue_drained,
    settings_env,
    sweep_at,
    wait_until,
)

DAY = timedelta(days=1)


def office(tmp_path, port: int) -> Settings:
    return office_settings(tmp_path, port, auto_acknowledge=False)


def chase_due(database: Database, settings: Settings, now: datetime) -> Result:
    """`mailbag chase --due --now ...`, as cron (or a test that travels in time) runs it."""
    env = settings_env(settings, database.url)
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
    clean_redis,  # noqa: F811
):
    settings = office(tmp_path, smtp_server.port)
    reference, _referral_id, _sent = referred(database, settings)
    env = settings_env(settings, database.url, MAILBAG_SWEEP_MINUTES="60")
    # Given workers were running when the referral went, then Redis lost everything
    with Process("worker", env, tmp_path / "worker-1.log", "--threads", "2") as worker:
        worker.wait_ready()
    clean_redis.flushdb()
    _fell_due(database, reference)
    # When the workers and the scheduler start again
    with (
        Process("worker", env, tmp_path / "worker-2.log", "--threads", "2"),
        Process("scheduler", env, tmp_path / "scheduler.log"),
    ):
        wait_until(lambda: len(chases(smtp_server)) == 1, "the chase at the SMTP server")
        wait_until(lambda: queue_drained(clean_redis), "the workers to finish")
    # Then the chase went, once
    assert len(chases(smtp_server)) == 1
    assert follow_up_of(database, reference).status == CHASED


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Database]:
    """PostgreSQL only: where several worker processes share one database in production."""
    yield from databases.postgres_database(postgres_url)


def test_sweeps_in_two_worker_processes_at_once_send_each_chase_once(
    postgres,
    smtp_server,
    tmp_path,
    clean_redis,  # noqa: F811
):
    database = postgres
    settings = office(tmp_path, smtp_server.port)
    pipeline = Pipeline(settings)
    references = [constituent_writes(database, pipeline, who=w) for w in ("amy", "bob", "cat")]
    for reference in references:
        refer(database, settings, reference)
    due = utcnow() + 21 * DAY + timedelta(minutes=1)
    env = settings_env(settings, database.url)
    # Given two worker processes, four threads each
    with (
        Process("worker", env, tmp_path / "worker-1.log", "--threads", "4") as one,
        Process("worker", env, tmp_path / "worker-2.log", "--threads", "4") as two,
    ):
        one.wait_ready()
        two.wait_ready()
        # When eight sweeps are sent at once
        for _ in range(8):
            sweep_at(due)
        wait_until(lambda: len(chases(smtp_server)) >= 3, "three chases")
        wait_until(lambda: queue_drained(clean_redis), "the workers to finish")
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

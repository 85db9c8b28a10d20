"""The weekly email goes once per week: a second scheduler, a restarted one or a retried job
finds the week sent (or being sent) in the database and sends nothing."""

from __future__ import annotations

import dataclasses
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.db import Database
from crm.outgoing.smtp import SendError
from crm.reports import once
from crm.reports.delivery import email_weekly_review
from crm.reports.models import FAILED, SENDING, SENT, WeeklyReportSent
from crm.settings import Settings
from crm.types import utcnow
from crm.workers import runtime
from tests.support.smtp import SmtpServer, free_port
from tests.support.smtp_fixtures import office_settings

MANAGER = "manager@office.example.org.uk"
WEEK = date(2026, 11, 15)


@pytest.fixture
def settings(tmp_path: Path, smtp_server: SmtpServer) -> Settings:
    return office_settings(tmp_path, smtp_server.port, report_recipients=(MANAGER,))


def send(settings: Settings, database: Database, week: date = WEEK) -> None:
    """What a worker does with the scheduler's message for the week."""
    from crm.reports import periodic

    runtime.use(settings, database)
    periodic.send_weekly_report(week.isoformat())


def reviews(server: SmtpServer) -> list[str]:
    return [r.message()["Subject"] for r in server.received]


def state_of(database: Database, week: date) -> str | None:
    with database.session() as session:
        return session.scalar(
            select(WeeklyReportSent.state).where(WeeklyReportSent.week_ending == week)
        )


def test_a_week_is_emailed_once_however_often_the_job_runs(database, settings, smtp_server):
    # When the job for the week runs, then runs again (a restarted scheduler, a retry)
    send(settings, database)
    send(settings, database)
    # Then the week went once, and is recorded as sent
    assert reviews(smtp_server) == ["Weekly review: week ending Sun 15 Nov 2026"]
    assert state_of(database, WEEK) == SENT
    assert once.last_sent(database) == WEEK
    # and the next week is a week of its own
    send(settings, database, WEEK + timedelta(days=7))
    assert len(reviews(smtp_server)) == 2


def test_two_schedulers_at_the_same_moment_send_one_email(database, settings, smtp_server):
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def scheduler() -> None:
        start.wait()
        try:
            send(settings, database)
        except once.ReportInProgress as error:  # the job is retried later, and finds it sent
            errors.append(error)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(reviews(smtp_server)) == 1
    assert len(errors) <= 1
    send(settings, database)  # the retry of the one that found it in progress
    assert len(reviews(smtp_server)) == 1


def test_a_failed_send_is_tried_again_and_a_stale_claim_taken_over(database, settings, smtp_server):
    # Given the SMTP server is unreachable when the job first runs
    down = dataclasses.replace(settings, smtp_port=free_port())
    with pytest.raises(SendError):
        send(down, database)
    assert state_of(database, WEEK) == FAILED and reviews(smtp_server) == []
    # When the job is retried with the server back, the week goes
    send(settings, database)
    assert len(reviews(smtp_server)) == 1
    # A claim left by a worker that died long ago is taken over (at least once, never none)
    later = WEEK + timedelta(days=7)
    with database.session() as session:
        session.add(
            WeeklyReportSent(
                week_ending=later, state=SENDING, claimed_at=utcnow() - timedelta(hours=2)
            )
        )
    send(settings, database, later)
    assert len(reviews(smtp_server)) == 2 and state_of(database, later) == SENT
    # while a fresh claim means another process is sending it: not now, later
    fresh = WEEK - timedelta(days=7)
    with database.session() as session:
        session.add(WeeklyReportSent(week_ending=fresh, state=SENDING, claimed_at=utcnow()))
    with pytest.raises(once.ReportInProgress):
        send(settings, database, fresh)
    assert len(reviews(smtp_server)) == 2


def test_a_review_sent_by_hand_is_not_sent_again_by_the_job(database, settings, smtp_server):
    email_weekly_review(database, settings, week_ending=WEEK)
    send(settings, database)
    assert len(reviews(smtp_server)) == 1 and state_of(database, WEEK) == SENT

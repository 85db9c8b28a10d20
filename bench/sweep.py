"""Benchmark: one chase sweep over 100,000 open follow-ups of which 1% are due.

Measures the sweep's selection (the indexed query on due_at) and its scheduling (the
claim, the attempt row under its unique constraint, the timeline note), on SQLite and
PostgreSQL, beside two baselines measured in the same run on the same table: a bare
`SELECT count(*)` and a bare indexed SELECT of the due ids. The due follow-ups belong to
bodies whose chases wait for approval, so no SMTP conversation is timed.

    .venv/bin/python bench/sweep.py [--follow-ups 100000] [--due-share 0.01]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

import crm.schema  # noqa: E402, F401
from crm.db import Database  # noqa: E402
from crm.followups import sweep  # noqa: E402
from crm.followups.models import AWAITING_APPROVAL, SWEPT, ChaseAttempt, FollowUp  # noqa: E402
from crm.migrate import upgrade  # noqa: E402
from crm.models import Case  # noqa: E402
from crm.settings import Settings  # noqa: E402
from tests.support import databases  # noqa: E402

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CASES = 1000
CHUNK = 10_000
TARGET = 1.0


def populate(database: Database, total: int, due_share: float) -> int:
    """Cases, then follow-ups: every 1/share-th one due, the rest due over the next weeks."""
    every = round(1 / due_share)
    with database.session() as session:
        session.execute(
            insert(Case),
            [
                {"reference": f"MB-2026-{n:06d}", "subject": f"case {n}", "subject_key": ""}
                for n in range(1, CASES + 1)
            ],
        )
        case_ids = list(session.scalars(select(Case.id).order_by(Case.id)))
    due = 0
    for start in range(0, total, CHUNK):
        rows = []
        for n in range(start, min(start + CHUNK, total)):
            is_due = n % every == 0
            due += is_due
            opened = NOW - timedelta(days=30 if is_due else 5, minutes=n % 997)
            rows.append(
                {
                    "case_id": case_ids[n % CASES],
                    "party_key": f"domain:body{n}.gov.uk",  # one live follow-up per body
                    "party_address": f"enquiries@body{n}.gov.uk",
                    "opened_at": opened,
                    "recorded_at": opened,
                    "due_at": opened + timedelta(days=21),
                    "grace_days": 21,
                    "working_days": False,
                    "grace_source": "bench",
                    "status": "open",
                    "attempts_reserved": 0,
                    "chases_sent": 0,
                    "needs_approval": False,
                    "satisfied_reason": "",
                    "satisfied_by": "",
                    "extended_days": 0,
                    "extension_reason": "",
                    "updated_at": opened,
                }
            )
        with database.session() as session:
            session.execute(insert(FollowUp), rows)
    with database.engine.begin() as connection:
        if database.is_sqlite:
            connection.exec_driver_sql("ANALYZE")
        else:
            connection.exec_driver_sql("ANALYZE follow_ups")
    return due


def timed(action: Callable[[], object], repeat: int = 5) -> float:
    """The best of a few runs, in seconds (after one warm-up)."""
    action()
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def measure(label: str, database: Database, total: int, due_share: float) -> None:
    upgrade(database)
    due = populate(database, total, due_share)

    def count_all() -> object:
        with database.session() as session:
            return session.scalar(select(func.count()).select_from(FollowUp))

    def due_ids() -> object:
        with database.session() as session:
            return session.scalars(
                select(FollowUp.id).where(FollowUp.status.in_(SWEPT), FollowUp.due_at <= NOW)
            ).all()

    def selection() -> object:
        with database.session() as session:
            return sweep.due(session, NOW, sweep.BATCH)

    settings = Settings(
        data_dir=Path(tempfile.gettempdir()),
        smtp_host="127.0.0.1",
        from_address="Office <casework@office.example.org.uk>",
    )
    count_time, ids_time, select_time = timed(count_all), timed(due_ids), timed(selection)
    started = time.perf_counter()
    counts = sweep.run(database, settings, now=NOW)
    sweep_time = time.perf_counter() - started
    with database.session() as session:
        waiting = session.scalar(
            select(func.count())
            .select_from(ChaseAttempt)
            .where(ChaseAttempt.state == AWAITING_APPROVAL)
        )
    assert counts.queued_for_approval == due == waiting, (counts.describe(), due, waiting)
    verdict = "under" if sweep_time < TARGET else "OVER"
    print(f"{label}: {total:,} open follow-ups, {due:,} due")
    print(f"  baseline: SELECT count(*) over the table         {count_time * 1000:8.1f} ms")
    print(f"  baseline: bare indexed SELECT of the due ids      {ids_time * 1000:8.1f} ms")
    print(
        f"  sweep selection, first batch of {sweep.BATCH} (joins)      {select_time * 1000:8.1f} ms"
    )
    print(
        f"  whole sweep: select + claim + reserve {due:,}         {sweep_time * 1000:8.1f} ms"
        f"  ({verdict} the {TARGET:.0f} s target)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--follow-ups", type=int, default=100_000)
    parser.add_argument("--due-share", type=float, default=0.01)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mailbag-bench-sweep-"))
    sqlite = Database(f"sqlite:///{work / 'sweep.sqlite3'}")
    try:
        measure("SQLite", sqlite, args.follow_ups, args.due_share)
    finally:
        sqlite.dispose()
    url = databases.create_postgres_database()
    postgres = Database(url)
    try:
        measure("PostgreSQL", postgres, args.follow_ups, args.due_share)
    finally:
        postgres.dispose()
        databases.drop_postgres_database(url)


if __name__ == "__main__":
    main()

"""Benchmark: the weekly review workbook for an office with 100,000 cases, beside a baseline.

The office: cases opened over two years, nearly all still open (the worst case for the Cases
sheet: a row each), four tags each, two messages each, a fifth waiting on a third party with
chases sent. The baseline, measured in the same run, writes the same number of rows of the
same fifteen kinds of plain values with openpyxl in write-only mode and no queries at all:
the cost of the file itself. Each measurement runs in its own process, so its peak resident
memory (VmHWM, interpreter and imports included) is its own.
Target: the workbook in under 15 seconds and under 300 MB.

    .venv/bin/python bench/weekly_report.py [--cases 100000] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402
from openpyxl.cell import WriteOnlyCell  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from crm.db import Database  # noqa: E402
from crm.followups.models import CHASED, OPEN, SATISFIED, SENT, ChaseAttempt, FollowUp  # noqa: E402
from crm.migrate import upgrade  # noqa: E402
from crm.models import Blob, Case, Constituent, ConstituentEmail, Message  # noqa: E402
from crm.outgoing.directory import seed_directory  # noqa: E402
from crm.outgoing.models import Organisation  # noqa: E402
from crm.reports.make import make_workbook  # noqa: E402
from crm.reports.period import london_midnight  # noqa: E402
from crm.settings import Settings  # noqa: E402
from crm.tags.models import CaseTag, TagValue  # noqa: E402
from crm.tags.seed import ensure_seeded  # noqa: E402
from crm.users.models import CASEWORKER, User  # noqa: E402
from tagging.axes import AXES, Axis  # noqa: E402
from tests.support import databases  # noqa: E402

CHUNK = 10_000
WEEKS = 104
SUBJECTS = (
    "Damp and mould in my flat",
    "Universal Credit stopped without warning",
    "Visa application delayed for eight months",
    "PIP assessment appeal",
    "Pothole outside number 12",
    "Council tax bailiffs",
    '=HYPERLINK("http://x","y")',
    "School transport for my son",
)


def week_ending() -> date:
    """The last Sunday before today: a week that has ended."""
    today = datetime.now(UTC).date()
    return today - timedelta(days=today.weekday() + 1)


def populate(database: Database, cases: int, seed: int = 7) -> None:
    """Bulk inserts in chunks: a realistic office in seconds rather than hours."""
    rng = random.Random(seed)
    end = london_midnight(week_ending() + timedelta(days=1))
    with database.session() as session:
        ensure_seeded(session)
        seed_directory(session)
        users = [
            User(
                email=f"cw{n}@office.example",
                name=f"Caseworker {n}",
                role=CASEWORKER,
                password_hash="x",
            )
            for n in range(8)
        ]
        session.add_all(users)
        data = b"bench"
        session.add(Blob(sha256="0" * 64, size=len(data), data=data))
        session.flush()
        owners = [u.id for u in users] + [None]
        tags = _tag_ids(session)
        orgs = list(session.scalars(select(Organisation.id)))
    for start in range(0, cases, CHUNK):
        count = min(CHUNK, cases - start)
        with database.session() as session:
            _chunk(session, rng, start, count, end, owners, tags, orgs)


def _tag_ids(session: Any) -> dict[Axis, list[int]]:
    found: dict[Axis, list[int]] = {axis: [] for axis in AXES}
    for tag_id, axis, parent_id in session.execute(
        select(TagValue.id, TagValue.axis, TagValue.parent_id)
    ):
        if axis is not Axis.ISSUE or parent_id is not None:
            found[axis].append(tag_id)
    return found


def _chunk(
    session: Any,
    rng: random.Random,
    start: int,
    count: int,
    end: datetime,
    owners: list[int | None],
    tags: dict[Axis, list[int]],
    orgs: list[int],
) -> None:
    numbers = range(start + 1, start + count + 1)
    people = (
        session.execute(
            insert(Constituent).returning(Constituent.id, sort_by_parameter_order=True),
            [{"name": f"Constituent {n}", "postcode": "EX1 2AB"} for n in numbers],
        )
        .scalars()
        .all()
    )
    session.execute(
        insert(ConstituentEmail),
        [
            {"email": f"c{n}@example.com", "constituent_id": p}
            for n, p in zip(numbers, people, strict=True)
        ],
    )
    rows = []
    for n, person in zip(numbers, people, strict=True):
        opened = end - timedelta(minutes=rng.randrange(WEEKS * 7 * 24 * 60))
        closed = opened + timedelta(days=rng.randrange(1, 60)) if rng.random() < 0.05 else None
        subject = rng.choice(SUBJECTS)
        rows.append(
            {
                "reference": f"MB-{opened.year}-{n:07d}",
                "subject": subject,
                "subject_key": subject.lower(),
                "status": "closed" if closed else "open",
                "constituent_id": person,
                "opened_at": opened,
                "last_activity_at": opened + timedelta(days=1),
                "closed_at": closed,
                "owner_id": rng.choice(owners),
            }
        )
    case_ids = (
        session.execute(insert(Case).returning(Case.id, sort_by_parameter_order=True), rows)
        .scalars()
        .all()
    )
    _tags_and_messages(session, rng, case_ids, rows, tags)
    _follow_ups(session, rng, case_ids, rows, orgs, end)


def _tags_and_messages(
    session: Any,
    rng: random.Random,
    case_ids: list[int],
    rows: list[dict[str, Any]],
    tags: dict[Axis, list[int]],
) -> None:
    case_tags, messages = [], []
    for case_id, row in zip(case_ids, rows, strict=True):
        for axis in AXES:
            case_tags.append(
                {
                    "case_id": case_id,
                    "tag_id": rng.choice(tags[axis]),
                    "axis": axis,
                    "slot": axis,
                    "source": "rule",
                    "tagged_at": row["opened_at"],
                }
            )
        for m in range(2):
            messages.append(
                {
                    "dedupe_key": f"{row['reference']}/{m}",
                    "blob_sha256": "0" * 64,
                    "direction": "in",
                    "kind": "constituent",
                    "case_id": case_id,
                    "subject": row["subject"],
                    "received_at": row["opened_at"],
                }
            )
    session.execute(insert(CaseTag), case_tags)
    session.execute(insert(Message), messages)


def _follow_ups(
    session: Any,
    rng: random.Random,
    case_ids: list[int],
    rows: list[dict[str, Any]],
    orgs: list[int],
    end: datetime,
) -> None:
    follow_ups = []
    for case_id, row in zip(case_ids, rows, strict=True):
        if rng.random() >= 0.2:
            continue
        opened = row["opened_at"] + timedelta(days=2)
        answered = rng.random() < 0.5 and opened + timedelta(days=30) < end
        follow_ups.append(
            {
                "case_id": case_id,
                "organisation_id": rng.choice(orgs),
                "party_key": "org:bench",
                "party_address": "x@example.gov.uk",
                "opened_at": opened,
                "due_at": opened + timedelta(days=21),
                "grace_days": 21,
                "status": SATISFIED if answered else (CHASED if rng.random() < 0.3 else OPEN),
                "satisfied_at": opened + timedelta(days=rng.randrange(3, 30)) if answered else None,
            }
        )
    if not follow_ups:
        return
    ids = session.execute(
        insert(FollowUp).returning(
            FollowUp.id, FollowUp.status, FollowUp.due_at, sort_by_parameter_order=True
        ),
        follow_ups,
    ).all()
    chases = [
        {
            "follow_up_id": fid,
            "attempt_number": 1,
            "state": SENT,
            "template": "chase_first",
            "reserved_at": due,
            "sent_at": due,
        }
        for fid, status, due in ids
        if status == CHASED
    ]
    if chases:
        session.execute(insert(ChaseAttempt), chases)


def child_report(url: str, out: str) -> dict[str, Any]:
    database = Database(url)
    started = time.perf_counter()
    made = make_workbook(database, Settings(), out, week_ending=week_ending())
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": made.written.cases}


def child_baseline(rows: int, out: str) -> dict[str, Any]:
    """The same number of rows of the same kinds of values, no database at all."""
    started = time.perf_counter()
    book = Workbook(write_only=True)
    ws = book.create_sheet("Cases")
    ws.append([f"Column {n}" for n in range(15)])
    base = datetime(2026, 1, 1)
    for n in range(rows):
        moment = base + timedelta(minutes=n)
        opened, activity, due = (WriteOnlyCell(ws, value=moment) for _ in range(3))
        for cell in (opened, activity, due):
            cell.number_format = "dd/mm/yyyy hh:mm"
        ws.append(
            [
                f"MB-2026-{n:07d}",
                "open",
                f"Constituent {n}",
                f"c{n}@example.com",
                SUBJECTS[n % len(SUBJECTS)].lstrip("="),
                opened,
                activity,
                "Housing › Damp and mould",
                "normal",
                "standard",
                "office can resolve",
                "Caseworker 3",
                2,
                "Department for Work and Pensions",
                due,
            ]
        )
    book.save(out)
    return {"seconds": time.perf_counter() - started, "rows": rows}


def measure(*args: str) -> dict[str, Any]:
    """Run one measurement in a fresh process; its peak memory is its own."""
    output = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def peak_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the running program alone:
    ru_maxrss would carry over the parent's, which forked this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(args: list[str]) -> None:
    kind, target, out = args
    result = child_report(target, out) if kind == "report" else child_baseline(int(target), out)
    result["peak_mb"] = peak_mb()
    result["bytes"] = Path(out).stat().st_size
    print(json.dumps(result))


def bench(label: str, url: str, cases: int, directory: Path) -> None:
    database = Database(url)
    upgrade(database)
    started = time.perf_counter()
    populate(database, cases)
    database.dispose()
    print(f"{label}: {cases} cases generated in {time.perf_counter() - started:.1f} s")
    report = measure("report", url, str(directory / f"{label}.xlsx"))
    baseline = measure("baseline", str(report["rows"]), str(directory / "baseline.xlsx"))
    for name, figures in (("weekly review workbook", report), ("baseline: rows only", baseline)):
        print(
            f"  {name:24} {figures['seconds']:6.1f} s  peak {figures['peak_mb']:5.0f} MB  "
            f"{figures['rows']} case rows  {figures['bytes'] / 1e6:.1f} MB file"
        )
    print(
        f"  ratio {report['seconds'] / baseline['seconds']:.2f}x the baseline's time "
        "(target: under 15 s and 300 MB)"
    )


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        run_child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL too.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        bench("sqlite", f"sqlite:///{directory / 'bench.sqlite3'}", args.cases, directory)
        if args.postgres:
            url = databases.create_postgres_database()
            try:
                bench("postgresql", url, args.cases, directory)
            finally:
                databases.drop_postgres_database(url)


if __name__ == "__main__":
    main()

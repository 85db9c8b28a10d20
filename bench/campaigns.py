"""Benchmark: campaign detection per message with 200,000 letters already stored, beside the
same ingest pipeline without the campaign step, on SQLite and PostgreSQL.

The stored letters are written straight into the signature and band tables (what the
campaign step would have stored for them): 25 campaigns of 2,000 copies (only the first 20
copies of each keep their bands, as at ingest; the others are never candidates, so they
reuse those copies' values), long casework letters from the message
generator, and unique letters of ordinary words for the rest. Then two equal sets of new
mail (a new campaign forming, copies of a stored campaign, ordinary casework) go through
the real pipeline: one set without the campaign step, one with it.

    .venv/bin/python bench/campaigns.py [--stored 200000] [--new 500]
"""

from __future__ import annotations

import argparse
import email
import email.policy
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import inbox.pipeline  # noqa: E402
from crm.campaigns import detect  # noqa: E402
from crm.campaigns.service import BANDED_PER_CAMPAIGN  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.migrate import upgrade  # noqa: E402
from crm.settings import Settings  # noqa: E402
from inbox.context import StepEnv  # noqa: E402
from inbox.message import MessageContext, Source  # noqa: E402
from inbox.pipeline import Pipeline  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.campaigngen import Letter, campaign_letters, mixed_mailbox  # noqa: E402
from tests.support.mailgen import OFFICE_ADDRESS, generate_messages  # noqa: E402

CAMPAIGNS, COPIES = 25, 2000
WRITTEN = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Stored:
    """One stored letter: its signature, and the campaign (index) it belongs to, if any."""

    fp: detect.Fingerprint
    campaign: int | None
    banded: bool


def body_text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(("plain", "html"))
    return part.get_content() if part is not None else ""  # type: ignore[union-attr]


def stored_letters(total: int, seed: int) -> Iterator[Stored]:
    """Campaign copies, long generated casework, then unique letters up to `total`."""
    rng = random.Random(seed)
    made = 0
    buses = campaign_letters(COPIES, seed=seed, campaign="buses")
    for index, letter in enumerate(buses):  # campaign 0: the one new copies will join
        fp = detect.fingerprint(body_text(letter.raw))
        if fp is not None:
            made += 1
            yield Stored(fp, 0, index < BANDED_PER_CAMPAIGN)
    vocabulary, weights = _vocabulary(seed)
    for campaign in range(1, CAMPAIGNS):
        template = _words(rng, vocabulary, weights, 180)
        banded: list[detect.Fingerprint] = []
        for index in range(COPIES):
            made += 1
            if index >= BANDED_PER_CAMPAIGN:  # never a candidate (no bands): any copy's values
                yield Stored(banded[index % len(banded)], campaign, False)
                continue
            own = _words(rng, vocabulary, weights, rng.choice((0, 12, 25)))
            fp = detect.fingerprint(" ".join(template + own))
            assert fp is not None
            banded.append(fp)
            yield Stored(fp, campaign, True)
    for raw in generate_messages(20_000, seed=seed):
        fp = detect.fingerprint(body_text(raw))
        if fp is not None and made < total:
            made += 1
            yield Stored(fp, None, True)
    while made < total:
        fp = detect.fingerprint(" ".join(_words(rng, vocabulary, weights, rng.randint(110, 300))))
        if fp is not None:
            made += 1
            yield Stored(fp, None, True)


def _vocabulary(seed: int) -> tuple[list[str], list[float]]:
    """Words as often as casework uses them (taken from generated casework)."""
    counts: Counter[str] = Counter()
    for raw in generate_messages(3000, seed=seed + 1):
        counts.update(body_text(raw).lower().split())
    ranked = [w for w, _ in counts.most_common() if w.isalpha()]
    return ranked, [1 / (rank + 1) for rank in range(len(ranked))]


def _words(rng: random.Random, vocabulary: list[str], weights: list[float], n: int) -> list[str]:
    return rng.choices(vocabulary, weights, k=n) if n else []


def populate(database: Database, letters: Sequence[Stored]) -> None:
    """Bulk rows: constituents, campaigns, signatures, bands and members."""
    now = datetime.now(UTC)
    campaign_rows = [
        (i + 1, f"Stored campaign {i}", "", 0, "active", COPIES, BANDED_PER_CAMPAIGN, now)
        for i in range(CAMPAIGNS)
    ]
    constituents = [(i + 1, f"Writer {i}", "", now) for i in range(len(letters))]
    signatures, bands, members = [], [], []
    for i, letter in enumerate(letters, start=1):
        campaign = letter.campaign + 1 if letter.campaign is not None else None
        signatures.append((i, f"bench:{i}", i, campaign, letter.fp.to_bytes(), letter.fp.words))
        if letter.banded:
            bands.extend((key, i) for key in set(letter.fp.band_keys()))
        if campaign is not None:
            members.append((i, campaign, i, i))
    tables = {
        "constituents (id, name, address, created_at)": constituents,
        "campaigns (id, name, template_text, template_from, status, members, banded, "
        "created_at)": campaign_rows,
        "campaign_signatures (id, message_key, constituent_id, campaign_id, minhash, words, "
        "written_at)": [(*row, WRITTEN) for row in signatures],
        "campaign_bands (band_key, signature_id)": bands,
        "campaign_members (id, campaign_id, signature_id, constituent_id, personal_text, "
        "personal_words, kept_as_case, kept_reason, folded_in, written_at, joined_at)": [
            (*row, "", 0, False, "", False, WRITTEN, now) for row in members
        ],
    }
    if database.is_sqlite:
        _sqlite_rows(database, tables)
    else:
        _postgres_rows(database, tables)


def _sqlite_rows(database: Database, tables: dict[str, list[tuple[object, ...]]]) -> None:
    raw = database.engine.raw_connection()
    cursor = raw.cursor()
    cursor.execute("BEGIN")
    for table, rows in tables.items():
        marks = ", ".join("?" * len(rows[0]))
        converted = [tuple(_sqlite_value(v) for v in row) for row in rows]
        cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", converted)
    cursor.execute("COMMIT")
    cursor.execute("ANALYZE")
    raw.close()


def _sqlite_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    return value


def _postgres_rows(database: Database, tables: dict[str, list[tuple[object, ...]]]) -> None:
    raw = database.engine.raw_connection()
    cursor = raw.cursor()
    for table, rows in tables.items():
        with cursor.copy(f"COPY {table} FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
    for table in ("constituents", "campaigns", "campaign_signatures", "campaign_members"):
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
        )
    raw.commit()
    cursor.execute("ANALYZE")
    raw.commit()
    raw.close()


def new_mail(seed: int, size: int) -> list[Letter]:
    """A new campaign forming, copies of the stored one, and ordinary casework."""
    fifth = size // 5
    mixed = mixed_mailbox({"libraries": fifth}, size - 2 * fifth, seed=seed)
    joining = campaign_letters(fifth, seed=seed + 50, campaign="buses")
    return mixed[: len(mixed) // 2] + joining + mixed[len(mixed) // 2 :]


def ingest_rate(
    database: Database, settings: Settings, mail: Sequence[Letter], detection: bool
) -> tuple[float, list[float]]:
    """Seconds per message through the pipeline, and each campaign step's own time."""
    step_times: list[float] = []
    steps = [
        (name, _timed(step, step_times) if name == "campaign" else step)
        for name, step in inbox.pipeline.STEPS
        if detection or name != "campaign"
    ]
    saved = inbox.pipeline.STEPS
    inbox.pipeline.STEPS = tuple(steps)
    try:
        pipeline = Pipeline(settings)
        started = time.perf_counter()
        for start in range(0, len(mail), 25):
            with database.session() as session:
                for n, letter in enumerate(mail[start : start + 25], start=start):
                    outcome = pipeline.process(session, letter.raw, Source("INBOX", 1, n + 1))
                    assert outcome.status == "stored", outcome.failure
        elapsed = time.perf_counter() - started
    finally:
        inbox.pipeline.STEPS = saved
    return elapsed / len(mail), step_times


def _timed(
    step: Callable[[MessageContext, StepEnv], None], into: list[float]
) -> Callable[[MessageContext, StepEnv], None]:
    def timed(ctx: MessageContext, env: StepEnv) -> None:
        started = time.perf_counter()
        step(ctx, env)
        into.append(time.perf_counter() - started)

    return timed


def measure(
    label: str, database: Database, letters: Sequence[Stored], args: argparse.Namespace
) -> None:
    upgrade(database)
    started = time.perf_counter()
    populate(database, letters)
    filled = time.perf_counter() - started
    settings = Settings(
        database_url=database.url,
        office_addresses=frozenset({OFFICE_ADDRESS}),
        constituency_postcodes=("EX1", "EX2", "EX3"),
    )
    warm = mixed_mailbox({}, 60, seed=99)
    ingest_rate(database, settings, warm, detection=True)
    withouts, withs, steps = [], [], []
    for round_seed in (11, 13):  # alternate, so neither side gets only the warmer database
        without, _ = ingest_rate(database, settings, new_mail(round_seed, args.new), False)
        with_step, times = ingest_rate(database, settings, new_mail(round_seed + 1, args.new), True)
        withouts.append(without)
        withs.append(with_step)
        steps.extend(times)
    without, with_step = statistics.mean(withouts), statistics.mean(withs)
    steps.sort()
    print(f"{label}: {len(letters):,} letters stored (bulk load {filled:.0f} s)")
    print(f"  ingest without the campaign step  {without * 1000:7.2f} ms per message")
    print(f"  ingest with the campaign step     {with_step * 1000:7.2f} ms per message")
    print(
        f"  campaign step alone               {statistics.mean(steps) * 1000:7.2f} ms mean, "
        f"{steps[int(len(steps) * 0.95)] * 1000:.2f} ms p95 "
        f"({statistics.mean(steps) / without:.0%} of a message without it)"
    )
    print(f"  added time per message            {(with_step - without) / without:7.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stored", type=int, default=200_000)
    parser.add_argument("--new", type=int, default=400, help="new messages per set")
    args = parser.parse_args()
    started = time.perf_counter()
    letters = list(stored_letters(args.stored, seed=1))
    print(f"{len(letters):,} stored signatures computed in {time.perf_counter() - started:.0f} s")
    work = Path(tempfile.mkdtemp(prefix="mailbag-bench-campaigns-"))
    sqlite = Database(f"sqlite:///{work / 'bench.sqlite3'}")
    measure("SQLite", sqlite, letters, args)
    sqlite.dispose()
    url = databases.create_postgres_database()
    try:
        postgres = Database(url)
        measure("PostgreSQL", postgres, letters, args)
        postgres.dispose()
    finally:
        databases.drop_postgres_database(url)


if __name__ == "__main__":
    main()

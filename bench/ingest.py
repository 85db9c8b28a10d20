"""Benchmark: IMAP ingest into SQLite and PostgreSQL beside the raw ceiling, and its memory.

The ceiling is a bare imapclient fetch (BODY.PEEK[] in batches) plus a mail-parser parse of
the same messages, storing nothing, measured in the same run on the same Dovecot.

    .venv/bin/python bench/ingest.py [--messages 2000] [--memory 1000,20000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mailparser  # noqa: E402
from imapclient import IMAPClient  # noqa: E402

from crm.db import Database  # noqa: E402
from crm.migrate import upgrade  # noqa: E402
from crm.settings import Settings  # noqa: E402
from inbox.ingest import Ingester  # noqa: E402
from inbox.pipeline import Pipeline  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.dovecot import Dovecot  # noqa: E402
from tests.support.mailgen import generate_messages  # noqa: E402

PASSWORD = "bench-password"


def ceiling(server: Dovecot, user: str, batch: int = 100) -> float:
    """Messages per second for fetch + parse alone."""
    started = time.perf_counter()
    client = IMAPClient(server.host, server.port, ssl=False)
    client.login(user, PASSWORD)
    client.select_folder("INBOX", readonly=True)
    uids = sorted(client.search(["ALL"]))
    for start in range(0, len(uids), batch):
        fetched = client.fetch(uids[start : start + batch], ["BODY.PEEK[]"])
        for data in fetched.values():
            mailparser.parse_from_bytes(data[b"BODY[]"])
    client.logout()
    return len(uids) / (time.perf_counter() - started)


def settings_for(host: str, port: int, user: str, url: str, data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=url,
        imap_host=host,
        imap_port=port,
        imap_user=user,
        imap_password=PASSWORD,
        imap_ssl=False,
        imap_folders=("INBOX",),
        office_addresses=frozenset({"casework@office.example.org.uk"}),
    )


def mailbag_rate(settings: Settings, n: int) -> float:
    database = Database(settings.database_url)
    upgrade(database)
    started = time.perf_counter()
    counts = Ingester(settings, database, Pipeline(settings)).run_once()
    elapsed = time.perf_counter() - started
    database.dispose()
    assert counts.total == n, counts.describe()
    return n / elapsed


def peak_memory_mb(server: Dovecot, user: str, workdir: Path) -> float:
    """Peak RSS of a separate process running one ingest of the user's whole INBOX."""
    url = f"sqlite:///{workdir / f'{user}.sqlite3'}"
    code = (
        "import json, resource, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from bench.ingest import mailbag_rate, settings_for\n"
        "from pathlib import Path\n"
        f"s = settings_for({server.host!r}, {server.port}, {user!r}, {url!r}, "
        f"Path({str(workdir)!r}))\n"
        "mailbag_rate(s, int(sys.argv[1]))\n"
        "peak = max(resource.getrusage(who).ru_maxrss\n"
        "           for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
        "print(json.dumps(peak / 1024))\n"
    )
    client = server.connect(user)
    client.select_folder("INBOX", readonly=True)
    count = len(client.search(["ALL"]))
    client.logout()
    out = subprocess.run(
        [sys.executable, "-c", code, str(count)], capture_output=True, text=True, check=True
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--memory", default="1000,20000", help="mailbox sizes for peak memory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mailbag-bench-"))
    work.chmod(0o755)  # Dovecot's own users must traverse it
    server = Dovecot(work / "dovecot")
    server.start()
    try:
        server.add_user("bench", PASSWORD)
        server.append_many("bench", "INBOX", generate_messages(args.messages, seed=1))
        first_ceiling = ceiling(server, "bench")
        sqlite_rate = mailbag_rate(
            settings_for(
                server.host, server.port, "bench", f"sqlite:///{work / 'bench.sqlite3'}", work
            ),
            args.messages,
        )
        pg_url = databases.create_postgres_database()
        try:
            pg_settings = settings_for(server.host, server.port, "bench", pg_url, work)
            pg_rate = mailbag_rate(pg_settings, args.messages)
        finally:
            databases.drop_postgres_database(pg_url)
        # Measured before and after ours, the faster taken: a busy moment never flatters us.
        raw_ceiling = max(first_ceiling, ceiling(server, "bench"))
        print(f"ingest of {args.messages} messages from Dovecot (messages per second)")
        print(f"  ceiling: imapclient fetch + mail-parser, nothing stored  {raw_ceiling:8.0f}")
        for label, rate in (("SQLite", sqlite_rate), ("PostgreSQL", pg_rate)):
            share = rate / raw_ceiling
            print(f"  mailbag ingest into {label:<11} {rate:8.0f}  ({share:.0%} of ceiling)")
        sizes = [int(s) for s in args.memory.split(",") if s]
        if sizes:
            print("peak memory of one `ingest --once` (SQLite), largest process, by mailbox size")
            for size in sizes:
                user = f"mem{size}"
                server.add_user(user, PASSWORD)
                server.append_many(user, "INBOX", generate_messages(size, seed=size))
                print(f"  {size:>6} messages: {peak_memory_mb(server, user, work):6.0f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

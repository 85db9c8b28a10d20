"""Load: the web view and the ingester together, on PostgreSQL, with mail arriving all the time.

`mailbag serve` and `mailbag ingest` (the daemon, against a private Dovecot) run as processes
of their own; a third process loads the web view over loopback (wrk when installed, else an
asyncio + httpx generator) while this one appends new mail to the mailbox at a steady rate.
At the end it waits for the ingester to catch up and checks that every appended message is
stored, by Message-ID. It prints requests per second, median and 95th percentile latency,
errors (transport errors and answers other than 2xx/3xx) and lost messages.

Needs PostgreSQL (MAILBAG_TEST_POSTGRES, as the tests) and Dovecot (dovecot-imapd); run as
root, like the test suite's Dovecot. wrk is optional: `apt-get install -y wrk`.

    .venv/bin/python bench/load.py [--duration 180] [--connections 8] [--rate 5]

Not part of CI: it runs for minutes and its figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from crm.db import Database  # noqa: E402
from crm.models import Case, Message  # noqa: E402
from crm.users.service import create_user  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.dovecot import Dovecot, free_port  # noqa: E402
from tests.support.mailgen import OFFICE_ADDRESS, generate_messages  # noqa: E402

PASSWORD = "load-test-password"
STAFF = "load.manager@office.example.org.uk"
IMAP_USER = "office"
SECRET = "load-benchmark-secret-" + "x" * 32
CATCH_UP_SECONDS = 300
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^>]+)>", re.IGNORECASE | re.MULTILINE)
_TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')

WRK_SCRIPT = """
local paths = {%(paths)s}
local counter = 0
bad = 0
local threads = {}
wrk.headers["Cookie"] = %(cookie)s
function setup(thread) table.insert(threads, thread) end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
function response(status, headers, body)
  if status >= 400 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("bad") end
  local e = summary.errors
  io.write(string.format('{"requests": %%d, "seconds": %%f, "p50": %%f, "p95": %%f, '
    .. '"transport_errors": %%d, "http_errors": %%d}\\n', summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    e.connect + e.read + e.write + e.timeout, failed))
end
"""


# --- the load generator (the second process) -------------------------------------------------


def generate(base: str, cookie: str, paths: list[str], seconds: float, connections: int) -> None:
    """Keep `connections` requests in flight for `seconds`; print one JSON line of figures."""
    if shutil.which("wrk"):
        print(json.dumps(_wrk(base, cookie, paths, seconds, connections)))
    else:
        print(json.dumps(asyncio.run(_asyncio_load(base, cookie, paths, seconds, connections))))


def _wrk(base: str, cookie: str, paths: list[str], seconds: float, connections: int) -> Any:
    script = WRK_SCRIPT % {
        "paths": ", ".join(json.dumps(p) for p in paths),
        "cookie": json.dumps(cookie),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        command = ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "30s"]
        output = subprocess.run(
            [*command, "-s", handle.name, base],
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    figures = json.loads(output.strip().splitlines()[-1])
    return {**figures, "tool": "wrk"}


async def _asyncio_load(
    base: str, cookie: str, paths: list[str], seconds: float, connections: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = {"transport": 0, "http": 0}
    deadline = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient, offset: int) -> None:
        turn = offset
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = await client.get(paths[turn % len(paths)])
                errors["http"] += response.status_code >= 400
            except httpx.HTTPError:
                errors["transport"] += 1
            latencies.append(time.perf_counter() - started)
            turn += 1

    limits = httpx.Limits(max_connections=connections)
    headers = {"Cookie": cookie}
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:
        await asyncio.gather(*(worker(c, n) for n in range(connections)))
    elapsed = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "p50": cuts[49] * 1000,
        "p95": cuts[94] * 1000,
        "transport_errors": errors["transport"],
        "http_errors": errors["http"],
        "tool": "asyncio+httpx",
    }


# --- the services under load -----------------------------------------------------------------


def environment(url: str, data_dir: Path, imap_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBAG_")}
    env.update(
        MAILBAG_DATABASE_URL=url,
        MAILBAG_DATA_DIR=str(data_dir),
        MAILBAG_SECRET_KEY=SECRET,
        MAILBAG_IMAP_HOST="127.0.0.1",
        MAILBAG_IMAP_PORT=str(imap_port),
        MAILBAG_IMAP_USER=IMAP_USER,
        MAILBAG_IMAP_PASSWORD=PASSWORD,
        MAILBAG_IMAP_SSL="off",
        MAILBAG_IMAP_FOLDERS="INBOX",
        MAILBAG_OFFICE_ADDRESSES=OFFICE_ADDRESS,
    )
    return env


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A `mailbag` command of ours, stopped (TERM, then KILL) however the run ends."""
    with log.open("wb") as out:
        started = subprocess.Popen(
            [sys.executable, "-m", "mailbag", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield started
    finally:
        with suppress(ProcessLookupError):
            os.killpg(started.pid, signal.SIGTERM)
        try:
            started.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(started.pid, signal.SIGKILL)
            started.wait(timeout=10)


def wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.2)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def session_cookie(base: str) -> str:
    """Sign in as the office manager, as a browser would; the cookie header to send."""
    with httpx.Client(base_url=base, follow_redirects=False) as client:
        page = client.get("/sign-in")
        found = _TOKEN.search(page.text)
        token = found[1] if found else ""
        response = client.post(
            "/sign-in", data={"email": STAFF, "password": PASSWORD, "_csrf_token": token}
        )
        if response.status_code != 303:
            raise SystemExit(f"could not sign in: {response.status_code}")
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


class Appender(threading.Thread):
    """New mail into INBOX at a steady rate, as a busy office receives it."""

    def __init__(self, server: Dovecot, mail: Iterator[bytes], rate: float) -> None:
        super().__init__(daemon=True)
        self.server, self.mail, self.rate = server, mail, rate
        self.appended: list[bytes] = []
        self.stop = threading.Event()

    def run(self) -> None:
        client = self.server.connect(IMAP_USER)
        try:
            while not self.stop.wait(1 / self.rate):
                raw = next(self.mail)
                client.append("INBOX", raw)
                self.appended.append(raw)
        finally:
            client.logout()


def stored(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(Message.message_id)))


def message_ids(raws: list[bytes]) -> set[str]:
    return {found[1].decode() for raw in raws if (found := _MESSAGE_ID.search(raw))}


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = databases.create_postgres_database()
    database = Database(url)
    root = Path(tempfile.mkdtemp(prefix="mailbag-load-"))
    root.chmod(0o755)  # Dovecot's own users must traverse it
    server = Dovecot(root / "dovecot")
    try:
        server.add_user(IMAP_USER, PASSWORD)
        server.start()
        with database.session() as session:
            create_user(session, STAFF, PASSWORD, role="office_manager", name="Load")
        mail = generate_messages(args.initial + int(args.duration * args.rate * 2) + 100, seed=7)
        initial = [next(mail) for _ in range(args.initial)]
        server.append_many(IMAP_USER, "INBOX", initial)
        env = environment(url, root / "data", server.port)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with (
            process(["serve", "--port", str(port)], env, root / "serve.log"),
            process(["ingest"], env, root / "ingest.log"),
        ):
            wait_for(lambda: listening(port), 60, "the web view")
            wait_for(lambda: len(stored(database)) >= len(initial), 600, "the first ingest")
            with database.session() as session:
                references = list(session.scalars(select(Case.reference).limit(20)))
            paths = ["/", "/?q=housing", "/?status=open&urgency=high", "/api/cases"]
            paths += [f"/cases/{ref}" for ref in references[:5]]
            paths += [f"/api/cases/{ref}" for ref in references[5:10]]
            appender = Appender(server, mail, args.rate)
            appender.start()
            loaded = subprocess.run(
                [sys.executable, __file__, "generate", "--base", base, "--cookie",
                 session_cookie(base), "--seconds", str(args.duration),
                 "--connections", str(args.connections), *paths],
                capture_output=True, text=True, timeout=args.duration + 300, check=True,
            )  # fmt: skip
            appender.stop.set()
            appender.join(timeout=30)
            expected = message_ids(initial) | message_ids(appender.appended)
            deadline = time.monotonic() + CATCH_UP_SECONDS
            while not expected <= stored(database) and time.monotonic() < deadline:
                time.sleep(0.5)
            lost = expected - stored(database)
        figures = json.loads(loaded.stdout.strip().splitlines()[-1])
        with database.session() as session:
            total = session.scalar(select(func.count(Message.id))) or 0
        return {
            **figures,
            "appended": len(appender.appended),
            "stored": total,
            "lost": len(lost),
            "duplicated": total - len(expected - lost),
        }
    finally:
        server.stop()
        database.dispose()
        databases.drop_postgres_database(url)
        shutil.rmtree(root, ignore_errors=True)


def table(figures: dict[str, Any], args: argparse.Namespace) -> str:
    rows = [
        ("load generator", f"{figures['tool']}, {args.connections} connections"),
        ("duration", f"{figures['seconds']:.0f} s"),
        ("requests", f"{figures['requests']}"),
        ("requests/s", f"{figures['requests'] / figures['seconds']:.1f}"),
        ("latency p50", f"{figures['p50']:.1f} ms"),
        ("latency p95", f"{figures['p95']:.1f} ms"),
        ("transport errors (incl. timeouts > 30 s)", f"{figures['transport_errors']}"),
        ("answers other than 2xx/3xx", f"{figures['http_errors']}"),
        ("mail appended during the load", f"{figures['appended']} ({args.rate}/s)"),
        ("messages stored (with the initial mailbox)", f"{figures['stored']}"),
        ("lost messages", f"{figures['lost']}"),
        ("stored twice", f"{figures['duplicated']}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    gen = sub.add_parser("generate", help="(internal) the load generator process")
    gen.add_argument("--base", required=True)
    gen.add_argument("--cookie", required=True)
    gen.add_argument("--seconds", type=float, required=True)
    gen.add_argument("--connections", type=int, required=True)
    gen.add_argument("paths", nargs="+")
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of load")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rate", type=float, default=5.0, help="messages appended per second")
    parser.add_argument("--initial", type=int, default=300, help="messages before the load")
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.base, args.cookie, args.paths, args.seconds, args.connections)
        return
    figures = run(args)
    print(table(figures, args))
    if figures["transport_errors"] or figures["http_errors"] or figures["lost"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

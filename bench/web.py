"""Benchmark: the web view over 100,000 cases and 1,000,000 timeline entries in PostgreSQL.

The office is generated into a database of its own (bench/web_data.py), migrated with the
project's migrations, and served by `mailbag serve --workers 2` as an office would run it
(one process accepts and hands each connection to the next worker). A second process on
loopback (wrk if installed, else an asyncio+httpx client, bench/web_load.py) keeps several
requests in flight against each page, signed in as a caseworker or as a councillor: the case
list, a filtered list (status + issue + owner), two searches (a word in the letters, a
postcode), a case page with a 2,000-entry timeline, and the councillor's list. Printed for
each: requests per second, median and 95th percentile latency, the CPU each request cost
the web server's processes and PostgreSQL's (read from /proc: it moves far less than latency
when other work shares the machine), beside baselines measured in the same run on the same
machine: the static stylesheet and the sign-in page (a template and
no database) under the same load, and the page's own crm call made alone, one at a time, in
this process (its queries without HTTP, templates or concurrency).
Target: 95th percentile under 100 ms for each page.

    .venv/bin/python bench/web.py [--cases 100000] [--keep-database] [--connections 8]
                                  [--seconds 10] [--workers 2]

--keep-database keeps the generated database (mailbag_bench_web) and reuses it next time,
migrated to the newest revision: generating it takes a few minutes. Install wrk with
`apt-get install wrk` for a load generator that costs the server less CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import crm.schema  # noqa: E402, F401
from bench import web_data, web_load  # noqa: E402
from bench.proc_cpu import cpu_seconds  # noqa: E402
from crm.access import Viewer  # noqa: E402
from crm.casefile import open_case_file  # noqa: E402
from crm.caselist import case_page  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.migrate import upgrade  # noqa: E402
from crm.settings import Settings  # noqa: E402
from crm.users.models import User  # noqa: E402
from tests.support.databases import POSTGRES_ADMIN_URL  # noqa: E402
from web.cases import filters_from  # noqa: E402

DATABASE = "mailbag_bench_web"
SECRET = "benchmark secret key that is long enough to sign"
TARGET_MS = 100.0
_TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


def urls(name: str) -> tuple[str, str]:
    """The SQLAlchemy URL and the libpq URL of a database on the benchmark's server."""
    libpq = f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    return libpq.replace("postgresql://", "postgresql+psycopg://", 1), libpq


def prepare(cases: int, keep: bool) -> web_data.Generated:
    """A generated office: reused when kept from an earlier run with as many cases."""
    url, libpq = urls(DATABASE)
    known = _description() if keep else None
    if known and known.get("cases") == cases:
        print(f"reusing database {DATABASE} ({cases} cases); migrating to the newest revision")
        database = Database(url)
        upgrade(database)
        database.dispose()
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # as autovacuum leaves it after a migration
        return web_data.Generated(**known)
    _drop()
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    database = Database(url)
    upgrade(database)
    started = time.perf_counter()
    generated = web_data.generate(database, libpq, cases)
    database.dispose()
    print(
        f"generated {generated.cases:,} cases, {generated.entries:,} timeline entries and "
        f"{generated.messages:,} messages in {time.perf_counter() - started:.0f} s"
    )
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        note = json.dumps(asdict(generated)).replace("'", "''")
        conn.execute(f"COMMENT ON DATABASE \"{DATABASE}\" IS '{note}'")
    return generated


def _description() -> dict[str, Any] | None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (DATABASE,),
        ).fetchone()
    if not row or not row[0]:
        return None
    return dict(json.loads(row[0]))


def _drop() -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


@contextmanager
def serving(workers: int) -> Iterator[tuple[str, int]]:
    """uvicorn in a process group of its own, stopped (with its workers) on the way out:
    its address and its process group."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "MAILBAG_DATABASE_URL": urls(DATABASE)[0],
        "MAILBAG_SECRET_KEY": SECRET,
        "PYTHONPATH": str(ROOT),
    }
    # As an office runs it: `mailbag serve`, its workers each handed their share of the
    # connections (mailbag/serving.py).
    command = [sys.executable, "-m", "mailbag", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base, server)
        yield base, server.pid
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _wait_for(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the web server stopped while starting")
        try:
            if httpx.get(f"{base}/sign-in", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the web server did not start within a minute")


def sign_in(base: str, email: str) -> str:
    """The cookies a browser holds after a fresh sign-in (the session and the CSRF token),
    as a Cookie header value: without the CSRF cookie every page would make a new token."""
    with httpx.Client(base_url=base) as client:
        form = client.get("/sign-in").text
        token = _TOKEN.search(form)
        assert token, "no CSRF token on the sign-in page"
        answer = client.post(
            "/sign-in",
            data={"email": email, "password": web_data.PASSWORD, "_csrf_token": token[1]},
        )
        assert answer.status_code in (200, 303), answer.text[:300]
        held = dict(client.cookies.items())
    assert held.get("mailbag_session"), f"signing in as {email} gave no session"
    return "; ".join(f"{name}={value}" for name, value in held.items())


def scenarios(generated: web_data.Generated) -> list[dict[str, Any]]:
    """What to load: who asks, the paths (cycled through), and the crm call behind them."""
    housing = f"/?status=open&issue={generated.filter_issue}&owner={generated.filter_owner}"
    postcode = generated.search_postcode.replace(" ", "+")
    return [
        {"name": "static file /static/app.css", "who": "", "paths": ["/static/app.css"]},
        {"name": "sign-in page (template only)", "who": "", "paths": ["/sign-in"]},
        {"name": "case list", "who": "caseworker", "paths": ["/"], "call": "list"},
        {"name": "filtered list", "who": "caseworker", "paths": [housing], "call": "list"},
        {
            "name": f"search: {web_data.SEARCH_WORD}",
            "who": "caseworker",
            "paths": [f"/?q={web_data.SEARCH_WORD}"],
            "call": "list",
        },
        {
            "name": f"search: {generated.search_postcode}",
            "who": "caseworker",
            "paths": [f"/?q={postcode}"],
            "call": "list",
        },
        {
            "name": f"case page ({web_data.LARGE_TIMELINE:,} entries)",
            "who": "caseworker",
            "paths": [f"/cases/{ref}" for ref in generated.large_cases],
            "call": "case",
        },
        {
            "name": "councillor's list",
            "who": "councillor",
            "paths": ["/councillor"],
            "call": "list",
        },
    ]


def service_alone(database: Database, viewer: Viewer, scenario: dict[str, Any]) -> list[float]:
    """The page's crm call, one at a time in this process: its queries, no HTTP."""
    settings = Settings()
    calls: list[Callable[[Any], Any]] = []
    for path in scenario["paths"]:
        if scenario["call"] == "case":
            reference = path.rsplit("/", 1)[1]
            calls.append(partial(_open, settings=settings, viewer=viewer, reference=reference))
        else:
            query = dict(httpx.URL(path).params)
            calls.append(partial(_list, viewer=viewer, query=query))
    timings: list[float] = []
    deadline = time.monotonic() + 30
    for n in range(max(22, 2 * len(calls))):
        if len(timings) >= 5 and time.monotonic() > deadline:
            break  # a slow page: a handful of runs is enough to tell
        with database.session() as session:
            began = time.perf_counter()
            calls[n % len(calls)](session)
            timings.append((time.perf_counter() - began) * 1000)
            session.rollback()  # the audit line of a sensitive view is not the point here
    return timings[2:] if len(timings) > 10 else timings


def _open(session: Session, *, settings: Settings, viewer: Viewer, reference: str) -> Any:
    return open_case_file(session, settings, viewer, reference)


def _list(session: Session, *, viewer: Viewer, query: dict[str, str]) -> Any:
    return case_page(session, viewer, filters_from(query))


def viewers(database: Database) -> dict[str, Viewer]:
    emails = {"caseworker": web_data.CASEWORKERS[0], "councillor": web_data.COUNCILLOR}
    with database.session() as session:
        found = {
            who: Viewer.of(session.scalars(select(User).where(User.email == email)).one())
            for who, email in emails.items()
        }
    return found


def page_size(base: str, path: str, cookie: str) -> int:
    """Checks the page answers 200 (not a redirect to sign in) and gives its size in bytes."""
    answer = httpx.get(base + path, headers={"cookie": cookie}, timeout=300)
    if answer.status_code != 200:
        raise SystemExit(f"{path} answered {answer.status_code}, not 200")
    return len(answer.content)


def run(args: argparse.Namespace) -> None:
    generated = prepare(args.cases, args.keep_database)
    database = Database(urls(DATABASE)[0])
    people = viewers(database)
    tool = "wrk" if web_load.has_wrk() else f"httpx (faster: {web_load.INSTALL_WRK})"
    print(
        f"{args.connections} connections for {args.seconds:g} s per page from {tool}; "
        f"uvicorn with {args.workers} workers; target: p95 under {TARGET_MS:.0f} ms; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"{'page':32} {'req/s':>6} {'median':>8} {'p95':>8} {'p99':>8} {'KB':>6} "
        f"{'p95 ÷ static':>12} {'CPU/req: web+db':>16}   {'crm call alone: median, p95':>28}"
    )
    chosen = [s for s in scenarios(generated) if not args.only or args.only in s["name"]]
    with serving(args.workers) as (base, group):
        cookies = {"": "", **{who: sign_in(base, user) for who, user in _users().items()}}
        static = scenarios(generated)[0]
        for scenario in chosen:
            # The static file again just before each page: the machine's state of the moment.
            again = "call" in scenario
            baseline = load(args, base, group, "", static, args.seconds / 2) if again else None
            figures = load(args, base, group, cookies[scenario["who"]], scenario, args.seconds)
            print(line(scenario, figures, baseline, database, people))
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    database.dispose()
    if not args.keep_database:
        _drop()


def load(
    args: argparse.Namespace,
    base: str,
    group: int,
    cookie: str,
    scenario: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    """The page under load for `seconds`, after a warm-up; the page's size with the figures,
    and the CPU each request cost the web server's processes and PostgreSQL's."""
    paths, connections = scenario["paths"], args.connections
    size = max(page_size(base, path, cookie) for path in paths)
    web_load.load(base, paths, cookie, connections=connections, seconds=2)  # warm up
    settle()
    ours, database = cpu_seconds(group=group), cpu_seconds(name="postgres")
    figures = web_load.load(base, paths, cookie, connections=connections, seconds=seconds)
    ours, database = cpu_seconds(group=group) - ours, cpu_seconds(name="postgres") - database
    settle()
    per_request = 1000 / max(1, figures["requests"])
    cpu = {"cpu_web": ours * per_request, "cpu_db": database * per_request}
    return {**figures, "size": size, **cpu}


def line(
    scenario: dict[str, Any],
    figures: dict[str, Any],
    baseline: dict[str, Any] | None,
    database: Database,
    people: dict[str, Viewer],
) -> str:
    """One row of the table: the page under load, beside the baselines."""
    alone, verdict, ratio = "", "", ""
    if "call" in scenario:
        timings = service_alone(database, people[scenario["who"]], scenario)
        alone = f"{statistics.median(timings):7.1f} {_p95(timings):7.1f} ms"
        met = figures["requests"] and figures["p95"] < TARGET_MS
        verdict = "  met" if met else "  NOT MET"
    if baseline and baseline["requests"] and figures["requests"]:
        ratio = f"{figures['p95'] / baseline['p95']:5.1f} x {baseline['p95']:3.0f}"
    problems = figures["errors"] + figures["not_200"]
    if not figures["requests"]:
        latency = f"{'no answer within 10 s':>26}"
    else:
        latency = f"{figures['p50']:6.1f}ms {figures['p95']:6.1f}ms {figures['p99']:6.1f}ms"
    cpu = f"{figures['cpu_web']:5.1f} +{figures['cpu_db']:5.1f} ms"
    return (
        f"{scenario['name']:32} {figures['rps']:6.0f} {latency} {figures['size'] / 1024:6.1f} "
        f"{ratio:>12} {cpu:>16}   {alone:>28}{verdict}"
        + (f"  ({problems} failed)" if problems else "")
    )


def settle(limit: float = 120) -> None:
    """Wait for queries left running by the last load to finish, so they slow no other."""
    deadline = time.monotonic() + limit
    with psycopg.connect(urls(DATABASE)[1], autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND state = 'active' AND pid <> pg_backend_pid()",
                (DATABASE,),
            ).fetchone()
            if not row or not row[0]:
                return
            time.sleep(0.2)


def _users() -> dict[str, str]:
    return {"caseworker": web_data.CASEWORKERS[0], "councillor": web_data.COUNCILLOR}


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--keep-database", action="store_true", help="keep and reuse the data")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="", help="only the pages whose name contains this")
    run(parser.parse_args())


if __name__ == "__main__":
    main()

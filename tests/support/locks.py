"""Two PostgreSQL transactions at once: the second must wait for the first's lock."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from crm.db import Database

WAITING = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")


def second_waits_for_first(
    database: Database,
    first: Callable[[Session], object],
    second: Callable[[Session], object],
    failure: str,
) -> None:
    """`first` writes in a transaction held open; `second`, in its own transaction on a
    thread, must come to wait on a lock; then the first commits and the second finishes.
    A failure leaves no transaction open for the teardown to wait on."""
    pids: list[int] = []

    def run_second() -> None:
        with database.session() as session:
            pids.append(session.scalars(text("SELECT pg_backend_pid()")).one())
            second(session)

    contender = threading.Thread(target=run_second)
    holder = database.new_session()
    try:
        first(holder)
        contender.start()
        _wait_for_lock(database, pids, failure)
        holder.commit()
    finally:
        holder.close()
        if contender.is_alive():
            contender.join(10)


def _wait_for_lock(database: Database, pids: list[int], failure: str) -> None:
    """Until the backend whose pid lands in `pids` waits on a lock (ten seconds at most)."""
    with database.new_session() as watcher:
        for _ in range(200):
            if pids and watcher.scalars(WAITING, {"pid": pids[0]}).one_or_none() == "Lock":
                return
            watcher.rollback()  # a fresh snapshot of pg_stat_activity each time
            threading.Event().wait(0.05)
    raise AssertionError(failure)

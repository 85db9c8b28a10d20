"""Waiting, in a test, until another PostgreSQL transaction waits on a lock."""

from __future__ import annotations

import threading

from sqlalchemy import text

from crm.db import Database

WAITING = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")


def wait_for_lock(database: Database, pids: list[int], failure: str) -> None:
    """Until the backend whose pid lands in `pids` waits on a lock (ten seconds at most)."""
    with database.new_session() as watcher:
        for _ in range(200):
            if pids and watcher.scalars(WAITING, {"pid": pids[0]}).one_or_none() == "Lock":
                return
            watcher.rollback()  # a fresh snapshot of pg_stat_activity each time
            threading.Event().wait(0.05)
    raise AssertionError(failure)

"""Real background workers for the tests: a Redis namespace of each test's own, `mailbag worker`
processes that never outlive their test, and an SMTP server that can hang mid-DATA so a worker
can be killed while it sends.

The Redis server is shared (by every run on this machine, and by other engineers' runs), so a
test never flushes a database: its workers and messages live under a unique key prefix
(MAILBAG_REDIS_NAMESPACE), which no other run's worker reads, and which is deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from aiosmtpd.controller import Controller
from dramatiq.brokers.redis import RedisBroker

from crm.settings import Settings
from crm.workers.broker import QUEUE
from tests.support.smtp import HOST, free_port

REDIS_URL = os.environ.get("MAILBAG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
LOG_TAIL = 4000  # bytes of each worker's log shown when a test fails


def redis_client(url: str = REDIS_URL) -> redis.Redis:
    """The test Redis, or a failed test (never a skipped one) when it is not running."""
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        pytest.fail(f"Redis is needed at {url} and is not reachable: {error}")
    return client


@dataclass(frozen=True)
class RedisSpace:
    """One test's corner of the shared Redis: every key its broker and workers use."""

    client: redis.Redis
    namespace: str
    url: str = REDIS_URL

    def env(self) -> dict[str, str]:
        """What a worker process needs to listen here and nowhere else."""
        return {"MAILBAG_REDIS_URL": self.url, "MAILBAG_REDIS_NAMESPACE": self.namespace}

    def enqueue(self, actor_name: str, **kwargs: Any) -> None:
        """Send a message as the scheduler would, without declaring the actors here."""
        broker = RedisBroker(url=self.url, namespace=self.namespace)
        try:
            broker.declare_queue(QUEUE)
            broker.enqueue(
                dramatiq.Message(
                    queue_name=QUEUE, actor_name=actor_name, args=(), kwargs=kwargs, options={}
                )
            )
        finally:
            broker.close()

    def sweep_at(self, when: datetime) -> None:
        self.enqueue("sweep", now=when.isoformat())

    def keys(self) -> list[bytes]:
        return list(self.client.scan_iter(match=f"{self.namespace}:*", count=500))

    def flush(self) -> int:
        """Delete every key of this namespace: what a flushed Redis looks like to Mailbag."""
        keys = self.keys()
        if keys:
            self.client.delete(*keys)
        return len(keys)

    def drained(self, dead: frozenset[str] = frozenset()) -> bool:
        """Nothing waiting, and nothing in the hands of a live worker (or held for a retry).

        `dead` names workers that were killed: their unacknowledged messages stay in Redis
        until dramatiq's maintenance hands them to a live worker (after its heartbeat timeout).
        """
        queue = f"{self.namespace}:{QUEUE}"
        if self.client.llen(queue) or self.client.llen(f"{queue}.DQ"):
            return False
        prefix = f"{self.namespace}:__acks__."
        for key in self.client.scan_iter(match=f"{prefix}*"):
            worker = key.decode()[len(prefix) :][:36]  # a uuid4, then ".<queue>"
            if worker not in dead and self.client.scard(key):
                return False
        return True

    def workers_seen(self) -> frozenset[str]:
        """Every broker that has spoken to this namespace so far (one per worker process)."""
        heartbeats = f"{self.namespace}:__heartbeats__"
        return frozenset(m.decode() for m in self.client.zrange(heartbeats, 0, -1))


@pytest.fixture
def redis_space() -> Iterator[RedisSpace]:
    """A fresh namespace; afterwards every process the test started is killed, its keys go."""
    client = redis_client()
    space = RedisSpace(client, f"mailbag-test-{uuid.uuid4().hex}")
    first = len(_started)
    try:
        yield space
    finally:
        mine = _started[first:]
        del _started[first:]
        for process in mine:
            process.stop(grace=5)
        for process in mine:
            process.show_log()  # pytest prints it only when the test failed
        space.flush()
        client.close()


def settings_env(
    settings: Settings, database_url: str, redis_space: RedisSpace | None = None, **extra: str
) -> dict[str, str]:
    """The MAILBAG_* variables a worker process needs to be this office.

    Without a Redis namespace the process runs embedded (no MAILBAG_REDIS_URL): a worker
    can never land on the shared default namespace by accident.
    """
    values = {
        "MAILBAG_DATA_DIR": str(settings.data_dir),
        "MAILBAG_DATABASE_URL": database_url,
        "MAILBAG_REDIS_URL": "",
        "MAILBAG_OFFICE_ADDRESSES": ",".join(sorted(settings.office_addresses)),
        "MAILBAG_SMTP_HOST": settings.smtp_host,
        "MAILBAG_SMTP_PORT": str(settings.smtp_port),
        "MAILBAG_SMTP_STARTTLS": "off",
        "MAILBAG_SMTP_TIMEOUT": str(settings.smtp_timeout),
        "MAILBAG_FROM_ADDRESS": settings.from_address,
        "MAILBAG_REPRESENTATIVE_NAME": settings.representative_name,
        "MAILBAG_OFFICE_POSTAL_ADDRESS": "|".join(settings.office_postal_address),
        "MAILBAG_OFFICE_SIGNATURE": "|".join(settings.office_signature),
        "MAILBAG_AUTO_ACKNOWLEDGE": "off",
    }
    if redis_space is not None:
        values |= redis_space.env()
    return values | extra


_started: list[Process] = []  # so the fixture can kill what a failing test left running


class Process:
    """`mailbag worker`, `scheduler` or `serve` in its own process group, logging to a file.

    dramatiq forks worker processes under the one we start; they share its process group,
    so a signal to the group reaches all of them.
    """

    def __init__(self, command: str, env: dict[str, str], log: Path, *args: str) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MAILBAG_")}
        self.log = log
        self._output = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mailbag", command, *args],
            env=clean | env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _started.append(self)

    def wait_ready(self) -> None:
        """Until dramatiq says its worker process is ready for action."""
        wait_until(
            lambda: b"ready for action" in self.log.read_bytes() or self.process.poll() is not None,
            f"{self.log.name} to start",
        )
        assert self.process.poll() is None, f"{self.log.name} exited: {self.tail()}"

    def kill(self) -> None:
        """As a crash would: SIGKILL to the whole group, no chance to tidy up."""
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._output.close()

    def stop(self, grace: float = 15) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; and SIGKILL for anything left behind."""
        if self._output.closed:
            return  # stopped already: its process id may belong to someone else by now
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(timeout=10)
        self._signal(signal.SIGKILL)  # a forked worker that outlived its parent
        self._output.close()

    def tail(self) -> str:
        return self.log.read_bytes()[-LOG_TAIL:].decode(errors="replace")

    def show_log(self) -> None:
        print(f"--- {self.log.name} (exit {self.process.returncode}) ---\n{self.tail()}")

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group has gone
            os.killpg(self.process.pid, signum)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(check: Callable[[], bool], what: str, timeout: float = 300.0) -> None:
    """Poll `check`; generous, as a worker's start takes a minute on a busy shared machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


class HangingSmtp:
    """Takes the whole message, then never answers DATA: the sender is stuck mid-send."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[bytes] = []
        self.released = threading.Event()
        self.controller = Controller(self, hostname=HOST, port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(bytes(envelope.original_content or envelope.content))
        while not self.released.is_set():
            await asyncio.sleep(0.05)
        return "451 4.3.0 try again later"

    def __enter__(self) -> HangingSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.controller.stop()

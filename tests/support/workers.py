"""Real background workers for the tests: Redis (a dedicated DB), `mailbag worker` processes,
and an SMTP server that can hang mid-DATA so a worker can be killed while it sends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
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

# A Redis database of our own: flushing it never touches what others keep in DB 0.
REDIS_URL = os.environ.get("MAILBAG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
NAMESPACE = "dramatiq"


def redis_client() -> redis.Redis:
    """The test Redis, or a failed test (never a skipped one) when it is not running."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        pytest.fail(f"Redis is needed at {REDIS_URL} and is not reachable: {error}")
    return client


@pytest.fixture
def clean_redis() -> Iterator[redis.Redis]:
    client = redis_client()
    client.flushdb()
    yield client
    client.flushdb()


def settings_env(settings: Settings, database_url: str, **extra: str) -> dict[str, str]:
    """The MAILBAG_* variables a worker process needs to be this office."""
    values = {
        "MAILBAG_DATA_DIR": str(settings.data_dir),
        "MAILBAG_DATABASE_URL": database_url,
        "MAILBAG_REDIS_URL": REDIS_URL,
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
    return values | extra


class Process:
    """`mailbag worker` or `mailbag scheduler` in its own process group, logging to a file."""

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

    def wait_ready(self) -> None:
        """Until dramatiq says its worker process is ready for action."""
        wait_until(
            lambda: b"ready for action" in self.log.read_bytes(), f"{self.log.name} to start"
        )

    def kill(self) -> None:
        """As a crash would: SIGKILL to the whole group, no chance to tidy up."""
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._output.close()

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # it has already gone
            os.killpg(self.process.pid, signum)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def enqueue(actor_name: str, **kwargs: Any) -> None:
    """Send a message to the workers as the scheduler would, without declaring actors here."""
    broker = RedisBroker(url=REDIS_URL)
    try:
        broker.declare_queue(QUEUE)
        broker.enqueue(
            dramatiq.Message(
                queue_name=QUEUE, actor_name=actor_name, args=(), kwargs=kwargs, options={}
            )
        )
    finally:
        broker.close()


def sweep_at(when: datetime) -> None:
    enqueue("sweep", now=when.isoformat())


def queue_drained(client: redis.Redis, dead: frozenset[str] = frozenset()) -> bool:
    """Nothing waiting, and nothing in the hands of a live worker (or held for a retry).

    `dead` names workers that were killed: their unacknowledged messages stay in Redis
    until dramatiq's maintenance hands them to a live worker (after its heartbeat timeout).
    """
    if client.llen(f"{NAMESPACE}:{QUEUE}") or client.llen(f"{NAMESPACE}:{QUEUE}.DQ"):
        return False
    prefix = f"{NAMESPACE}:__acks__."
    for key in client.scan_iter(f"{prefix}*"):
        worker = key.decode()[len(prefix) :][:36]  # a uuid4, then ".<queue>"
        if worker not in dead and client.scard(key):
            return False
    return True


def workers_seen(client: redis.Redis) -> frozenset[str]:
    """Every broker that has spoken to Redis so far (each worker process has its own)."""
    return frozenset(m.decode() for m in client.zrange(f"{NAMESPACE}:__heartbeats__", 0, -1))


def wait_until(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
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

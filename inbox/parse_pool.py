"""Parse the next batch in another process while this one writes the current batch.

Parsing is pure CPU and the database work is mostly waiting and Python overhead, so on a
machine with two or more cores the two overlap; a small batch is parsed in-process instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

from inbox.message import ParsedMessage
from inbox.parse import parse

log = logging.getLogger(__name__)

MIN_BATCH_FOR_POOL = 20  # messages, or
MIN_BYTES_FOR_POOL = 1024 * 1024  # bytes: a few large messages are worth the trip too
T = TypeVar("T")


@dataclass(frozen=True)
class ParseFailure:
    """Why a message could not be parsed, carried back to the pipeline for the quarantine."""

    error_type: str
    message: str


Parsed = ParsedMessage | ParseFailure


class ParseError(Exception):
    """Raised by the parse step for a message whose parsing failed in the pool."""


def parse_or_failure(raw: bytes, max_attachment_bytes: int) -> Parsed:
    """The parser's result, or its error as data (exceptions do not cross processes well)."""
    try:
        return parse(raw, max_attachment_bytes=max_attachment_bytes)
    except Exception as error:  # any parser failure becomes a quarantine entry, never a crash
        return ParseFailure(type(error).__name__, str(error))


class ParsePool:
    """One worker process (when there is a spare core) that parses batches ahead of time."""

    def __init__(self, max_attachment_bytes: int, workers: int | None = None) -> None:
        self.max_attachment_bytes = max_attachment_bytes
        spare = (os.cpu_count() or 1) - 1
        self.workers = spare if workers is None else workers
        self._executor: ProcessPoolExecutor | None = None
        self._starting: Future[list[Parsed]] | None = None

    def __enter__(self) -> ParsePool:
        if self.workers > 0:
            # spawn, not fork: a forked child would inherit the parent's database sockets and,
            # if the parent were killed, keep its transaction (and row locks) alive.
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context, initializer=_worker_start
            )
            # A worker is spawned on the first submission: start it now, while the caller
            # signs in or opens files, rather than when the first batch needs it.
            with _main_module_left_behind():
                self._starting = self._executor.submit(_parse_all, [], self.max_attachment_bytes)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)

    def result(self, future: Future[list[Parsed]] | None) -> list[Parsed] | None:
        """The batch's results; None (parse in-process) if the worker could not start or died."""
        if future is None:
            return None
        try:
            return future.result()
        except BrokenProcessPool:
            log.warning("parse worker unavailable: parsing in-process from now on")
            self.__exit__(None, None, None)
            self._executor = None
            return None

    def submit(self, raws: Sequence[bytes]) -> Future[list[Parsed]] | None:
        """Start parsing a batch in the background; None when it is better done in-process."""
        if self._executor is None or _small(raws):
            return None
        if self._starting is not None and not self._starting.done():
            return None  # the worker is still starting (a second or so): no waiting for it
        return self._executor.submit(_read_ahead, list(raws), self.max_attachment_bytes)


@contextmanager
def _main_module_left_behind() -> Iterator[None]:
    """Spawn the worker without the parent's main module.

    A spawned process first imports the script that started its parent: for `mailbag`, the
    whole command line, two seconds and more on a busy machine, while the worker needs only
    the parser (a tenth of that). Shown a main module with no file, multiprocessing leaves
    it out. The swap lasts while the process is started, in this thread.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _small(raws: Sequence[bytes]) -> bool:
    """Quicker parsed here than sent to the worker and back (a daemon's one new letter)."""
    return len(raws) < MIN_BATCH_FOR_POOL and sum(map(len, raws)) < MIN_BYTES_FOR_POOL


def _worker_start() -> None:
    """Quiet mail-parser's chatter (a spawned worker has no logging set up), and leave with
    the parent: killed with SIGKILL, it could not tell its worker to go."""
    logging.getLogger("mailparser").setLevel(logging.CRITICAL)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()  # returns when the parent process has ended, however it ended
    os._exit(0)


def _parse_all(raws: list[bytes], max_attachment_bytes: int) -> list[Parsed]:
    return [parse_or_failure(raw, max_attachment_bytes) for raw in raws]


def _read_ahead(raws: list[bytes], max_attachment_bytes: int) -> list[Parsed]:
    """In the worker: parse, and read what the steps would read next from the message
    alone (its signature), so the main process, the busier one, need not."""
    parsed = _parse_all(raws, max_attachment_bytes)
    for message in parsed:
        if isinstance(message, ParsedMessage):
            message.contact  # noqa: B018 (computed and kept, to go back with the message)
    return parsed


def ahead(
    pool: ParsePool, batches: Iterator[list[tuple[bytes, T]]]
) -> Iterator[tuple[list[tuple[bytes, T]], list[Parsed]]]:
    """Yield each batch with its parse results, the next batch already parsing meanwhile.

    A batch the worker did not take (small, or the worker still starting) is parsed here,
    before its steps, so every batch gets the one-query-per-batch prefetch.
    """
    pending: tuple[list[tuple[bytes, T]], Future[list[Parsed]] | None] | None = None
    for batch in batches:
        future = pool.submit([raw for raw, _ in batch])
        if pending is not None:
            yield pending[0], _results(pool, *pending)
        pending = (batch, future)
    if pending is not None:
        yield pending[0], _results(pool, *pending)


def _results(
    pool: ParsePool, batch: list[tuple[bytes, T]], future: Future[list[Parsed]] | None
) -> list[Parsed]:
    parsed = pool.result(future)
    if parsed is None:
        parsed = _parse_all([raw for raw, _ in batch], pool.max_attachment_bytes)
    return parsed

"""`mailbag ingest`: read new mail from the configured IMAP folders into the pipeline."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy.orm import Session

from crm import checkpoints
from crm.db import Database
from crm.outgoing.send import deliver_queued
from crm.settings import Settings
from crm.types import utcnow
from inbox.batches import Counts, run_batch
from inbox.imap import (
    FetchedMessage,
    ImapAuthError,
    ImapConfig,
    ImapError,
    ImapMailbox,
    token_from_client_credentials,
    token_from_command,
)
from inbox.message import Source
from inbox.parse_pool import ParsePool, ahead
from inbox.pipeline import Pipeline

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
ASK_AGAIN_AFTER = timedelta(hours=1)  # for a message the server would not give


@dataclass(frozen=True)
class Reading:
    """The folder being read: as configured, as the server names it, and its UIDVALIDITY."""

    folder: str
    on_server: str
    uidvalidity: int


class Shutdown(BaseException):
    """Raised by a signal handler to end an IDLE wait at once (like KeyboardInterrupt)."""


def imap_config(settings: Settings) -> ImapConfig:
    """Build the IMAP connection settings, failing early on the variable that is missing."""
    settings.require("imap_host", "imap_user")
    token_provider: Callable[[], str] | None = None
    if settings.imap_auth == "password":
        settings.require("imap_password")
    elif settings.imap_oauth_token_command:
        token_provider = token_from_command(settings.imap_oauth_token_command)
    else:
        settings.require("imap_oauth_token_url", "imap_oauth_client_id")
        token_provider = token_from_client_credentials(
            settings.imap_oauth_token_url,
            settings.imap_oauth_client_id,
            settings.imap_oauth_client_secret,
            settings.imap_oauth_scope,
        )
    return ImapConfig(
        host=settings.imap_host,
        port=settings.imap_port,
        ssl=settings.imap_ssl,
        user=settings.imap_user,
        password=settings.imap_password or None,
        auth=settings.imap_auth,  # type: ignore[arg-type]
        token_provider=token_provider,
        read_timeout=float(settings.imap_timeout),
        batch_size=settings.imap_batch_size,
    )


class Ingester:
    """Fetch → pipeline → commit → checkpoint, folder by folder, batch by batch."""

    def __init__(self, settings: Settings, database: Database, pipeline: Pipeline) -> None:
        self.settings = settings
        self.database = database
        self.pipeline = pipeline
        self.config = imap_config(settings)
        self.mailbox_name = f"{self.config.user}@{self.config.host}"
        self.idling = False
        self._uidnext: dict[str, int | None] = {}
        self._server_names: dict[str, str] = {}

    def run_once(self) -> Counts:
        """Catch up on every folder since its checkpoint, however long we were stopped."""
        with self._parse_pool() as pool, ImapMailbox(self.config) as mailbox:
            self._server_names.clear()
            return self._poll(mailbox, pool)

    def run_forever(self, stop: threading.Event, idle_seconds: float = 300.0) -> None:
        """Poll, then IDLE as a wake-up signal; reconnect with back-off when the server goes."""
        failures = 0
        with self._parse_pool() as pool:
            while not stop.is_set():
                try:
                    with ImapMailbox(self.config) as mailbox:
                        failures = 0
                        self._server_names.clear()
                        self._serve(mailbox, pool, stop, idle_seconds)
                except Shutdown:
                    return
                except ImapAuthError:
                    raise
                except (ImapError, OSError) as error:
                    failures += 1
                    delay = min(MAX_BACKOFF, 2.0 ** min(failures, 9)) * random.uniform(0.5, 1.0)
                    log.warning("IMAP connection lost (%s); reconnecting in %.0f s", error, delay)
                    stop.wait(delay)

    def interrupt(self, stop: threading.Event) -> None:
        """For a signal handler: stop after the current batch, or at once while idling."""
        stop.set()
        if self.idling:
            raise Shutdown

    def _parse_pool(self) -> ParsePool:
        """One parse worker for the whole run, started while we sign in (it takes a moment)."""
        return ParsePool(self.settings.max_attachment_bytes)

    def _serve(
        self, mailbox: ImapMailbox, pool: ParsePool, stop: threading.Event, idle_seconds: float
    ) -> None:
        watched = self.settings.imap_folders[0]
        while not stop.is_set():
            counts = self._poll(mailbox, pool)
            if counts.total:
                log.info("ingested %s", counts.describe())
            self.idling = True
            try:
                if not stop.is_set():
                    mailbox.wait_for_change(
                        self._on_server(mailbox, watched),
                        min(idle_seconds, 540.0),
                        self._uidnext.get(watched),
                    )
            finally:
                self.idling = False

    def _poll(self, mailbox: ImapMailbox, pool: ParsePool) -> Counts:
        """Every folder, then the letters the new mail queued (acknowledgements)."""
        counts = Counts()
        for folder in self.settings.imap_folders:
            counts += self._ingest_folder(mailbox, folder, pool)
        if counts.stored:
            deliver_queued(self.database, self.settings)
        return counts

    def _ingest_folder(self, mailbox: ImapMailbox, folder: str, pool: ParsePool) -> Counts:
        """`folder` as configured names the checkpoint and the source; the server's own name
        for it (Exchange's "Sent Items" for "Sent") is only used to talk to the server."""
        on_server = self._on_server(mailbox, folder)
        state = mailbox.select(on_server)
        self._uidnext[folder] = state.uidnext
        after = self._last_uid(folder, state.uidvalidity)
        reading = Reading(folder, on_server, state.uidvalidity)
        counts = self._ask_again(mailbox, reading, pool)
        counts += self._run(mailbox, reading, mailbox.iter_new(on_server, after), pool)
        return counts

    def _ask_again(self, mailbox: ImapMailbox, reading: Reading, pool: ParsePool) -> Counts:
        """Messages the server refused an hour or more ago, asked for first; those it no
        longer holds (the office deleted them) are no longer waited for."""
        with self.database.session() as session:
            waiting = checkpoints.unreadable_uids(
                session,
                self.mailbox_name,
                reading.folder,
                reading.uidvalidity,
                tried_before=utcnow() - ASK_AGAIN_AFTER,
            )
        if not waiting:
            return Counts()
        seen: set[int] = set()
        fetched = _noting(mailbox.iter_uids(reading.on_server, waiting), seen)
        counts = self._run(mailbox, reading, fetched, pool)
        if gone := [uid for uid in waiting if uid not in seen]:
            with self.database.session() as session:
                checkpoints.resolve_unreadable(
                    session, self.mailbox_name, reading.folder, reading.uidvalidity, gone
                )
        return counts

    def _run(
        self,
        mailbox: ImapMailbox,
        reading: Reading,
        fetched: Iterator[list[FetchedMessage]],
        pool: ParsePool,
    ) -> Counts:
        counts = Counts()
        readable = (self._readable(reading, batch, counts) for batch in fetched)
        batches = (batch for batch in readable if batch)
        for batch, parsed in ahead(pool, batches):
            uids = [source.uid for _, source in batch if source.uid is not None]
            counts += run_batch(
                self.database,
                self.pipeline,
                batch,
                before_commit=partial(self._advance, reading, uids),
                parsed=parsed,
            )
            if self.settings.imap_processed_keyword:
                mailbox.add_keyword(reading.on_server, uids, self.settings.imap_processed_keyword)
        return counts

    def _readable(
        self, reading: Reading, fetched: list[FetchedMessage], counts: Counts
    ) -> list[tuple[bytes, Source]]:
        """The batch's messages for the pipeline; those the server refused are remembered at
        once (and counted), so the checkpoint may pass them and a later run asks again."""
        if refused := [(m.uid, m.error) for m in fetched if m.error]:
            counts.refused += len(refused)
            with self.database.session() as session:
                checkpoints.hold_unreadable(
                    session, self.mailbox_name, reading.folder, reading.uidvalidity, refused
                )
        source = partial(Source, reading.folder, uidvalidity=reading.uidvalidity)
        return [(m.raw, source(uid=m.uid)) for m in fetched if not m.error]

    def _on_server(self, mailbox: ImapMailbox, folder: str) -> str:
        if folder not in self._server_names:
            sent = folder in self.settings.imap_sent_folders
            self._server_names[folder] = mailbox.resolve(folder, sent=sent)
        return self._server_names[folder]

    def _advance(self, reading: Reading, uids: list[int], session: Session) -> None:
        """Recorded in the batch's own transaction: never ahead of what is stored. A message
        the server refused before and has now given is no longer waited for."""
        name, folder, uidvalidity = self.mailbox_name, reading.folder, reading.uidvalidity
        checkpoints.advance(session, name, folder, uidvalidity, max(uids))
        checkpoints.resolve_unreadable(session, name, folder, uidvalidity, uids)

    def _last_uid(self, folder: str, uidvalidity: int) -> int:
        """0 when the folder is new to us or its UIDVALIDITY changed (dedupe keeps it safe)."""
        with self.database.session() as session:
            checkpoint = checkpoints.get(session, self.mailbox_name, folder)
            if checkpoint is None:
                return 0
            if checkpoint.uidvalidity != uidvalidity:
                log.warning("UIDVALIDITY of %s changed: rescanning the folder", folder)
                return 0
            return checkpoint.last_uid


def _noting(
    batches: Iterator[list[FetchedMessage]], seen: set[int]
) -> Iterator[list[FetchedMessage]]:
    """The batches as they come, each message's UID added to `seen` on the way."""
    for batch in batches:
        seen.update(message.uid for message in batch)
        yield batch

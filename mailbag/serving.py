"""`mailbag serve --workers N`: this process accepts the connections, N processes answer them.

uvicorn's own `--workers` share one listening socket, and asyncio accepts every connection
waiting when it wakes: eight connections opened together all went to one worker while the
other idled, so a page ran on one core of two (95 requests/s where the pair could do 150).
As Node's cluster module does, this process accepts each connection itself and hands it to
the workers in turn, over a Unix socket (SCM_RIGHTS), so each worker gets its share.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

from crm.errors import MailbagError

log = logging.getLogger(__name__)

# A worker that dies this soon after starting is not restarted: it would only die again
# (a bad setting, a database that is not there) while the office sees nothing but errors.
STEADY_AFTER = 5.0  # seconds
BACKLOG = 2048


class WorkerFailed(MailbagError):
    """The web workers cannot serve: their address is taken, or one stopped while starting."""


def serve_with_workers(
    build: Callable[[], Any], host: str, port: int, workers: int, log_level: str = "warning"
) -> None:
    """Accept on host:port and hand each connection to the next of `workers` processes,
    each running uvicorn over the app `build` makes (a picklable, module-level callable).
    A worker that dies later is replaced; SIGTERM or Ctrl-C stops them all."""
    listener = _listen(host, port)
    pool = _Pool(build, workers, log_level)
    stopping = _stop_on_signals()
    try:
        pool.start()
        while not stopping.is_set():
            _accept_or_mind(listener, pool, stopping)
    finally:
        listener.close()
        pool.stop()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=BACKLOG)
    except OSError as error:  # the port is taken, or the address is not this machine's
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise WorkerFailed(f"cannot listen on {host}:{port}: {reason}") from None


def _accept_or_mind(listener: socket.socket, pool: _Pool, stopping: threading.Event) -> None:
    """One wake-up: hand over the connection that came, or replace a worker that died."""
    ready = wait([listener, *pool.sentinels()], timeout=0.5)
    if stopping.is_set():  # a signal to the process group stops the workers too
        return
    if listener in ready:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            connection, _ = listener.accept()
            with connection:
                pool.hand_over(connection)
    pool.replace_dead()


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (the workers get their own and finish their pages)."""
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return stopping


@dataclass
class _Worker:
    process: BaseProcess
    channel: socket.socket  # this end of the Unix socket the worker reads connections from
    started: float


class _Pool:
    """The worker processes, and whose turn it is."""

    def __init__(self, build: Callable[[], Any], size: int, log_level: str) -> None:
        self.build = build
        self.size = size
        self.log_level = log_level
        self.workers: list[_Worker] = []
        self._turn = itertools.count()
        self._context = multiprocessing.get_context("spawn")  # no inherited connections

    def start(self) -> None:
        self.workers = [self._spawn() for _ in range(self.size)]

    def sentinels(self) -> list[int]:
        return [worker.process.sentinel for worker in self.workers]

    def hand_over(self, connection: socket.socket) -> None:
        """To the next worker that takes it; a dead one's turn passes to the one after."""
        for _ in range(len(self.workers)):
            worker = self.workers[next(self._turn) % len(self.workers)]
            try:
                socket.send_fds(worker.channel, [b"c"], [connection.fileno()])
                return
            except OSError:  # it died (replaced on this wake-up), or its queue is full
                continue
        log.error("no web worker took a connection: it was closed")

    def replace_dead(self) -> None:
        for index, worker in enumerate(self.workers):
            if worker.process.is_alive():
                continue
            worker.channel.close()
            if time.monotonic() - worker.started < STEADY_AFTER:
                raise WorkerFailed(
                    f"a web worker stopped while starting (exit code {worker.process.exitcode});"
                    " its error is above"
                )
            code = worker.process.exitcode
            log.warning(
                "web worker %s stopped (exit code %s): starting another", worker.process.pid, code
            )
            self.workers[index] = self._spawn()

    def stop(self) -> None:
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.terminate()  # SIGTERM: uvicorn finishes the pages in hand
        for worker in self.workers:
            worker.process.join(timeout=30)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.channel.close()

    def _spawn(self) -> _Worker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        process = self._context.Process(
            target=_work, args=(self.build, theirs, self.log_level), name="mailbag-web"
        )
        process.start()
        theirs.close()
        ours.setblocking(False)  # a worker that stopped reading is passed over, not waited for
        return _Worker(process, ours, time.monotonic())


def _work(build: Callable[[], Any], channel: socket.socket, log_level: str) -> None:
    """A worker process: uvicorn with no listening socket of its own, fed by the channel."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
    config = uvicorn.Config(build(), log_level=log_level, proxy_headers=False)
    _HandedServer(config, channel).run()


class _HandedServer(uvicorn.Server):
    """uvicorn serving the connections another process accepted."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel
        self._connecting: set[asyncio.Task[Any]] = set()  # held until each is connected

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # no listener: connections come by the channel
        self.channel.setblocking(False)
        asyncio.get_running_loop().add_reader(self.channel.fileno(), self._take)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().remove_reader(self.channel.fileno())
        await super().shutdown(sockets=None)

    def _take(self) -> None:
        try:
            message, fds, _, _ = socket.recv_fds(self.channel, 1, 1)
        except (BlockingIOError, InterruptedError):
            return
        if not message:  # the parent has gone: finish what is in hand and stop
            asyncio.get_running_loop().remove_reader(self.channel.fileno())
            self.should_exit = True
            return
        if not fds:  # its descriptor did not fit (this process is out of them): dropped
            log.warning("a handed-over connection arrived without its socket")
            return
        connection = socket.socket(fileno=fds[0])
        loop = asyncio.get_running_loop()
        task = loop.create_task(loop.connect_accepted_socket(self._protocol, connection))
        self._connecting.add(task)
        task.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Task[Any]) -> None:
        self._connecting.discard(task)
        if not task.cancelled() and task.exception() is not None:  # the client hung up first
            log.info("a handed-over connection could not start: %s", task.exception())

    def _protocol(self) -> asyncio.Protocol:
        """What uvicorn's own listener would make for a connection (Server.startup)."""
        protocol: asyncio.Protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )
        return protocol

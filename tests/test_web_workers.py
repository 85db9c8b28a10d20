"""`mailbag serve --workers N`, started for real: every worker gets its share of the
connections, a session signed in one worker is good in another, a worker that dies is
replaced, and SIGTERM stops them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.smtp import free_port
from tests.support.web import csrf_token
from tests.support.workers import Process, wait_until

EMAIL = "caseworker@office.example.org.uk"
PASSWORD = "a long enough password"


def _env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAILBAG_")}
    return clean | {
        "MAILBAG_DATA_DIR": str(tmp_path / "data"),
        "MAILBAG_DATABASE_URL": f"sqlite:///{tmp_path / 'office.sqlite3'}",
        "MAILBAG_SECRET_KEY": "a secret key for this test that is long enough",
    }


def _mailbag(env: dict[str, str], *args: str, stdin: str = "") -> None:
    subprocess.run(
        [sys.executable, "-m", "mailbag", *args], env=env, input=stdin, text=True, check=True
    )


class Served:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def workers(self) -> list[int]:
        return _workers_of(self.process.pid)

    def holder_of(self, client_ports: list[int]) -> dict[int, int]:
        """Which worker holds the server's end of each of these client connections."""
        inodes = _server_side_inodes(self.port, set(client_ports))
        held: dict[int, int] = {}
        for worker in self.workers():
            for fd in Path(f"/proc/{worker}/fd").iterdir():
                target = os.readlink(fd) if fd.is_symlink() else ""
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    held[inodes[target[8:-1]]] = worker
        return held


def _workers_of(pid: int) -> list[int]:
    """The worker processes (spawned children; not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children if b"spawn_main" in _command_line(int(child))]


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone since the listing
        return b""


def _server_side_inodes(port: int, client_ports: set[int]) -> dict[str, int]:
    """Socket inode -> client port, for established connections to `port` (/proc/net/tcp)."""
    found = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if local_port == port and remote_port in client_ports and fields[3] == "01":
            found[fields[9]] = remote_port
    return found


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    env = _env(tmp_path)
    _mailbag(env, "db", "upgrade")
    _mailbag(env, "user", "add", EMAIL, "--role", "caseworker", stdin=PASSWORD + "\n")
    port = free_port()
    serve = Process("serve", env, tmp_path / "serve.log", "--port", str(port), "--workers", "2")
    server = Served(serve.process, port)
    try:
        wait_until(lambda: _answers(server.base), "the web view to answer", timeout=60)
        wait_until(lambda: len(server.workers()) == 2, "both workers", timeout=60)
        yield server
    finally:
        serve.kill()
        serve.show_log()  # pytest prints it only when the test failed


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/sign-in", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _open_connections(port: int, count: int) -> list[socket.socket]:
    """Keep-alive connections opened together, each having had one page answered."""
    connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    for connection in connections:
        connection.sendall(b"GET /sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    for connection in connections:
        assert connection.recv(65536).startswith(b"HTTP/1.1 200")
    return connections


def test_connections_opened_together_are_shared_between_the_workers(served: Served):
    # Given eight connections opened at the same moment, as a load generator or a proxy does
    connections = _open_connections(served.port, 8)
    try:
        ports = [connection.getsockname()[1] for connection in connections]
        held = served.holder_of(ports)
        # Then each worker holds four of them (uvicorn's own --workers gave one all eight)
        assert sorted(held) == sorted(ports)
        per_worker = sorted(list(held.values()).count(pid) for pid in served.workers())
        assert per_worker == [4, 4]
    finally:
        for connection in connections:
            connection.close()


def test_a_session_signed_in_on_one_worker_is_good_on_the_other(served: Served):
    with httpx.Client(base_url=served.base) as first:
        token = csrf_token(first.get("/sign-in").text)
        signed = first.post(
            "/sign-in", data={"email": EMAIL, "password": PASSWORD, "_csrf_token": token}
        )
        assert signed.status_code in (200, 303)
        cookies = dict(first.cookies.items())
    # A new connection goes to the next worker in turn: each of two must know the session
    for _ in range(2):
        with httpx.Client(base_url=served.base, cookies=cookies) as other:
            page = other.get("/", follow_redirects=False)
            assert page.status_code == 200 and "Cases" in page.text


def test_a_worker_that_dies_is_replaced_and_nothing_else_stops(served: Served):
    [first, second] = served.workers()
    time.sleep(5.5)  # past the start-up window, inside which a death stops the server
    os.kill(first, signal.SIGKILL)
    wait_until(
        lambda: len(served.workers()) == 2 and first not in served.workers(),
        "a new worker in its place",
        timeout=60,
    )
    assert second in served.workers()
    wait_until(lambda: _answers(served.base), "pages from the new worker", timeout=60)
    # Both workers answer: four connections opened together, two each
    connections = _open_connections(served.port, 4)
    try:
        held = served.holder_of([connection.getsockname()[1] for connection in connections])
        assert sorted(list(held.values()).count(pid) for pid in served.workers()) == [2, 2]
    finally:
        for connection in connections:
            connection.close()
    assert served.process.poll() is None


def test_sigterm_stops_the_server_and_its_workers(served: Served):
    workers = served.workers()
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=40) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{served.base}/sign-in", timeout=2)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except OSError:
        return True


def test_a_worker_that_cannot_start_stops_the_server_with_one_line(tmp_path: Path):
    env = _env(tmp_path)
    _mailbag(env, "db", "upgrade")
    port = free_port()
    command = [sys.executable, "-m", "mailbag", "serve", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(
        command, env=env, start_new_session=True, stderr=subprocess.PIPE, text=True
    )
    try:
        # Killed as soon as it exists, long before it could serve: as if it had failed while
        # starting (however slow the machine, well inside the start-up window)
        wait_until(lambda: bool(_workers_of(process.pid)), "a worker to be started", timeout=60)
        os.kill(_workers_of(process.pid)[0], signal.SIGKILL)
        assert process.wait(timeout=40) == 2  # as for every error of ours
        assert process.stderr is not None
        [line] = process.stderr.read().splitlines()
        assert line.startswith("mailbag: error: a web worker stopped while starting")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_an_address_in_use_is_one_line_naming_it(tmp_path: Path):
    env = _env(tmp_path)
    _mailbag(env, "db", "upgrade")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "mailbag", "serve", "--port", str(port), "--workers", "2"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"mailbag: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_workers_leave_with_a_parent_that_was_killed(served: Served):
    """Killed outright (the out-of-memory killer), the parent cannot stop its workers: they
    see their connection channel close and stop, leaving nothing holding the port."""
    workers = served.workers()
    served.process.kill()
    served.process.wait(timeout=10)
    wait_until(
        lambda: all(not Path(f"/proc/{pid}").exists() or _is_zombie(pid) for pid in workers),
        "the workers to stop",
        timeout=30,
    )
    with socket.create_server(("127.0.0.1", served.port)):
        pass  # the port is free again

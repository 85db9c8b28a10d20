"""A tiny OAuth 2.0 token-introspection endpoint (RFC 7662) for the test Dovecot to ask."""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class OAuthIntrospectServer:
    """Answers `{"active": true, "username": ...}` for known tokens, `{"active": false}` else."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("introspection server not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/introspect"

    def issue(self, username: str) -> str:
        """Mint a fresh random token that introspects as `username`."""
        token = secrets.token_urlsafe(24)
        self.tokens[token] = username
        return token

    def revoke(self, token: str) -> None:
        """Make a token inactive from now on."""
        self.tokens.pop(token, None)

    def answer(self, token: str | None) -> dict[str, object]:
        """The introspection answer for one token."""
        self.requests += 1
        username = self.tokens.get(token or "")
        if username is None:
            return {"active": False}
        return {"active": True, "username": username, "token_type": "Bearer"}

    def start(self) -> OAuthIntrospectServer:
        """Serve on 127.0.0.1 on a free port in a daemon thread."""
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
            self._server.daemon_threads = True
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the HTTP server down."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OAuthIntrospectServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _token_from(handler: BaseHTTPRequestHandler, body: bytes) -> str | None:
    """Find the token the way any introspection mode sends it: form body, query or header."""
    form = parse_qs(body.decode("utf-8", "replace"))
    query = parse_qs(urlsplit(handler.path).query)
    for source in (form, query):
        for key in ("token", "access_token"):
            if source.get(key):
                return source[key][0]
    auth = handler.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None


def _handler_for(owner: OAuthIntrospectServer) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one server's token table."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._reply(self.rfile.read(length))

        def _reply(self, body: bytes) -> None:
            payload = json.dumps(owner.answer(_token_from(self, body))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

    return Handler

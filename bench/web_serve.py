"""uvicorn with several workers, as the web benchmark runs it, with TCP_NODELAY on each connection.

With --workers N uvicorn binds the listening socket itself and leaves its protocol number at
0; the accepted sockets inherit it, and asyncio turns Nagle's algorithm off only for sockets
that say IPPROTO_TCP (reported upstream as Kludex/uvicorn#3149). Every keep-alive request
after the first then waits about 40 ms for the client's delayed ACK, a static file as much as
a page. Marking the socket as TCP before the workers receive it gives each page its own
latency back.
`mailbag serve` runs one process given a host and port, which asyncio binds correctly.

    python -m bench.web_serve APP [uvicorn options]
"""

from __future__ import annotations

import socket

from uvicorn import main as uvicorn_main
from uvicorn.config import Config

_bind_socket = Config.bind_socket


def bind_tcp_socket(config: Config) -> socket.socket:
    """uvicorn's own socket, re-wrapped with its protocol number set (same descriptor)."""
    sock = _bind_socket(config)
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto:
        return sock
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    return tcp


def main() -> None:
    Config.bind_socket = bind_tcp_socket  # type: ignore[method-assign,assignment]
    uvicorn_main.main()


if __name__ == "__main__":
    main()

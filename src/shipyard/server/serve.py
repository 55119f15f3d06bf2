"""Run the server: one process, or several API processes sharing the port.

`serve(settings)` listens on the settings' address and serves the app until SIGINT or
SIGTERM. With `api_processes` > 1 the first process (the one `shipyard server start`
runs) owns the background work (endpoint supervisor, job workers) and starts the other
API processes, each one `python -m shipyard.server.serve`; every process binds its own
socket to the same port with `SO_REUSEPORT`, so the kernel spreads the connections
across them (a listening socket shared through fork would leave most connections to
whichever process wakes first). Only processes of the same user may join the port.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

import uvicorn

from shipyard.core.errors import InvalidInputError
from shipyard.server.app import create_app
from shipyard.server.settings import ServerSettings
from shipyard.workspace import DB_URL_ENV
from shipyard.workspace.liveness import when_parent_exits

BACKLOG = 2048  # uvicorn's default


def listen_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to (`host`, `port`) and listening, shared with `SO_REUSEPORT`.

    Created from the address's own protocol number (IPPROTO_TCP), as uvicorn's would be:
    asyncio switches Nagle's algorithm off (TCP_NODELAY) only on sockets that say TCP,
    and a kept-alive connection with it on waits ~40 ms on every small answer.
    """
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise InvalidInputError("several API processes need SO_REUSEPORT, which this OS lacks")
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise InvalidInputError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def serve(settings: ServerSettings, sock: socket.socket | None = None) -> None:
    """Serve the app on `sock` (default: a socket on the settings' address, see
    `listen_socket`) until SIGINT or SIGTERM."""
    if sock is None:
        sock = listen_socket(settings.host, settings.port, reuse_port=settings.shares_port)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        proxy_headers=False,  # X-Forwarded-For must not choose the address throttling counts
    )
    server = uvicorn.Server(config)
    if settings.join_port:  # one more API process: it ends with the server that started it
        when_parent_exits(lambda: setattr(server, "should_exit", True))
    with sock:
        server.run(sockets=[sock])


def main(argv: list[str] | None = None) -> int:
    """One more API process of a server that runs several (no background work of its own)."""
    parser = argparse.ArgumentParser(description="One API process of a Shipyard server.")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--artifacts")
    args = parser.parse_args(argv)
    settings = ServerSettings(
        workspace=Path(args.workspace),
        host=args.host,
        port=args.port,
        db_url=os.environ.get(DB_URL_ENV),  # not argv: a URL may hold a password
        artifacts=Path(args.artifacts) if args.artifacts else None,
        supervise=False,
        api_processes=1,
        join_port=True,
    )
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run the server: one process, or several API processes sharing the port.

`serve(settings)` listens on the settings' address and serves the app until SIGINT or
SIGTERM. With `api_processes` > 1 the first process (the one `shipyard server start`
runs) owns the background work (endpoint supervisor, job workers) and starts the other
API processes, each one `python -m shipyard.server.serve --fd N`: the first process binds
the port once and the others inherit that listening socket as descriptor N, so they
accept from one queue and no other process can join the port (with SO_REUSEPORT, any
process of the same user could, and took a share of the connections: issue 10).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import sys
from pathlib import Path

import uvicorn

from shipyard.server.app import create_app
from shipyard.server.settings import ServerSettings
from shipyard.serving._http import timed_protocol
from shipyard.serving.sockets import inherited_socket, listen_socket, raise_descriptor_limit
from shipyard.workspace import DB_URL_ENV
from shipyard.workspace.liveness import when_parent_exits


def serve(settings: ServerSettings, sock: socket.socket | None = None) -> None:
    """Serve the app on `sock` (default: a socket bound now to the settings' address, see
    `listen_socket`) until SIGINT or SIGTERM; further API processes inherit it."""
    raise_descriptor_limit()
    if sock is None:
        sock = listen_socket(settings.host, settings.port)
    settings = dataclasses.replace(settings, listen_fd=sock.fileno())
    config = uvicorn.Config(
        create_app(settings),
        http=timed_protocol(),
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
    parser.add_argument("--fd", type=int, required=True, help="the inherited listening socket")
    parser.add_argument("--endpoint-host", action="append", default=[])
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
        endpoint_hosts=tuple(args.endpoint_host),
    )
    serve(settings, inherited_socket(args.fd))
    return 0


if __name__ == "__main__":
    sys.exit(main())

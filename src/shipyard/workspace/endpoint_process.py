"""One scoring process: load the endpoint's config and model, serve on host:port.

Started by the supervisor as `python -m shipyard.workspace.endpoint_process`. Several
processes of one endpoint share its port with SO_REUSEPORT (the kernel spreads
connections), instead of uvicorn's own worker mode, which loses TCP_NODELAY on
kept-alive connections.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys

import uvicorn

from shipyard.automl import load_model
from shipyard.serving.app import create_scoring_app


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port that other processes may bind too."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve one Shipyard endpoint.")
    parser.add_argument("--config", required=True, help="the endpoint's config.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [pid %(process)d] %(message)s",
        stream=sys.stderr,
    )
    app = create_scoring_app(args.config, load_model)
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        access_log=False,
        lifespan="on",
        log_level="info",
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[listening_socket(args.host, args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())

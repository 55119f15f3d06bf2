"""One scoring process: load the endpoint's config and model, serve on host:port.

Started by the supervisor as `python -m shipyard.workspace.endpoint_process --fd N`: the
supervisor binds the endpoint's listening socket once and every process of the endpoint
inherits it as descriptor N, so no other process can join the port (issue 10, finding 2).
Headers and bodies that do not arrive in time are cut (`serving._http`).
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from shipyard.automl import load_model
from shipyard.serving._http import timed_protocol
from shipyard.serving.app import create_scoring_app
from shipyard.serving.sockets import inherited_socket, raise_descriptor_limit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve one Shipyard endpoint.")
    parser.add_argument("--config", required=True, help="the endpoint's config.json")
    parser.add_argument("--fd", type=int, required=True, help="the inherited listening socket")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [pid %(process)d] %(message)s",
        stream=sys.stderr,
    )
    sock = inherited_socket(args.fd)
    raise_descriptor_limit()
    app = create_scoring_app(args.config, load_model)
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http=timed_protocol(),
        access_log=False,
        lifespan="on",
        log_level="info",
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    with sock:
        server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())

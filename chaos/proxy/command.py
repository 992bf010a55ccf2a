"""The proxy server's command line, flags named like ``toxiproxy-server``'s (``--host``,
``--port``, ``--config``, ``--seed``).

It lives with the proxy, not with the ``chaos`` command, so that the proxy container's entry
point (``chaos.stack.docker.proxy_main``) and ``chaos proxy`` parse the same flags without the
container importing the CLI (whose other commands pull in every other dependency).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

DESCRIPTION = (
    "Serve Toxiproxy 2.x's HTTP API and proxies until SIGTERM or SIGINT. "
    "Every API change is logged on stderr."
)
EXAMPLE = "example: chaos proxy --port 8474 --config proxies.json --seed 7"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The server's flags, on a parser of the caller's (``chaos proxy``'s or the container's)."""
    parser.add_argument(
        "--host", "-host", default="127.0.0.1", help="address of the API (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        "-port",
        type=int,
        default=8474,
        help="port of the API; 0 picks a free one (default 8474)",
    )
    parser.add_argument(
        "--config",
        "-config",
        type=Path,
        default=None,
        help="JSON array of proxies to create on start (the /populate format)",
    )
    parser.add_argument(
        "--seed",
        "-seed",
        type=int,
        default=None,
        help="seed for toxicity, jitter and slicer draws (default: random, logged)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow the API and proxies to listen off loopback",
    )


def serve(args: argparse.Namespace) -> int:
    """Run the server the parsed flags describe until a signal; 0 when it stopped cleanly."""
    from chaos.proxy.server import ProxyService, load_config, run_until_signalled

    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    config = load_config(args.config) if args.config is not None else None
    service = ProxyService(
        args.host, args.port, seed=args.seed, allow_remote=args.allow_remote, config=config
    )
    run_until_signalled(service, sys.stdout)
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "chaos proxy") -> int:
    """Parse ``argv`` (default: the process's arguments) and serve."""
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EXAMPLE)
    add_arguments(parser)
    return serve(parser.parse_args(sys.argv[1:] if argv is None else list(argv)))

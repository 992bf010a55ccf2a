"""``chaos proxy``: the Toxiproxy-compatible fault proxy on its own, flags named like
``toxiproxy-server``'s (``--host``, ``--port``, ``--config``, ``--seed``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from chaos.cli import EXIT_OK


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "proxy",
        help="run the Toxiproxy-compatible fault proxy server",
        description="Serve Toxiproxy 2.x's HTTP API and proxies until SIGTERM or SIGINT. "
        "Every API change is logged on stderr.",
        epilog="example: chaos proxy --port 8474 --config proxies.json --seed 7",
    )
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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
    return EXIT_OK

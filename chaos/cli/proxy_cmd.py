"""``chaos proxy``: the Toxiproxy-compatible fault proxy on its own, flags named like
``toxiproxy-server``'s (``--host``, ``--port``, ``--config``, ``--seed``); they are defined with
the proxy, in ``chaos.proxy.command``."""

from __future__ import annotations

import argparse

from chaos.proxy.command import DESCRIPTION, EXAMPLE, add_arguments, serve


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "proxy",
        help="run the Toxiproxy-compatible fault proxy server",
        description=DESCRIPTION,
        epilog=EXAMPLE,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return serve(args)

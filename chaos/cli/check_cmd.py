"""``chaos check``: not built yet (a stub so that the command list is complete)."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check", help="(not built yet)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print("chaos check: not built yet", file=sys.stderr)
    return 2

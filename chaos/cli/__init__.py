"""The ``chaos`` command: one subcommand per module in this package.

Each command module exposes ``add_parser(subparsers)`` which registers its parser and sets
``func`` to a callable taking the parsed namespace and returning the exit code. Exit codes are
DESIGN.md's: 0 every expectation held, 1 an expectation failed, 2 bad input or usage, 3 the stack
could not start.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from chaos.errors import ConfigError, StackError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STACK = 3

COMMANDS = (
    "run",
    "replay",
    "check",
    "list",
    "validate",
    "report",
    "clean",
    "images",
    "proxy",
)


def build_parser() -> argparse.ArgumentParser:
    from chaos import __version__

    parser = argparse.ArgumentParser(
        prog="chaos",
        description="Fault-injection and resilience checks for Celery apps on a Redis broker.",
        epilog="Run 'chaos COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"chaos.cli.{name}_cmd")
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"chaos {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StackError as exc:
        print(f"chaos {args.command}: the stack could not start: {exc}", file=sys.stderr)
        return EXIT_STACK
    except KeyboardInterrupt:
        print(f"chaos {args.command}: interrupted", file=sys.stderr)
        return 130


def entrypoint() -> None:
    sys.exit(main())

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

#: Each command and its one-line help. Only the command being run is imported: the others cost
#: nothing, so ``chaos proxy`` or ``chaos --help`` do not pay for the runner's imports.
COMMANDS: dict[str, str] = {
    "run": "run scenarios against a real stack and print the verdicts",
    "replay": "run a recorded run again and compare the verdicts",
    "check": "re-check a recorded run's journal offline and print the verdicts",
    "list": "list the scenarios of a directory",
    "validate": "check scenario files (nothing is started)",
    "report": "write a run's HTML report (verdict table and timeline picture) and print its path",
    "clean": "stop the processes crashed runs left behind",
    "images": "build the docker backend's images (base, Redis, proxy, worker) locally",
    "proxy": "run the Toxiproxy-compatible fault proxy server",
}


def command_in(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names, if any: the first argument that is not an option."""
    for argument in argv:
        if not argument.startswith("-"):
            return argument if argument in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command``, only that command's module is imported and the others
    stand in with their help line (enough for usage and ``--help``)."""
    from chaos import __version__

    parser = argparse.ArgumentParser(
        prog="chaos",
        description="Fault-injection and resilience checks for Celery apps on a Redis broker.",
        epilog="Run 'chaos COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_line in COMMANDS.items():
        if command is None or name == command:
            importlib.import_module(f"chaos.cli.{name}_cmd").add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=help_line)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = command_in(arguments)
    parser = build_parser(command or "")
    args = parser.parse_args(arguments)
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

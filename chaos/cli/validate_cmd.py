"""``chaos validate FILE...``: check scenario files without starting anything."""

from __future__ import annotations

import argparse

from chaos.errors import ConfigError
from chaos.scenario import scenario_files, scenario_problems

EXAMPLE = """example:
  chaos validate scenarios/broker-restart-during-orders.yaml
  chaos validate scenarios/          # every *.yaml in the directory

Prints every problem of every file as FILE:LINE:COLUMN: FIELD: what is wrong (given, expected).
Exit 0 when all files are valid, 2 when one is not."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check scenario files (nothing is started)",
        description="Check scenario files against the scenario model without starting anything.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="scenario file or directory")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    files = scenario_files(args.files)
    problems = []
    for path in files:
        found = scenario_problems(path)
        problems.extend(found)
        if not found:
            print(f"{path}: ok")
    if problems:
        raise ConfigError(problems)
    return 0

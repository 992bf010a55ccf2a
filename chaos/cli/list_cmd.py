"""``chaos list [DIR]``: the scenarios in a directory, with their faults and checks."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from chaos.errors import ConfigError
from chaos.scenario import load_scenario, scenario_files

EXAMPLE = """example:
  chaos list                 # the scenarios/ directory
  chaos list path/to/dir

Exit 0 when every file is a valid scenario, 2 otherwise (the problems are printed)."""

DEFAULT_DIR = "scenarios"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list the scenarios of a directory",
        description="List the scenario files of a directory: name, faults, checks.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", nargs="?", default=DEFAULT_DIR, metavar="DIR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if not directory.is_dir():
        raise ConfigError("not a directory (expected a directory of *.yaml scenarios)",
                          file=directory)  # fmt: skip
    table = Table(title=f"scenarios in {directory}")
    table.add_column("file", no_wrap=True)
    for column in ("faults", "checks", "tasks"):
        table.add_column(column)
    problems = []
    for path in scenario_files([directory]):
        try:
            scenario = load_scenario(path).scenario
        except ConfigError as exc:
            problems.extend(exc.problems)
            table.add_row(path.name, "[red]invalid[/red]", "", "")
            continue
        fault_counts = Counter(fault.type for fault in scenario.faults)
        table.add_row(
            path.name,
            ", ".join(f"{kind} x{n}" if n > 1 else kind for kind, n in fault_counts.items()) or "-",
            ", ".join(expectation.check for expectation in scenario.expect),
            str(scenario.expected_tasks),
        )
    Console(width=None if sys.stdout.isatty() else 140).print(table)
    if problems:
        raise ConfigError(problems)
    return 0

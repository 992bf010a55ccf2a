"""``chaos list [DIR]``: the scenarios in a directory: what each one does, its faults, checks and
tasks, and about how long it runs."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from rich.table import Table
from rich.text import Text

from chaos.checks.table import output_console
from chaos.errors import ConfigError
from chaos.scenario import Scenario, load_scenario, resolve_timeline, scenario_files

EXAMPLE = """example:
  chaos list                 # the scenarios/ directory
  chaos list path/to/dir
  chaos list --coverage      # and which of the app's tasks no scenario runs
  chaos list --require-all   # the same, exit 1 when some task is run by no scenario

The estimated time is the scenario's timeline plus its drain: the later of the last workload send
and the last fault end known in advance (at: + for:, with at: ranges drawn from the scenario's
seed; faults tied to an event count from their offset only), plus the drain: deadline (the most
the runner waits for the queues to empty after healing). Stack start-up (a few seconds) is not
included; a run that drains early takes less, one whose tasks retry past the drain takes more.

Exit 0 when every file is a valid scenario, 2 otherwise (the problems are printed)."""

DEFAULT_DIR = "scenarios"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list the scenarios of a directory",
        description="List the scenario files of a directory: name, description, faults, checks, "
        "tasks and an estimated run time.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", nargs="?", default=DEFAULT_DIR, metavar="DIR")
    parser.add_argument("--coverage", action="store_true",
                        help="also list the app's tasks and the scenarios that run each")
    parser.add_argument("--require-all", action="store_true",
                        help="--coverage, and exit 1 when some task is run by no scenario")
    parser.set_defaults(func=run)


def estimated_seconds(scenario: Scenario) -> float:
    """The timeline's span known in advance plus the drain deadline (see the command's epilog)."""
    timeline = resolve_timeline(scenario, scenario.seed or 0)
    return timeline.static_span() + scenario.drain


def format_estimate(seconds: float) -> str:
    """``~16 s`` or ``~3 min 30 s``: rounded, since it is an estimate."""
    whole = round(seconds)
    if whole < 100:
        return f"~{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"~{minutes} min {rest} s" if rest else f"~{minutes} min"


def run(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if not directory.is_dir():
        raise ConfigError("not a directory (expected a directory of *.yaml scenarios)",
                          file=directory)  # fmt: skip
    paths = scenario_files([directory])
    table = Table(title=f"scenarios in {directory}", show_lines=True, expand=True)
    longest_name = max((len(path.name) for path in paths), default=4)
    table.add_column("file", min_width=min(longest_name, 48), overflow="fold")
    table.add_column("description", ratio=3, overflow="fold")
    for column in ("faults", "checks"):
        table.add_column(column, ratio=1, overflow="fold")
    table.add_column("tasks", justify="right")
    table.add_column("est. time", justify="right", no_wrap=True)
    problems = []
    total = 0.0
    loaded: list[tuple[Path, Scenario]] = []
    for path in paths:
        try:
            scenario = load_scenario(path).scenario
        except ConfigError as exc:
            problems.extend(exc.problems)
            table.add_row(path.name, Text("invalid", style="red"), "", "", "", "")
            continue
        loaded.append((path, scenario))
        fault_counts = Counter(fault.type for fault in scenario.faults)
        seconds = estimated_seconds(scenario)
        total += seconds
        table.add_row(
            path.name,
            Text(" ".join(scenario.description.split())),  # text, not markup
            ", ".join(f"{kind} x{n}" if n > 1 else kind for kind, n in fault_counts.items()) or "-",
            ", ".join(expectation.check for expectation in scenario.expect),
            str(scenario.expected_tasks),
            format_estimate(seconds),
        )
    table.caption = (
        f"estimated time in all: {format_estimate(total)} (timeline + drain; see --help)"
    )
    output_console().print(table)
    if problems:
        raise ConfigError(problems)
    if args.coverage or args.require_all:
        uncovered = print_coverage(loaded)
        if uncovered and args.require_all:
            return 1
    return 0


def print_coverage(loaded: list[tuple[Path, Scenario]]) -> int:
    """Each app's tasks and the scenarios that run them; how many tasks no scenario runs."""
    from chaos.scenario.coverage import coverage
    from chaos.scenario.semantics import app_workdir

    by_app: dict[Path, list[Scenario]] = {}
    for path, scenario in loaded:
        by_app.setdefault(app_workdir(scenario, path).resolve(), []).append(scenario)
    console = output_console()
    uncovered = 0
    for workdir, scenarios in by_app.items():
        found = coverage(scenarios, workdir)
        console.print(Text(f"tasks of the app in {workdir} ({len(found.app_tasks)}):"))
        for task in sorted(found.app_tasks):
            names = found.run_by.get(task, [])
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            console.print(Text(f"  {task}: " + (f"{len(names)} scenario(s): {shown}" if names
                                                 else "run by no scenario")))  # fmt: skip
        for note in found.unreadable:
            console.print(Text(f"  not read: {note}"))
        console.print(Text("tasks no scenario runs: " + (", ".join(found.not_run) or "none")))
        uncovered += len(found.not_run)
    return uncovered

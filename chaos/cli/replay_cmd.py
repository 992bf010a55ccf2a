"""``chaos replay RUN_DIR``: run a recorded run again and say whether the verdicts match."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from chaos.cli.run_cmd import print_result, wide_console
from chaos.runner import replay_run
from chaos.stack.backends import backend_names

EXAMPLE = """example:
  chaos replay .chaos/runs/broker-restart-during-orders-20261124T050000-1a2b

Runs the recorded scenario again with the recorded seed and resolved timeline (the same faults at
the same offsets, the same random choices) into a new run directory beside the old one, then
compares the verdicts with the recorded ones and names those that differ.
Exit codes: 0 the verdicts match, 1 they differ, 2 not a run directory, 3 the stack could not
start."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="run a recorded run again and compare the verdicts",
        description="Run a recorded run again (same seed, same resolved timeline) and compare.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the new run directory goes (default: beside RUN_DIR)",
    )
    parser.add_argument(
        "--backend", default=None, choices=backend_names, help="override the recorded backend"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    console = wide_console()
    replay = replay_run(args.run_dir, out_dir=args.out, backend=args.backend)
    print_result(replay.result, console)
    if replay.matches:
        console.print(f"[green]verdicts match[/green] the recorded run {replay.recorded_dir}")
        return 0
    table = Table(title="verdicts that differ from the recorded run")
    for column in ("check", "recorded", "replayed"):
        table.add_column(column)
    for difference in replay.differences:
        table.add_row(difference.check, difference.recorded, difference.replayed)
    console.print(table)
    return 1

"""``chaos report RUN_DIR``: write a run's self-contained HTML page and print its path.

The page holds the verdict table (from the run's report.json, else the default checks on the
journal), links to the run's files and an explorable timeline; timeline.png and timeline.svg are
rewritten beside it when matplotlib (the ``reports`` extra) is installed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from chaos.errors import ConfigError, Problem

EXAMPLE = """example:
  chaos report .chaos/runs/broker-restart-during-orders-20261124T0500
  xdg-open "$(chaos report RUN_DIR)"
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write a run's HTML report (verdict table and timeline picture) and print its path",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory from chaos run")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chaos.report import write_html

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise ConfigError(
            [Problem("no such run directory", file=run_dir,
                     expected="a directory written by chaos run (holding journal.jsonl)")]
        )
    print(write_html(run_dir, picture=_can_draw()).resolve())
    return 0


def _can_draw() -> bool:
    """matplotlib is there: the page links the picture; without it the page alone is written."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None

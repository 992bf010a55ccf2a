"""``chaos run SCENARIO_OR_DIR...``: run scenarios on a fresh stack each and print the verdicts."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console

from chaos.cli.job_outcomes import MAX_JOBS, jobs_count
from chaos.errors import ConfigError, Problem
from chaos.report.junit import write_junit
from chaos.runner.run import RunResult, run_scenario
from chaos.runner.rundir import DEFAULT_OUT_DIR
from chaos.scenario import load_scenario, scenario_files
from chaos.stack.backends import DEFAULT_BACKEND, backend_names

EXAMPLE = f"""example:
  chaos run scenarios/broker-restart-during-orders.yaml
  chaos run scenarios/ --seed 7 --out /tmp/runs --junit results.xml
  chaos run scenarios/ --jobs 2
  chaos run scenarios/ --jobs 2 --backend docker --docker-hosts "$CHAOS_DOCKER_HOSTS"

Each scenario gets its own run directory under --out (default {DEFAULT_OUT_DIR}): the scenario,
seed and resolved timeline (for 'chaos replay'), the journal, report.json, report.html (a page
to explore: open it in a browser) and the timeline picture; every file written is printed.
Exit codes: 0 every expectation held, 1 an expectation failed, 2 bad input, 3 an infrastructure
error (the stack could not start or died, the disk filled; never reported as a verdict), 130
interrupted by SIGINT, 143 by SIGTERM. With --jobs N, scenarios run N at a time, each in its own
process: a line as each ends, then every report's path; the exit code is the worst of theirs."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run scenarios against a real stack and print the verdicts",
        description="Run each scenario on a fresh stack: apply its faults on its timeline, heal, "
        "drain, check its expectations, write report.json.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("targets", nargs="+", metavar="SCENARIO_OR_DIR")
    parser.add_argument("--backend", default=DEFAULT_BACKEND, choices=backend_names,
                        help="where the stack runs: a registered backend (default: local "
                             "processes)")  # fmt: skip
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed for every random choice (default: the scenario's, else new)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"where run directories go (default: {DEFAULT_OUT_DIR})",
    )
    parser.add_argument(
        "--junit",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write JUnit XML: one test case per expectation",
    )
    parser.add_argument(
        "--dilation",
        type=float,
        default=None,
        metavar="N",
        help="run the app on a clock N times faster than real time (1 to 20; local backend; "
             "default: the scenario's clock: {dilation: N}, else 1)",
    )
    parser.add_argument(
        "--no-picture",
        action="store_true",
        help="skip the timeline picture (saves the plotting time; report.html is still written)",
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="write only report.json (no report.html, no picture)",
    )
    parser.add_argument("--jobs", "-j", type=jobs_count, default=1, metavar="N",
                        help=f"run N scenarios at once (1 to {MAX_JOBS}), each in its own "
                             "process; every scenario runs even if one gets no verdict, and "
                             "the exit code is the worst (default: 1, one after another)")
    parser.add_argument("--docker-hosts", default=None, metavar="URL,URL",
                        help="Docker engines for --backend docker (default: "
                             "CHAOS_DOCKER_HOSTS with --jobs): job slot K uses engine K mod "
                             "count; with --jobs 1, the first")  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    files = scenario_files(args.targets)
    problems = []
    for path in files:  # every file is validated before anything starts
        try:
            load_scenario(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    hosts = chosen_engines(args)
    if args.jobs > 1:
        from chaos.cli.run_jobs import run_in_parallel

        return run_in_parallel(files, args, args.out or DEFAULT_OUT_DIR, hosts)
    if hosts:  # one at a time: the first engine, as pytest without xdist
        os.environ["DOCKER_HOST"] = hosts[0]
    console = wide_console()
    results: list[RunResult] = []
    for path in files:
        result = run_scenario(path, backend=args.backend, seed=args.seed, out_dir=args.out,
                              picture=not (args.no_picture or args.no_report),
                              html=not args.no_report, dilation=args.dilation)  # fmt: skip
        results.append(result)
        print_result(result, console)
    if args.junit is not None:
        write_junit(args.junit, results)
        console.print(f"JUnit XML: {args.junit}")
    return 0 if all(result.ok for result in results) else 1


def chosen_engines(args: argparse.Namespace) -> list[str]:
    """The engines ``--docker-hosts`` (or, with --jobs, CHAOS_DOCKER_HOSTS) names; children and
    image loading read them from CHAOS_DOCKER_HOSTS, so the option is written there."""
    if args.docker_hosts is not None and args.backend != "docker":
        raise ConfigError([Problem("--docker-hosts needs --backend docker",
                                   given=args.backend)])  # fmt: skip
    if args.backend != "docker" or (args.docker_hosts is None and args.jobs == 1):
        return []
    from chaos.stack.docker.engines import ENV_DOCKER_HOSTS, docker_hosts

    hosts = docker_hosts(args.docker_hosts)
    if args.docker_hosts is not None:
        if not hosts:
            raise ConfigError([Problem("--docker-hosts names no engine",
                                       given=repr(args.docker_hosts))])  # fmt: skip
        os.environ[ENV_DOCKER_HOSTS] = ",".join(hosts)
    return hosts


def wide_console() -> Console:
    """stdout as ``chaos check`` prints it: a terminal's own width, wide and unclipped when piped,
    and quiet when the reader closes the pipe."""
    from chaos.checks.table import output_console

    return output_console()


def print_result(result: RunResult, console: Console) -> None:
    from chaos.checks import verdict_table

    dilated = f", dilated x{result.dilation:g}" if result.dilation != 1.0 else ""
    title = f"{result.scenario} (seed {result.seed}, {result.backend}{dilated})"
    console.print(verdict_table(result.verdicts, title=title))
    if result.never_applied:
        console.print(f"[yellow]faults never applied[/yellow] (their start event did not "
                      f"happen): {', '.join(result.never_applied)}")  # fmt: skip
    known = sum(1 for v in result.verdicts if v.status == "KNOWN BROKEN")
    if not result.ok:
        outcome = "[red]FAILED[/red]"
    elif known:
        outcome = (f"[yellow]KNOWN BROKEN[/yellow]: {known} promise(s) the scenario says do not "
                   "hold did not hold (exit 0)")
    else:
        outcome = "[green]all expectations held[/green]"
    console.print(outcome)
    for path in written_reports(result.run_dir):
        label, note = REPORT_LABELS[path.name]
        console.print(f"{label}: {path}{note}", highlight=False, soft_wrap=True)
    console.print(f"replay: chaos replay {result.run_dir}", highlight=False, soft_wrap=True)


#: What ``chaos run`` prints before each file it wrote, in this order.
REPORT_LABELS = {
    "report.html": ("report", "  (open it in a browser)"),
    "report.json": ("report.json", ""),
    "timeline.png": ("picture", ""),
    "timeline.svg": ("picture (SVG)", ""),
}


def written_reports(run_dir: Path) -> list[Path]:
    """The report files present in the run directory, in ``REPORT_LABELS``' order."""
    return [run_dir / name for name in REPORT_LABELS if (run_dir / name).is_file()]

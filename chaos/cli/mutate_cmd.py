"""``chaos mutate SCENARIO...``: how many planted Celery-policy bugs the scenarios catch.

Plants one mutant at a time (``chaos.mutate.operators``: max_retries +-1, countdown x0.1/x10,
bind removed, retry(throw=False), the exception swallowed, acks_late / reject_on_worker_lost
flipped, autoretry_for emptied, backoff removed or capped, a view's .delay() removed) in a copy of
the project, runs the scenarios against it (best first: those that pin or name the mutated task;
a mutant stops at its first kill) and prints a table: mutant, promise, killed or survived, the
verdict that killed it; then the mutation score. A scenario's baseline (it holds on the unmutated
project) runs before its first kill is trusted (``--baseline lazy``), or for every scenario up
front (``--baseline first``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from chaos.errors import ConfigError, Problem
from chaos.stack.base import REFERENCE_APP_DIR

EXAMPLE = """example:
  chaos mutate scenarios/failpoint-send-invoice-email.yaml scenarios/risky-task-retry-ladder.yaml
  chaos mutate scenarios/*.yaml --task risky_task --min-score 90
  chaos mutate scenarios/*.yaml --baseline first      (every baseline before any mutant)
  chaos mutate scenarios/*.yaml --list                (the mutants, nothing run)

Exit codes: 0 done (and the score reaches --min-score), 1 the score is below --min-score, 2 bad
input, 3 a scenario that killed a mutant does not hold on the unmutated project (with --baseline
first: any scenario), or a baseline's stack could not start."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mutate",
        help="plant Celery-policy bugs in a copy of the project and see which the scenarios catch",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenarios", nargs="+", type=Path, metavar="SCENARIO")
    parser.add_argument("--app", type=Path, default=REFERENCE_APP_DIR,
                        help="the project to mutate (default: the reference app)")  # fmt: skip
    parser.add_argument("--task", action="append", default=[], metavar="NAME",
                        help="only mutants of this task (repeatable)")  # fmt: skip
    parser.add_argument("--operator", action="append", default=[], metavar="NAME",
                        help="only this operator: max_retries, countdown, ...")  # fmt: skip
    parser.add_argument("--equivalent", action="append", default=[], metavar="MUTANT_ID",
                        help="a mutant that cannot change behaviour: listed, not run")  # fmt: skip
    parser.add_argument("--min-score", type=float, default=None, metavar="PERCENT",
                        help="exit 1 when fewer than this share of mutants are killed")  # fmt: skip
    parser.add_argument("--baseline", choices=("lazy", "first"), default="lazy",
                        help="lazy (default): a scenario runs on the unmutated project only "
                        "before its first kill counts; first: every one, up front")  # fmt: skip
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path(".chaos") / "mutate",
                        help="where the runs go (default .chaos/mutate)")  # fmt: skip
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=run)


def _chosen(args: argparse.Namespace) -> list:
    from chaos.mutate.operators import find_mutants

    if not args.app.is_dir():
        raise ConfigError([Problem("no such project directory", file=args.app,
                                   expected="the app directory (where manage.py is)")])  # fmt: skip
    mutants = find_mutants(args.app)
    if args.task:
        # a view's mutants are "view place_order" in the table, view-place_order in their ids
        mutants = [m for m in mutants if {m.task, m.task.replace(" ", "-")} & set(args.task)]
    if args.operator:
        mutants = [m for m in mutants if m.operator in args.operator]
    known = {m.id for m in mutants}
    unknown = [i for i in args.equivalent if i not in known]
    if unknown:
        raise ConfigError([Problem(
            "no such mutant", field_path="--equivalent", given=", ".join(unknown),
            expected="an id chaos mutate --list shows",
        )])  # fmt: skip
    if not mutants:
        raise ConfigError([Problem(
            "no mutants to plant", file=args.app, field_path="--task/--operator",
            expected="a project with Celery tasks (shared_task / app.task)",
        )])  # fmt: skip
    return mutants


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from chaos.mutate.run import Baselines, run_mutants, scenario_documents, score

    mutants = _chosen(args)
    console = Console(highlight=False)
    if args.list:
        for mutant in mutants:
            print(f"{mutant.id:40} {mutant.file}:{mutant.line}  {mutant.promise}")
        return 0
    documents = scenario_documents(args.scenarios, args.app)
    baselines = Baselines(args.app, args.out, args.seed)
    if args.baseline == "first":
        baselines.require_all(documents)
        console.print(f"baseline: {len(documents)} scenario(s) hold on the unmutated project "
                      f"({baselines.seconds:.1f} s)", markup=False)  # fmt: skip
    console.print(f"planting {len(mutants)} mutants; {len(documents)} scenario(s), best first",
                  markup=False)  # fmt: skip

    def progress(result) -> None:  # noqa: ANN001
        line = f"  {result.outcome:10} {result.mutant.id} ({result.seconds:.1f} s)"
        console.print(line, markup=False)

    results = run_mutants(mutants, documents, baselines, equivalent=frozenset(args.equivalent),
                          on_result=progress)  # fmt: skip
    value = score(results)
    held = {"mode": args.baseline, "held": baselines.held,
            "seconds": round(baselines.seconds, 2)}  # fmt: skip
    if args.json:
        print(json.dumps({"score": value, "baseline": held, "results": [
            {"id": r.mutant.id, "promise": r.mutant.promise, "outcome": r.outcome,
             "scenario": r.scenario, "message": r.message, "seconds": round(r.seconds, 2)}
            for r in results]}, indent=2))  # fmt: skip
    else:
        table = Table(title="chaos mutate", show_lines=True, expand=True)
        for column in ("mutant", "promise", "result", "killed by"):
            table.add_column(column, overflow="fold")
        styles = {"killed": "green", "survived": "bold red", "error": "bold yellow"}
        for r in results:
            table.add_row(r.mutant.id, r.mutant.promise,
                          f"[{styles.get(r.outcome, 'dim')}]{r.outcome}[/]",
                          f"{r.scenario}: {r.message}" if r.scenario else r.message)  # fmt: skip
        console.print(table)
        shown = "n/a" if value is None else f"{value:.0%}"
        counts = {o: sum(1 for r in results if r.outcome == o)
                  for o in ("killed", "survived", "equivalent", "error")}  # fmt: skip
        summary = ", ".join(f"{n} {o}" for o, n in counts.items())
        console.print(f"mutation score {shown}: {summary}", markup=False)
        console.print(f"baseline ({args.baseline}): {len(baselines.held)} of {len(documents)} "
                      f"scenario(s) run on the unmutated project and held "
                      f"({baselines.seconds:.1f} s)", markup=False)  # fmt: skip
    if args.min_score is not None and (value is None or value * 100 < args.min_score):
        return 1
    return 0

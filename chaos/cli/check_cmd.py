"""``chaos check RUN_DIR``: re-check a recorded journal offline, no stack needed.

Expectations come from ``--expect FILE`` if given, else from the run directory (the verdicts in
``report.json``, else the ``expect:`` list of the scenario file the runner copied there), else the
default checks (delivery, retries as declared, sanity). The always-on invariants run too, relaxed
as the run directory's scenario.yaml says (``relax:``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from chaos.checks import DEFAULT_EXPECTATIONS, INVARIANTS, render_verdicts, run_checks
from chaos.checks.judge import ALLOW_UNEXERCISED
from chaos.checks.promises import KEY as KNOWN_BROKEN_KEY
from chaos.errors import ConfigError, Problem
from chaos.history import load_history
from chaos.history.completeness import require_complete
from chaos.inputs import MAX_SCENARIO_BYTES, read_json, read_yaml

REPORT_FILE = "report.json"
INVARIANT_PREFIX = "invariant:"
SCENARIO_FILES = ("scenario.yaml", "scenario.yml", "scenario.json")

EXAMPLE = """example:
  chaos check .chaos/runs/broker-kill-20261124T0500
  chaos check RUN_DIR --expect expectations.yaml --json
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="re-check a recorded run's journal offline and print the verdicts",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (or its journal.jsonl)")
    parser.add_argument(
        "--expect",
        metavar="FILE",
        help="YAML or JSON: a list of {check: NAME, ...} or a scenario with an expect: list",
    )
    parser.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    parser.set_defaults(func=run)


def _expect_list(document: Any, source: Path) -> list[Any]:
    allow_all = isinstance(document, dict) and document.get(ALLOW_UNEXERCISED) is True
    if isinstance(document, dict):
        document = document.get("expect", document.get("expectations"))
    if not isinstance(document, list) or not document:
        raise ConfigError(
            [
                Problem(
                    "no expectations",
                    file=source,
                    field_path="expect",
                    expected="a non-empty list of {check: NAME, ...}",
                )
            ]
        )
    if allow_all:  # a scenario's own allow_unexercised, as the runner passes it on
        document = [{ALLOW_UNEXERCISED: True, **e} if isinstance(e, dict) else e for e in document]
    return document


def _read_document(path: Path) -> Any:
    """An expectations file or a recorded scenario, within the limits of ``chaos.inputs``: a
    ``.json`` file through the JSON parser, anything else as YAML (JSON is YAML too)."""
    if path.suffix == ".json":
        return read_json(path, what="an expectations file", max_bytes=MAX_SCENARIO_BYTES)
    return read_yaml(path, what="an expectations file", max_bytes=MAX_SCENARIO_BYTES)


def _entries_from_verdicts(verdicts: Any, report: Path) -> list[dict[str, Any]]:
    """The expectations a report's recorded verdicts were judged by."""
    if not isinstance(verdicts, list):
        raise ConfigError([Problem("not a list of verdicts", file=report, field_path="verdicts",
                                   given=type(verdicts).__name__)])  # fmt: skip
    entries = []
    for index, verdict in enumerate(verdicts):
        if not isinstance(verdict, dict) or "name" not in verdict:
            continue
        if str(verdict["name"]).startswith("invariant:"):
            continue  # the always-on invariants: chaos check runs them anyway
        if str(verdict["name"]).startswith(INVARIANT_PREFIX):  # run on every check anyway
            continue
        params = verdict.get("params") or {}
        if not isinstance(params, dict):
            raise ConfigError([Problem("a verdict's params are not a mapping", file=report,
                                       field_path=f"verdicts[{index}].params")])  # fmt: skip
        entries.append({"check": verdict["name"], **params})
    return entries


def expectations_for(run_dir: Path, expect_file: str | None) -> tuple[list[Any], str]:
    """The expectations to check and where they came from."""
    if expect_file:
        path = Path(expect_file)
        return _expect_list(_read_document(path), path), str(path)
    folder = run_dir if run_dir.is_dir() else run_dir.parent
    report = folder / REPORT_FILE
    if report.is_file():
        document = read_json(report, what="a report.json")
        if not isinstance(document, dict):
            raise ConfigError([Problem("not a report", file=report, expected="a JSON object",
                                       given=type(document).__name__)])  # fmt: skip
        if document.get("expectations"):
            return _expect_list(document["expectations"], report), str(report)
        entries = _entries_from_verdicts(document.get("verdicts") or [], report)
        if entries:
            return entries, str(report)
    for name in SCENARIO_FILES:
        scenario = folder / name
        if scenario.is_file():
            return _expect_list(_read_document(scenario), scenario), str(scenario)
    return list(DEFAULT_EXPECTATIONS), "the default checks"


def relax_for(run_dir: Path) -> dict[str, str]:
    """The invariants the run's own scenario relaxed (``relax:`` in its scenario.yaml), each
    with its reason; an unknown name is bad input, as ``chaos validate`` says."""
    folder = run_dir if run_dir.is_dir() else run_dir.parent
    for name in SCENARIO_FILES:
        path = folder / name
        if not path.is_file():
            continue
        document = _read_document(path)
        relax = document.get("relax") if isinstance(document, dict) else None
        if relax is None:
            return {}
        problems = [Problem("unknown invariant", file=path, field_path=f"relax.{key}",
                            given=repr(key), expected=", ".join(sorted(INVARIANTS)))
                    for key in (relax if isinstance(relax, dict) else {})
                    if key not in INVARIANTS]  # fmt: skip
        if not isinstance(relax, dict):
            problems.append(Problem("relax is not a mapping", file=path, field_path="relax",
                                    expected="{invariant: reason}"))  # fmt: skip
        if problems:
            raise ConfigError(problems)
        return {str(k): str(v) for k, v in relax.items()}
    return {}


def scenario_known_broken(run_dir: Path) -> str | None:
    """The run's scenario-wide ``known_broken`` reason (scenario.yaml), so that ``chaos check``
    judges the run as the runner did; None when it has none."""
    folder = run_dir if run_dir.is_dir() else run_dir.parent
    for name in SCENARIO_FILES:
        path = folder / name
        if path.is_file():
            document = _read_document(path)
            reason = document.get(KNOWN_BROKEN_KEY) if isinstance(document, dict) else None
            return reason if isinstance(reason, str) and reason.strip() else None
    return None


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not run_dir.exists():
        raise ConfigError(
            [Problem("no such run directory", file=run_dir, expected="a directory from chaos run")]
        )
    try:
        history = load_history(run_dir)
    except RecursionError:  # json's own bound on nesting, met in a line of the journal
        raise ConfigError([Problem("a journal line nests too deeply to be an event",
                                   file=run_dir, expected="one JSON event a line")]) from None  # fmt: skip
    require_complete(history)  # exit 3, "incomplete journal: ...": no loss it cannot prove
    expectations, source = expectations_for(run_dir, args.expect)
    known_broken = None if args.expect else scenario_known_broken(run_dir)
    verdicts = run_checks(history, expectations, known_broken, invariants=True,
                          relax=relax_for(run_dir))  # fmt: skip
    if args.json:
        print(json.dumps([v.to_dict() for v in verdicts], indent=2, default=str))
    else:
        title = f"{history.meta.scenario or run_dir.name}: {len(history.tasks)} tasks, "
        title += f"{history.event_count} events; expectations from {source}"
        if history.meta.clock_label:
            title += f"; {history.meta.clock_label} (times are the app's)"
        render_verdicts(verdicts, title=title)
    return 0 if all(v.ok for v in verdicts) else 1

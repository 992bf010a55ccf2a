"""Run scenarios against each mutant, in a copy of the project: killed, survived, or an error.

The baseline comes first: every chosen scenario must hold on the unmutated copy, or no mutant's
result means anything (exit 3). Then, for each mutant, a fresh copy of the project gets the one
change and the scenarios run against it in the order given, stopping at the first that fails:
that failure's verdict is the message naming the broken promise. A run that could not start or
died is an error, counted neither killed nor survived. The user's tree is only read.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.errors import ConfigError, Problem, StackError
from chaos.inputs import read_yaml
from chaos.mutate.operators import SKIP_DIRS, Mutant

_IGNORED = shutil.ignore_patterns(*(d for d in SKIP_DIRS if d != "migrations"), "*.sqlite3")


@dataclass
class MutantResult:
    mutant: Mutant
    outcome: str
    """killed, survived, equivalent, or error."""
    scenario: str | None = None
    message: str = ""
    seconds: float = 0.0


def scenario_documents(paths: Sequence[Path], app_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Each scenario as a mapping, refused unless it runs the app in ``app_dir``."""
    from chaos.scenario import load_scenario
    from chaos.scenario.semantics import app_workdir

    documents = []
    for path in paths:
        loaded = load_scenario(path)  # validates: bad input is exit 2 before anything runs
        workdir = Path(app_workdir(loaded.scenario, path)).resolve()
        if workdir != app_dir.resolve():
            raise ConfigError([Problem(
                "the scenario runs another project", file=path, field_path="app.workdir",
                given=str(workdir), expected=f"the project being mutated, {app_dir}",
            )])  # fmt: skip
        document = read_yaml(path, what="a scenario")
        documents.append((path, document))
    return documents


def copy_project(app_dir: Path, into: Path) -> Path:
    target = into / app_dir.name
    shutil.copytree(app_dir, target, ignore=_IGNORED)
    return target


def _against(document: dict[str, Any], project: Path) -> dict[str, Any]:
    moved = dict(document)
    moved["app"] = {**(document.get("app") or {}), "workdir": str(project)}
    return moved


def _first_failure(result: Any) -> str:
    failed = [v for v in result.verdicts if not v.ok]
    if not failed:
        return ""
    first = failed[0]
    more = f" (and {len(failed) - 1} more verdicts)" if len(failed) > 1 else ""
    return f"{first.name}: {first.message}"[:300] + more


def run_scenarios(documents: Sequence[tuple[Path, dict[str, Any]]], project: Path, out_dir: Path,
                  seed: int | None) -> tuple[str, str | None, str]:  # fmt: skip
    """(outcome, scenario, message) of the scenarios against ``project``: killed at the first
    failure, survived when all hold, error when a run could not be judged."""
    from chaos.runner import run_scenario

    for path, document in documents:
        try:
            result = run_scenario(_against(document, project), out_dir=out_dir, quiet=True,
                                  seed=seed)  # fmt: skip
        except StackError as exc:
            return "error", path.name, str(exc)[:300]
        if not result.ok:
            return "killed", path.name, _first_failure(result)
    return "survived", None, ""


def baseline(documents: Sequence[tuple[Path, dict[str, Any]]], app_dir: Path, out_dir: Path,
             seed: int | None) -> None:  # fmt: skip
    """Every scenario holds on the unmutated project, or StackError (exit 3) says which did not."""
    with tempfile.TemporaryDirectory(prefix="chaos-mutate-") as scratch:
        project = copy_project(app_dir, Path(scratch))
        outcome, scenario, message = run_scenarios(documents, project, out_dir, seed)
    if outcome != "survived":
        raise StackError("mutate", f"the scenarios do not hold on the unmutated project "
                         f"({scenario}: {message}); no mutant's result would mean anything",
                         hint="fix the scenario or the app first")  # fmt: skip


def run_mutants(
    mutants: Sequence[Mutant],
    documents: Sequence[tuple[Path, dict[str, Any]]],
    app_dir: Path,
    out_dir: Path,
    *,
    seed: int | None = None,
    equivalent: frozenset[str] = frozenset(),
    on_result: Callable[[MutantResult], None] | None = None,
) -> list[MutantResult]:
    """Each mutant's result (see the module); ``equivalent`` ids are listed, never run."""
    results = []
    for mutant in mutants:
        began = time.monotonic()
        if mutant.id in equivalent:
            result = MutantResult(mutant, "equivalent", message="marked equivalent")
        else:
            with tempfile.TemporaryDirectory(prefix="chaos-mutant-") as scratch:
                project = copy_project(app_dir, Path(scratch))
                source = project / mutant.file
                source.write_text(mutant.apply(source.read_text()))
                outcome, scenario, message = run_scenarios(documents, project, out_dir, seed)
            result = MutantResult(mutant, outcome, scenario, message)
        result.seconds = time.monotonic() - began
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def score(results: Sequence[MutantResult]) -> float | None:
    """Killed over killed + survived (equivalents and errors left out); None when none ran."""
    killed = sum(1 for r in results if r.outcome == "killed")
    judged = killed + sum(1 for r in results if r.outcome == "survived")
    return None if judged == 0 else killed / judged

"""Run scenarios against each mutant, in a copy of the project: killed, survived, or an error.

For each mutant, a fresh copy of the project gets the one change and the scenarios run against it
best first (``chaos.mutate.order``), stopping at the first that fails: that failure's verdict is
the message naming the broken promise. A kill is trusted only once the scenario that made it has
held on the unmutated copy (its baseline: else the failure may be the scenario's own, and the run
ends with exit 3). Baselines run lazily by default, each at most once and only for the scenarios
that killed something: a survivor needs none (every scenario held on it). ``first`` runs them
all up front instead. A run that could not start or died is an error, counted neither killed nor
survived. The user's tree is only read.
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
from chaos.mutate.order import order_for

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


#: One scenario's run: (its mapping, pointed at a project; the run directory; the seed) to a
#: result with ``ok`` and ``verdicts`` (``chaos.runner.run_scenario``'s).
RunOne = Callable[[dict[str, Any], Path, int | None], Any]


def run_one(document: dict[str, Any], out_dir: Path, seed: int | None) -> Any:
    """The scenario for real, on a stack (the default ``RunOne``)."""
    from chaos.runner import run_scenario

    return run_scenario(document, out_dir=out_dir, quiet=True, seed=seed)


class Baselines:
    """Each scenario's run on an unmutated copy of the project, at most once, on demand."""

    def __init__(self, app_dir: Path, out_dir: Path, seed: int | None,
                 run: RunOne = run_one) -> None:  # fmt: skip
        self.app_dir, self.out_dir, self.seed, self.run = app_dir, out_dir, seed, run
        self.held: list[str] = []
        """The scenarios whose baseline ran and held (file names), in the order they ran."""
        self.seconds = 0.0
        self._done: set[Path] = set()

    def require(self, path: Path, document: dict[str, Any]) -> None:
        """Return once ``path`` holds on the unmutated project; StackError (exit 3) if not."""
        if path.resolve() in self._done:
            return
        began = time.monotonic()
        try:
            with tempfile.TemporaryDirectory(prefix="chaos-mutate-") as scratch:
                project = copy_project(self.app_dir, Path(scratch))
                result = self.run(_against(document, project), self.out_dir, self.seed)
        finally:
            self.seconds += time.monotonic() - began
        if not result.ok:
            raise StackError("mutate", f"{path.name} does not hold on the unmutated project "
                             f"({_first_failure(result)}); no mutant it kills would mean anything",
                             hint="fix the scenario or the app first")  # fmt: skip
        self._done.add(path.resolve())
        self.held.append(path.name)

    def require_all(self, documents: Sequence[tuple[Path, dict[str, Any]]]) -> None:
        """``--baseline first``: every scenario, up front."""
        for path, document in documents:
            self.require(path, document)


def run_scenarios(documents: Sequence[tuple[Path, dict[str, Any]]], project: Path, out_dir: Path,
                  seed: int | None, baselines: Baselines,
                  run: RunOne = run_one) -> tuple[str, str | None, str]:  # fmt: skip
    """(outcome, scenario, message) of the scenarios, in the order given, against ``project``:
    killed at the first failure (once its baseline held), survived when all hold, error when a
    run could not be judged."""
    for path, document in documents:
        try:
            result = run(_against(document, project), out_dir, seed)
        except StackError as exc:
            return "error", path.name, str(exc)[:300]
        if not result.ok:
            baselines.require(path, document)
            return "killed", path.name, _first_failure(result)
    return "survived", None, ""


def run_mutants(
    mutants: Sequence[Mutant],
    documents: Sequence[tuple[Path, dict[str, Any]]],
    baselines: Baselines,
    *,
    equivalent: frozenset[str] = frozenset(),
    on_result: Callable[[MutantResult], None] | None = None,
    run: RunOne = run_one,
) -> list[MutantResult]:
    """Each mutant's result (see the module); ``equivalent`` ids are listed, never run. A
    mutant's seconds leave out the baseline it triggered (``baselines.seconds`` holds those)."""
    results = []
    for mutant in mutants:
        began, before = time.monotonic(), baselines.seconds
        if mutant.id in equivalent:
            result = MutantResult(mutant, "equivalent", message="marked equivalent")
        else:
            with tempfile.TemporaryDirectory(prefix="chaos-mutant-") as scratch:
                project = copy_project(baselines.app_dir, Path(scratch))
                source = project / mutant.file
                source.write_text(mutant.apply(source.read_text()))
                ordered = order_for(mutant.task, documents, mutant.operator)
                outcome, scenario, message = run_scenarios(
                    ordered, project, baselines.out_dir, baselines.seed, baselines, run)
            result = MutantResult(mutant, outcome, scenario, message)
        result.seconds = time.monotonic() - began - (baselines.seconds - before)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def score(results: Sequence[MutantResult]) -> float | None:
    """Killed over killed + survived (equivalents and errors left out); None when none ran."""
    killed = sum(1 for r in results if r.outcome == "killed")
    judged = killed + sum(1 for r in results if r.outcome == "survived")
    return None if judged == 0 else killed / judged

"""Replay: run a recorded run again with its seed and resolved timeline, and compare verdicts.

Two runs of one resolved timeline see the same faults at the same offsets; what the system does
in between is its own business, so a replay can differ, and saying which verdict differed (and how)
is the point: a verdict that flips between runs is a flaky guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.errors import ConfigError, Problem
from chaos.runner.run import RunResult, run_scenario
from chaos.runner.rundir import read_recorded_run, require_finished


@dataclass(frozen=True)
class VerdictDifference:
    check: str
    recorded: str
    replayed: str


@dataclass
class ReplayResult:
    recorded_dir: Path
    result: RunResult
    differences: list[VerdictDifference]

    @property
    def matches(self) -> bool:
        return not self.differences


def compare_verdicts(recorded: list[Any], replayed: list[Any]) -> list[VerdictDifference]:
    """Verdicts that differ in outcome, matched by position (a scenario's expectations keep their
    order), with missing ones on either side counted as differences."""
    differences = []
    for index in range(max(len(recorded), len(replayed))):
        before = recorded[index] if index < len(recorded) else None
        after = replayed[index] if index < len(replayed) else None
        name = (before or after).name
        if before is None or after is None or before.status != after.status:
            differences.append(
                VerdictDifference(
                    check=name,
                    recorded=_describe(before),
                    replayed=_describe(after),
                )
            )
    return differences


def _describe(verdict: Any) -> str:
    if verdict is None:
        return "absent"
    return f"{verdict.status}: {verdict.observed}"


def refuse_incomplete(run_dir: Path) -> None:
    """A ConfigError when the recorded journal is incomplete: its verdicts proved nothing, so a
    replay has nothing to compare with (``chaos.history.completeness``)."""
    from chaos.history import load_history
    from chaos.history.completeness import assess

    completeness = assess(load_history(run_dir))
    if not completeness.complete:
        raise ConfigError([Problem(f"cannot replay: {completeness.describe()}", file=run_dir,
                                   hint="its verdicts prove nothing; chaos run the scenario "
                                        "instead")])  # fmt: skip


def replay_run(run_dir: Path | str, *, out_dir: Path | str | None = None,
               backend: str | None = None, quiet: bool = False,
               picture: bool = False) -> ReplayResult:  # fmt: skip
    """Run ``run_dir``'s scenario again with its recorded seed and timeline; a ConfigError
    before anything starts when the run directory does not hold a journal and verdicts to
    compare with."""
    recorded = read_recorded_run(run_dir)
    require_finished(recorded.run_dir)
    refuse_incomplete(recorded.run_dir)
    result = run_scenario(
        recorded.loaded,
        backend=backend or recorded.backend,
        timeline=recorded.timeline,
        out_dir=out_dir if out_dir is not None else recorded.run_dir.parent,
        quiet=quiet,
        picture=picture,
    )
    differences = compare_verdicts(recorded.verdicts or [], result.verdicts)
    return ReplayResult(recorded_dir=recorded.run_dir, result=result, differences=differences)

"""Compare each version set's verdicts with the baseline's: a pure function of the results.

A regression is a promise (an expectation) the baseline kept and a target set broke. A promise
the baseline broke and a target kept is a fix. A cell that could not run (``error``) is neither:
it says nothing about the versions, and the matrix reports it as an infrastructure error.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ExpectationResult:
    key: str
    held: bool
    message: str = ""


@dataclass
class CellResult:
    """One scenario under one version set: held, failed or error, with its expectations."""

    status: str  # "held" | "failed" | "error"
    expectations: list[ExpectationResult] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    run_dir: str | None = None

    @property
    def held_count(self) -> int:
        return sum(1 for result in self.expectations if result.held)

    def by_key(self) -> dict[str, ExpectationResult]:
        return {result.key: result for result in self.expectations}


@dataclass(frozen=True)
class Regression:
    """An expectation the baseline held and ``target`` broke (or a fix, the other way round)."""

    scenario: str
    target: str
    expectation: str
    baseline_held: bool
    target_held: bool
    message: str


@dataclass
class MatrixOutcome:
    baseline: str
    labels: list[str]
    cells: dict[str, dict[str, CellResult]]  # scenario -> set label -> cell
    regressions: list[Regression]
    fixes: list[Regression]
    errors: list[tuple[str, str]]  # (scenario, set label)

    @property
    def exit_code(self) -> int:
        """1 a target broke a promise the baseline kept; 3 a cell could not run; else 0."""
        if self.regressions:
            return 1
        if self.errors:
            return 3
        return 0

    def to_json(self) -> dict:
        return {
            "baseline": self.baseline,
            "sets": self.labels,
            "cells": {
                scenario: {label: asdict(cell) for label, cell in row.items()}
                for scenario, row in self.cells.items()
            },
            "regressions": [asdict(item) for item in self.regressions],
            "fixes": [asdict(item) for item in self.fixes],
            "errors": [{"scenario": s, "set": label} for s, label in self.errors],
            "exit_code": self.exit_code,
        }


def compare(cells: dict[str, dict[str, CellResult]], labels: list[str],
            baseline: int = 0) -> MatrixOutcome:  # fmt: skip
    """Regressions and fixes of every target set against ``labels[baseline]``."""
    base_label = labels[baseline]
    regressions: list[Regression] = []
    fixes: list[Regression] = []
    errors: list[tuple[str, str]] = []
    for scenario, row in cells.items():
        for label in labels:
            if row.get(label) is None or row[label].status == "error":
                errors.append((scenario, label))
        base = row.get(base_label)
        if base is None or base.status == "error":
            continue
        base_results = base.by_key()
        for label in labels:
            target = row.get(label)
            if label == base_label or target is None or target.status == "error":
                continue
            for key, result in target.by_key().items():
                before = base_results.get(key)
                if before is None or before.held == result.held:
                    continue
                change = Regression(scenario, label, key, before.held, result.held,
                                    result.message)  # fmt: skip
                (regressions if before.held else fixes).append(change)
    return MatrixOutcome(base_label, labels, cells, regressions, fixes, errors)

"""The matrix as people read it: a table scenario x version set, and the list of what changed."""

from __future__ import annotations

from rich.table import Table

from chaos.matrix.comparing import CellResult, MatrixOutcome


def cell_text(cell: CellResult | None) -> str:
    """``held 4/4``, ``FAILED 3/4: enqueue`` or ``error``: what a cell of the table says."""
    if cell is None or cell.status == "error":
        return "error"
    total = len(cell.expectations)
    if cell.status == "held":
        return f"held {cell.held_count}/{total}"
    broken = ", ".join(result.key for result in cell.expectations if not result.held)
    return f"FAILED {cell.held_count}/{total}: {broken}"


def matrix_table(outcome: MatrixOutcome, versions: dict[str, dict[str, str]] | None = None) -> Table:
    """One row per scenario, one column per version set (the baseline first, marked)."""
    table = Table(title="chaos matrix", show_lines=True)
    table.add_column("scenario")
    for label in outcome.labels:
        header = label + (" (baseline)" if label == outcome.baseline else "")
        installed = (versions or {}).get(label)
        if installed:
            header += "\n" + " ".join(f"{name} {version}" for name, version in installed.items()
                                      if name in ("celery", "kombu", "redis"))  # fmt: skip
        table.add_column(header)
    for scenario, row in outcome.cells.items():
        table.add_row(scenario, *(cell_text(row.get(label)) for label in outcome.labels))
    return table


def change_lines(outcome: MatrixOutcome) -> list[str]:
    """One line per regression and fix, and per cell that could not run."""
    lines = [
        f"REGRESSION {item.scenario} / {item.expectation}: held on {outcome.baseline}, "
        f"failed on {item.target}: {item.message}"
        for item in outcome.regressions
    ]
    lines += [
        f"fixed {item.scenario} / {item.expectation}: failed on {outcome.baseline}, "
        f"held on {item.target}"
        for item in outcome.fixes
    ]
    lines += [f"error {scenario} on {label}: the run did not finish (see its log)"
              for scenario, label in outcome.errors]  # fmt: skip
    return lines

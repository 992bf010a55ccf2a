"""rendering: what the matrix table and its change lines say (pure)."""

from __future__ import annotations

from rich.console import Console

from chaos.matrix.comparing import CellResult, ExpectationResult, compare
from chaos.matrix.rendering import cell_text, change_lines, matrix_table

OLD, NEW = "celery==5.3.6 kombu==5.3.7", "celery==5.7.0 kombu==5.7.0"


def results(**held: bool) -> list[ExpectationResult]:
    return [ExpectationResult(key, ok, f"{key} broke") for key, ok in held.items()]


def test_cell_text_counts_held_expectations_and_names_the_broken_ones() -> None:
    assert cell_text(CellResult("held", results(a=True, b=True))) == "held 2/2"
    assert cell_text(CellResult("failed", results(a=True, b=False))) == "FAILED 1/2: b"
    assert cell_text(CellResult("error", error="exit 3")) == "error"
    assert cell_text(None) == "error"


def test_the_table_has_one_row_per_scenario_and_marks_the_baseline() -> None:
    cells = {
        "proxy-down": {OLD: CellResult("held", results(a=True)),
                       NEW: CellResult("failed", results(a=False))},
        "restart": {OLD: CellResult("held", results(a=True)), NEW: CellResult("error")},
    }  # fmt: skip
    outcome = compare(cells, [OLD, NEW])
    console = Console(width=200, record=True)
    console.print(matrix_table(outcome, {OLD: {"celery": "5.3.6", "kombu": "5.3.7"}}))
    text = console.export_text()
    assert f"{OLD} (baseline)" in text
    assert "celery 5.3.6 kombu 5.3.7" in text
    assert "proxy-down" in text and "FAILED 0/1: a" in text
    assert "restart" in text and "error" in text
    lines = change_lines(outcome)
    assert lines[0] == f"REGRESSION proxy-down / a: held on {OLD}, failed on {NEW}: a broke"
    assert lines[-1].startswith(f"error restart on {NEW}")

"""comparing.compare: regressions, fixes and errors against the baseline (pure)."""

from __future__ import annotations

from chaos.matrix.comparing import CellResult, ExpectationResult, compare

OLD, NEW = "celery==5.6.2 kombu==5.6.2", "celery==5.7.0 kombu==5.7.0"


def cell(**held: bool) -> CellResult:
    results = [ExpectationResult(key, ok, f"{key} message") for key, ok in held.items()]
    return CellResult("held" if all(held.values()) else "failed", results)


def error() -> CellResult:
    return CellResult("error", error="chaos run exited 3")


def test_a_promise_kept_by_the_baseline_and_broken_by_a_target_is_a_regression() -> None:
    cells = {"proxy-down": {OLD: cell(enqueue=True, no_lost=True),
                            NEW: cell(enqueue=False, no_lost=True)}}  # fmt: skip
    outcome = compare(cells, [OLD, NEW])
    assert [(r.scenario, r.target, r.expectation) for r in outcome.regressions] == [
        ("proxy-down", NEW, "enqueue")
    ]
    assert outcome.regressions[0].message == "enqueue message"
    assert outcome.fixes == []
    assert outcome.exit_code == 1


def test_a_promise_the_baseline_broke_and_the_target_kept_is_a_fix_not_a_failure() -> None:
    cells = {"restart": {OLD: cell(enqueue=False), NEW: cell(enqueue=True)}}
    outcome = compare(cells, [OLD, NEW])
    assert outcome.regressions == []
    assert [(f.expectation, f.baseline_held, f.target_held) for f in outcome.fixes] == [
        ("enqueue", False, True)
    ]
    assert outcome.exit_code == 0


def test_the_baseline_can_be_any_set() -> None:
    cells = {"restart": {OLD: cell(enqueue=False), NEW: cell(enqueue=True)}}
    outcome = compare(cells, [OLD, NEW], baseline=1)
    assert outcome.baseline == NEW
    assert [(r.target, r.expectation) for r in outcome.regressions] == [(OLD, "enqueue")]


def test_failing_the_same_way_on_both_sides_is_no_regression() -> None:
    cells = {"s": {OLD: cell(enqueue=False), NEW: cell(enqueue=False)}}
    assert compare(cells, [OLD, NEW]).exit_code == 0


def test_a_cell_that_did_not_run_is_an_infrastructure_error_not_a_verdict() -> None:
    cells = {"s": {OLD: cell(enqueue=True), NEW: error()}}
    outcome = compare(cells, [OLD, NEW])
    assert outcome.regressions == []
    assert outcome.errors == [("s", NEW)]
    assert outcome.exit_code == 3


def test_a_regression_outranks_an_error_in_the_exit_code() -> None:
    cells = {"a": {OLD: cell(x=True), NEW: cell(x=False)}, "b": {OLD: error(), NEW: cell(x=True)}}
    outcome = compare(cells, [OLD, NEW])
    assert outcome.errors == [("b", OLD)]
    assert outcome.exit_code == 1


def test_the_json_diff_names_sets_cells_and_changes() -> None:
    cells = {"s": {OLD: cell(enqueue=True), NEW: cell(enqueue=False)}}
    document = compare(cells, [OLD, NEW]).to_json()
    assert document["baseline"] == OLD
    assert document["sets"] == [OLD, NEW]
    assert document["cells"]["s"][NEW]["status"] == "failed"
    assert document["regressions"][0]["expectation"] == "enqueue"
    assert document["exit_code"] == 1

"""Planted anomalies, one at a time, in a run every check passes: each is caught by exactly the
checks that should catch it (no miss), and no other check fails (no false positive)."""

from __future__ import annotations

import pytest

from chaos.checks import run_checks
from chaos.history import build_history, load_history
from tests.checks import runs

#: planter, the checks that must fail, text the first failing message must contain.
CASES = {
    "lost": (
        runs.plant_lost,
        {"delivery", "no_lost", "resume_within"},
        (
            "send_invoice_email[order=17]: accepted by the broker at 9.50 s, never executed; "
            "broker killed 10.00 to 13.00 s with persistence off: lost with the broker's memory"
        ),
    ),
    "duplicate": (runs.plant_duplicate, {"delivery", "duplicates"}, "attempt 0 ran 2 times"),
    "retry_too_many": (
        runs.plant_retry_too_many,
        {"retries_as_declared"},
        "5 attempts, max_retries=3 allows 4",
    ),
    "attempt_skipped": (runs.plant_attempt_skipped, {"retries_as_declared"}, "1 missing"),
    "gap_too_short": (
        runs.plant_gap_too_short,
        {"retries_as_declared"},
        "sooner than its countdown",
    ),
    "wrong_final_exception": (
        runs.plant_wrong_final_exception,
        {"retries_as_declared"},
        "expected builtins.ValueError after the last retry",
    ),
    "slow_resume": (runs.plant_slow_resume, {"resume_within"}, "bound 5.00 s"),
    "unexpected": (runs.plant_unexpected, {"delivery", "no_unexpected"}, "never enqueued"),
    "received_during_outage": (
        runs.plant_received_during_outage,
        {"sanity"},
        "while broker killed 10.00 to 13.00 s",
    ),
    "accepted_during_outage": (
        runs.plant_accepted_during_outage,
        {"enqueue", "sanity"},
        "was accepted",
    ),
    "durable_never_delivered": (
        runs.plant_durable_never_delivered,
        {"enqueue"},
        "refused at first, never delivered afterwards",
    ),
    "lost_with_worker": (
        runs.plant_lost_with_worker,
        {"delivery", "no_lost", "resume_within"},
        "acked when it started (acks_late off), lost with the worker",
    ),
    "delayed_acks_late": (
        runs.plant_delayed_acks_late,
        {"resume_within"},
        "backlog never drained",
    ),
    "recovered": (runs.plant_recovered, set(), ""),
}


def failing(verdicts: list) -> set[str]:
    return {v.name for v in verdicts if not v.ok}


def test_clean_run_passes_every_check() -> None:
    verdicts = run_checks(build_history(runs.clean_run().events), runs.ALL_EXPECTATIONS)
    assert [v.name for v in verdicts if not v.ok] == [], [v.message for v in verdicts if not v.ok]


@pytest.mark.parametrize("case", sorted(CASES))
def test_planted_anomaly_fails_exactly_its_checks(case: str) -> None:
    planter, expected_failing, text = CASES[case]
    run = runs.clean_run()
    planter(run)
    verdicts = run_checks(build_history(run.events), runs.ALL_EXPECTATIONS)
    assert failing(verdicts) == expected_failing, {v.name: v.message for v in verdicts}
    messages = [v.message for v in verdicts if not v.ok]
    assert not text or any(text in m for m in messages), messages


def test_failed_verdict_names_tasks_and_fault_windows() -> None:
    run = runs.clean_run()
    runs.plant_lost(run)
    (verdict,) = run_checks(build_history(run.events), [{"check": "no_lost"}])
    assert verdict.tasks == ["lost"]
    assert [w.fault_id for w in verdict.fault_windows] == ["kill-1"]
    assert verdict.to_dict()["fault_windows"][0]["start"] == pytest.approx(10.0)


def test_recovered_task_is_counted_not_failed() -> None:
    run = runs.clean_run()
    runs.plant_recovered(run)
    (verdict,) = run_checks(build_history(run.events), [{"check": "delivery"}])
    assert verdict.ok
    assert verdict.details["counts"]["recovered"] == 1


def test_duplicates_allowed_where_at_least_once_says_so() -> None:
    run = runs.clean_run()
    runs.plant_duplicate(run)
    verdicts = run_checks(
        build_history(run.events),
        [
            {"check": "duplicates", "allowed": True},
            {"check": "delivery", "duplicates_allowed": True},
        ],
    )
    assert all(v.ok for v in verdicts)
    assert verdicts[0].details["extra_executions"] == 1
    (bounded,) = run_checks(build_history(run.events), [{"check": "duplicates", "at_most": 0}])
    assert not bounded.ok and bounded.expected == "at most 0 extra executions"


def test_delayed_task_fails_no_lost_only_when_delay_is_not_allowed() -> None:
    run = runs.clean_run()
    runs.plant_delayed_acks_late(run)
    history = build_history(run.events)
    allowed, strict = run_checks(
        history, [{"check": "no_lost"}, {"check": "no_lost", "delayed_allowed": False}]
    )
    assert allowed.ok and "delayed until visibility_timeout" in allowed.message
    assert not strict.ok


@pytest.mark.parametrize("skew", [3.0, -7.5, 120.0])
def test_clock_skew_between_writers_gives_no_false_positive(skew: float) -> None:
    history = build_history(runs.clean_run(worker_skew=skew).events)
    verdicts = run_checks(history, runs.ALL_EXPECTATIONS)
    assert failing(verdicts) == set(), {v.name: v.message for v in verdicts}
    assert history.clock_skews["worker-1@host"] == pytest.approx(skew)


def test_clock_skew_does_not_hide_a_planted_anomaly() -> None:
    run = runs.clean_run(worker_skew=4.0)
    runs.plant_gap_too_short(run)
    verdicts = run_checks(build_history(run.events), runs.ALL_EXPECTATIONS)
    assert failing(verdicts) == {"retries_as_declared"}


def test_partial_last_line_gives_no_false_positive(tmp_path) -> None:
    run = runs.clean_run()
    run.write(tmp_path, shuffle_seed=3, partial_tail='{"kind":"task.started","wall":1790000')
    history = load_history(tmp_path)
    verdicts = run_checks(history, runs.ALL_EXPECTATIONS)
    assert failing(verdicts) == set()
    sanity = next(v for v in verdicts if v.name == "sanity")
    assert "last line was partial" in sanity.message


def test_resume_names_an_unknown_fault_and_lists_the_real_ones() -> None:
    (verdict,) = run_checks(
        build_history(runs.clean_run().events), [{"check": "resume_within", "fault": "nope"}]
    )
    assert not verdict.ok and "'nope'" in verdict.message and "kill-1" in verdict.message

"""The retry specification against what the task declares, one policy per row."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.checks import CHECKS, run_checks
from chaos.checks.retries import backoff_bound
from chaos.errors import ConfigError
from chaos.history import build_history
from chaos.testing import RETRYING_POLICY, SyntheticRun

BACKOFF = {
    **RETRYING_POLICY,
    "autoretry_for": ["builtins.ValueError"],
    "retry_backoff": 1,
    "retry_jitter": False,
    "max_retries": 4,
}
JITTER = {**BACKOFF, "retry_jitter": True}


def ladder(
    policy: dict[str, Any],
    countdowns: list[float | None],
    gaps: list[float],
    final: str = "failure",
    retry_exc: str = "builtins.ValueError",
    final_exc: str | None = None,
) -> SyntheticRun:
    """One task: attempt n retries with countdowns[n] and the next starts gaps[n] later."""
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    start = 1.01
    for n, (countdown, gap) in enumerate(zip(countdowns, gaps, strict=True)):
        run.execute(start, "t1", n, "retry", countdown=countdown, policy=policy, exc_type=retry_exc)
        start += 0.055 + gap
    run.execute(start, "t1", len(gaps), final, policy=policy, exc_type=final_exc or retry_exc)
    return run


#: policy, countdowns, gaps, final, retry exception, final exception, params, ok, text.
CASES = {
    "backoff without jitter, gaps 1 2 4 8": (
        BACKOFF,
        [1, 2, 4, 8],
        [1, 2, 4, 8],
        "failure",
        "builtins.ValueError",
        None,
        {},
        True,
        "",
    ),
    "backoff countdown off the policy": (
        BACKOFF,
        [1, 3, 4, 8],
        [1, 3, 4, 8],
        "failure",
        "builtins.ValueError",
        None,
        {},
        False,
        "the backoff policy without jitter gives 2.00 s",
    ),
    "jitter countdown near zero is within policy": (
        JITTER,
        [0.01, 2.0, 0.01, 1.0],
        [0.01, 2.0, 0.01, 1.0],
        "failure",
        "builtins.ValueError",
        None,
        {},
        True,
        "",
    ),
    "jitter unset (None) means Celery's default, on": (
        {**BACKOFF, "retry_jitter": None},
        [0.3, 1.2],
        [0.3, 1.2],
        "success",
        "builtins.ValueError",
        None,
        {},
        True,
        "",
    ),
    "jitter countdown above the bound": (
        JITTER,
        [0.5, 3.0],
        [0.5, 3.0],
        "success",
        "builtins.ValueError",
        None,
        {},
        False,
        "outside the backoff policy's [0, 2.00] s",
    ),
    "no countdown: default_retry_delay applies": (
        {**RETRYING_POLICY, "default_retry_delay": 2},
        [None],
        [0.4],
        "success",
        "builtins.ValueError",
        None,
        {},
        False,
        "sooner than its default_retry_delay 2.00 s",
    ),
    "retry() without exc ends in MaxRetriesExceededError": (
        RETRYING_POLICY,
        [1, 1, 1],
        [1, 1, 1],
        "failure",
        "celery.exceptions.Retry",
        "celery.exceptions.MaxRetriesExceededError",
        {},
        True,
        "",
    ),
    "retry() without exc must not end in the original": (
        RETRYING_POLICY,
        [1, 1, 1],
        [1, 1, 1],
        "failure",
        "celery.exceptions.Retry",
        "builtins.ValueError",
        {},
        False,
        "expected celery.exceptions.MaxRetriesExceededError",
    ),
    "max_retries None is unlimited": (
        {**RETRYING_POLICY, "max_retries": None},
        [0.1] * 6,
        [0.1] * 6,
        "success",
        "builtins.ValueError",
        None,
        {},
        True,
        "",
    ),
    "autoretry failure with retries left": (
        {**BACKOFF},
        [1],
        [1],
        "failure",
        "builtins.ValueError",
        None,
        {},
        False,
        "which autoretry_for covers, with 3 retries left",
    ),
    "declared attempts and final state held": (
        RETRYING_POLICY,
        [1, 1],
        [1, 1],
        "success",
        "builtins.ValueError",
        None,
        {"attempts": 3, "final_state": "SUCCESS"},
        True,
        "",
    ),
    "declared final exception differs": (
        RETRYING_POLICY,
        [1, 1, 1],
        [1, 1, 1],
        "failure",
        "builtins.ValueError",
        None,
        {"final_exception": "KeyError"},
        False,
        "expected KeyError",
    ),
    "late gap flagged only when asked": (
        RETRYING_POLICY,
        [1],
        [4.0],
        "success",
        "builtins.ValueError",
        None,
        {"late": 1.0},
        False,
        "later than its countdown 1.00 s + 1.00 s",
    ),
    "late gap tolerated by default": (
        RETRYING_POLICY,
        [1],
        [4.0],
        "success",
        "builtins.ValueError",
        None,
        {},
        True,
        "",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_retry_policy(case: str) -> None:
    policy, countdowns, gaps, final, retry_exc, final_exc, params, ok, text = CASES[case]
    run = ladder(policy, countdowns, gaps, final, retry_exc, final_exc)
    (verdict,) = run_checks(build_history(run.events), [{"check": "retries_as_declared", **params}])
    assert verdict.ok is ok, verdict.message
    assert text in verdict.message


def test_backoff_bound_follows_celery() -> None:
    policy = {"retry_backoff": True, "retry_backoff_max": 5}
    assert [backoff_bound(policy, n) for n in range(5)] == [1, 2, 4, 5, 5]
    assert backoff_bound({"retry_backoff": False}, 3) is None


def test_a_task_filter_with_no_match_fails_rather_than_passing_vacuously() -> None:
    run = ladder(RETRYING_POLICY, [1], [1], "success")
    (verdict,) = run_checks(
        build_history(run.events), [{"check": "retries_as_declared", "task": "no_such_task"}]
    )
    assert not verdict.ok and "no executed task" in verdict.message


def test_unknown_check_and_parameter_are_reported_together() -> None:
    with pytest.raises(ConfigError) as caught:
        run_checks(build_history([]), [{"check": "no_lsot"}, {"check": "no_lost", "sconds": 1}])
    text = str(caught.value)
    assert "expectations[0].check" in text and "expectations[1].sconds" in text
    assert "delayed_allowed" in text


def test_every_registered_check_runs_on_an_empty_history() -> None:
    history = build_history([])
    for name in CHECKS:
        (verdict,) = run_checks(history, [{"check": name}])
        assert verdict.name == name and verdict.message

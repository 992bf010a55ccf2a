"""Pinned retry policies and per-call expectations: the oracle comes from the scenario, so the
seed's planted policy bugs (max_retries 3 -> 2, countdown 60 -> 6) fail, with the drift named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaos.checks import run_checks
from chaos.checks.verdict import Verdict
from chaos.errors import ConfigError
from chaos.history import build_history
from chaos.journal import args_digest
from chaos.scenario.loader import scenario_problems
from chaos.testing import RETRYING_POLICY, SyntheticRun

RISKY = "shop.tasks.risky_task"
WAREHOUSE = "shop.tasks.notify_warehouse"
CONNECTION_ERROR = "builtins.ConnectionError"
ENDPOINT_ERROR = "shop.endpoints.EndpointError"
PIN = {"max_retries": 3, "countdown": 60}
BACKOFF_POLICY = {
    **RETRYING_POLICY,
    "max_retries": 5,
    "autoretry_for": [ENDPOINT_ERROR],
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
}
BACKOFF_PIN = {
    "max_retries": 5,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "autoretry_for": [ENDPOINT_ERROR],
}


def called_with(run: SyntheticRun, task_id: str, args: list[Any]) -> None:
    """Journal the call's arguments as the probe does (the synthetic writer leaves a dummy)."""
    for event in run.events:
        if event.task_id == task_id and event.kind == "task.started":
            event.data["args_digest"] = args_digest(args, {})


def retried_call(
    run: SyntheticRun,
    at: float,
    task_id: str,
    key: str,
    attempts: int,
    countdown: float,
    final: str = "failure",
    policy: dict[str, Any] | None = None,
    task: str = RISKY,
    exc_type: str = CONNECTION_ERROR,
    gaps: list[float] | None = None,
) -> None:
    """``SyntheticRun.retried_task`` for a task of this name: ``attempts - 1`` retries asking
    for ``countdown`` (the next attempt starting ``gaps[n]`` later), then ``final``."""
    run.publish(at, task_id, key, task=task)
    start = at + 0.01
    for n in range(attempts):
        last = n == attempts - 1
        run.execute(
            start, task_id, n, final if last else "retry", policy=policy, task=task,
            exc_type=exc_type, countdown=None if last else countdown,
        )  # fmt: skip
        start += 0.055 + (gaps[n] if gaps is not None and n < len(gaps) else countdown)


def ladder(max_retries: int = 3, countdown: float = 60.0) -> SyntheticRun:
    """The library's risky-task-retry-ladder as the app under test would journal it:
    risky_task(1) fails every attempt with ConnectionError, risky_task(2) fails twice then
    succeeds; the task declares ``max_retries`` and its retries ask for ``countdown``."""
    run = SyntheticRun()
    policy = {**RETRYING_POLICY, "max_retries": max_retries}
    retried_call(run, 2.0, "r1", "risky_task#0.0", 1 + max_retries, countdown, policy=policy)
    retried_call(run, 30.0, "r2", "risky_task#1.0", 3, countdown, "success", policy=policy)
    called_with(run, "r1", [1])
    called_with(run, "r2", [2])
    run.finish(2.0 + (2 + max_retries) * countdown)
    return run


LADDER_EXPECTATIONS: list[dict[str, Any]] = [
    {"check": "retries_as_declared", "task": "risky_task", "args": [2], "pin": PIN,
     "attempts": 3, "final_state": "SUCCESS", "tolerance": 1.5, "late": 3},
    {"check": "retries_as_declared", "task": "risky_task", "args": [1], "pin": PIN,
     "attempts": 4, "final_state": "FAILURE", "final_exception": CONNECTION_ERROR,
     "tolerance": 1.5, "late": 3},
]  # fmt: skip


def verdicts(run: SyntheticRun, expectations: list[dict[str, Any]]) -> list[Verdict]:
    return run_checks(build_history(run.events), expectations)


def problems_of(verdict: Verdict) -> list[str]:
    return [m for messages in verdict.details["problems"].values() for m in messages]


def test_the_pinned_ladder_holds_for_the_app_as_written() -> None:
    for verdict in verdicts(ladder(), LADDER_EXPECTATIONS):
        assert verdict.ok, verdict.message
        assert verdict.message == "all 1 executed tasks declared and attempted as pinned"
        assert (
            "as pinned (max_retries=3, countdown=60 s), gaps >= 60 s - 1.50 s" in verdict.expected
        )


def test_seed_mutant_max_retries_2_fails_with_the_drift_named() -> None:
    mutant = ladder(max_retries=2)
    success, failure = verdicts(mutant, LADDER_EXPECTATIONS)
    assert not success.ok and not failure.ok
    assert success.message.startswith("risky_task declares max_retries=2, the scenario pins 3")
    # The behaviour is judged against the pin too: the always-failing call is one attempt short.
    assert any(
        "3 attempts, expected 4: attempt 2 failed with builtins.ConnectionError: boom" in m
        for m in problems_of(failure)
    )


def test_seed_mutant_countdown_6_fails_with_the_drift_and_the_short_gap_named() -> None:
    mutant = ladder(countdown=6.0)
    success, failure = verdicts(mutant, LADDER_EXPECTATIONS)
    assert not success.ok and not failure.ok
    assert success.message.startswith(
        "risky_task[risky_task#1.0] asked for countdown 6 s before attempt 1, the scenario pins 60 s"
    )
    found = problems_of(failure)
    assert "risky_task[risky_task#0.0] asked for countdown 6 s before attempt 3, the scenario " \
        "pins 60 s" in found  # fmt: skip
    assert any("sooner than its pinned countdown 60.00 s" in m for m in found)


@pytest.mark.parametrize("mutant", [{"max_retries": 2}, {"countdown": 6.0}])
def test_without_a_pin_the_mutants_pass_the_oracle_read_from_the_code(
    mutant: dict[str, Any],
) -> None:
    """Why pins exist: the declaration moves with the bug."""
    unpinned = [{"check": "retries_as_declared", "task": "risky_task", "tolerance": 1.5}]
    (verdict,) = verdicts(ladder(**mutant), unpinned)
    assert verdict.ok, verdict.message


def test_a_call_filter_judges_only_that_call() -> None:
    run = ladder()
    three = {"check": "retries_as_declared", "task": "risky_task", "attempts": 3}
    assert not verdicts(run, [three])[0].ok  # risky_task(1) made 4
    (verdict,) = verdicts(run, [{**three, "args": [2]}])
    assert verdict.ok, verdict.message
    assert "for the calls with args [2]" in verdict.expected
    assert verdict.message == "all 1 executed tasks attempted as their policy declares"


def test_a_kwargs_filter_matches_the_calls_keyword_arguments() -> None:
    run = SyntheticRun()
    run.publish(1.0, "k", "order=1", task=RISKY)
    run.execute(1.1, "k", task=RISKY)
    for event in run.events:
        if event.kind == "task.started":
            event.data["args_digest"] = args_digest([], {"order_id": 7})
    base = {"check": "retries_as_declared", "task": "risky_task"}
    assert verdicts(run, [{**base, "kwargs": {"order_id": 7}}])[0].ok
    assert not verdicts(run, [{**base, "kwargs": {"order_id": 8}}])[0].ok


@pytest.mark.parametrize(
    "filters, text",
    [
        ({"args": [9]}, "no executed task to check named risky_task called with args [9]"),
        ({"pin": PIN, "task": "no_such_task"}, "no executed task to check named no_such_task"),
    ],
)
def test_a_filter_matching_no_executed_task_is_not_a_pass(
    filters: dict[str, Any], text: str
) -> None:
    expectation = {"check": "retries_as_declared", "task": "risky_task", **filters}
    (verdict,) = verdicts(ladder(), [expectation])
    assert not verdict.ok
    assert verdict.message == text


def test_behaviour_is_judged_against_the_pin_not_the_declaration() -> None:
    """A task declaring max_retries=5 and retrying 5 times, pinned at 3: both the drift and the
    attempts beyond the pinned bound are findings."""
    run = SyntheticRun()
    policy = {**RETRYING_POLICY, "max_retries": 5}
    retried_call(run, 1.0, "t", "risky=1", attempts=6, countdown=1.0, policy=policy)
    pinned = {"check": "retries_as_declared", "pin": {"max_retries": 3}}
    (verdict,) = verdicts(run, [pinned])
    found = problems_of(verdict)
    assert found[0] == "risky_task declares max_retries=5, the scenario pins 3"
    assert "risky_task[risky=1]: 6 attempts, max_retries=3 allows 4" in found
    assert verdicts(run, [{"check": "retries_as_declared"}])[0].ok  # the declaration agrees


def test_a_gap_later_than_the_pinned_countdown_is_flagged_when_asked() -> None:
    run = SyntheticRun()
    retried_call(run, 1.0, "t", "risky=1", 2, 60.0, "success", gaps=[65.0])
    expectation = {"check": "retries_as_declared", "pin": {"countdown": 60}, "late": 3}
    (verdict,) = verdicts(run, [expectation])
    assert not verdict.ok
    assert "later than its pinned countdown 60.00 s + 3.00 s" in verdict.message


def backoff_run(policy: dict[str, Any], countdowns: list[float]) -> SyntheticRun:
    """notify_warehouse failing with EndpointError, autoretried with these countdowns, then ok."""
    run = SyntheticRun()
    run.publish(1.0, "w", "notify_warehouse#0.0", task=WAREHOUSE)
    start = 1.01
    for n, countdown in enumerate(countdowns):
        run.execute(
            start, "w", n, "retry", countdown=countdown, policy=policy, exc_type=ENDPOINT_ERROR,
            task=WAREHOUSE,
        )  # fmt: skip
        start += 0.055 + countdown
    run.execute(start, "w", len(countdowns), "success", policy=policy, task=WAREHOUSE)
    called_with(run, "w", [1])
    return run


def backoff_expectation(**pin: Any) -> dict[str, Any]:
    return {
        "check": "retries_as_declared", "task": "notify_warehouse", "args": [1],
        "pin": {**BACKOFF_PIN, **pin}, "attempts": 4, "final_state": "SUCCESS",
    }  # fmt: skip


def test_a_backoff_pin_holds_for_the_policy_as_declared() -> None:
    (verdict,) = verdicts(backoff_run(BACKOFF_POLICY, [0.5, 1.5, 3.0]), [backoff_expectation()])
    assert verdict.ok, verdict.message


def test_a_short_autoretry_name_matches_the_declared_qualified_one() -> None:
    expectation = backoff_expectation(autoretry_for=["EndpointError"])
    (verdict,) = verdicts(backoff_run(BACKOFF_POLICY, [0.5, 1.5, 3.0]), [expectation])
    assert verdict.ok, verdict.message


@pytest.mark.parametrize(
    "declared, text",
    [
        ({"retry_backoff_max": None}, "declares retry_backoff_max=600, the scenario pins 60"),
        ({"retry_jitter": False}, "declares retry_jitter=false, the scenario pins true"),
        ({"retry_backoff": False}, "declares retry_backoff=false, the scenario pins true"),
        ({"autoretry_for": []}, "declares autoretry_for=[], the scenario pins [shop.endpoints"),
    ],
)
def test_backoff_policy_drift_is_named(declared: dict[str, Any], text: str) -> None:
    run = backoff_run({**BACKOFF_POLICY, **declared}, [0.5, 1.5, 3.0])
    (verdict,) = verdicts(run, [backoff_expectation()])
    assert not verdict.ok
    assert verdict.message.startswith(f"notify_warehouse {text}")


def test_countdowns_are_judged_against_the_pinned_backoff_bound() -> None:
    """The task declares a factor of 4 and draws within it; the pin says factor 1: [0, 2] s
    before attempt 2."""
    run = backoff_run({**BACKOFF_POLICY, "retry_backoff": 4}, [0.5, 3.5, 3.0])
    (verdict,) = verdicts(run, [backoff_expectation()])
    found = problems_of(verdict)
    assert "notify_warehouse declares retry_backoff=4, the scenario pins true" in found
    assert any("countdown of 3.50 s, outside the backoff policy's [0, 2.00] s" in m for m in found)


@pytest.mark.parametrize(
    "params, field, text",
    [
        ({"pin": {"max_retires": 3}}, "expectations[0].pin.max_retires", "did you mean 'max_retries'"),
        ({"pin": {"max_retries": "3"}}, "expectations[0].pin.max_retries", "a whole number"),
        ({"pin": {"max_retries": True}}, "expectations[0].pin.max_retries", "a whole number"),
        ({"pin": {"countdown": -1}}, "expectations[0].pin.countdown", "seconds, 0 or more"),
        ({"pin": {"retry_jitter": "yes"}}, "expectations[0].pin.retry_jitter", "true or false"),
        ({"pin": {"autoretry_for": "Boom"}}, "expectations[0].pin.autoretry_for", "a list"),
        ({"pin": [3]}, "expectations[0].pin", "a pin is a mapping"),
        ({"pin": {}}, "expectations[0].pin", "pins nothing"),
        ({"pin": {"countdown": 60, "retry_backoff": True}}, "expectations[0].pin.countdown",
         "not both"),
        ({"args": 2}, "expectations[0].args", "a list"),
        ({"kwargs": [1]}, "expectations[0].kwargs", "a mapping"),
        ({"attempts": 0}, "expectations[0].attempts", "1 or more"),
        ({"final_state": "DONE"}, "expectations[0].final_state", "SUCCESS"),
    ],
)  # fmt: skip
def test_bad_values_are_config_errors_naming_the_field(
    params: dict[str, Any], field: str, text: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        run_checks(build_history([]), [{"check": "retries_as_declared", **params}])
    (problem,) = caught.value.problems
    assert problem.field_path == field
    assert text in str(problem)


def test_chaos_validate_reports_a_bad_pin_with_its_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad-pin.yaml"
    scenario.write_text(
        "name: bad-pin\n"
        "workload:\n"
        "  - {path: task, task: shop.tasks.risky_task, args: [1], count: 1}\n"
        "expect:\n"
        "  - check: retries_as_declared\n"
        "    pin:\n"
        "      max_retries: three\n"
    )
    problems = [
        p for p in scenario_problems(scenario) if p.field_path == "expect[0].pin.max_retries"
    ]
    assert problems, [str(p) for p in scenario_problems(scenario)]
    assert problems[0].line == 7


@pytest.mark.parametrize(
    "declared, pin",
    [
        ({"retry_backoff": None}, {"retry_backoff": False}),
        ({"retry_backoff": 1}, {"retry_backoff": True}),
        ({"retry_jitter": None}, {"retry_jitter": True}),
        ({"retry_backoff_max": None}, {"retry_backoff_max": 600}),
        ({"default_retry_delay": None}, {"default_retry_delay": 180}),
        ({"max_retries": None}, {"max_retries": None}),
        ({"reject_on_worker_lost": None}, {"reject_on_worker_lost": False}),
    ],
)
def test_a_declaration_is_read_as_celery_applies_it(
    declared: dict[str, Any], pin: dict[str, Any]
) -> None:
    """Nothing declared is Celery's default, so pinning the default is no drift."""
    run = SyntheticRun()
    retried_call(
        run, 1.0, "t", "risky=1", 1, 1.0, "success", policy={**RETRYING_POLICY, **declared}
    )
    (verdict,) = verdicts(run, [{"check": "retries_as_declared", "pin": pin}])
    assert verdict.ok, verdict.message

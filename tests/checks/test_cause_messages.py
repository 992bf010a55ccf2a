"""Messages that name the cause: a retry still pending when the run ended is not "lost with the
worker", and an attempt count that falls short names the exception that stopped it."""

from __future__ import annotations

from chaos.checks import run_checks
from chaos.history import build_history
from chaos.testing import SyntheticRun

RISKY = "shop.tasks.risky_task"


def pending_retry(end: float = 20.0, countdown: float = 60.0) -> SyntheticRun:
    """risky_task's attempt 0 fails at about 1 s and asks for a retry in ``countdown`` s; the
    worker receives the retry (held for its ETA); the run ends at ``end``."""
    run = SyntheticRun()
    run.publish(1.0, "r", "order=1", task=RISKY)
    run.execute(1.01, "r", 0, "retry", countdown=countdown, task=RISKY)
    parent, _ = run.worker(1)
    parent.emit(1.1, "task.received", "r", RISKY, attempt=1, hostname="worker-1",
                eta=run.events[0].wall + 1.065 + countdown)  # fmt: skip
    return run


def check(run: SyntheticRun, name: str, **params: object):
    (verdict,) = run_checks(build_history(run.events), [{"check": name, **params}])
    return verdict


def test_a_retry_pending_at_the_end_of_the_run_is_named_so_not_lost_with_the_worker() -> None:
    run = pending_retry()
    run.finish(20.0)
    verdict = check(run, "no_lost", delayed_allowed=False)
    assert not verdict.ok
    assert verdict.message == (
        "risky_task[order=1]: accepted by the broker at 1.00 s, attempt 0 retried at 1.07 s "
        "(next attempt due at 61.07 s), attempt 1 received at 1.10 s by worker-1, never started; "
        "retry still pending when the run ended at 20.00 s (no worker died, no broker memory lost)"
    )
    assert "lost with the worker" not in verdict.message
    assert verdict.observed == "lost 0, delayed 1 of 1 accepted"
    delivery = check(run, "delivery")
    assert delivery.ok and delivery.details["categories"]["delayed"] == ["r"]


def test_a_retry_past_its_due_time_says_so() -> None:
    run = pending_retry(countdown=5.0)
    run.finish(20.0)
    verdict = check(run, "no_lost", delayed_allowed=False)
    assert "(next attempt due at 6.07 s)" in verdict.message
    assert "past its due time, still pending when the run ended at 20.00 s" in verdict.message


def test_a_pending_retry_is_lost_with_the_brokers_memory() -> None:
    run = pending_retry()
    run.fault("kill-1", "broker.kill", 5.0, 8.0)
    run.finish(20.0)
    verdict = check(run, "no_lost")
    assert not verdict.ok
    assert verdict.message.endswith(
        "never started; broker killed 5.00 to 8.00 s with persistence off: its unacknowledged "
        "copy was lost with the broker's memory"
    )


def test_a_pending_retry_held_by_a_killed_worker_is_delayed_not_lost() -> None:
    run = pending_retry()
    run.fault("wk-1", "worker.kill", 5.0, 6.0, target="worker-1")
    run.finish(20.0)
    assert check(run, "no_lost").ok
    verdict = check(run, "no_lost", delayed_allowed=False)
    assert verdict.message.endswith(
        "worker killed (worker-1) 5.00 to 6.00 s: the retry it held is unacknowledged in Redis, "
        "delayed until visibility_timeout"
    )


def test_an_attempt_count_short_of_expected_names_the_tasks_exception() -> None:
    run = SyntheticRun()
    run.publish(1.0, "n", "order=1", task=RISKY)
    run.execute(1.01, "n", 0, "failure", task=RISKY, exc_type="builtins.NameError")
    for event in run.events:
        if event.kind == "task.failed":
            event.data["exc_message"] = "name 'carrier' is not defined"
    run.finish(5.0)
    verdict = check(run, "retries_as_declared", attempts=2)
    assert not verdict.ok
    assert verdict.message == (
        "risky_task[order=1]: 1 attempts, expected 2: attempt 0 failed with builtins.NameError: "
        "name 'carrier' is not defined"
    )


def test_a_retry_that_never_ran_is_what_a_short_attempt_count_names() -> None:
    run = pending_retry()
    run.finish(20.0)
    verdict = check(run, "retries_as_declared", attempts=2)
    assert verdict.message == (
        "risky_task[order=1]: 1 attempts, expected 2: attempt 0 retried at 1.07 s, the next "
        "attempt never started"
    )

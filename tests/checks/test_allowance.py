"""Machine tolerances scale with a dilated clock, policy bounds do not (chaos.checks.allowance).

Each case is one synthetic history judged twice, in real time and at x10: a wait the machine
explains (a worker's boot, a poll tick, an ack in flight: real seconds, read ten times longer at
x10) fails in real time and holds dilated, and a breach of the app's own policy (a countdown, a
visibility_timeout, Celery's reconnect backoff) fails at both.
"""

from __future__ import annotations

from typing import Any

import pytest

import chaos
from chaos.checks import run_checks
from chaos.checks.allowance import dilated_note, dilation_of, machine_allowance
from chaos.history import build_history
from chaos.testing import START_WALL, SyntheticRun


def invariant(run: SyntheticRun, name: str) -> Any:
    verdicts = run_checks(build_history(run.events), [], invariants=True)
    return next(v for v in verdicts if v.name == f"invariant:{name}")


def test_the_allowance_is_the_real_latency_times_the_run_s_dilation() -> None:
    real, dilated = SyntheticRun(), SyntheticRun(dilation=10.0)
    assert dilation_of(build_history(real.events)) == 1.0
    assert dilation_of(build_history(dilated.events)) == 10.0
    assert machine_allowance(build_history(real.events), 2.0) == 2.0
    assert machine_allowance(build_history(dilated.events), 2.0) == 20.0
    assert machine_allowance(4.0, 0.25) == 1.0
    assert dilated_note(build_history(real.events)) == ""
    assert dilated_note(build_history(dilated.events)) == ", x10 for the dilated clock"
    assert chaos.machine_allowance is machine_allowance  # public, for checks of your own


# --- liveness: BASE_SECONDS + SECONDS_PER_SLOT are the machine's ------------------------------


def waiting_run(dilation: float, waited: float) -> SyntheticRun:
    """A task accepted at 1 s on an idle one-slot worker that starts it ``waited`` s later."""
    run = SyntheticRun(dilation=dilation)
    run.worker_ready(0.5)
    run.publish(1.0, "t1", "order=1")
    run.execute(1.0 + waited, "t1")
    run.finish(1.0 + waited + 5.0)
    return run


def test_liveness_bound_is_6_real_seconds_at_any_dilation() -> None:
    # 30 app s at x10 is 3 real s of a slow dispatch: within 5 s + 1 s x 1 slot.
    assert not invariant(waiting_run(1.0, waited=30.0), "liveness").ok
    assert invariant(waiting_run(10.0, waited=30.0), "liveness").ok
    stalled = invariant(waiting_run(10.0, waited=80.0), "liveness")
    assert not stalled.ok
    assert "(bound 60.00 s = 5 s + 1 s x 1 slots, x10 for the dilated clock)" in stalled.message
    assert stalled.expected.endswith("while a slot is free, x10 for the dilated clock")


# --- retry_schedule and eta: the countdown is the app's, the slack the machine's --------------


def retry_run(dilation: float, gap: float) -> SyntheticRun:
    """risky_task's attempt 0 retries with a 60 s countdown; attempt 1 starts ``gap`` s later."""
    run = SyntheticRun(dilation=dilation)
    run.worker_ready(0.5)
    run.retried_task(1.0, "r1", "risky=1", attempts=2, countdown=60.0, gaps=[gap])
    run.finish(1.0 + gap + 10.0)
    return run


@pytest.mark.parametrize("gap", [59.0, 75.0])
def test_a_retry_a_second_early_or_15_s_late_is_the_machine_at_x10_not_in_real_time(
    gap: float,
) -> None:
    assert not invariant(retry_run(1.0, gap), "retry_schedule").ok
    verdict = invariant(retry_run(10.0, gap), "retry_schedule")
    assert verdict.ok, verdict.message


def test_a_countdown_cut_to_a_tenth_is_caught_dilated() -> None:
    """The countdown is policy: 6 s instead of 60 s is 54 s early, at x10 as in real time."""
    for dilation in (1.0, 10.0):
        verdict = invariant(retry_run(dilation, gap=6.0), "retry_schedule")
        assert not verdict.ok
        assert "sooner than its declared countdown 60.00 s" in verdict.message
    assert "(tolerance 2.5 s)" in verdict.message


def eta_run(dilation: float, early: float) -> SyntheticRun:
    run = SyntheticRun(dilation=dilation)
    run.worker_ready(0.5)
    run.publish(1.0, "t1", "order=1", countdown=60)
    run.execute(61.0 - early, "t1", eta=61.0)
    run.finish(70.0)
    return run


def test_an_eta_task_a_second_early_is_the_machine_at_x10_but_five_is_not() -> None:
    assert not invariant(eta_run(1.0, early=1.0), "eta").ok
    assert invariant(eta_run(10.0, early=1.0), "eta").ok
    verdict = invariant(eta_run(10.0, early=5.0), "eta")
    assert not verdict.ok
    assert "4.99 s before its eta 61.00 s (tolerance 2.5 s)" in verdict.message  # start +5 ms


# --- duplicates: the ack's flight is the machine's, visibility_timeout the app's ---------------


def redelivered_run(dilation: float, link_cut_after_end: float, copy_after: float) -> SyntheticRun:
    """A 20 s visibility_timeout; the link is cut ``link_cut_after_end`` s after the task ends;
    a second copy starts ``copy_after`` s after the first was received."""
    run = SyntheticRun(dilation=dilation)
    run.worker_ready(0.5, visibility_timeout=20)
    run.publish(1.0, "t1", "order=1")
    run.execute(1.1, "t1", duration=0.3)
    ended = 1.1 + 0.005 + 0.3
    cut = ended + link_cut_after_end
    run.fault("down", "proxy.down", start=cut, end=cut + 2.0)
    run.execute(1.1 + copy_after, "t1", redelivered=True)
    run.finish(1.1 + copy_after + 5.0)
    return run


def test_a_link_cut_half_a_real_second_after_the_task_loses_its_ack_at_x10() -> None:
    assert not invariant(redelivered_run(1.0, link_cut_after_end=5.0, copy_after=12.0),
                         "duplicates").ok  # fmt: skip
    verdict = invariant(redelivered_run(10.0, link_cut_after_end=5.0, copy_after=12.0),
                        "duplicates")  # fmt: skip
    assert verdict.ok, verdict.message
    assert verdict.details["explained"] == {"ack lost with the connection": ["t1"]}


def test_visibility_timeout_is_never_scaled() -> None:
    """A copy 25 s after the receipt is past a 20 s visibility_timeout at x10 too (the app's
    own setting: kombu reads it on the app's clock); a copy at 5 s is not, whatever the slack."""
    late = invariant(redelivered_run(10.0, link_cut_after_end=50.0, copy_after=25.0),
                     "duplicates")  # fmt: skip
    assert late.ok, late.message
    assert late.details["explained"] == {"visibility timeout (20 s)": ["t1"]}
    early = invariant(redelivered_run(10.0, link_cut_after_end=50.0, copy_after=5.0),
                      "duplicates")  # fmt: skip
    assert not early.ok
    assert "unexplained" in early.message


# --- no_lost: Redis's everysec fsync runs on real time ----------------------------------------


def everysec_run(dilation: float, kill_after: float) -> SyntheticRun:
    run = SyntheticRun(dilation=dilation)
    run.worker_ready(0.5)
    run.publish(1.0, "gone", "order=1")
    start = 1.002 + kill_after
    run.fault("kill", "broker.kill", start=start, end=start + 3.0, persistence="everysec")
    run.finish(start + 10.0)
    return run


def test_a_kill_5_app_seconds_after_the_publish_is_within_everysec_at_x10() -> None:
    assert not invariant(everysec_run(1.0, kill_after=5.0), "no_lost").ok
    verdict = invariant(everysec_run(10.0, kill_after=5.0), "no_lost")
    assert verdict.ok, verdict.message
    assert verdict.details["lost_with_broker_memory"] == ["gone"]
    assert not invariant(everysec_run(10.0, kill_after=15.0), "no_lost").ok


# --- workers: Celery's reconnect backoff is the app's, the room for a slow start the machine's ---


def disconnected_run(dilation: float, end_after_heal: float) -> SyntheticRun:
    run = SyntheticRun(dilation=dilation)
    run.worker_ready(0.5)
    run.fault("link-down", "proxy.down", 1.0, 3.0)
    run.connection(1.1, "lost")
    run.finish(3.0 + end_after_heal)
    return run


def test_a_worker_may_take_celery_s_16_s_plus_4_real_s_to_reconnect() -> None:
    assert not invariant(disconnected_run(1.0, end_after_heal=30.0), "workers").ok
    assert invariant(disconnected_run(10.0, end_after_heal=30.0), "workers").ok
    verdict = invariant(disconnected_run(10.0, end_after_heal=60.0), "workers")
    assert not verdict.ok
    assert "(bound 56 s (Celery's 16 s + 4 s, x10 for the dilated clock))" in verdict.message


def test_a_stop_a_real_second_after_a_worker_fault_is_that_fault_s_doing_at_x10() -> None:
    for dilation, explained in ((1.0, False), (10.0, True)):
        run = SyntheticRun(dilation=dilation)
        run.worker_ready(0.5)
        run.fault("stop", "worker.terminate", 1.0, 1.5, target="worker-1")
        parent, _ = run.worker(1)
        parent.emit(11.0, "worker.shutdown", hostname="worker-1", phase="started")
        run.finish(20.0)
        assert invariant(run, "workers").ok is explained


def crash_then_supervisor_run(dilation: float) -> SyntheticRun:
    """broker-restart-retry-pending as journaled at x10: kombu crashes the worker at 2.94 s, the
    supervisor's worker.kill comes 3.8 s later (inside 20 app s of stop margin)."""
    run = SyntheticRun(dilation=dilation)
    run.worker_ready(0.5)
    run.fault("redis-restart", "broker.restart", 3.61, 3.61)
    run.connection(2.92, "lost")
    parent, _ = run.worker(1)
    parent.emit(2.94, "worker.crashed", hostname="worker-1",
                error="AttributeError(\"'NoneType' object has no attribute 'hostname'\")")
    parent.emit(3.02, "worker.shutdown", hostname="worker-1", phase="completed")
    run.fault("supervisor-restart", "worker.kill", 6.72, 12.26, target="worker-1")
    run.finish(80.0)
    return run


@pytest.mark.parametrize("dilation", [1.0, 10.0])
def test_a_crash_before_the_supervisor_s_kill_is_never_the_kill_s_doing(dilation: float) -> None:
    verdict = invariant(crash_then_supervisor_run(dilation), "workers")
    assert not verdict.ok
    assert "worker-1 (pid 100) crashed at 2.94 s: AttributeError" in verdict.message


def test_a_stop_the_runner_journals_before_its_terminate_is_still_explained() -> None:
    """worker.terminate waits for the exit, so the warm shutdown lands before fault.applied."""
    run = SyntheticRun(dilation=10.0)
    run.worker_ready(0.5)
    parent, _ = run.worker(1)
    parent.emit(5.0, "worker.shutdown", hostname="worker-1", phase="started")
    run.fault("stop", "worker.terminate", 15.0, 16.0, target="worker-1")
    run.finish(30.0)
    assert invariant(run, "workers").ok


def test_the_synthetic_run_records_its_clock_as_the_runner_does() -> None:
    started = SyntheticRun(dilation=10.0).events[0]
    assert started.data["clock"] == {"dilation": 10.0, "real_start": START_WALL}
    assert "clock" not in SyntheticRun().events[0].data

"""The always-on invariants on synthetic histories: each one's passing and failing cases,
relaxation, and that a plain run_checks call is unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.checks import INVARIANTS, run_checks
from chaos.history import build_history
from chaos.testing import RETRYING_POLICY, START_WALL, SyntheticRun


def invariant(run: SyntheticRun, name: str, relax: dict[str, str] | None = None) -> Any:
    verdicts = run_checks(build_history(run.events), [], invariants=True, relax=relax)
    return next(v for v in verdicts if v.name == f"invariant:{name}")


def test_every_named_invariant_is_registered() -> None:
    assert set(INVARIANTS) == {"routing", "retry_schedule", "eta", "duplicates", "liveness",
                               "no_lost", "workers", "prefetch", "chains"}  # fmt: skip


def test_run_checks_without_invariants_returns_only_the_expectations() -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    run.execute(1.1, "t1")
    run.finish(5.0)
    assert [v.name for v in run_checks(build_history(run.events), [{"check": "no_lost"}])] == [
        "no_lost"
    ]


# --- routing ---------------------------------------------------------------------------------


def routed_run(consumed: tuple[str, ...], delivered_from: str, asked: str | None = None) -> Any:
    run = SyntheticRun()
    run.worker_ready(0.5, queues=consumed)
    extra = {} if asked is None else {"queue": asked}
    run.publish(1.0, "t1", "order=1", **extra)
    run.execute(1.1, "t1", routing_key=delivered_from)
    run.finish(5.0)
    return run


def test_routing_fails_for_a_task_on_a_worker_not_consuming_its_queue() -> None:
    verdict = invariant(routed_run(("celery",), "other"), "routing")
    assert not verdict.ok
    assert "delivered from 'other' ran on worker-1" in verdict.message
    assert "consumes only celery" in verdict.message
    assert verdict.tasks == ["t1"]


def test_routing_holds_on_a_worker_consuming_the_queue() -> None:
    verdict = invariant(routed_run(("celery", "other"), "other", asked="other"), "routing")
    assert verdict.ok, verdict.message
    assert verdict.observed == "0 of 1 executions off their queue"


def test_routing_fails_when_delivered_from_another_queue_than_published_to() -> None:
    verdict = invariant(routed_run(("celery", "other"), "celery", asked="other"), "routing")
    assert not verdict.ok
    assert "published to 'other'" in verdict.message


def test_routing_says_what_it_could_not_judge() -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    run.execute(1.1, "t1")
    run.finish(5.0)
    verdict = invariant(run, "routing")
    assert verdict.ok
    assert "1 without a recorded routing key (not judged)" in verdict.observed


# --- retry schedule --------------------------------------------------------------------------

AUTORETRY_1S: dict[str, Any] = {
    **RETRYING_POLICY,
    "autoretry_for": ["builtins.ValueError"],
    "retry_backoff": False,
    "retry_kwargs": {"countdown": 1},
}


def autoretry_run(asked: float, waited: float, busy: bool = False) -> SyntheticRun:
    run = SyntheticRun()
    run.worker_ready(0.5, concurrency=1)
    run.publish(1.0, "t1", "order=1")
    run.execute(1.0, "t1", attempt=0, outcome="retry", countdown=asked, policy=AUTORETRY_1S)
    retried = 1.055
    if busy:
        run.publish(1.2, "long", "order=2")
        run.execute(1.2, "long", duration=waited)
    run.execute(retried + waited - 0.005, "t1", attempt=1, policy=AUTORETRY_1S)
    run.finish(retried + waited + 5.0)
    return run


def test_retry_delayed_8s_when_1s_is_declared_fails() -> None:
    verdict = invariant(autoretry_run(asked=8.0, waited=8.0), "retry_schedule")
    assert not verdict.ok
    assert "asked for 8.00 s, the task declares retry_kwargs countdown 1.00 s" in verdict.message
    assert "(and 1 more)" in verdict.message  # the 7 s of free slot is the second finding


def test_retry_late_with_a_free_slot_fails_even_when_the_call_asked_for_the_declared_delay() -> (
    None
):
    verdict = invariant(autoretry_run(asked=1.0, waited=8.0), "retry_schedule")
    assert not verdict.ok
    assert "its declared retry_kwargs countdown 1.00 s" in verdict.message
    assert "with a free pool slot" in verdict.message


def test_retry_on_its_declared_delay_holds() -> None:
    verdict = invariant(autoretry_run(asked=1.0, waited=1.1), "retry_schedule")
    assert verdict.ok, verdict.message


def test_retry_late_behind_a_busy_slot_holds() -> None:
    verdict = invariant(autoretry_run(asked=1.0, waited=8.0, busy=True), "retry_schedule")
    assert verdict.ok, verdict.message


def test_retry_sooner_than_declared_fails() -> None:
    verdict = invariant(autoretry_run(asked=1.0, waited=0.3), "retry_schedule")
    assert not verdict.ok
    assert "sooner than its declared retry_kwargs countdown 1.00 s" in verdict.message


def test_backoff_with_jitter_declares_a_range() -> None:
    policy = {**AUTORETRY_1S, "retry_backoff": 2, "retry_backoff_max": 3, "retry_jitter": True}
    run = SyntheticRun()
    run.worker_ready(0.5)
    run.publish(1.0, "t1", "order=1")
    run.execute(1.0, "t1", attempt=0, outcome="retry", countdown=5.0, policy=policy)
    run.execute(6.05, "t1", attempt=1, policy=policy)
    run.finish(10.0)
    verdict = invariant(run, "retry_schedule")
    assert not verdict.ok
    assert "retry_backoff with jitter, [0, 2.00] s" in verdict.message


# --- eta -------------------------------------------------------------------------------------


def eta_run(second_copy: bool, kill: bool = False, early: float = 0.0) -> SyntheticRun:
    run = SyntheticRun()
    run.worker_ready(0.5, concurrency=2)
    run.publish(1.0, "t1", "order=1", countdown=10)
    run.execute(11.0 - early, "t1", eta=11.0, duration=1.0)
    if kill:
        run.fault("kill-1", "worker.kill", start=11.5, end=12.5, target="worker-1")
    if second_copy:
        run.execute(11.05, "t1", eta=11.0, redelivered=kill)
    run.finish(20.0)
    return run


def test_eta_task_executed_twice_for_one_eta_fails() -> None:
    verdict = invariant(eta_run(second_copy=True), "eta")
    assert not verdict.ok
    assert "ran twice for its eta 11.00 s" in verdict.message
    duplicates = invariant(eta_run(second_copy=True), "duplicates")
    assert not duplicates.ok
    assert "unexplained" in duplicates.message


def test_eta_task_run_once_at_its_eta_holds() -> None:
    verdict = invariant(eta_run(second_copy=False), "eta")
    assert verdict.ok, verdict.message
    assert verdict.observed == "0 broken in 1 ETA tasks"


def test_eta_task_started_early_fails() -> None:
    verdict = invariant(eta_run(second_copy=False, early=1.0), "eta")
    assert not verdict.ok
    assert "before its eta 11.00 s (tolerance 0.25 s)" in verdict.message


def test_eta_copy_after_a_worker_kill_is_explained() -> None:
    assert invariant(eta_run(second_copy=True, kill=True), "eta").ok
    duplicates = invariant(eta_run(second_copy=True, kill=True), "duplicates")
    assert duplicates.ok
    assert "worker lost: 1" in duplicates.message


# --- duplicates ------------------------------------------------------------------------------


def test_duplicate_after_a_connection_drop_during_the_run_is_explained() -> None:
    run = SyntheticRun()
    run.worker_ready(0.5)
    run.publish(1.0, "t1", "order=1")
    run.execute(1.5, "t1", duration=0.3)
    run.fault("down", "proxy.down", start=1.65, end=5.65)
    run.execute(7.0, "t1", redelivered=True)
    run.finish(12.0)
    verdict = invariant(run, "duplicates")
    assert verdict.ok, verdict.message
    assert verdict.details["explained"] == {"ack lost with the connection": ["t1"]}


def test_duplicate_of_a_publish_that_spanned_a_hang_is_explained() -> None:
    run = SyntheticRun()
    run.worker_ready(0.5)
    run.fault("hang", "broker.pause", start=2.5, end=12.5)
    run.publish(3.0, "t1", "order=1", seconds=9.6)
    run.execute(12.6, "t1")
    run.execute(12.7, "t1")
    run.finish(20.0)
    verdict = invariant(run, "duplicates")
    assert verdict.ok, verdict.message
    assert "publish retried after a lost reply: 1" in verdict.message


def test_redelivery_after_visibility_timeout_is_explained() -> None:
    run = SyntheticRun()
    run.worker_ready(0.5, visibility_timeout=4)
    run.publish(1.0, "t1", "order=1")
    run.execute(1.1, "t1")
    run.execute(5.5, "t1", redelivered=True)
    run.finish(10.0)
    assert invariant(run, "duplicates").ok


# --- liveness --------------------------------------------------------------------------------


def head_of_line_run(concurrency: int) -> SyntheticRun:
    run = SyntheticRun()
    run.worker_ready(0.5, concurrency=concurrency)
    run.publish(1.0, "long", "order=1")
    run.execute(1.0, "long", duration=20.0)
    run.publish(1.5, "short", "order=2")
    run.execute(19.5, "short", duration=0.1)
    run.finish(30.0)
    return run


def test_short_task_waiting_18s_behind_a_long_one_with_a_free_slot_fails() -> None:
    verdict = invariant(head_of_line_run(concurrency=2), "liveness")
    assert not verdict.ok
    assert verdict.tasks == ["short"]
    assert "with a free pool slot on worker-1" in verdict.message
    assert "bound 7.00 s = 5 s + 1 s x 2 slots" in verdict.message


def test_short_task_waiting_behind_the_only_slot_holds() -> None:
    assert invariant(head_of_line_run(concurrency=1), "liveness").ok


def test_worker_that_never_consumes_again_after_the_heal_fails() -> None:
    run = SyntheticRun()
    run.worker_ready(0.5, concurrency=2)
    run.fault("restart", "broker.restart", start=2.0, end=4.0)
    run.connection(2.1, "lost")
    run.connection(6.0, "restored")
    run.publish(8.0, "t1", "order=1")
    run.finish(30.0)
    verdict = invariant(run, "liveness")
    assert not verdict.ok
    assert "never started by the run's end at 30.00 s" in verdict.message


def test_liveness_is_not_judged_when_a_fault_never_healed() -> None:
    run = SyntheticRun()
    run.worker_ready(0.5)
    run.fault("kill", "broker.kill", start=2.0, end=None)
    run.publish(1.0, "t1", "order=1")
    run.finish(30.0)
    verdict = invariant(run, "liveness")
    assert verdict.ok
    assert verdict.observed == "not judged: a fault never healed"


# --- no_lost ---------------------------------------------------------------------------------


def test_task_lost_with_the_broker_memory_is_explained_other_losses_fail() -> None:
    run = SyntheticRun()
    run.worker_ready(0.5)
    run.publish(1.0, "kept", "order=1")
    run.execute(1.1, "kept")
    run.publish(2.0, "gone", "order=2")
    run.fault("kill", "broker.kill", start=2.5, end=4.0)
    run.finish(20.0)
    verdict = invariant(run, "no_lost")
    assert verdict.ok, verdict.message
    assert verdict.details["lost_with_broker_memory"] == ["gone"]
    run = SyntheticRun()
    run.publish(1.0, "gone", "order=1")
    run.finish(20.0)
    verdict = invariant(run, "no_lost")
    assert not verdict.ok
    assert verdict.tasks == ["gone"]


# --- relax -----------------------------------------------------------------------------------


def test_a_relaxed_invariant_holds_and_says_why() -> None:
    reason = "workers run without -Q (pre-5.7 consume-all)"
    verdict = invariant(routed_run(("celery",), "other"), "routing", relax={"routing": reason})
    assert verdict.ok
    assert verdict.message.startswith(f"relaxed: {reason}; would fail: ")
    assert verdict.details["relaxed"] == reason
    assert verdict.details["held_unrelaxed"] is False


@pytest.mark.parametrize("name", sorted(INVARIANTS))
def test_every_invariant_holds_on_a_clean_run(name: str) -> None:
    run = SyntheticRun()
    run.worker_ready(0.5, concurrency=2)
    for index in range(5):
        run.publish(1.0 + index, f"t{index}", f"order={index}")
        run.execute(1.1 + index, f"t{index}", routing_key="celery")
    run.finish(10.0)
    assert invariant(run, name).ok


def test_duplicates_at_least_asserts_the_surprise() -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    run.execute(1.1, "t1")
    run.finish(5.0)
    (verdict,) = run_checks(build_history(run.events), [{"check": "duplicates", "at_least": 1}])
    assert not verdict.ok
    assert verdict.expected == "at least 1"
    run.execute(2.0, "t1", redelivered=True)
    (verdict,) = run_checks(build_history(run.events), [{"check": "duplicates", "at_least": 1}])
    assert verdict.ok


def test_an_unknown_relaxed_invariant_is_a_validation_error_with_its_line(tmp_path) -> None:
    from chaos.errors import ConfigError
    from chaos.scenario import load_scenario

    path = tmp_path / "s.yaml"
    path.write_text("name: x\nworkload:\n  - path: naive\n    count: 1\nexpect:\n"
                    "  - check: no_lost\nrelax:\n  routng: because\n")  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert "unknown invariant" in str(caught.value)
    assert ":8:" in str(caught.value)


# --- a message a dead worker held (chaos.checks.held) ----------------------------------------


def held_retry_run(worker_dies: bool) -> SyntheticRun:
    """A retry (countdown 5 s) received at once and held for its eta; with ``worker_dies`` the
    worker is killed holding it and restarted, and kombu restores it visibility_timeout (12 s)
    after its receipt; it runs then, 7 s past its countdown (more than liveness allows)."""
    from chaos.testing import START_WALL, TASK

    run = SyntheticRun()
    run.worker_ready(0.5, visibility_timeout=12.0)
    run.publish(1.0, "t1", "order=1")
    run.execute(1.0, "t1", attempt=0, outcome="retry", countdown=5.0)
    parent, _ = run.worker(1)
    parent.emit(1.1, "task.received", "t1", TASK, attempt=1, eta=START_WALL + 6.055,
                redelivered=False, hostname="worker-1")  # fmt: skip
    if worker_dies:
        run.fault("kill-1", "worker.kill", start=3.0, end=4.0, target="worker-1")
        run.worker_ready(4.0, visibility_timeout=12.0)
    run.execute(13.2, "t1", attempt=1, redelivered=worker_dies)
    run.finish(18.0)
    return run


@pytest.mark.parametrize("name", ["retry_schedule", "liveness"])
def test_a_retry_a_killed_worker_held_is_late_by_the_visibility_timeout_not_stalled(
    name: str,
) -> None:
    assert invariant(held_retry_run(worker_dies=True), name).ok


def test_the_same_lateness_with_the_worker_alive_fails() -> None:
    verdict = invariant(held_retry_run(worker_dies=False), "retry_schedule")
    assert not verdict.ok
    assert "with a free pool slot" in verdict.message


def lagging_signal_run(started_after_eta: float) -> SyntheticRun:
    """A retry whose task_retry signal lands 0.4 s after Celery fixed its ETA (as under a
    dilated clock, where 40 ms of the machine's latency read 0.4 s)."""
    run = SyntheticRun()
    run.worker_ready(0.5)
    run.publish(1.0, "t1", "order=1")
    run.execute(1.0, "t1", attempt=0, outcome="retry", countdown=60.0, exc_type="builtins.OSError")
    retried = next(e for e in run.events if e.kind == "task.retried")
    # The probe computes retry_eta at the signal; the next attempt carries Celery's own ETA.
    eta = retried.data["retry_eta"] - 0.4 - START_WALL
    run.execute(eta + started_after_eta, "t1", attempt=1, eta=eta)
    run.finish(80.0)
    return run


def test_a_retry_gap_starts_where_celery_fixed_the_eta_not_at_the_lagging_signal() -> None:
    verdict = invariant(lagging_signal_run(started_after_eta=0.02), "retry_schedule")
    assert verdict.ok, verdict.message


def test_a_retry_started_before_its_eta_is_still_early() -> None:
    verdict = invariant(lagging_signal_run(started_after_eta=-1.0), "retry_schedule")
    assert not verdict.ok
    assert "sooner than its declared countdown 60.00 s" in verdict.message


# --- workers ---------------------------------------------------------------------------------


def link_cut_run(crash: bool = False, reconnect: float | None = 3.5, end: float = 30.0) -> Any:
    """One worker, the link cut 1 to 3 s; the worker crashes in it, reconnects, or neither."""
    run = SyntheticRun()
    run.worker_ready(0.5)
    run.fault("link-down", "proxy.down", 1.0, 3.0)
    run.connection(1.1, "lost")
    parent, _ = run.worker(1)
    if crash:
        parent.emit(1.2, "worker.crashed", hostname="worker-1",
                    error="AttributeError(\"'NoneType' object has no attribute 'hostname'\")")
        parent.emit(1.3, "worker.shutdown", hostname="worker-1", phase="completed")
    elif reconnect is not None:
        run.connection(reconnect, "restored")
    run.finish(end)
    return run


def test_workers_fails_for_a_worker_that_crashed_in_a_link_cut() -> None:
    verdict = invariant(link_cut_run(crash=True), "workers")
    assert not verdict.ok
    assert "worker-1 (pid" in verdict.message and "crashed at 1.20 s" in verdict.message
    assert "'NoneType' object has no attribute 'hostname'" in verdict.message
    assert "proxy down" in verdict.message  # the fault around it is named


def test_workers_fails_for_a_worker_still_disconnected_long_after_the_heal() -> None:
    verdict = invariant(link_cut_run(reconnect=None), "workers")
    assert not verdict.ok
    assert "had not reconnected by the run's end at 30.00 s" in verdict.message


def test_workers_does_not_judge_a_reconnect_the_run_ended_too_soon_to_see() -> None:
    assert invariant(link_cut_run(reconnect=None, end=10.0), "workers").ok


def test_workers_holds_when_a_worker_reconnects_or_a_fault_stops_it() -> None:
    assert invariant(link_cut_run(), "workers").ok
    run = SyntheticRun()
    run.worker_ready(0.5)
    run.fault("stop", "worker.terminate", 1.0, 3.0, target="worker-1")
    parent, _ = run.worker(1)
    parent.emit(1.5, "worker.shutdown", hostname="worker-1", phase="started")
    run.finish(10.0)
    verdict = invariant(run, "workers")
    assert verdict.ok, verdict.message
    assert invariant(link_cut_run(crash=True), "workers", relax={"workers": "known"}).ok


def deaf_run(answered: bool, reconnected: bool = True) -> SyntheticRun:
    """A worker that reconnects after a broker restart, then the runner's pings after the drain."""
    run = SyntheticRun()
    run.worker_ready(0.5, concurrency=2)
    run.fault("restart", "broker.restart", start=2.0, end=2.1)
    run.connection(2.1, "lost")
    if reconnected:
        run.connection(3.0, "restored")
    run.publish(4.9, "t1", "order=1")
    run.execute(5.0, "t1")
    for n in range(3):
        run.runner.emit(8.0 + n, "control.ping", asked=["worker-1"],
                        answered=["worker-1"] if answered and n == 0 else [], error=None)
        if answered:
            break
    run.finish(12.0)
    return run


def test_connected_worker_deaf_to_remote_control_fails_workers() -> None:
    verdict = invariant(deaf_run(answered=False), "workers")
    assert not verdict.ok
    assert "worker-1 connected since 3.00 s (ran 1 tasks since)" in verdict.message
    assert "answered none of 3 remote-control pings (8.00 s to 10.00 s)" in verdict.message
    assert "around it: broker restarted 2.00 to 2.10 s" in verdict.message


def test_worker_answering_remote_control_holds() -> None:
    verdict = invariant(deaf_run(answered=True), "workers")
    assert verdict.ok, verdict.message
    assert "1 answering remote control" in verdict.message


def test_a_silent_worker_that_never_reconnected_is_not_called_deaf() -> None:
    # Its silence is the reconnect rule's to judge (here the run ends within its bound).
    verdict = invariant(deaf_run(answered=False, reconnected=False), "workers")
    assert verdict.ok, verdict.message


def test_skipped_or_failed_pings_judge_nothing() -> None:
    run = SyntheticRun()
    run.worker_ready(0.5)
    run.runner.emit(8.0, "control.ping", asked=["worker-1"], answered=[],
                    skipped="worker_enable_remote_control is off")
    run.runner.emit(9.0, "control.ping", asked=["worker-1"], answered=[],
                    error="ConnectionError: refused")
    run.finish(12.0)
    assert invariant(run, "workers").ok


def test_a_worker_still_running_a_task_when_pinged_is_not_called_deaf() -> None:
    run = deaf_run(answered=False)
    run.publish(6.9, "t2", "order=2")
    run.execute(7.0, "t2", duration=10.0)  # a solo pool's main process is busy until 17 s
    assert invariant(run, "workers").ok

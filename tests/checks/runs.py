"""A clean synthetic run every check passes, and the anomalies planted into it one at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaos.testing import RETRYING_POLICY, SyntheticRun

KILL_START, KILL_END = 10.0, 13.0
RISKY = "shop.tasks.risky_task"

ALL_EXPECTATIONS: list[dict[str, Any]] = [
    {"check": "delivery"},
    {"check": "no_lost"},
    {"check": "duplicates"},
    {"check": "no_unexpected"},
    {"check": "retries_as_declared", "tolerance": 0.2},
    {"check": "enqueue", "during_outage": "refused"},
    {"check": "resume_within", "seconds": 5, "drained_within": 10},
    {"check": "sanity"},
]


def clean_run(worker_skew: float = 0.0) -> SyntheticRun:
    """Orders before, during and after a broker kill (10 to 13 s, persistence off), two
    retrying tasks and a durable publish that waits in the outbox through the outage."""
    run = SyntheticRun()
    if worker_skew:
        run.worker(1, skew=worker_skew)
        run.worker(2, skew=-worker_skew / 2)
    run.fault("kill-1", "broker.kill", KILL_START, KILL_END)
    for i in range(5):
        at = 1.0 + i * 0.1
        run.publish(at, f"a{i}", f"order={i}")
        run.execute(at + 0.02, f"a{i}", worker=1 + i % 2)
    # risky_task failing always: 4 attempts, then the original exception (self.retry(exc=e)).
    run.retried_task(2.0, "r1", "risky=1", attempts=4, countdown=1.0, final="failure")
    # risky_task failing twice, then succeeding.
    run.retried_task(2.5, "r2", "risky=2", attempts=3, countdown=1.0, final="success")
    run.publish(10.5, "k0", "order=10", outcome="refused")
    run.publish(11.0, "k1", "order=11", outcome="refused")
    run.publish(11.5, "d0", "order=12", outcome="refused", path="durable")
    run.producer.emit(11.51, "outbox.saved", "d0", key="order=12")
    run.publish(13.5, "d0", "order=12", path="durable")
    run.producer.emit(13.51, "outbox.relayed", "d0", key="order=12")
    run.execute(13.6, "d0", worker=2)
    for i in range(3):
        at = 13.2 + i * 0.1
        run.publish(at, f"b{i}", f"order={20 + i}")
        run.execute(at + 0.1, f"b{i}", worker=1)
    run.finish(20.0)
    return run


def plant_lost(run: SyntheticRun) -> None:
    run.publish(9.5, "lost", "order=17", task="shop.tasks.send_invoice_email")


def plant_duplicate(run: SyntheticRun) -> None:
    run.publish(3.0, "dup", "order=30")
    run.execute(3.02, "dup", worker=1)
    run.execute(3.5, "dup", worker=2, redelivered=True)


def plant_retry_too_many(run: SyntheticRun) -> None:
    run.retried_task(2.2, "r9", "risky=9", attempts=5, countdown=1.0, final="failure")


def plant_attempt_skipped(run: SyntheticRun) -> None:
    run.publish(3.0, "skip", "risky=5", task=RISKY)
    run.execute(3.02, "skip", 0, "retry", countdown=1.0, task=RISKY)
    run.execute(4.2, "skip", 2, "success", task=RISKY)


def plant_gap_too_short(run: SyntheticRun) -> None:
    run.retried_task(
        2.2, "fast", "risky=6", attempts=3, countdown=1.0, final="success", gaps=[1.0, 0.3]
    )


def plant_wrong_final_exception(run: SyntheticRun) -> None:
    run.retried_task(
        2.2,
        "exc",
        "risky=7",
        attempts=4,
        countdown=1.0,
        final="failure",
        final_exc="celery.exceptions.MaxRetriesExceededError",
    )


def plant_slow_resume(run: SyntheticRun) -> None:
    # Work the system owed at the heal that waits 8 s to run (bound 5 s): drop the quick ones.
    run.events[:] = [e for e in run.events if e.task_id not in ("b0", "b1", "b2", "d0")]
    run.publish(13.2, "slow", "order=40")
    run.execute(21.0, "slow", worker=1)


def plant_unexpected(run: SyntheticRun) -> None:
    run.execute(4.0, "ghost", worker=1)


def plant_received_during_outage(run: SyntheticRun) -> None:
    run.publish(9.0, "early", "order=50")
    run.execute(11.5, "early", worker=1)


def plant_accepted_during_outage(run: SyntheticRun) -> None:
    run.publish(11.8, "through", "order=60")
    run.execute(13.4, "through", worker=1)


def plant_durable_never_delivered(run: SyntheticRun) -> None:
    run.publish(12.0, "d1", "order=70", outcome="refused", path="durable")


def plant_lost_with_worker(run: SyntheticRun) -> None:
    run.fault("wk-1", "worker.kill", 15.0, 16.0, target="worker-1")
    run.publish(14.8, "mid", "order=80")
    run.execute(14.9, "mid", worker=1, outcome="none", duration=5.0)


def plant_delayed_acks_late(run: SyntheticRun) -> None:
    run.fault("wk-1", "worker.kill", 15.0, 16.0, target="worker-1")
    run.publish(14.8, "late", "order=90")
    run.execute(
        14.9,
        "late",
        worker=1,
        outcome="none",
        duration=5.0,
        policy={**RETRYING_POLICY, "acks_late": True},
    )


def plant_recovered(run: SyntheticRun) -> None:
    run.publish(10.2, "rec", "order=95", outcome="uncertain")
    run.execute(13.3, "rec", worker=2)


Planter = Callable[[SyntheticRun], None]

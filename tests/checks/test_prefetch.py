"""The always-on ``prefetch`` invariant on synthetic histories: a worker holding messages past
the bound it was configured with fails it, naming the worker, the held task and the idle one."""

from __future__ import annotations

from typing import Any

from chaos.checks import run_checks
from chaos.history import build_history
from chaos.testing import SyntheticRun


def prefetch(run: SyntheticRun) -> Any:
    verdicts = run_checks(build_history(run.events), [], invariants=True)
    return next(v for v in verdicts if v.name == "invariant:prefetch")


def long_task_then_reset(second_received: float, **settings: Any) -> SyntheticRun:
    """worker-1 runs t1 from 1 s to 9 s; its connection resets at 3 s; t2 is received by
    worker-1 at ``second_received`` and starts there when t1 is over; worker-2 stays idle."""
    run = SyntheticRun()
    for worker in (1, 2):
        run.worker_ready(0.5, worker=worker, concurrency=1, **settings)
    run.publish(0.9, "t1", "order=1")
    run.execute(1.0, "t1", duration=8.0)
    run.connection(3.0, "lost")
    run.connection(3.02, "restored")
    run.publish(3.4, "t2", "order=2")
    run.execute(second_received, "t2", held=max(0.0, 9.06 - second_received))
    run.finish(12.0)
    return run


def test_a_busy_worker_taking_a_message_with_prefetch_disabled_fails_naming_the_idle_one() -> None:
    verdict = prefetch(long_task_then_reset(3.5, disable_prefetch=True, prefetch_multiplier=4))
    assert not verdict.ok
    assert "worker-1 held send_invoice_email[order=2] unstarted for 5.5" in verdict.message
    assert "while its pool ran send_invoice_email[order=1]" in verdict.message
    assert "worker_disable_prefetch: a message only with a free slot of 1" in verdict.message
    assert "with a free slot on worker-2" in verdict.message
    assert verdict.tasks == ["t2"]


def test_the_same_history_holds_under_the_default_prefetch_bound() -> None:
    verdict = prefetch(long_task_then_reset(3.5, disable_prefetch=False, prefetch_multiplier=4))
    assert verdict.ok, verdict.message


def test_a_worker_that_waits_for_its_free_slot_holds() -> None:
    verdict = prefetch(long_task_then_reset(9.1, disable_prefetch=True, prefetch_multiplier=4))
    assert verdict.ok, verdict.message
    assert verdict.observed == "0 holdings over the bound in 2 worker lives"


def held_burst(count: int, multiplier: int, hold: float = 3.0) -> SyntheticRun:
    run = SyntheticRun()
    run.worker_ready(0.5, concurrency=1, prefetch_multiplier=multiplier, disable_prefetch=False)
    run.publish(0.9, "t0", "order=0")
    run.execute(1.0, "t0", duration=hold + 1.0)
    for n in range(1, count + 1):
        run.publish(1.1, f"t{n}", f"order={n}")
        run.execute(1.2 + 0.01 * n, f"t{n}", held=hold + 1.0 - 0.01 * n, duration=0.01)
    run.finish(20.0)
    return run


def test_the_multiplier_bound_counts_held_messages_only() -> None:
    assert prefetch(held_burst(4, multiplier=4)).ok
    verdict = prefetch(held_burst(5, multiplier=4))
    assert not verdict.ok
    assert "worker_prefetch_multiplier 4 x 1 slots = 4 held" in verdict.message


def test_an_excess_shorter_than_the_journal_order_is_not_judged() -> None:
    assert prefetch(held_burst(5, multiplier=4, hold=-0.6)).ok  # the fifth waits 0.4 s


def test_a_worker_without_a_bound_is_not_judged() -> None:
    verdict = prefetch(held_burst(9, multiplier=0))
    assert verdict.ok
    assert "1 without a prefetch bound" in verdict.observed


def test_messages_held_across_a_reconnect_count_once() -> None:
    # The channel's close gives the held messages back; the new consumer receives them again.
    run = SyntheticRun()
    run.worker_ready(0.5, concurrency=1, prefetch_multiplier=2, disable_prefetch=False)
    run.publish(0.9, "t0", "order=0")
    run.execute(1.0, "t0", duration=6.0)
    parent, _ = run.worker(1)
    for n in (1, 2):
        run.publish(1.1, f"t{n}", f"order={n}")
        parent.emit(1.2, "task.received", f"t{n}", "shop.tasks.send_invoice_email", attempt=0,
                    hostname="worker-1", redelivered=False)  # fmt: skip
    run.connection(3.0, "lost")
    run.connection(3.02, "restored")
    for n in (1, 2):
        run.execute(3.1, f"t{n}", redelivered=True, held=4.0 + n, duration=0.01)
    run.finish(12.0)
    assert prefetch(run).ok

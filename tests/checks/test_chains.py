"""The always-on ``chains`` invariant on synthetic histories: a chain child whose parent
succeeded must reach a worker; an announced child that ran is not "unexpected"."""

from __future__ import annotations

from typing import Any

from chaos.checks import run_checks
from chaos.history import build_history
from chaos.testing import SyntheticRun

CHILD = {"task": "shop.tasks.print_shipping_label", "task_id": "c1"}


def verdicts(run: SyntheticRun) -> dict[str, Any]:
    found = run_checks(build_history(run.events), [{"check": "delivery"}], invariants=True)
    return {v.name: v for v in found}


def chained(parent_outcome: str = "success", child_ran: bool = True) -> SyntheticRun:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1", chain=[CHILD])
    run.execute(1.1, "t1", outcome=parent_outcome)
    if child_ran:
        run.execute(1.3, "c1", task=CHILD["task"])
    run.finish(5.0)
    return run


def test_a_child_never_received_after_its_parent_succeeded_fails_naming_both() -> None:
    verdict = verdicts(chained(child_ran=False))["invariant:chains"]
    assert not verdict.ok
    assert "chain child print_shipping_label[c1] of send_invoice_email[order=1] never published" \
        in verdict.message
    assert "its parent succeeded at 1.1" in verdict.message
    assert verdict.tasks == ["t1"]


def test_a_child_that_ran_holds_and_is_not_unexpected() -> None:
    found = verdicts(chained())
    assert found["invariant:chains"].ok, found["invariant:chains"].message
    assert found["invariant:chains"].observed == "0 of 1 chain children lost after their parent "\
        "succeeded"
    assert found["delivery"].ok, found["delivery"].message


def test_a_parent_that_failed_implies_no_child() -> None:
    verdict = verdicts(chained(parent_outcome="failure", child_ran=False))["invariant:chains"]
    assert verdict.ok
    assert verdict.observed.startswith("0 of 0")


def test_a_child_received_but_never_started_by_a_live_worker_fails() -> None:
    run = chained(child_ran=False)
    parent, _ = run.worker(1)
    parent.emit(1.3, "task.received", "c1", CHILD["task"], attempt=0, hostname="worker-1")
    verdict = verdicts(run)["invariant:chains"]
    assert not verdict.ok
    assert "received at 1.3" in verdict.message and "but never started" in verdict.message


def test_a_child_held_by_a_worker_that_died_is_delayed_not_lost() -> None:
    run = SyntheticRun()
    run.worker_ready(0.5)
    run.publish(1.0, "t1", "order=1", chain=[CHILD])
    run.execute(1.1, "t1")
    parent, _ = run.worker(1)
    parent.emit(1.3, "task.received", "c1", CHILD["task"], attempt=0, hostname="worker-1")
    run.fault("killed", "worker.kill", 1.5, 2.5, target="worker-1")
    run.worker_ready(2.6)
    run.finish(5.0)
    verdict = verdicts(run)["invariant:chains"]
    assert verdict.ok, verdict.message
    assert "1 delayed until visibility_timeout" in verdict.observed

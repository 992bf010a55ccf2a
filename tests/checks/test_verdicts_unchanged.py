"""Every check's verdicts on the planted runs, pinned by a digest: refactoring a check must leave
its verdicts (ok, expected, observed, message, tasks, fault windows, details) byte-identical.

A digest that changes on purpose (a message reworded) is updated with the change, in the same
commit, saying why; regenerate with ``python -m tests.checks.test_verdicts_unchanged``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chaos.checks import run_checks
from chaos.history import build_history, load_history
from chaos.testing import RETRYING_POLICY, SyntheticRun, bulk_run
from tests.checks import runs

#: Every check with its parameters turned to values that take other branches.
EXPECTATIONS: list[dict[str, Any]] = [
    *runs.ALL_EXPECTATIONS,
    {"check": "delivery", "duplicates_allowed": True, "delayed_allowed": False},
    {"check": "delivery", "lost_allowed": 1, "unexpected_allowed": True},
    {"check": "no_lost", "delayed_allowed": False},
    {"check": "duplicates", "allowed": True},
    {"check": "duplicates", "at_most": 0},
    {"check": "retries_as_declared", "late": 0.1, "attempts": 3},
    {"check": "retries_as_declared", "task": "risky_task", "final_state": "SUCCESS"},
    {"check": "retries_as_declared", "final_exception": "builtins.KeyError", "task": "nothing"},
    {"check": "enqueue"},
    {"check": "enqueue", "during_outage": "accepted", "min_tried": 100},
    {"check": "enqueue", "during_outage": "refused", "path": "durable"},
    {"check": "enqueue", "path": "naive", "durable_exactly_once": False, "margin": 0.0},
    {"check": "resume_within"},
    {"check": "resume_within", "fault": "nope"},
    {"check": "resume_within", "fault": "kill-1", "drained_within": 0.1},
    {"check": "resume_within", "fault": "wk-1", "seconds": 0.01},
    {"check": "sanity", "max_clock_skew": 1.0},
    {"check": "sanity", "margin": 0.0},
]


def _planted(planter: Callable[[SyntheticRun], None]) -> Callable[[], SyntheticRun]:
    def make() -> SyntheticRun:
        run = runs.clean_run()
        planter(run)
        return run

    return make


def _edges() -> SyntheticRun:
    run = runs.clean_run()
    run.publish(runs.KILL_END - 0.5, "edge", "order=80", seconds=0.9)
    run.execute(runs.KILL_END + 0.5, "edge", worker=1)
    run.publish(runs.KILL_START + 1.0, "inside", "order=81", seconds=0.5)
    run.execute(runs.KILL_END + 0.5, "inside", worker=1)
    return run


def _no_fault() -> SyntheticRun:
    run = SyntheticRun()
    run.publish(1.0, "a", "order=1")
    run.execute(1.1, "a")
    run.finish(2.0)
    return run


def _never_healed() -> SyntheticRun:
    run = runs.clean_run()
    run.fault("hang-1", "proxy.down", 15.0, None, target="proxy")
    run.publish(15.5, "h", "order=99", outcome="none")
    return run


def _odd() -> SyntheticRun:
    """What the planted runs do not reach: effects before causes, overlapping and inverted
    attempts, a durable task run twice, a durable publish without an answer, a backoff policy,
    retries without a countdown, an outbox row never relayed, a receipt never executed."""
    run = runs.clean_run()
    run.execute(0.5, "pre", worker=1)
    run.publish(2.0, "pre", "order=200")
    run.publish(3.0, "ov", "order=201")
    run.execute(3.1, "ov", 0, "retry", countdown=0.1, duration=1.0)
    run.execute(3.3, "ov", 1, "success", worker=2)
    run.publish(3.9, "neg", "order=202")
    run.execute(4.0, "neg", duration=-0.5)
    run.publish(11.6, "d2", "order=300", outcome="refused", path="durable")
    run.publish(13.5, "d2", "order=300", path="durable")
    run.execute(13.6, "d2", worker=1)
    run.execute(13.9, "d2", worker=2)
    run.publish(11.7, "d3", "order=301", outcome="none", path="durable")
    backoff = {**RETRYING_POLICY, "autoretry_for": ["ValueError"], "retry_backoff": True}
    run.retried_task(4.0, "bo1", "risky=20", attempts=3, countdown=1.0, policy=backoff)
    run.retried_task(
        4.5,
        "bo2",
        "risky=21",
        attempts=3,
        countdown=5.0,
        final="success",
        policy={**backoff, "retry_jitter": False, "retry_backoff": 2},
    )
    run.publish(5.0, "nc", "risky=22", task=runs.RISKY)
    run.execute(5.1, "nc", 0, "retry", task=runs.RISKY, policy=backoff)
    run.execute(5.3, "nc", 1, "retry", task=runs.RISKY, policy=backoff)
    run.execute(9.0, "nc", 2, "failure", task=runs.RISKY, policy=backoff)
    run.publish(5.5, "dd", "risky=23", task=runs.RISKY)
    run.execute(5.6, "dd", 0, "retry", task=runs.RISKY)
    run.execute(6.0, "dd", 1, "failure", task=runs.RISKY, exc_type="celery.exceptions.Retry")
    run.producer.emit(6.5, "outbox.saved", "ob", key="order=302")
    run.publish(7.0, "rc", "order=303")
    parent, _ = run.worker(3)
    parent.emit(7.1, "task.received", "rc", runs.RISKY, attempt=0, hostname="worker-3")
    run.fault("k2", "broker.kill", 8.0, 8.5)
    run.fault("tx", "proxy.toxic", 16.0, 16.5, target="proxy", toxic="timeout", toxicity=1.0)
    run.fault("rp", "proxy.toxic", 17.0, 17.5, target="proxy", toxic="reset_peer")
    run.publish(16.2, "tx1", "order=304", outcome="uncertain")
    run.publish(17.2, "rp1", "order=305", outcome="refused")
    return run


def _nothing_pending() -> SyntheticRun:
    run = SyntheticRun()
    run.publish(1.0, "a", "order=1")
    run.execute(1.1, "a")
    run.fault("kill-1", "broker.kill", 2.0, 3.0)
    run.finish(4.0)
    return run


RUNS: dict[str, Callable[[], SyntheticRun]] = {
    "odd": _odd,
    "nothing_pending": _nothing_pending,
    "clean": runs.clean_run,
    "skew+3": lambda: runs.clean_run(worker_skew=3.0),
    "skew-7.5": lambda: runs.clean_run(worker_skew=-7.5),
    "edges": _edges,
    "no_fault": _no_fault,
    "never_healed": _never_healed,
    "bulk": lambda: bulk_run(400, seed=1),
    **{name: _planted(getattr(runs, name)) for name in dir(runs) if name.startswith("plant_")},
}

#: sha256 of the verdicts' JSON, first 16 hex digits, per run.
DIGESTS = {
    "bulk": "97a555e2912a4883",
    "clean": "d75684732eeee70f",
    "edges": "143c7f96b640fc56",
    "never_healed": "c30a403eed5dda68",
    "no_fault": "0a3b81486741a74f",
    "nothing_pending": "628dcd764b1daae5",
    "odd": "641654d4b83fbdc7",
    "plant_accepted_during_outage": "b88ec11116c7edc9",
    "plant_attempt_skipped": "400a7bd80e4acab1",
    "plant_delayed_acks_late": "5673b0891d6295d1",
    "plant_duplicate": "ed7fe93f8d52ca20",
    "plant_durable_never_delivered": "701157b414c56fb7",
    "plant_gap_too_short": "dab70a6dac4bbeb1",
    "plant_lost": "215158c5c9e73586",
    "plant_lost_with_worker": "2bcc607d1686b210",
    "plant_received_during_outage": "f1549d6e747caa89",
    "plant_recovered": "9f8d7e2f98a4c444",
    "plant_retry_too_many": "6652f672889355c5",
    "plant_slow_resume": "4ce93df010201374",
    "plant_unexpected": "f95559b501629fc6",
    "plant_wrong_final_exception": "f61f562def4c792f",
    "skew+3": "6db3c5f1d43b3240",
    "skew-7.5": "b72ed3da25b30d68",
    "loaded_partial": "9ca8f4ea14ad9781",
}


def verdicts_digest(verdicts: list) -> str:
    text = json.dumps([v.to_dict() for v in verdicts], default=repr)  # dict order counts too
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def digest_of(name: str) -> str:
    return verdicts_digest(run_checks(build_history(RUNS[name]().events), EXPECTATIONS))


@pytest.mark.parametrize("name", sorted(RUNS))
def test_verdicts_are_unchanged(name: str) -> None:
    assert digest_of(name) == DIGESTS[name]


def loaded_digest(run_dir: Path) -> str:
    """A skewed run written shuffled with a partial last line, read back by ``load_history``."""
    runs.clean_run(worker_skew=2.0).write(run_dir, shuffle_seed=5, partial_tail='{"kind":"ta')
    return verdicts_digest(run_checks(load_history(run_dir), EXPECTATIONS))


def test_verdicts_of_a_loaded_journal_with_a_partial_line_are_unchanged(tmp_path: Path) -> None:
    assert loaded_digest(tmp_path) == DIGESTS["loaded_partial"]


if __name__ == "__main__":  # print the digests to paste above
    import tempfile

    found = {name: digest_of(name) for name in sorted(RUNS)}
    with tempfile.TemporaryDirectory() as scratch:
        found["loaded_partial"] = loaded_digest(Path(scratch))
    print("DIGESTS = {")
    for name, digest in found.items():
        print(f'    "{name}": "{digest}",')
    print("}")

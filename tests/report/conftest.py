"""Synthetic runs for the report tests: journals written as the producer, probe and runner would.

``hundred_task_run`` is the picture's readability case: 100 orders over 24 s, the broker killed
from 8 to 12 s (publishes refused inside, two accepted tasks lost with its memory), retries with
a countdown, a task that fails every attempt, a duplicate execution, and tasks still running
when the run ended.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import NamedTuple

import pytest

from chaos.checks.verdict import Verdict
from chaos.history import RunHistory
from chaos.testing import RETRYING_POLICY, SyntheticRun

RISKY = "shop.tasks.risky_task"
INVOICE = "shop.tasks.send_invoice_email"
ACKS_LATE_POLICY = {**RETRYING_POLICY, "acks_late": True}

HUNDRED_EXPECTATIONS = [
    {"check": "delivery"},
    {"check": "retries_as_declared"},
    {"check": "resume_within", "seconds": 3.0},
]


class Reported(NamedTuple):
    run_dir: Path
    history: RunHistory
    verdicts: list[Verdict]


def hundred_task_run(seed: int = 7) -> SyntheticRun:
    """The 100-task run described in the module docstring (deterministic for a seed)."""
    rng = random.Random(seed)
    run = SyntheticRun()
    kill_start, kill_end = 8.0, 12.0
    run.fault(fault_id="broker-kill", type="broker.kill", start=kill_start, end=kill_end,
              target="broker")
    run.fault(fault_id="latency", type="proxy.latency", start=17.0, end=19.5, target="proxy",
              latency=500, jitter=100)
    backlog_at = kill_end + 1.4  # the worker's reconnect sleep (2 s steps) after the heal
    for index in range(100):
        at = index * 0.24 + rng.uniform(0.0, 0.05)
        task_id = f"task-{index:03d}"
        key = f"order={index}"
        worker = 1 + index % 2
        if kill_start <= at <= kill_end:
            run.publish(at, task_id, key, outcome="refused" if index % 7 else "uncertain")
            continue
        if index in (31, 32):  # accepted just before the kill, gone with the broker's memory
            run.publish(at, task_id, key)
            continue
        if at < kill_start - 0.6:
            start = at + 0.03
        else:  # queued while the worker reconnects: runs as part of the backlog
            start = max(at + 0.03, backlog_at + (index - 33) * 0.03)
        if index % 11 == 3:  # risky_task: fails twice, then succeeds (countdown 1 s)
            run.publish(at, task_id, key, task=RISKY)
            for attempt, outcome in enumerate(("retry", "retry", "success")):
                run.execute(start, task_id, attempt, outcome, task=RISKY, worker=worker,
                            countdown=1.0, duration=0.08)
                start += 1.09
            continue
        if index == 60:  # fails every attempt: 4 attempts, then the original exception
            run.publish(at, task_id, key, task=RISKY)
            for attempt in range(4):
                run.execute(start, task_id, attempt, "retry" if attempt < 3 else "failure",
                            task=RISKY, worker=worker, countdown=1.0, duration=0.08)
                start += 1.09
            continue
        run.publish(at, task_id, key)
        if index == 20:  # acks_late redelivery: the same attempt executed twice
            run.execute(start, task_id, 0, "success", worker=1, policy=ACKS_LATE_POLICY)
            run.execute(start + 2.5, task_id, 0, "success", worker=2, policy=ACKS_LATE_POLICY,
                        redelivered=True)
            continue
        if index >= 97:  # still running when the run ended
            run.execute(start, task_id, 0, "none", worker=worker, duration=0.5)
            continue
        run.execute(start, task_id, 0, "success", worker=worker,
                    duration=rng.uniform(0.03, 0.25))
    run.finish(26.0)
    return run


@pytest.fixture
def hundred_run_dir(tmp_path: Path) -> Path:
    """A run directory holding the 100-task journal."""
    return _hundred_run_dir(tmp_path)


@pytest.fixture(scope="module")
def reported_hundred(tmp_path_factory: pytest.TempPathFactory) -> Reported:
    """The 100-task run judged and reported once (report.json, timeline, HTML): drawing costs
    seconds, so the tests that only read the outputs share one."""
    from chaos.checks import run_checks
    from chaos.history import load_history
    from chaos.report import write_html, write_json

    run_dir = _hundred_run_dir(tmp_path_factory.mktemp("reported"))
    history = load_history(run_dir)
    verdicts = run_checks(history, HUNDRED_EXPECTATIONS)
    write_json(run_dir, verdicts, history, extra={"runner": {"wall": 1.5}})
    write_html(run_dir, history, verdicts, picture=True)
    return Reported(run_dir, history, verdicts)


def _hundred_run_dir(parent: Path) -> Path:
    run_dir = parent / "run-hundred"
    hundred_task_run().write(run_dir)
    (run_dir / "expectations.json").write_text(json.dumps(HUNDRED_EXPECTATIONS))
    return run_dir


@pytest.fixture
def small_run_dir(tmp_path: Path) -> Path:
    """Three tasks, no fault: the smallest run a report must still draw."""
    run = SyntheticRun()
    for index in range(3):
        run.publish(0.1 * index, f"t{index}", f"order={index}")
        run.execute(0.1 * index + 0.02, f"t{index}", 0, "success")
    run.finish(1.0)
    run_dir = tmp_path / "run-small"
    run.write(run_dir)
    return run_dir

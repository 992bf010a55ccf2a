"""A recorded run to point the commands at: written by chaos.testing, no stack needed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chaos.testing import SyntheticRun

#: The ``chaos`` console script of the venv running the tests.
CHAOS = str(Path(sys.executable).with_name("chaos"))


@pytest.fixture
def recorded_run(tmp_path: Path) -> Path:
    """A finished run with a broker kill, a refused publish, a retried task and a lost one: a
    failed delivery verdict whose long message is what a cut cell would lose."""
    run = SyntheticRun()
    run.fault("redis-down", "broker.kill", 1.0, 3.0)
    run.publish(0.5, "t1", "order=1")
    run.execute(0.6, "t1")
    run.publish(1.5, "t2", "order=2", outcome="refused")
    run.retried_task(4.0, "t3", "order=3", attempts=3, countdown=1.0, final="success")
    run.publish(4.5, "t4", "order=4")
    run.finish(10.0)
    run_dir = tmp_path / "run"
    run.write(run_dir)
    return run_dir

"""``redelivered``: a lower bound on tasks handed to a worker again; too few is "not exercised"."""

from __future__ import annotations

import pytest

from chaos.checks import run_checks
from chaos.errors import ConfigError
from chaos.history import build_history
from chaos.testing import SyntheticRun


def _run(redelivered: int) -> SyntheticRun:
    run = SyntheticRun()
    for number in range(3):
        run.publish(1.0 + number, f"t{number}", f"order={number}")
        run.execute(1.5 + number, f"t{number}", redelivered=number < redelivered)
    run.finish(10.0)
    return run


def test_enough_redeliveries_hold_naming_the_tasks() -> None:
    (verdict,) = run_checks(build_history(_run(2).events), [{"check": "redelivered",
                                                             "at_least": 2}])  # fmt: skip
    assert verdict.status == "held" and verdict.tasks == ["t0", "t1"]


def test_too_few_is_not_exercised_not_failed() -> None:
    (verdict,) = run_checks(build_history(_run(0).events), [{"check": "redelivered"}])
    assert verdict.status == "not exercised"
    assert "only 0 of the at least 1" in verdict.message


def test_at_least_is_validated() -> None:
    with pytest.raises(ConfigError, match="at_least"):
        run_checks(build_history(_run(0).events), [{"check": "redelivered", "at_least": 0}])

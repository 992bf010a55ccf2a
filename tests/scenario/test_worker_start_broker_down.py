"""A worker started while Redis is down: the library scenario holds with Celery's default, and
fails, naming the orders, once the app turns ``broker_connection_retry_on_startup`` off (the
planted bug no scenario caught before: issue 15's start-up faults)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.trust.support import SCENARIOS, run_chaos

SCENARIO = SCENARIOS / "worker-starts-while-broker-down.yaml"


def _run(path: Path, out: Path) -> tuple[int, dict[str, dict]]:
    finished = run_chaos("run", str(path), "--out", str(out), "--no-report", timeout=180)
    (run_dir,) = out.glob("worker-starts-while-broker-down-*")
    report = json.loads((run_dir / "report.json").read_text())
    return finished.returncode, {v["name"]: v for v in report["verdicts"]}


def test_the_worker_retries_its_first_connection_and_consumes_after_the_outage(
    tmp_path: Path,
) -> None:
    code, verdicts = _run(SCENARIO, tmp_path / "runs")
    assert code == 0, verdicts
    # The orders sent after the outage were taken by the worker started during it.
    assert verdicts["no_lost"]["details"]["counts"]["ok"] == 16, verdicts["no_lost"]


def test_without_retry_on_startup_the_orders_after_the_outage_are_never_run(
    tmp_path: Path,
) -> None:
    document = yaml.safe_load(SCENARIO.read_text())
    document["topology"]["celery"] = {"broker_connection_retry_on_startup": False}
    planted = tmp_path / "worker-starts-while-broker-down.yaml"
    planted.write_text(yaml.safe_dump(document))
    code, verdicts = _run(planted, tmp_path / "runs")
    assert code == 1, verdicts
    assert not verdicts["resume_within"]["ok"], verdicts["resume_within"]
    lost = verdicts["no_lost"]
    assert not lost["ok"] and lost["details"]["counts"]["lost"] == 8, lost
    assert "never executed" in lost["message"], lost

"""A worker started while Redis is down: the library scenario fails, naming the orders, once the
app turns ``broker_connection_retry_on_startup`` off (the planted bug no scenario caught before:
issue 15's start-up faults). That it holds with Celery's default, every order run, is the
library's own item (its eventually_executed), so it is not run a second time here."""

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
    assert not verdicts["eventually_executed"]["ok"], verdicts["eventually_executed"]
    lost = verdicts["no_lost"]
    assert not lost["ok"] and lost["details"]["counts"]["lost"] == 8, lost
    assert "never executed" in lost["message"], lost

"""The done-means of ``chaos init``, for real: the library it writes for tests/otherapp holds on the
project as it is, and each planted policy bug (a changed max_retries, acks_late off,
reject_on_worker_lost off) makes it fail, naming the task and the declared policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from chaos.cli import main

REPO = Path(__file__).resolve().parents[2]
OTHERAPP = REPO / "tests" / "otherapp"


def test_the_generated_ladder_kills_planted_policy_bugs(tmp_path: Path) -> None:
    out = tmp_path / "starter"
    assert main(["init", str(OTHERAPP), "--out", str(out), "--args", "billing.charge_invoice=[1]",
                 "--setup", "python manage.py seed_customers --count 3"]) == 0  # fmt: skip
    ladder = out / "charge-invoice-retry-ladder.yaml"
    finished = subprocess.run(
        [sys.executable, "-m", "chaos", "mutate", str(ladder), "--app", str(OTHERAPP),
         "--task", "charge_invoice", "--operator", "max_retries", "--operator", "acks_late",
         "--operator", "reject_on_worker_lost", "--out", str(tmp_path / "runs"), "--json",
         "--min-score", "100"],
        capture_output=True, text=True, timeout=600, cwd=REPO, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-2000:] + finished.stdout[-2000:]
    report = json.loads(finished.stdout[finished.stdout.index("{") :])
    outcomes = {r["id"]: (r["outcome"], r["message"]) for r in report["results"]}
    assert set(outcomes) == {
        "charge_invoice/max_retries/1", "charge_invoice/max_retries/2",
        "charge_invoice/acks_late/1", "charge_invoice/reject_on_worker_lost/1",
    }  # fmt: skip
    assert all(outcome == "killed" for outcome, _ in outcomes.values()), outcomes
    messages = {mutant: message for mutant, (_, message) in outcomes.items()}
    assert "declares max_retries=2, the scenario pins 3" in messages["charge_invoice/max_retries/1"]
    assert "declares acks_late=false, the scenario pins true" in (
        outcomes["charge_invoice/acks_late/1"][1])
    assert "reject_on_worker_lost=false, the scenario pins true" in (
        outcomes["charge_invoice/reject_on_worker_lost/1"][1])

"""The suite catches real Celery bugs at the versions that have them, and holds at the fixed ones:
a matrix of celery 5.6.2 (baseline) against 5.7.0 over two library scenarios.

- eta-tasks-connection-reset (celery 5.6.1-5.6.2, fixed in 5.6.3 by celery#10218): countdown
  tasks run twice at their ETA after the worker's connections are reset;
- routing-leak-after-reconnect (celery#9462, fixed in 5.7.0 by celery#10335): a worker without
  -Q consumes a queue a task body created, after a reconnect;
- busy-worker-prefetch-disabled-reset (celery 5.6.0-5.6.3, fixed in 5.7.0 by celery#10345): with
  worker_disable_prefetch, a busy worker takes a message after a reconnect and holds it;
- solo-worker-reconnect-in-health-check (kombu 5.6.2, fixed in the kombu 5.7.0 wheel; kombu#2629):
  redis-py reconnects the worker's BRPOP connection inside a health check and the worker never
  consumes again.

Cost: the two venvs come from the cache (built with uv in a few seconds); the runs take about
85 s in all (the ETA scenario is dilated x10; the prefetch one runs 10 s per set, the health
check one about 25 s on 5.6.2, where its drain waits, and 10 s on 5.7.0).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AFFECTED, FIXED = "celery==5.6.2 kombu==5.6.2", "celery==5.7.0 kombu==5.7.0"
ETA = ROOT / "scenarios" / "eta-tasks-connection-reset.yaml"
ROUTING = ROOT / "tests" / "otherapp" / "scenarios" / "routing-leak-after-reconnect.yaml"
PREFETCH = ROOT / "scenarios" / "busy-worker-prefetch-disabled-reset.yaml"
HEALTH_CHECK = ROOT / "scenarios" / "solo-worker-reconnect-in-health-check.yaml"


def _failed(cell: dict) -> dict[str, str]:
    return {e["key"]: e["message"] for e in cell["expectations"] if not e["held"]}


def _affected_cell(document: dict, scenario: str) -> dict:
    """The affected set's cell of ``scenario``; the fixed set held it, the affected failed."""
    cells = document["cells"][scenario]
    assert cells[FIXED]["status"] == "held", _failed(cells[FIXED])
    assert cells[AFFECTED]["status"] == "failed"
    return cells[AFFECTED]


def _run_dir_tasks(cell: dict, verdict: str) -> list[str]:
    report = json.loads(Path(cell["run_dir"], "report.json").read_text())
    (found,) = [v for v in report["verdicts"] if v["name"] == verdict]
    return list(found.get("tasks") or [])


@pytest.mark.slow
def test_the_affected_celery_fails_naming_the_bug_and_the_fixed_one_holds(tmp_path: Path) -> None:
    report = tmp_path / "matrix.json"
    env = {**os.environ, "CHAOS_SKIP_DOCKER_SETUP": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "matrix", str(ETA), str(ROUTING), str(PREFETCH),
         str(HEALTH_CHECK), "--versions", AFFECTED, "--versions", FIXED,
         "--out", str(tmp_path / "runs"), "--json", str(report)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    # 5.6.2 is the baseline: 5.7.0 breaks nothing it kept, so the exit is 0 and the diff says
    # which promises the upgrade fixes.
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(report.read_text())
    assert document["venvs"][AFFECTED]["versions"]["celery"] == "5.6.2"
    assert document["venvs"][FIXED]["versions"]["celery"] == "5.7.0"

    eta = _affected_cell(document, "eta-tasks-connection-reset")
    failed = _failed(eta)
    assert "ran twice (eta" in failed["invariant:duplicates"]
    assert "unexplained" in failed["invariant:duplicates"]
    assert "(and 9 more)" in failed["invariant:duplicates"]  # every one of the 10 invoices
    assert len(_run_dir_tasks(eta, "invariant:duplicates")) == 10

    said = _failed(_affected_cell(document, "routing-leak-after-reconnect"))["invariant:routing"]
    assert "archive_invoice[" in said and "delivered from 'archive'" in said
    assert "consumes only billing" in said
    prefetch = _affected_cell(document, "busy-worker-prefetch-disabled-reset")
    held = _failed(prefetch)["invariant:prefetch"]
    assert "unstarted for" in held and "while its pool ran send_invoice_email[" in held
    assert "worker_disable_prefetch" in held and "with a free slot on worker-" in held
    stuck = _affected_cell(document, "solo-worker-reconnect-in-health-check")
    said = _failed(stuck)
    assert "none executed afterwards" in said["resume_within"]
    assert "with a free pool slot on worker-1@" in said["invariant:liveness"]
    assert len(_run_dir_tasks(stuck, "invariant:liveness")) == 5  # every later invoice
    fixed = {(f["scenario"], f["expectation"]) for f in document["fixes"]}
    assert ("eta-tasks-connection-reset", "invariant:duplicates") in fixed
    assert ("routing-leak-after-reconnect", "invariant:routing") in fixed
    assert ("busy-worker-prefetch-disabled-reset", "invariant:prefetch") in fixed
    assert ("solo-worker-reconnect-in-health-check", "invariant:liveness") in fixed

"""A run that did not do what it planned gives no verdict; an ``at:``-only failpoint stays armed
through the drain (issue 16's second false green). Stack tests: run them under the shared lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import StackError
from chaos.journal import read_journal
from chaos.runner import run_scenario

E2E = Path(__file__).resolve().parents[1] / "scenario" / "e2e"

pytestmark = pytest.mark.chaos


def test_an_at_only_failpoint_on_a_single_task_fires(tmp_path: Path) -> None:
    result = run_scenario(E2E / "at-only-failpoint.yaml", out_dir=tmp_path, quiet=True)

    events = list(read_journal(result.run_dir))
    fired = [e for e in events if e.kind == "failpoint.fired"]
    assert [(e.data["name"], e.data["hit"]) for e in fired] == [
        ("patch:shop.tasks:send_invoice_email", 1),
        ("shop.send_invoice_email", 1),
    ]
    assert fired[1].mono - fired[0].mono >= 1.5 - 0.01  # the delay came first (clock rounding)
    kinds = [e.kind for e in events]
    phases = [(e.data["name"], i) for i, e in enumerate(events) if e.kind == "phase"]
    drain = dict(phases)["drain"]
    # armed through the drain, healed after it, and the run finished before it was judged
    healed = [i for i, e in enumerate(events) if e.kind == "fault.healed"]
    assert healed and all(drain < i < kinds.index("run.finished") for i in healed)
    assert kinds.index("run.plan") < dict(phases)["workload"]
    assert kinds.index("run.finished") < kinds.index("run.judged")
    assert result.ok, [v.message for v in result.verdicts]


def test_a_planned_fault_never_applied_gives_no_verdict(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="incomplete journal: fault after-a-success"):
        run_scenario(E2E / "never-applied.yaml", out_dir=tmp_path, quiet=True, seed=1)

    (run_dir,) = tmp_path.iterdir()
    assert not (run_dir / "report.json").exists()
    finished = [e for e in read_journal(run_dir) if e.kind == "run.finished"]
    assert finished[0].data["never_applied"] == ["after-a-success"]

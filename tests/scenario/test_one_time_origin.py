"""One time origin on a real run: a fault's applied time is the same number in the CLI's line,
in report.json and in report.html (all count from the runner's run.started event), and
``chaos run`` writes and names report.html by default."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chaos.cli import main

E2E = Path(__file__).parent / "e2e"

pytestmark = pytest.mark.chaos


def test_a_faults_applied_time_is_one_number_in_every_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code = main(["run", str(E2E / "gate-can-fail.yaml"), "--out", str(tmp_path),
                      "--no-picture"])  # fmt: skip
    captured = capsys.readouterr()
    assert exit_code == 1  # the gate fails, by design of this scenario (no_lost)
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert f"report: {run_dir / 'report.html'}" in captured.out
    # The console's line: "   1.80 s applied redis-down (broker.kill on broker)".
    printed = dict(
        (fault_id, stamp)
        for stamp, fault_id in re.findall(r"(-?\d+\.\d\d) s applied (\S+)", captured.err)
    )
    assert set(printed) == {"worker-down", "redis-down"}, captured.err
    report = json.loads((run_dir / "report.json").read_text())
    page = (run_dir / "report.html").read_text()
    for window in report["fault_windows"]:
        shown = f"{window['start']:.2f}"
        # The same rounding everywhere (two decimals): the same number, not merely close.
        assert printed[window["fault_id"]] == shown, (printed, report["fault_windows"])
        assert f" {shown} to " in page  # the fault's row and the run's facts: "killed 1.80 to"
    # The faults were applied at their scenario times from that origin: 0 s and 1.8 s (+ the
    # apply's own duration and a tick of the runner's loop; 0.5 s allows for a loaded machine).
    starts = {w["fault_id"]: w["start"] for w in report["fault_windows"]}
    assert 0.0 <= starts["worker-down"] < 0.5
    assert 1.8 <= starts["redis-down"] < 2.3

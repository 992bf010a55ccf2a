"""``chaos run`` writes report.json, report.html and the picture by default and prints each path;
``--no-report`` keeps only report.json, ``--no-picture`` only skips the picture. The runner is
replaced by one that writes what it is asked to (no stack): the real run is the e2e test's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaos.checks import run_checks
from chaos.cli import main
from chaos.history import load_history
from chaos.report import write_html, write_json
from chaos.runner.run import RunResult

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "broker-restart-during-orders.yaml"


@pytest.fixture
def fake_runs(monkeypatch: pytest.MonkeyPatch, recorded_run: Path) -> list[dict[str, Any]]:
    """Each call's keyword arguments; the fake writes report.json, and the page and a stand-in
    picture when asked, into the recorded run's directory."""
    calls: list[dict[str, Any]] = []

    def fake_run_scenario(path: Path, **options: Any) -> RunResult:
        calls.append(options)
        history = load_history(recorded_run)
        verdicts = run_checks(history, [{"check": "duplicates"}])
        write_json(recorded_run, verdicts, history)
        if options.get("picture"):
            (recorded_run / "timeline.png").write_bytes(b"png")
        if options.get("html"):
            write_html(recorded_run, history, verdicts)
        return RunResult(scenario="s", run_id="r", run_dir=recorded_run, seed=1, backend="local",
                         verdicts=verdicts)  # fmt: skip

    monkeypatch.setattr("chaos.cli.run_cmd.run_scenario", fake_run_scenario)
    return calls


def test_reports_are_written_by_default_and_every_path_printed(
    fake_runs: list[dict[str, Any]], recorded_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(SCENARIO)]) == 0
    assert (fake_runs[0]["picture"], fake_runs[0]["html"]) == (True, True)
    out = capsys.readouterr().out
    assert f"report: {recorded_run / 'report.html'}  (open it in a browser)" in out
    assert f"report.json: {recorded_run / 'report.json'}" in out
    assert f"picture: {recorded_run / 'timeline.png'}" in out
    assert f"replay: chaos replay {recorded_run}" in out


def test_no_report_writes_report_json_alone(
    fake_runs: list[dict[str, Any]], recorded_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(SCENARIO), "--no-report"]) == 0
    assert (fake_runs[0]["picture"], fake_runs[0]["html"]) == (False, False)
    out = capsys.readouterr().out
    assert "report.html" not in out and "timeline.png" not in out
    assert f"report.json: {recorded_run / 'report.json'}" in out


def test_no_picture_still_writes_the_page(
    fake_runs: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(SCENARIO), "--no-picture"]) == 0
    assert (fake_runs[0]["picture"], fake_runs[0]["html"]) == (False, True)
    assert "report.html" in capsys.readouterr().out

"""``chaos check RUN_DIR``: exit 0 when every expectation held, 1 when one failed, 2 for a bad run
directory; expectations from --expect, report.json, the scenario file, or the defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.cli import main
from tests.checks import runs


def write_run(folder: Path, *planters: runs.Planter) -> Path:
    run = runs.clean_run()
    for plant in planters:
        plant(run)
    run.write(folder, shuffle_seed=1)
    return folder


def test_clean_run_exits_0_and_prints_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["check", str(write_run(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "delivery" in out and "held" in out and "12 of 12 expectations held" in out


def test_a_failed_expectation_exits_1_with_the_message(tmp_path: Path, capsys) -> None:
    write_run(tmp_path, runs.plant_lost)
    assert main(["check", str(tmp_path), "--json"]) == 1
    verdicts = json.loads(capsys.readouterr().out)
    delivery = next(v for v in verdicts if v["name"] == "delivery")
    assert not delivery["ok"] and "lost with the broker's memory" in delivery["message"]


def test_bad_run_dir_exits_2_naming_it(tmp_path: Path, capsys) -> None:
    assert main(["check", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert main(["check", str(tmp_path)]) == 2
    assert "no journal here" in capsys.readouterr().err


def test_expectations_come_from_the_scenario_file(tmp_path: Path, capsys) -> None:
    write_run(tmp_path, runs.plant_slow_resume)
    (tmp_path / "scenario.yaml").write_text(
        "name: x\nexpect:\n  - check: resume_within\n    seconds: 5\n  - check: no_lost\n"
    )
    assert main(["check", str(tmp_path), "--json"]) == 1
    verdicts = json.loads(capsys.readouterr().out)
    assert [(v["name"], v["ok"]) for v in verdicts][:2] == [
        ("resume_within", False),
        ("no_lost", True),
    ]
    assert all(v["name"].startswith("invariant:") for v in verdicts[2:])  # always on


def test_expectations_come_from_report_json_verdicts(tmp_path: Path, capsys) -> None:
    write_run(tmp_path, runs.plant_duplicate)
    report = {"verdicts": [{"name": "duplicates", "ok": True, "params": {"allowed": True}}]}
    (tmp_path / "report.json").write_text(json.dumps(report))
    # The planted duplicate has no at-least-once explanation: the always-on invariant fails it.
    assert main(["check", str(tmp_path), "--json"]) == 1
    verdict, *invariants = json.loads(capsys.readouterr().out)
    assert verdict["params"] == {"allowed": True}
    assert not next(v for v in invariants if v["name"] == "invariant:duplicates")["ok"]


def test_unknown_check_in_expect_file_exits_2_naming_the_field(tmp_path: Path, capsys) -> None:
    write_run(tmp_path)
    expect = tmp_path / "expect.yaml"
    expect.write_text("- check: no_lsot\n")
    assert main(["check", str(tmp_path), "--expect", str(expect)]) == 2
    err = capsys.readouterr().err
    assert "expectations[0].check" in err and "no_lost" in err


def test_table_shows_task_labels_that_look_like_markup(tmp_path: Path) -> None:
    from rich.console import Console

    from chaos.checks import render_verdicts, run_checks
    from chaos.history import load_history

    write_run(tmp_path, runs.plant_lost)
    console = Console(record=True, width=200)
    render_verdicts(run_checks(load_history(tmp_path), [{"check": "no_lost"}]), console=console)
    text = console.export_text()
    assert "send_invoice_email[order=17]: accepted by the broker at 9.50 s" in text
    assert "FAILED" in text and "0 of 1 expectations held" in text

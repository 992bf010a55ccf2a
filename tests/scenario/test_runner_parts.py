"""The runner's pure parts: scenario inputs, verdict comparison for replay, JUnit, the follower."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from chaos.checks import Verdict
from chaos.errors import ConfigError
from chaos.journal import JournalWriter
from chaos.report.junit import write_junit
from chaos.runner.follower import JournalFollower
from chaos.runner.replay import compare_verdicts
from chaos.runner.run import as_loaded
from chaos.scenario import load_scenario_text

SCENARIO = {
    "name": "from-a-dict",
    "workload": [{"path": "naive", "count": 2, "rate": "2/s"}],
    "faults": [{"type": "proxy.down", "at": {"between": ["1s", "2s"]}, "for": "500ms"}],
    "expect": [{"check": "no_lost"}],
}


def verdict(name: str, ok: bool) -> Verdict:
    return Verdict(name=name, ok=ok, expected="e", observed="o", message="m")


def test_a_dict_and_a_model_become_the_same_scenario() -> None:
    from_dict = as_loaded(SCENARIO).scenario
    from_model = as_loaded(from_dict).scenario
    assert from_dict == from_model
    assert from_dict.faults[0].for_ == 0.5


def test_a_bad_dict_is_a_config_error_naming_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        as_loaded({**SCENARIO, "workload": [{"path": "naive", "count": -1}]})
    assert caught.value.problems[0].field_path == "workload[0].count"


def test_replay_comparison_names_the_checks_that_differ() -> None:
    recorded = [verdict("no_lost", True), verdict("duplicates", True)]
    replayed = [verdict("no_lost", True), verdict("duplicates", False)]
    (difference,) = compare_verdicts(recorded, replayed)
    assert difference.check == "duplicates"
    assert difference.recorded.startswith("held") and difference.replayed.startswith("FAILED")
    assert compare_verdicts(recorded, recorded) == []
    assert [(d.check, d.replayed) for d in compare_verdicts(recorded, replayed[:1])] == [
        ("duplicates", "absent")
    ]


def test_junit_has_one_case_per_expectation_and_a_failure_for_each_failed_one(
    tmp_path: Path,
) -> None:
    result = SimpleNamespace(
        scenario="s",
        seed=1,
        run_dir=tmp_path,
        backend="local",
        timings={"wall": 2.0},
        verdicts=[verdict("no_lost", True), verdict("duplicates", False)],
    )
    text = write_junit(tmp_path / "out" / "junit.xml", [result]).read_text()
    assert 'tests="2"' in text and 'failures="1"' in text
    assert text.count("<testcase") == 2 and text.count("<failure") == 1


def test_the_follower_reads_only_complete_new_lines(tmp_path: Path) -> None:
    follower = JournalFollower(tmp_path)
    assert follower.poll().event_times == {}
    with JournalWriter.for_run_dir(tmp_path, "probe") as journal:
        journal.write("enqueue.accepted", task_id="a", task="t")
        journal.write("task.started", task_id="a", task="t", attempt=0)
        progress = follower.poll()
        assert set(progress.event_times) == {"first_enqueue_accepted", "first_task_started"}
        assert progress.in_flight == 1
        journal.write("task.finished", task_id="a", task="t")
        journal.write("task.succeeded", task_id="a", task="t")
    with (tmp_path / "journal.jsonl").open("a") as raw:
        raw.write(json.dumps({"kind": "task.started", "mono": 1.0})[:10])  # a writer mid-line
    progress = follower.poll()
    assert progress.finished == {"a"} and progress.accepted == {"a"} and progress.in_flight == 0


def test_resolved_inputs_survive_a_round_trip_through_the_run_directory(tmp_path: Path) -> None:
    from chaos.runner.rundir import new_run_files, read_recorded_run
    from chaos.scenario import resolve_timeline

    text = (
        Path(__file__)
        .resolve()
        .parents[2]
        .joinpath("scenarios", "broker-restart-during-orders.yaml")
        .read_text()
    )
    loaded = load_scenario_text(text, "broker-restart-during-orders.yaml")
    timeline = resolve_timeline(loaded.scenario, 5)
    files = new_run_files(tmp_path, loaded.scenario.name)
    files.write_inputs(loaded, timeline, "local")
    recorded = read_recorded_run(files.run_dir)
    assert recorded.timeline == timeline and recorded.loaded.scenario == loaded.scenario
    assert recorded.backend == "local" and recorded.verdicts is None


def test_replaying_something_that_is_not_a_run_directory_is_bad_input(tmp_path: Path) -> None:
    from chaos.cli import main

    assert main(["replay", str(tmp_path)]) == 2

"""A dilated run's records: checks judge the app's seconds, every report says "dilated xN"."""

from __future__ import annotations

from types import SimpleNamespace
from xml.etree import ElementTree

from chaos.checks import run_checks
from chaos.history.builder import build_history
from chaos.report.json_report import build_report
from chaos.report.junit import write_junit
from chaos.testing import RETRYING_POLICY, SyntheticRun


def dilated_run(dilation: float) -> SyntheticRun:
    run = SyntheticRun(dilation=dilation)
    # What the app's processes journal under the clock: 60 s gaps of app time (6 s real at x10).
    run.retried_task(1.0, "t-1", "order=1", attempts=3, countdown=60.0, final="success",
                     policy=RETRYING_POLICY)  # fmt: skip
    run.finish(200.0)
    return run


def test_a_dilated_runs_gaps_are_judged_in_app_seconds() -> None:
    history = build_history(dilated_run(10.0).events)
    assert history.meta.dilation == 10.0
    assert history.meta.clock_label == "dilated x10"
    (task,) = history.tasks.values()
    starts = [attempt.started_at for attempt in task.attempts]
    assert [round(b - a) for a, b in zip(starts, starts[1:])] == [60, 60]
    verdicts = run_checks(history, [{"check": "retries_as_declared", "attempts": 3,
                                     "pin": {"max_retries": 3, "countdown": 60}}])  # fmt: skip
    assert all(verdict.ok for verdict in verdicts)
    report = build_report(verdicts, history)
    assert report["clock"]["label"] == "dilated x10"


def test_a_real_time_run_says_nothing_of_a_clock() -> None:
    history = build_history(SyntheticRun().events)
    assert history.meta.clock_label == ""
    assert "clock" not in build_report([], history)


def test_junit_names_the_dilation(tmp_path) -> None:
    result = SimpleNamespace(scenario="s", verdicts=[], timings={"wall": 1.0}, seed=1,
                             run_dir=tmp_path, backend="local", dilation=10.0)  # fmt: skip
    tree = ElementTree.parse(write_junit(tmp_path / "junit.xml", [result]))
    values = {p.get("name"): p.get("value") for p in tree.iter("property")}
    assert values["clock"] == "dilated x10"

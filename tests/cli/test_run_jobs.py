"""``chaos run --jobs N``: its argument errors, and the parts that need no process: engines by
slot, the worst exit code, a child's command line, and what a finished job's files say.

The real children (two scenarios at once, an interrupt) are tests/scenario/test_run_jobs_e2e.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from xml.etree import ElementTree

import pytest

from chaos.checks import run_checks
from chaos.cli import build_parser, main
from chaos.cli.job_outcomes import (
    Job,
    child_argv,
    engine_for_slot,
    merge_junit,
    outcome_line,
    plan_jobs,
    read_outcome,
    summary_lines,
    worst_exit,
)
from chaos.history import load_history
from chaos.report import write_json
from chaos.report.junit import write_junit
from chaos.runner.run import RunResult

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "proxy-down.yaml"
OTHER = SCENARIO.with_name("broker-oom.yaml")


@pytest.mark.parametrize("value", ["0", "17", "-1", "two", "1.5", ""])
def test_jobs_outside_1_to_16_exits_2_naming_jobs(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["run", str(SCENARIO), "--jobs", value])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--jobs takes a whole number from 1 to 16" in err and repr(value) in err


@pytest.mark.parametrize("value", ["1", "16"])
def test_jobs_bounds_are_accepted(value: str) -> None:
    args = build_parser("run").parse_args(["run", str(SCENARIO), "--jobs", value])
    assert args.jobs == int(value)


def test_docker_hosts_without_the_docker_backend_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["run", str(SCENARIO), "--jobs", "2", "--docker-hosts", "tcp://127.0.0.1:1",
                 "--out", str(tmp_path)]) == 2  # fmt: skip
    assert "--docker-hosts needs --backend docker" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [], "nothing started, nothing written"


def test_an_out_that_is_a_file_exits_2_before_any_child_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "a-file"
    out.write_text("")
    assert main(["run", str(SCENARIO), str(OTHER), "--jobs", "2", "--out", str(out)]) == 2
    assert "--out: cannot create the run directory here" in capsys.readouterr().err


def test_engines_go_round_robin_by_slot() -> None:
    hosts = ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2385"]
    assert [engine_for_slot(hosts, slot) for slot in range(5)] == [*hosts, *hosts, hosts[0]]
    assert engine_for_slot(hosts[:1], 3) == hosts[0]
    assert engine_for_slot([], 0) is None


@pytest.mark.parametrize(
    ("codes", "worst"),
    [([], 0), ([0, 0], 0), ([0, 1, 0], 1), ([1, 3, 0], 3), ([2, 1], 2), ([0, -9], 3),
     ([0, 130], 3), ([143, 1], 3)],
)  # fmt: skip
def test_the_exit_code_is_the_worst_a_crash_or_signal_counting_as_infrastructure(
    codes: list[int], worst: int
) -> None:
    assert worst_exit(codes) == worst


def _args(**given: object) -> argparse.Namespace:
    base = {"backend": "local", "seed": None, "dilation": None, "no_picture": False,
            "no_report": False, "debug": False}  # fmt: skip
    return argparse.Namespace(**{**base, **given})


def test_a_child_runs_one_file_with_the_parents_options(tmp_path: Path) -> None:
    (job,) = plan_jobs([SCENARIO], tmp_path / "jobs")
    assert (job.log.name, job.junit.name) == ("01-proxy-down.log", "01-proxy-down.xml")
    argv = child_argv(job, _args(backend="docker", seed=7, dilation=10.0, no_picture=True,
                                 debug=True), tmp_path / "runs")  # fmt: skip
    assert argv == ["--debug", "run", str(SCENARIO), "--backend", "docker", "--out",
                    str(tmp_path / "runs"), "--junit", str(job.junit), "--seed", "7",
                    "--dilation", "10.0", "--no-picture"]  # fmt: skip
    plain = child_argv(job, _args(), tmp_path / "runs")
    assert "--seed" not in plain and "--dilation" not in plain and plain[0] == "run"


def _finished_job(tmp_path: Path, recorded_run: Path) -> Job:
    """A job whose child wrote its JUnit as ``chaos run --junit`` does, for a run with one
    failed verdict (the recorded run lost a task) and one held."""
    history = load_history(recorded_run)
    verdicts = run_checks(history, [{"check": "no_lost"}, {"check": "duplicates"}])
    write_json(recorded_run, verdicts, history)
    job = plan_jobs([SCENARIO, OTHER], tmp_path / "jobs")[0]
    result = RunResult(scenario="proxy-down", run_id="r", run_dir=recorded_run, seed=1,
                       backend="local", verdicts=verdicts)  # fmt: skip
    write_junit(job.junit, [result])
    return job


def test_a_job_with_verdicts_is_read_from_its_junit(tmp_path: Path, recorded_run: Path) -> None:
    job = _finished_job(tmp_path, recorded_run)
    outcome = read_outcome(job, 1, 12.34, "tcp://127.0.0.1:2385")
    assert (outcome.scenario, outcome.run_dir, outcome.label) == ("proxy-down", recorded_run,
                                                                  "FAILED")  # fmt: skip
    assert (outcome.verdicts, outcome.failed) == (2, 1)
    assert outcome.report() == recorded_run / "report.json"
    line = outcome_line(outcome, 3, 12, show_engine=True)
    assert line == ("[ 3/12] FAILED       proxy-down  12.3 s  1 of 2 verdicts failed  "
                    "on tcp://127.0.0.1:2385")  # fmt: skip


def test_a_job_without_verdict_says_its_last_word(tmp_path: Path) -> None:
    (job,) = plan_jobs([SCENARIO], tmp_path)
    job.log.write_text("progress...\nchaos run: the stack could not start: redis: gone\n\n")
    outcome = read_outcome(job, 3, 2.0, None)
    assert outcome.label == "no verdict" and outcome.run_dir is None
    assert outcome.error == "chaos run: the stack could not start: redis: gone (exit 3)"
    assert read_outcome(job, -9, 2.0, None).error.endswith("(killed by signal 9)")
    job.log.write_text("")
    assert read_outcome(job, 3, 2.0, None).error == "exit 3"


def test_the_summary_names_every_report_and_each_scenario_without_verdict(
    tmp_path: Path, recorded_run: Path
) -> None:
    failed = read_outcome(_finished_job(tmp_path, recorded_run), 1, 5.0, None)
    broken_job = plan_jobs([SCENARIO, OTHER], tmp_path / "jobs")[1]
    broken_job.log.parent.mkdir(parents=True, exist_ok=True)
    broken_job.log.write_text("chaos run: the stack could not start: no redis\n")
    broken = read_outcome(broken_job, 3, 1.0, None)
    lines = summary_lines([failed, broken], 2, tmp_path / "jobs")
    assert lines == [
        "reports:",
        f"  proxy-down: {recorded_run / 'report.json'}",
        f"  broker-oom: log {broken_job.log}",
        f"logs: {tmp_path / 'jobs'}",
        "2 scenarios, 2 at a time: 1 FAILED, 1 infrastructure error (broker-oom); exit 3",
    ]


def test_merged_junit_keeps_the_order_given_and_shows_a_missing_verdict_as_an_error(
    tmp_path: Path, recorded_run: Path
) -> None:
    failed = read_outcome(_finished_job(tmp_path, recorded_run), 1, 5.0, None)
    broken_job = plan_jobs([SCENARIO, OTHER], tmp_path / "jobs")[1]
    broken_job.log.parent.mkdir(parents=True, exist_ok=True)
    broken_job.log.write_text("chaos run: the stack could not start: no redis\n")
    broken = read_outcome(broken_job, 3, 1.0, None)
    target = merge_junit([broken, failed], tmp_path / "all.xml")
    suites = ElementTree.parse(target).getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["proxy-down", "broker-oom"]
    assert (suites[0].get("failures"), suites[1].get("errors")) == ("1", "1")
    error = suites[1].find("testcase/error")
    assert error is not None and "the stack could not start" in error.get("message", "")

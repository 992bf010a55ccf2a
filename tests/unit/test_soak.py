"""The soak's judgement (benchmarks/soak.py): which runs differ, which gave no verdict, which left
something behind, and which ports a stack.json names."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SOAK_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


@pytest.fixture(scope="module")
def soak():
    spec = importlib.util.spec_from_file_location("soak_under_test", SOAK_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _result(soak, scenario="proxy-down", exit_code=0, verdicts=(("no_lost", "held"),), left=()):
    return soak.RunResult(scenario, exit_code, tuple(verdicts), 1.0, list(left))


def test_verdicts_read_status_or_ok_in_report_order(soak) -> None:
    report = {"verdicts": [{"name": "no_lost", "ok": True},
                           {"name": "no_duplicates", "ok": False},
                           {"name": "resumes", "ok": True, "status": "KNOWN BROKEN"}]}  # fmt: skip
    assert soak.verdicts_of(report) == (
        ("no_lost", "held"), ("no_duplicates", "failed"), ("resumes", "KNOWN BROKEN"),
    )  # fmt: skip
    assert soak.verdicts_of({}) == ()


def test_ports_of_a_local_and_a_docker_stack_record(soak) -> None:
    local = {"run_id": "r1", "broker": {"port": 40001, "pid": 12},
             "proxy": {"api_url": "http://127.0.0.1:40003", "listen_port": 40002}}  # fmt: skip
    assert soak.ports_of(local) == {40001, 40002, 40003}
    docker = {"broker": {"direct_url": "redis://127.0.0.1:32768/0"},
              "proxy": {"producer_url": "redis://localhost:32770/0",
                        "worker_url": "redis://toxiproxy:8666/0"}}  # fmt: skip
    # The worker's URL is inside the stack's network: not a port of this host.
    assert soak.ports_of(docker) == {32768, 32770}


def test_identical_runs_pass(soak) -> None:
    results = [_result(soak), _result(soak), _result(soak, "other", exit_code=1,
                                                     verdicts=[("no_lost", "failed")])]  # fmt: skip
    results.append(_result(soak, "other", exit_code=1, verdicts=[("no_lost", "failed")]))
    assert soak.flaky_scenarios(results) == {}
    assert soak.soak_problems(results) == []  # a steady failure is a steady verdict


def test_a_verdict_that_changes_is_flaky(soak) -> None:
    results = [_result(soak), _result(soak, exit_code=1, verdicts=[("no_lost", "failed")]),
               _result(soak)]  # fmt: skip
    flaky = soak.flaky_scenarios(results)
    assert flaky == {"proxy-down": ["exit 0: no_lost held", "exit 1: no_lost failed"]}
    assert soak.soak_problems(results) == [
        "proxy-down: verdicts differ run to run: exit 0: no_lost held | exit 1: no_lost failed"
    ]


@pytest.mark.parametrize("exit_code", [2, 3, 143, -9])
def test_a_run_without_a_verdict_fails_the_soak(soak, exit_code: int) -> None:
    results = [_result(soak, exit_code=exit_code, verdicts=())] * 2
    assert soak.soak_problems(results) == [
        f"run {n} (proxy-down): exit {exit_code}, no verdict" for n in (1, 2)
    ]


def test_a_leftover_fails_the_soak(soak) -> None:
    results = [_result(soak), _result(soak, left=["port 40001 listening", "network chaos-r2"])]
    assert soak.soak_problems(results) == [
        "run 2 (proxy-down) left port 40001 listening, network chaos-r2"
    ]


def test_the_progress_line_counts_verdicts_by_status(soak) -> None:
    result = _result(soak, exit_code=1,
                     verdicts=[("a", "held"), ("b", "failed"), ("c", "held")])  # fmt: skip
    assert result.summary == "exit 1: 2 held, 1 failed"
    assert _result(soak, exit_code=3, verdicts=()).summary == "exit 3: no verdicts"

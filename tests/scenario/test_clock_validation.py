"""``clock: {dilation: N}``: bounds, the line named in the error, and where dilation is refused."""

from __future__ import annotations

import pytest

from chaos.errors import ConfigError
from chaos.runner.clocking import app_clock
from chaos.scenario import load_scenario_text

SCENARIO = """\
name: dilated
workload:
  - path: naive
    count: 1
expect:
  - check: no_lost
{clock}"""


def loaded(clock: str = ""):
    return load_scenario_text(SCENARIO.format(clock=clock), "dilated.yaml")


@pytest.mark.parametrize("value", ["0.5", "0", "25", "ten"])
def test_a_dilation_out_of_range_names_its_line_and_field(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        loaded(f"clock:\n  dilation: {value}\n")
    problem = raised.value.problems[0]
    assert problem.line == 8  # the dilation line, not the file
    assert "clock.dilation" in (problem.field_path or "")


def test_the_default_is_real_time() -> None:
    scenario = loaded().scenario
    assert scenario.clock.dilation == 1.0
    assert not app_clock(loaded(), "docker").dilated  # real time runs on every backend


def test_the_scenario_dilation_gives_the_run_its_clock() -> None:
    clock = app_clock(loaded("clock: {dilation: 8}\n"), "local")
    assert clock.dilation == 8.0


def test_the_override_wins_over_the_file() -> None:
    assert app_clock(loaded("clock: {dilation: 8}\n"), "local", dilation=1).dilation == 1.0
    assert app_clock(loaded(), "local", dilation=12).dilation == 12.0


def test_an_override_out_of_range_is_bad_input() -> None:
    with pytest.raises(ConfigError, match="out of range"):
        app_clock(loaded(), "local", dilation=50)


def test_the_docker_backend_runs_the_files_dilation() -> None:
    clock = app_clock(loaded("clock: {dilation: 10}\n"), "docker")
    assert clock.dilated and clock.dilation == 10.0 and not clock.capped
    assert app_clock(loaded(), "docker", dilation=8).dilation == 8.0


def test_a_backend_that_cannot_preload_caps_the_files_dilation_and_says_why() -> None:
    clock = app_clock(loaded("clock: {dilation: 10}\n"), "elsewhere")
    assert not clock.dilated
    assert clock.capped and "elsewhere backend" in clock.capped
    assert "capped" in clock.describe()  # the journal's run.started says it too


def test_a_backend_that_cannot_preload_refuses_an_asked_dilation_and_says_why() -> None:
    with pytest.raises(ConfigError) as raised:
        app_clock(loaded("clock: {dilation: 10}\n"), "elsewhere", dilation=10)
    problem = raised.value.problems[0]
    assert problem.line == 7
    assert "elsewhere backend" in problem.message and "libfaketime" in problem.message
    assert problem.hint and "--backend local" in problem.hint


def test_without_libfaketime_the_files_dilation_runs_in_real_time_and_an_asked_one_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import chaos.runner.clocking as clocking
    from chaos.clock import ClockError

    def missing() -> None:
        raise ClockError("no libfaketime: apt-get install libfaketime")

    monkeypatch.setattr(clocking, "preload_libraries", missing)
    clock = app_clock(loaded("clock: {dilation: 10}\n"), "local")
    assert not clock.dilated and clock.capped and "no libfaketime" in clock.capped
    with pytest.raises(ConfigError, match="no libfaketime"):
        app_clock(loaded(), "local", dilation=10)

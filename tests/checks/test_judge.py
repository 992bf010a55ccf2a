"""``judge``: a held verdict the run did not exercise is "not exercised" (a failure) unless its
expectation or scenario allows it; the switch is validated like any parameter."""

from __future__ import annotations

import pytest

from chaos.checks import run_checks
from chaos.errors import ConfigError
from chaos.history import build_history
from chaos.scenario import load_scenario_text
from chaos.testing import SyntheticRun

SCENARIO = """name: s
workload: [{path: naive, count: 1}]
expect:
  - check: no_lost
    allow_unexercised: VALUE
"""


def test_a_check_over_zero_tasks_is_not_exercised() -> None:
    run = SyntheticRun()
    run.finish(1.0)
    (verdict,) = run_checks(build_history(run.events), [{"check": "no_lost"}])
    assert (verdict.ok, verdict.status) == (False, "not exercised")
    assert verdict.unexercised == ["it looked at zero tasks"]
    assert verdict.message.startswith("not exercised: it looked at zero tasks; was: ")


def test_zero_tasks_of_the_named_task_is_not_exercised() -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    run.execute(1.1, "t1")
    run.finish(2.0)
    history = build_history(run.events)
    named, everything = run_checks(history, [{"check": "retries_as_declared", "task": "other"},
                                             {"check": "no_lost"}])  # fmt: skip
    assert named.status == "FAILED"  # the check itself fails there: kept as it is
    assert everything.status == "held" and everything.unexercised == []


def test_an_allowed_unexercised_verdict_holds_and_keeps_its_reasons() -> None:
    run = SyntheticRun()
    run.finish(1.0)
    (verdict,) = run_checks(build_history(run.events),
                            [{"check": "no_lost", "allow_unexercised": True}])  # fmt: skip
    assert verdict.ok and verdict.status == "held"
    assert verdict.unexercised == ["it looked at zero tasks"]
    assert verdict.params == {"allow_unexercised": True}
    assert verdict.to_dict()["unexercised"] == ["it looked at zero tasks"]


def test_allow_unexercised_is_validated() -> None:
    assert load_scenario_text(SCENARIO.replace("VALUE", "true"), "s.yaml").scenario
    with pytest.raises(ConfigError, match="allow_unexercised is true or false"):
        load_scenario_text(SCENARIO.replace("VALUE", "maybe"), "s.yaml")
    with pytest.raises(ConfigError, match="allow_unexercised is true or false"):
        run_checks(build_history(SyntheticRun().events),
                   [{"check": "no_lost", "allow_unexercised": "yes"}])  # fmt: skip


def test_a_fault_that_found_nothing_to_act_on_makes_held_verdicts_not_exercised() -> None:
    run = SyntheticRun()
    run.publish(1.0, "t1", "order=1")
    run.fault("reset", "broker.disconnect_clients", 2.0, 2.0, clients="workers", disconnected=0)
    run.execute(3.0, "t1")
    run.finish(4.0)
    (verdict,) = run_checks(build_history(run.events), [{"check": "no_lost"}])
    assert verdict.status == "not exercised"
    assert verdict.unexercised == [
        "fault reset (broker.disconnect_clients, clients: workers) found no client connection "
        "to close"
    ]

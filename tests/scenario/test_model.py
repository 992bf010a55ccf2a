"""Parsing scenario files: durations, times, defaults, and located problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import ConfigError
from chaos.scenario import load_scenario_text, parse_duration
from chaos.scenario.model import BrokerFault, FailpointFault, ProxyToxic, RandomRange

VALID = """\
name: parsed
seed: 11
workload:
  - path: task
    task: shop.tasks.send_invoice_email
    args: [1]
    count: 4
    rate: 2/s
faults:
  - id: outage
    type: broker.kill
    at: 2s
    for: 1500ms
  - type: proxy.toxic
    toxic: latency
    attributes: {latency: 200}
    after: outage.healed + 1s
    until: queue_empty
  - type: failpoint
    name: shop.carrier
    raise: builtins.ConnectionError
    hits: {from: 1, to: 2}
    at: {between: [0s, 1s]}
expect:
  - check: no_lost
  - check: retries_as_declared
    tolerance: 0.5
"""


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2s", 2.0), ("500ms", 0.5), ("1.5m", 90.0), ("0s", 0.0), (" 3 s ", 3.0), ("1h", 3600.0)],
)
def test_durations_read_with_their_unit(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [2, 2.5, "2", "-1s", "two seconds", "5 parsecs", True, None])
def test_durations_without_a_unit_or_negative_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_a_valid_scenario_reads_into_typed_parts() -> None:
    scenario = load_scenario_text(VALID).scenario
    outage, toxic, armed = scenario.faults
    assert isinstance(outage, BrokerFault) and outage.at == 2.0 and outage.for_ == 1.5
    assert isinstance(toxic, ProxyToxic) and toxic.after_event == ("outage.healed", 1.0)
    assert toxic.until == "queue_empty"
    assert isinstance(armed, FailpointFault) and isinstance(armed.at, RandomRange)
    assert armed.hits is not None and (armed.hits.from_, armed.hits.to) == (1, 2)
    assert scenario.workload[0].rate == 2.0 and scenario.expected_tasks == 4
    assert scenario.fault_ids() == ["outage", "proxy.toxic-2", "failpoint-3"]
    assert scenario.expect[1].params == {"tolerance": 0.5}


def test_defaults_are_the_reference_app_with_one_solo_worker() -> None:
    scenario = load_scenario_text(
        "name: d\nworkload: [{count: 1}]\nexpect: [{check: no_lost}]\n"
    ).scenario
    assert scenario.app.name == "myproject" and scenario.app.settings == "myproject.settings"
    assert (scenario.topology.workers, scenario.topology.pool) == (1, "solo")
    assert scenario.faults == [] and scenario.seed is None


def test_every_problem_of_a_file_is_reported_at_once_in_reading_order() -> None:
    text = VALID.replace("count: 4", "count: lots").replace("for: 1500ms", "for: 1500")
    text = text.replace("type: proxy.toxic", "type: proxy.toxik")
    with pytest.raises(ConfigError) as caught:
        load_scenario_text(text, Path("broken.yaml"))
    problems = caught.value.problems
    assert [p.field_path for p in problems] == [
        "workload[0].count",
        "faults[0].for",
        "faults[1].type",
    ]
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert all(p.file == Path("broken.yaml") and p.column for p in problems)
    assert problems[2].hint == "did you mean 'proxy.toxic'?"


def test_a_problem_says_what_was_given_and_what_was_expected() -> None:
    text = VALID.replace("path: task", "path: teleport")
    with pytest.raises(ConfigError) as caught:
        load_scenario_text(text, Path("s.yaml"))
    (problem,) = caught.value.problems
    assert problem.location() == "s.yaml:4:11"
    assert problem.given == "'teleport'" and "naive" in (problem.expected or "")


def test_whole_file_rules_still_run_when_some_fields_are_invalid() -> None:
    text = VALID.replace("count: 4", "count: lots").replace(
        "shop.tasks.send_invoice_email", "shop.tasks.send_invoce_email"
    )
    text = text.replace("toxic: latency", "toxic: latncy").replace("for: 1500ms", "for: 1500")
    with pytest.raises(ConfigError) as caught:
        load_scenario_text(text, Path("mixed.yaml"))
    found = {(p.field_path, p.message.split(":")[0]) for p in caught.value.problems}
    assert (
        "workload[0].count",
        "input should be a valid integer, unable to parse string as an integer",
    ) in found
    assert ("faults[0].for", "unitless duration 1500") in found
    # the toxic entry validated on its own: its whole-file rule is reported at its own place
    assert ("faults[1].toxic", "unknown toxic type") in found


CHAINED = """\
name: chained
workload: [{count: 1}]
faults:
  - {id: outage, type: broker.kill, at: 1s, for: 3s}
  - {id: then, type: broker.pause, after: outage.AFTER, for: 1s}
  - {id: restart, type: broker.restart, at: RESTART}
expect: [{check: no_lost}]
"""


@pytest.mark.parametrize(
    ("after", "restart", "contradicted"),
    [
        ("applied + 1s", "20s", ["faults[1]"]),  # pause inside the kill's window
        ("healed", "20s", []),  # pause right after the heal: a sequence, not a contradiction
        ("healed + 1s", "4500ms", []),  # between the kill (1 to 4 s) and the pause (5 to 6 s)
        ("healed + 1s", "5500ms", ["faults[2]"]),  # inside the chained pause
        ("healed", "4s", []),  # an instant at the very heal time of the kill, before the pause
    ],
)
def test_contradictions_are_found_along_after_chains(
    after: str, restart: str, contradicted: list[str]
) -> None:
    text = CHAINED.replace("AFTER", after).replace("RESTART", restart)
    try:
        load_scenario_text(text, Path("chained.yaml"))
        found: list[str | None] = []
    except ConfigError as exc:
        found = [p.field_path for p in exc.problems if "contradictory" in p.message]
    assert found == contradicted

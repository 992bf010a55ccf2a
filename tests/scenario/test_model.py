"""Parsing scenario files: durations, times, defaults, and located problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.stack.base import REFERENCE_APP_DIR

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
    assert scenario.app.name == "myproject" and scenario.app.settings is None
    # settings absent: read from the reference app's manage.py
    assert scenario.app.settings_for(REFERENCE_APP_DIR) == "myproject.settings"
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


TIMED = """\
name: timed
workload: [{count: 1, at: STREAM}]
faults:
  - {id: first, type: broker.kill, at: START, for: 2s}
  - {id: second, type: proxy.down, after: first_task_started + OFFSET, for: 1s}
timeout: 10s
expect: [{check: no_lost}]
"""


def _problems(text: str) -> list[tuple[str | None, str]]:
    try:
        load_scenario_text(text, Path("t.yaml"))
    except ConfigError as exc:
        return [(p.field_path, p.message) for p in exc.problems]
    return []


@pytest.mark.parametrize(
    ("start", "offset", "stream", "refused"),
    [
        ("9999ms", "9s", "9s", []),  # everything starts just before the timeout
        ("10s", "9s", "0s", ["faults[0].at"]),  # at the very timeout: never runs
        ("{between: [1s, 10s]}", "9s", "0s", ["faults[0].at"]),  # the range's upper end counts
        ("{between: [1s, 9s]}", "9s", "0s", []),
        ("1s", "10s", "0s", ["faults[1].after"]),  # an event's offset alone reaches the timeout
        ("1s", "1s", "{between: [0s, 12s]}", ["workload[0].at"]),
    ],
)
def test_a_start_at_or_after_the_timeout_is_refused(
    start: str, offset: str, stream: str, refused: list[str]
) -> None:
    text = TIMED.replace("START", start).replace("OFFSET", offset).replace("STREAM", stream)
    found = [path for path, message in _problems(text) if "timeout" in message]
    assert found == refused


def test_an_after_chain_is_judged_along_its_links() -> None:
    text = TIMED.replace("START", "4s").replace("OFFSET", "1s").replace("STREAM", "0s")
    chained = text.replace("first_task_started + 1s", "first.healed + 3s")  # 4 + 2 + 3 = 9 s
    assert _problems(chained) == []
    late = text.replace("first_task_started + 1s", "first.healed + 4s")  # 4 + 2 + 4 = 10 s
    assert [path for path, _ in _problems(late)] == ["faults[1].after"]


CYCLE = """\
name: cycle
workload: [{count: 1}]
faults:
  - {id: a, type: broker.kill, after: A_AFTER, for: 1s}
  - {id: b, type: proxy.down, after: a.healed, for: 1s}
  - {id: c, type: worker.kill, after: b.applied}
expect: [{check: no_lost}]
"""


def test_after_references_in_a_circle_are_refused_naming_the_circle() -> None:
    found = _problems(CYCLE.replace("A_AFTER", "c.applied"))
    assert found == [
        (
            "faults[0].after",
            "after: references form a cycle, so none of these faults ever starts: "
            "a.after -> c.after -> b.after -> a",
        )
    ]
    assert _problems(CYCLE.replace("A_AFTER", "first_task_started")) == []  # a chain, no circle


@pytest.mark.parametrize("field", ["timeout: 0s", "drain: 0ms"])
def test_zero_deadlines_are_refused_but_a_zero_start_is_not(field: str) -> None:
    text = TIMED.replace("START", "0s").replace("OFFSET", "0s").replace("STREAM", "0s")
    assert _problems(text) == []
    (problem,) = _problems(text.replace("timeout: 10s", field))
    assert problem[0] == field.split(":")[0] and "above zero" in problem[1]


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_nan_and_infinity_are_refused_in_any_numeric_field(value: str) -> None:
    text = VALID.replace("tolerance: 0.5", f"tolerance: {value}")
    assert [p for p, message in _problems(text) if "finite" in message] == [
        "expect[1].tolerance"
    ]
    nested = VALID.replace("args: [1]", f"args: [1, {{weight: {value}}}]")
    assert [p for p, message in _problems(nested) if "finite" in message] == [
        "workload[0].args[1].weight"
    ]


@pytest.mark.parametrize(
    ("raise_", "refusal"),
    [
        ("builtins.ConnectionError", None),
        ("redis.exceptions.ConnectionError", None),
        ("shop.endpoints.EndpointError", None),  # the app's own class, read without importing
        ("os.system", "os.system is a function, not an exception class"),
        ("os.path", "os.path is a module, not an exception class"),
        ("builtins.print", "builtins.print is a function, not an exception class"),
        ("builtins.int", "builtins.int is a class but not an exception"),
        ("os.sep", "os.sep is a str value, not an exception class"),
        ("shop.endpoints.NoSuchError", "shop.endpoints defines no 'NoSuchError'"),
        ("shop.tasks.send_invoice_email", "is a function, not an exception class"),
        ("nosuchmodule.Error", "no module 'nosuchmodule'"),
        ("builtins.SystemExit", "it ends the pool process"),
        ("builtins.KeyboardInterrupt", "use the fault worker.kill_pool_process"),
        ("builtins.BaseException", "a BaseException but not an Exception"),
    ],
)
def test_a_failpoint_raise_must_name_an_exception_class(
    raise_: str, refusal: str | None
) -> None:
    text = VALID.replace("raise: builtins.ConnectionError", f"raise: {raise_}")
    found = [message for path, message in _problems(text) if path == "faults[2].raise"]
    if refusal is None:
        assert found == []
    else:
        (message,) = found
        assert refusal in message


def test_starts_are_not_judged_against_a_timeout_that_did_not_validate() -> None:
    text = TIMED.replace("START", "400s").replace("OFFSET", "1s").replace("STREAM", "0s")
    found = _problems(text.replace("timeout: 10s", "timeout: lots"))
    assert [path for path, _ in found] == ["timeout"]

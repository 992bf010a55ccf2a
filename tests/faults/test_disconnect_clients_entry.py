"""broker.disconnect_clients as a scenario writes it: instantaneous, clients from a closed list,
each mistake named with its field."""

from __future__ import annotations

import pytest

from chaos.errors import ConfigError
from chaos.faults import Effect, fault_types
from chaos.scenario import load_scenario_text, resolve_timeline

SCENARIO = """\
name: disconnect
workload: [{count: 1}]
faults:
  - {id: reset, type: broker.disconnect_clients, %s}
expect: [{check: no_lost}]
"""


def test_defaults_to_the_workers_and_heals_at_once() -> None:
    scenario = load_scenario_text(SCENARIO % "at: 1s").scenario
    resolved = resolve_timeline(scenario, seed=1).faults[0]
    assert resolved.target == "broker" and resolved.params == {"clients": "workers"}
    assert resolved.end.kind == "instant"
    assert fault_types()["broker.disconnect_clients"].effects({}) == {Effect.UNREACHABLE}


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("at: 1s, for: 2s", "faults[0]: broker.disconnect_clients is instantaneous"),
        ("at: 1s, clients: redis", "faults[0].clients"),
    ],
)
def test_a_wrong_entry_is_refused_naming_its_field(entry: str, said: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_scenario_text(SCENARIO % entry)
    assert said in str(refused.value)

"""The fault registry is complete: every type declares all it must, and every part of the suite
that needs to know a fault type finds it there."""

from __future__ import annotations

import inspect
import typing
from typing import Any, ClassVar

import pytest

from chaos.faults import Effect, FaultContext, FaultType, RegistryError, fault_types, past_tense
from chaos.faults.entry import TimedFault
from chaos.faults.registry import register
from chaos.scenario import FAULT_TYPES, load_scenario_text, resolve_timeline
from chaos.scenario.semantics import _resource

#: One valid entry per fault type (besides at:/for:), to load through a whole scenario.
EXAMPLES: dict[str, dict[str, Any]] = {
    "broker.kill": {},
    "broker.stop": {},
    "broker.pause": {},
    "broker.restart": {},
    "broker.oom": {},
    "broker.disconnect_clients": {"clients": "workers"},
    "proxy.down": {},
    "proxy.toxic": {"toxic": "latency", "attributes": {"latency": 100}},
    "worker.kill": {"worker": "any"},
    "worker.terminate": {"worker": "worker-1", "grace": "2s"},
    "worker.restart": {"worker": "all"},
    "worker.scale": {"count": 2},
    "worker.kill_pool_process": {"worker": "worker-2", "task": "send_invoice_email"},
    "failpoint": {"name": "shop.send_invoice_email", "raise": "builtins.RuntimeError"},
}
INSTANT = {"broker.restart", "worker.restart", "broker.disconnect_clients",
           "worker.kill_pool_process"}


def test_every_registered_type_has_an_example_here() -> None:
    assert set(fault_types()) == set(EXAMPLES)
    assert tuple(fault_types()) == FAULT_TYPES


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_a_type_declares_every_part(name: str) -> None:
    registered = fault_types()[name]
    assert not inspect.isabstract(type(registered))
    assert issubclass(registered.model, TimedFault)
    allowed = typing.get_args(registered.model.model_fields["type"].annotation)
    assert name in allowed, f"{registered.model.__name__}.type does not admit {name}"
    assert registered.label and registered.past_tense
    assert past_tense(name) == registered.past_tense
    for method in ("resource", "resolve", "apply", "heal", "effects"):
        assert getattr(type(registered), method) is not getattr(FaultType, method)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_each_type_loads_and_resolves_through_a_scenario(name: str) -> None:
    entry = {"type": name, "at": "1s", **EXAMPLES[name]}
    if name not in INSTANT:
        entry["for"] = "2s"
    text = _scenario(entry)
    loaded = load_scenario_text(text)
    fault = loaded.scenario.faults[0]
    assert type(fault) is fault_types()[name].model
    resolved = resolve_timeline(loaded.scenario, seed=7).faults[0]
    assert resolved.type == name
    assert resolved.target
    assert (resolved.end.kind == "instant") == (name in INSTANT)
    assert _resource(fault) == fault_types()[name].resource(fault)


def test_a_type_without_heal_is_refused_when_registered() -> None:
    class Incomplete(FaultType):
        name = "broker.nothing"
        model = TimedFault
        past_tense = "nothing"
        label = "nothing"

        def resource(self, fault: Any) -> str | None:
            return None

        def resolve(self, fault: Any, resolution: Any) -> tuple[str, dict[str, Any]]:
            return "broker", {}

        def apply(self, context: FaultContext, fault: Any) -> None:
            pass

        def effects(self, params: Any) -> frozenset[Effect]:
            return frozenset()

    with pytest.raises(RegistryError, match="heal"):
        register(Incomplete)
    assert "broker.nothing" not in fault_types()


def test_a_name_registered_twice_is_refused() -> None:
    existing = type(fault_types()["broker.kill"])

    class Again(existing):  # type: ignore[misc, valid-type]
        name: ClassVar[str] = "broker.kill"

    with pytest.raises(RegistryError, match="twice"):
        register(Again)


def test_past_tense_reads_older_journals_bare_verbs() -> None:
    assert past_tense("kill") == "killed"
    assert past_tense("toxic") == "toxic"
    assert past_tense("broker.oom") == "out of memory"
    assert past_tense("nosuch") == "nosuch"


def _scenario(entry: dict[str, Any]) -> str:
    import yaml

    document = {
        "name": "one-fault",
        "topology": {"workers": 2},
        "workload": [{"count": 1}],
        "faults": [entry],
        "expect": [{"check": "no_lost"}],
    }
    return yaml.safe_dump(document, sort_keys=False)


def test_a_type_sharing_a_tag_but_not_the_model_is_refused() -> None:
    existing = type(fault_types()["broker.kill"])

    class OtherModel(TimedFault):
        pass

    class Mismatched(existing):  # type: ignore[misc, valid-type]
        name: ClassVar[str] = "broker.mismatched"
        model: ClassVar[type[TimedFault]] = OtherModel

    with pytest.raises(RegistryError, match="share a model"):
        register(Mismatched)
    assert "broker.mismatched" not in fault_types()

"""What a recorded fault window means for the checks, read from the registry: the same answers
as before the registry, for today's journals and for older ones that name only the verb."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.checks.faults import (
    is_broker_outage,
    is_broker_unreachable,
    is_worker_fault,
    loses_broker_memory,
)
from chaos.history import FaultWindow, RunHistory, RunMeta

# type, target, params -> unreachable, outage, worker fault, loses memory (persistence unknown)
TABLE: list[tuple[str, str, dict[str, Any], tuple[bool, bool, bool, bool]]] = [
    ("broker.kill", "broker", {}, (True, True, False, True)),
    ("broker.stop", "broker", {}, (True, True, False, True)),
    ("broker.restart", "broker", {}, (True, True, False, True)),
    ("broker.pause", "broker", {}, (True, True, False, False)),
    ("broker.oom", "broker", {}, (False, True, False, False)),
    ("proxy.down", "proxy", {}, (True, True, False, False)),
    ("proxy.toxic", "proxy", {"toxic": "timeout"}, (True, True, False, False)),
    ("proxy.toxic", "proxy", {"toxic": "timeout", "toxicity": 0.5}, (False, False, False, False)),
    ("proxy.toxic", "proxy", {"toxic": "reset_peer", "toxicity": 0.5}, (False, True, False, False)),
    ("proxy.toxic", "proxy", {"toxic": "redis_error"}, (False, True, False, False)),
    ("proxy.toxic", "proxy", {"toxic": "limit_data"}, (False, True, False, False)),
    ("proxy.toxic", "proxy", {"toxic": "latency"}, (False, False, False, False)),
    ("proxy.toxic", "proxy", {"toxic": "bandwidth"}, (False, False, False, False)),
    ("worker.kill", "worker-1", {}, (False, False, True, False)),
    ("worker.kill", "all", {}, (False, False, True, False)),
    ("worker.terminate", "worker-2", {}, (False, False, True, False)),
    ("worker.scale", "workers", {"count": 0}, (False, False, True, False)),
    ("failpoint", "shop.send_invoice_email", {}, (False, False, False, False)),
    # older journals: the verb alone, the family in the target
    ("kill", "redis", {}, (True, True, False, True)),
    ("pause", "broker", {}, (True, True, False, False)),
    ("toxic", "proxy", {"toxic": "timeout"}, (True, True, False, False)),
    ("kill", "worker-1", {}, (False, False, True, False)),
]


@pytest.mark.parametrize(("kind", "target", "params", "expected"), TABLE)
def test_window_effects(kind: str, target: str, params: dict[str, Any],
                        expected: tuple[bool, bool, bool, bool]) -> None:  # fmt: skip
    window = FaultWindow("f", kind, target, 1.0, 2.0, params)
    observed = (
        is_broker_unreachable(window),
        is_broker_outage(window),
        is_worker_fault(window),
        loses_broker_memory(window, _history_without_persistence()),
    )
    assert observed == expected


def test_persistence_keeps_the_memory() -> None:
    window = FaultWindow("f", "broker.kill", "broker", 1.0, 2.0, {"persistence": "always"})
    assert not loses_broker_memory(window, _history_without_persistence())


def _history_without_persistence() -> RunHistory:
    """A run whose journal does not say the broker's persistence (the checks assume none)."""
    return RunHistory(meta=RunMeta(), tasks={}, fault_windows=[], producer_events=[],
                      worker_events=[], failpoint_firings=[], clock_skews={}, end_at=0.0,
                      event_count=0)  # fmt: skip

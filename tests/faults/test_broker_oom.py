"""broker.oom on a real redis-server: writes answer -OOM while it holds, and work again (with the
old memory settings back) once healed. The scenario entry validates like any other fault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis

from chaos.errors import ConfigError
from chaos.faults import Effect, FaultContext, fault_types
from chaos.scenario import load_scenario_text, resolve_timeline
from chaos.stack.local.broker import LocalBroker

OOM = fault_types()["broker.oom"]

SCENARIO = """\
name: oom
workload: [{count: 1}]
faults:
  - {id: oom, type: broker.oom, at: 1s, for: 3s}
expect: [{check: no_lost}]
"""


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    broker = LocalBroker(run_dir=tmp_path, run_id="oom-test")
    broker.start()
    yield broker
    broker.kill()


def _client(broker: LocalBroker) -> redis.Redis:
    return redis.Redis(host=broker.host, port=broker.port, socket_timeout=2, retry=None)


def _resolved_oom() -> object:
    scenario = load_scenario_text(SCENARIO).scenario
    return resolve_timeline(scenario, seed=1).faults[0]


def test_oom_refuses_writes_keeps_reads_and_heal_restores_the_old_limits(
    broker: LocalBroker,
) -> None:
    client = _client(broker)
    client.config_set("maxmemory", "64mb")
    client.config_set("maxmemory-policy", "volatile-lru")
    client.lpush("celery", "queued before")
    context = FaultContext(stack=SimpleNamespace(broker=broker), run_dir=broker.data_dir)  # type: ignore[arg-type]
    fault = _resolved_oom()

    OOM.apply(context, fault)  # type: ignore[arg-type]

    with pytest.raises(redis.exceptions.OutOfMemoryError, match="maxmemory"):
        client.lpush("celery", "published during the fault")
    with pytest.raises(redis.exceptions.ResponseError, match="maxmemory"):
        client.pipeline(transaction=True).zrem("unacked_index", "tag").execute()
    assert client.llen("celery") == 1
    assert client.rpop("celery") == b"queued before"  # consuming frees memory: allowed

    OOM.heal(context, fault)  # type: ignore[arg-type]

    assert client.lpush("celery", "published after the heal") == 1
    assert client.config_get("maxmemory") == {"maxmemory": str(64 * 1024 * 1024)}
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "volatile-lru"}


def test_oom_talks_to_redis_itself_not_through_a_proxy(broker: LocalBroker) -> None:
    previous = broker.reconfigure({"maxmemory-policy": "noeviction", "maxmemory": "1"})
    try:
        assert previous == {"maxmemory-policy": "noeviction", "maxmemory": "0"}
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            _client(broker).set("k", "v")
    finally:
        broker.reconfigure(dict(reversed(previous.items())))
    assert _client(broker).set("k", "v")


def test_oom_entry_resolves_to_the_broker_and_refuses_publishes() -> None:
    fault = _resolved_oom()
    assert (fault.target, fault.params, fault.end.kind) == ("broker", {}, "after")  # type: ignore[attr-defined]
    assert OOM.effects({}) == frozenset({Effect.REFUSING})


def test_oom_entry_with_an_unknown_key_is_refused_where_it_is_written() -> None:
    text = SCENARIO.replace("for: 3s}", "for: 3s, size: 1mb}")
    with pytest.raises(ConfigError) as refused:
        load_scenario_text(text)
    assert "<scenario>:4:50: faults[0].size: unknown key 'size'" in str(refused.value)


def test_oom_contradicts_another_broker_fault_at_the_same_time() -> None:
    text = SCENARIO.replace(
        "expect:", "  - {id: kill, type: broker.kill, at: 2s, for: 1s}\nexpect:"
    )
    with pytest.raises(ConfigError, match=r"'kill' \(broker.kill\) overlaps 'oom' \(broker.oom\)"):
        load_scenario_text(text)

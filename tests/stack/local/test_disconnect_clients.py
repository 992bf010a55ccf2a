"""broker.disconnect_clients on the local stack: Redis (not the proxy) closes the workers'
connections while it stays up; the worker journals the loss and the reconnect and runs the next
task. A disconnect that finds no client says so (``disconnected: 0``)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import redis

from chaos.client_names import PRODUCER_CLIENT_NAME, WORKER_CLIENT_PREFIX
from chaos.faults import FaultContext, fault_types
from chaos.faults.registry import applied_details_key
from chaos.producer import Producer
from chaos.scenario import load_scenario_text, resolve_timeline
from chaos.stack import open_stack
from chaos.stack.base import StackConfig

DISCONNECT = fault_types()["broker.disconnect_clients"]


def _resolved(clients: str) -> object:
    text = f"""\
name: disconnect
workload: [{{count: 1}}]
faults:
  - {{id: reset, type: broker.disconnect_clients, clients: {clients}, at: 1s}}
expect: [{{check: no_lost}}]
"""
    return resolve_timeline(load_scenario_text(text).scenario, seed=1).faults[0]


def _names(stack) -> list[str]:
    client = redis.Redis.from_url(stack.broker.direct_url, socket_timeout=2, retry=None)
    try:
        return [str(found.get("name") or "") for found in client.client_list(_type="normal")]
    finally:
        client.close()


def _kinds(events, kind: str, task_id: str | None = None):
    return [e for e in events if e.kind == kind and (task_id is None or e.task_id == task_id)]


def test_the_workers_connections_are_reset_and_the_worker_reconnects(
    plain_config: StackConfig, plain_app: ModuleType, wait_journal, tmp_path: Path
) -> None:
    with open_stack(plain_config) as stack, Producer.for_stack(plain_app.app, stack) as producer:
        until = wait_journal(stack.journal_path)
        assert producer.send("plainapp.add", [1, 2]).accepted  # the producer is connected
        worker_name = WORKER_CLIENT_PREFIX + stack.workers[0].hostname
        assert worker_name in _names(stack) and PRODUCER_CLIENT_NAME in _names(stack)
        context = FaultContext(stack=stack, run_dir=tmp_path)

        DISCONNECT.apply(context, _resolved("workers"))  # type: ignore[arg-type]

        details = context.shared[applied_details_key("reset")]
        assert details["disconnected"] >= 1
        assert details["client_names"] == [worker_name]
        assert PRODUCER_CLIENT_NAME in _names(stack)  # the workload's connection is left alone
        until(lambda evs: _kinds(evs, "worker.connection_lost"), 15)
        after = producer.send("plainapp.add", [4, 4])
        assert after.accepted
        # Celery reconnects at once or after 2 s, then 4 s more: 15 s covers both with margin.
        events = until(lambda evs: _kinds(evs, "task.succeeded", after.task_id), 15)
        assert _kinds(events, "worker.connection_restored")


def test_a_disconnect_that_finds_no_client_says_so(
    plain_config: StackConfig, tmp_path: Path
) -> None:
    with open_stack(plain_config) as stack:
        context = FaultContext(stack=stack, run_dir=tmp_path)
        DISCONNECT.apply(context, _resolved("producer"))  # type: ignore[arg-type]
        assert context.shared[applied_details_key("reset")] == {
            "disconnected": 0, "client_names": []
        }

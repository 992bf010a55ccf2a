"""The local stack with real Redis, the real proxy and real ``celery worker`` processes."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from types import ModuleType

import pytest

from chaos.errors import StackError
from chaos.producer import Producer
from chaos.stack import LocalStack, open_stack
from chaos.stack.base import StackConfig
from chaos.stack.local.reaping import processes_with_run_id, registered_runs


def _kinds(events, kind: str, task_id: str | None = None):
    return [e for e in events if e.kind == kind and (task_id is None or e.task_id == task_id)]


def _run_processes(run_id: str) -> list[int]:
    return [process.pid for process in processes_with_run_id(run_id)]


@pytest.mark.parametrize("worker_start", ["spawn", "forkserver"])
def test_a_task_runs_through_the_proxy_and_the_probe_journals_it(
    plain_config: StackConfig, plain_app: ModuleType, wait_journal, worker_start: str
) -> None:
    config = dataclasses.replace(plain_config, worker_start=worker_start)
    with open_stack(config) as stack:
        assert isinstance(stack, LocalStack)
        assert stack.producer_broker_url.endswith(f":{stack.proxy.listen_port}/0")
        assert str(stack.broker.port) not in stack.worker_broker_url
        with Producer.for_stack(plain_app.app, stack) as producer:
            outcome = producer.send("plainapp.add", [2, 3], key="sum=5")
        assert outcome.accepted
        events = wait_journal(stack.journal_path)(
            lambda evs: _kinds(evs, "task.succeeded", outcome.task_id), 20
        )
        ready = _kinds(events, "worker.ready")
        assert [e.data["hostname"] for e in ready] == [stack.workers[0].hostname]
        assert ready[0].data["pool"] == "solo"
        tried = _kinds(events, "enqueue.tried", outcome.task_id)[0]
        started = _kinds(events, "task.started", outcome.task_id)[0]
        assert tried.data["args_digest"] == started.data["args_digest"]
        assert _kinds(events, "enqueue.accepted", outcome.task_id)[0].data["key"] == "sum=5"
        stack.wait_queues_empty(timeout=10)
        assert stack.queue_lengths() == {"celery": 0, "unacked": 0}
        run_id = stack.run_id
    assert _run_processes(run_id) == []
    assert registered_runs() == []


def test_broker_killed_then_restarted_the_worker_reconnects(
    plain_config: StackConfig, plain_app: ModuleType, wait_journal
) -> None:
    with open_stack(plain_config) as stack, Producer.for_stack(plain_app.app, stack) as producer:
        until = wait_journal(stack.journal_path)
        stack.broker.kill()
        until(lambda evs: _kinds(evs, "worker.connection_lost"), 15)
        refused = producer.send("plainapp.add", [1, 1])
        assert not refused.accepted and not refused.uncertain
        stack.broker.start()
        after = producer.send("plainapp.add", [4, 4])
        assert after.accepted
        # Celery retries the connection after 2 s, then 4 s more: 15 s covers both with margin.
        events = until(lambda evs: _kinds(evs, "task.succeeded", after.task_id), 15)
        assert _kinds(events, "worker.connection_restored")
        assert not _kinds(events, "task.started", refused.task_id)


def test_broker_paused_then_resumed_tasks_flow_again(
    plain_config: StackConfig, plain_app: ModuleType, wait_journal
) -> None:
    with open_stack(plain_config) as stack:
        until = wait_journal(stack.journal_path)
        with Producer.for_stack(plain_app.app, stack, timeout=0.5) as producer:
            assert producer.send("plainapp.add", [0, 0]).accepted  # a warm connection
            stack.broker.pause()
            # The hung publish is the pause's duration: bounded by the producer's timeout.
            hung = producer.send("plainapp.add", [1, 2])
            stack.broker.resume()
            after = producer.send("plainapp.add", [3, 4])
        # The LPUSH went out on the warm connection and no answer came: maybe enqueued.
        assert not hung.accepted and hung.uncertain
        # Bound: (retries + 2) socket timeouts, with slack for a loaded machine.
        assert hung.seconds < 3 * 0.5 + 2.0
        assert after.accepted
        until(lambda evs: _kinds(evs, "task.succeeded", after.task_id), 15)


def test_worker_killed_mid_task_with_acks_late_is_redelivered(
    plain_config: StackConfig, plain_app: ModuleType, wait_journal, tmp_path: Path
) -> None:
    # A short visibility timeout and a restore scan every second: redelivery within seconds
    # instead of kombu's default 1 h + 100 s (reference/celery-redis-failure-facts.md, 6).
    config = dataclasses.replace(
        plain_config,
        celery_settings={"broker_transport_options": {
            "visibility_timeout": 1, "unacked_restore_interval": 1, "unacked_restore_throttle": 1,
        }},
    )  # fmt: skip
    release = tmp_path / "release"
    with open_stack(config) as stack, Producer.for_stack(plain_app.app, stack) as producer:
        until = wait_journal(stack.journal_path)
        sent = producer.send("plainapp.hold", [str(release)])
        until(lambda evs: _kinds(evs, "task.started", sent.task_id), 15)
        worker = stack.workers[0]
        worker.kill()
        assert not worker.is_alive()
        release.touch()
        worker.start()
        events = until(lambda evs: _kinds(evs, "task.succeeded", sent.task_id), 30)
        attempts = _kinds(events, "task.started", sent.task_id)
        assert len(attempts) == 2
        assert attempts[0].pid != attempts[1].pid
        assert attempts[1].data["redelivered"] is True
        assert attempts[0].data["policy"]["acks_late"] is True


def test_probe_records_every_attempt_of_a_retried_task(
    plain_config: StackConfig, plain_app: ModuleType, wait_journal
) -> None:
    with open_stack(plain_config) as stack, Producer.for_stack(plain_app.app, stack) as producer:
        sent = producer.send("plainapp.risky", [7], key="order=7")
        events = wait_journal(stack.journal_path)(
            lambda evs: _kinds(evs, "task.failed", sent.task_id), 20
        )
    started = _kinds(events, "task.started", sent.task_id)
    assert [e.data["attempt"] for e in started] == [0, 1, 2, 3]
    policy = started[0].data["policy"]
    assert (policy["bind"], policy["max_retries"]) == (True, 3)
    retried = _kinds(events, "task.retried", sent.task_id)
    assert [e.data["attempt"] for e in retried] == [0, 1, 2]
    assert {e.data["countdown"] for e in retried} == {0.2}
    assert {e.data["exc_type"] for e in retried} == {"plainapp.CarrierDown"}
    failed = _kinds(events, "task.failed", sent.task_id)
    assert [(e.data["attempt"], e.data["exc_type"]) for e in failed] == [(3, "plainapp.CarrierDown")]
    # Each retry ran no earlier than its countdown after the previous attempt (clock tolerance
    # 10 ms: wall clocks of one machine, rounding in the ETA's ISO form).
    for previous, retry in itertools.pairwise(started):
        assert retry.wall - previous.wall >= 0.2 - 0.01


def test_terminate_escalates_to_sigkill_after_the_grace_and_journals_it(
    plain_config: StackConfig, plain_app: ModuleType, wait_journal, tmp_path: Path
) -> None:
    with open_stack(plain_config) as stack, Producer.for_stack(plain_app.app, stack) as producer:
        until = wait_journal(stack.journal_path)
        sent = producer.send("plainapp.hold", [str(tmp_path / "never")])
        until(lambda evs: _kinds(evs, "task.started", sent.task_id), 15)
        worker = stack.workers[0]
        # A warm shutdown waits for the running task (20 s): the grace runs out first.
        assert worker.terminate(grace=0.5) is False
        assert not worker.is_alive()
        events = until(lambda evs: _kinds(evs, "worker.escalated"), 5)
        assert _kinds(events, "worker.escalated")[0].data["hostname"] == worker.hostname


def test_scale_starts_and_stops_workers(plain_config: StackConfig) -> None:
    with open_stack(plain_config) as stack:
        stack.scale(2)
        assert [w.name for w in stack.workers] == ["worker-1", "worker-2"]
        assert all(w.is_alive() for w in stack.workers)
        gone = stack.workers[1]
        stack.scale(1)
        assert len(stack.workers) == 1 and not gone.is_alive()


@pytest.mark.parametrize(
    ("app", "said"),
    [("nosuchapp", "No module named 'nosuchapp'"), ("brokenapp", "brokenapp refuses to import")],
)
def test_an_app_that_does_not_import_is_named_with_its_log_and_nothing_is_left(
    plain_config: StackConfig, app: str, said: str
) -> None:
    stack = open_stack(dataclasses.replace(plain_config, app=app))
    with pytest.raises(StackError) as caught:
        with stack:
            pass  # pragma: no cover - the start fails
    assert caught.value.component == "worker-1"
    assert "exited with code 2" in str(caught.value)
    assert said in caught.value.failure.log_tail
    assert _run_processes(stack.run_id) == []
    assert registered_runs() == []


def test_proxy_disabled_then_enabled_the_worker_reconnects(
    plain_config: StackConfig, plain_app: ModuleType, wait_journal
) -> None:
    with open_stack(plain_config) as stack, Producer.for_stack(plain_app.app, stack) as producer:
        until = wait_journal(stack.journal_path)
        stack.proxy.disable()  # Toxiproxy semantics: closes every connection, refuses new ones
        until(lambda evs: _kinds(evs, "worker.connection_lost"), 15)
        assert not producer.send("plainapp.add", [1, 1]).accepted
        stack.proxy.enable()
        after = producer.send("plainapp.add", [5, 5])
        assert after.accepted
        # The worker's reconnect schedule is 2 s, then 4 s more: 15 s covers it with margin.
        events = until(lambda evs: _kinds(evs, "task.succeeded", after.task_id), 15)
        assert _kinds(events, "worker.connection_restored")

"""worker.kill_pool_process on the local stack: the prefork child running the named task is
SIGKILLed, the main process lives, the task fails with WorkerLostError, and the next task runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import ModuleType

import psutil

from chaos.faults import FaultContext, fault_types
from chaos.faults.registry import applied_details_key
from chaos.producer import Producer
from chaos.scenario import load_scenario_text, resolve_timeline
from chaos.stack import open_stack
from chaos.stack.base import StackConfig

KILL = fault_types()["worker.kill_pool_process"]
SCENARIO = """\
name: pool
topology: {workers: 1, pool: prefork, concurrency: 2}
workload: [{count: 1}]
faults:
  - {id: lost, type: worker.kill_pool_process, worker: worker-1, task: %s, at: 1s}
expect: [{check: no_lost}]
"""


def _kinds(events, kind: str, task_id: str | None = None):
    return [e for e in events if e.kind == kind and (task_id is None or e.task_id == task_id)]


def test_the_child_running_the_task_is_killed_and_the_worker_lives_on(
    plain_config: StackConfig, plain_app: ModuleType, wait_journal, tmp_path: Path
) -> None:
    config = dataclasses.replace(plain_config, pool="prefork", concurrency=2)
    with open_stack(config) as stack, Producer.for_stack(plain_app.app, stack) as producer:
        until = wait_journal(stack.journal_path)
        held = producer.send("plainapp.hold", [str(tmp_path / "never-released")])
        started = until(lambda evs: _kinds(evs, "task.started", held.task_id), 20)
        child = _kinds(started, "task.started", held.task_id)[0].pid
        main = stack.workers[0].pid
        assert child != main
        context = FaultContext(stack=stack, run_dir=tmp_path)
        fault = resolve_timeline(load_scenario_text(SCENARIO % "hold").scenario, 1).faults[0]

        KILL.apply(context, fault)  # type: ignore[arg-type]

        assert context.shared[applied_details_key("lost")] == {"killed": 1, "pids": [child]}
        # The child never gets to task_postrun: the main process journals the failure.
        events = until(lambda evs: _kinds(evs, "task.failed", held.task_id), 20)
        assert "WorkerLostError" in str(_kinds(events, "task.failed", held.task_id)[0].data)
        assert not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie"
        assert stack.workers[0].is_alive() and stack.workers[0].pid == main
        after = producer.send("plainapp.add", [2, 2])
        until(lambda evs: _kinds(evs, "task.succeeded", after.task_id), 20)

        # Nothing runs "add" now: nothing to kill, said as killed 0.
        fault = resolve_timeline(load_scenario_text(SCENARIO % "add").scenario, 1).faults[0]
        KILL.apply(context, fault)  # type: ignore[arg-type]
        assert context.shared[applied_details_key("lost")] == {"killed": 0, "pids": []}

"""worker.kill_pool_process as a scenario writes it, and which pid it picks from a journal (pure)."""

from __future__ import annotations

import pytest

from chaos.errors import ConfigError
from chaos.faults.pool import choose_pool_pid
from chaos.journal import Event
from chaos.scenario import load_scenario_text, resolve_timeline

SCENARIO = """\
name: pool
topology: {workers: 2, pool: prefork, concurrency: 2}
workload: [{count: 1}]
faults:
  - {id: lost, type: worker.kill_pool_process, %s}
expect: [{check: no_lost}]
"""


def _event(kind: str, pid: int, task_id: str | None = None, task: str | None = None,
           worker: str = "worker-1", mono: float = 0.0) -> Event:  # fmt: skip
    return Event(kind=kind, wall=mono, mono=mono, writer=f"worker:{worker}", pid=pid, seq=0,
                 task_id=task_id, task=task)  # fmt: skip


JOURNAL = [
    _event("worker.ready", 100),
    _event("task.started", 101, "a", "shop.tasks.send_invoice_email", mono=1.0),
    _event("task.finished", 101, "a", "shop.tasks.send_invoice_email", mono=1.1),
    _event("task.started", 102, "b", "shop.tasks.risky_task", mono=2.0),
    _event("task.started", 201, "c", "shop.tasks.risky_task", worker="worker-2", mono=2.5),
]


def test_it_picks_the_process_running_the_named_task_on_that_worker() -> None:
    assert choose_pool_pid(JOURNAL, "worker-1", "risky_task") == 102
    assert choose_pool_pid(JOURNAL, "worker-1", "shop.tasks.risky_task") == 102
    assert choose_pool_pid(JOURNAL, "worker-2", None) == 201
    assert choose_pool_pid(JOURNAL, "worker-1", None) == 102  # running beats finished


def test_a_task_not_running_now_or_a_solo_worker_gives_nothing() -> None:
    assert choose_pool_pid(JOURNAL, "worker-1", "send_invoice_email") is None  # it finished
    solo = [_event("worker.ready", 100), _event("task.started", 100, "a", "x.t", mono=1.0)]
    assert choose_pool_pid(solo, "worker-1", None) is None  # the main process is never chosen
    idle = [*JOURNAL[:3]]
    assert choose_pool_pid(idle, "worker-1", None) == 101  # the last that ran one


def test_it_resolves_on_one_worker_and_heals_at_once() -> None:
    scenario = load_scenario_text(SCENARIO % "worker: worker-2, task: risky_task, at: 1s").scenario
    resolved = resolve_timeline(scenario, seed=1).faults[0]
    assert (resolved.target, resolved.params) == ("worker-2", {"task": "risky_task"})
    assert resolved.end.kind == "instant"


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("at: 1s, for: 2s", "faults[0]: worker.kill_pool_process is instantaneous"),
        ("at: 1s, worker: worker-9", "faults[0].worker: unknown fault target"),
        ("at: 1s, task: ''", "faults[0].task"),
    ],
)
def test_a_wrong_entry_is_refused_naming_its_field(entry: str, said: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_scenario_text(SCENARIO % entry)
    assert said in str(refused.value)

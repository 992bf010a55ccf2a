"""``worker.kill_pool_process``: SIGKILL one prefork pool process while the worker's main process
lives, the path of billiard's ``WorkerLostError`` (the task it ran fails, or with ``acks_late``
and ``reject_on_worker_lost`` is redelivered; the pool starts a new process).

Which process: the one running a task of ``task:`` if given, else one running any task, else the
last one that started a task on that worker. Pids come from the run's journal (the probe writes
``task.started`` from the process that runs the task), so both backends pick the same way; the
main process (the writer of ``worker.ready``) is never chosen, so a solo or threads pool, where
tasks run in the main process, has nothing to kill. A fault that found nothing journals
``killed: 0`` and the run is "not exercised".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from chaos.faults.entry import InstantFault
from chaos.faults.registry import (
    Effect,
    FaultContext,
    FaultType,
    Resolution,
    applied_details_key,
    register,
)

if TYPE_CHECKING:
    from chaos.journal import Event
    from chaos.scenario.timeline import ResolvedFault


class WorkerKillPoolProcess(InstantFault):
    """One pool process of a worker (by name, ``any`` drawn from the seed, or ``all``)."""

    instead: ClassVar[str] = (
        "the pool replaces the process at once; to keep a worker down, use worker.kill with for:"
    )
    type: Literal["worker.kill_pool_process"]
    worker: str = "any"
    task: str | None = Field(
        None, min_length=1, description="the pool process running this task (name or module.name)"
    )


def _named(event: Event, task: str | None) -> bool:
    name = event.task or ""
    return task is None or name == task or name.rsplit(".", 1)[-1] == task


def choose_pool_pid(events: list[Event], worker: str, task: str | None) -> int | None:
    """The pid to kill on ``worker`` (its name, as the journal's writer says it), or None."""
    writer = f"worker:{worker}"
    mine = [e for e in events if e.writer == writer]
    main = {e.pid for e in mine if e.kind == "worker.ready"}
    running: dict[tuple[str | None, int], Event] = {}
    last: Event | None = None
    for event in mine:
        if event.pid in main:
            continue
        key = (event.task_id, event.pid)
        if event.kind == "task.started":
            running[key] = event
            if _named(event, task):
                last = event
        elif event.kind == "task.finished":
            running.pop(key, None)
    candidates = [e for e in running.values() if _named(e, task)]
    if candidates:
        return min(candidates, key=lambda e: e.mono).pid
    return last.pid if last is not None and task is None else None


@register
class WorkerKillPoolProcessType(FaultType):
    name = "worker.kill_pool_process"
    model = WorkerKillPoolProcess
    past_tense = "lost a pool process"
    label = "SIGKILL one pool process (the one running task:, if given); the main process lives"

    def resource(self, fault: Any) -> str | None:
        return "workers" if fault.worker in ("any", "all") else f"worker:{fault.worker}"

    def resolve(self, fault: Any, resolution: Resolution) -> tuple[str, dict[str, Any]]:
        worker = fault.worker
        if worker == "any":
            worker = resolution.rng("worker").choice(resolution.worker_names)
        return worker, {"task": fault.task} if fault.task else {}

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        from chaos.errors import StackError
        from chaos.journal import read_journal

        events = list(read_journal(context.stack.journal_path))
        task = fault.params.get("task")
        killed: list[int] = []
        for worker in context.stack.workers:
            if fault.target not in ("all", worker.name):
                continue
            pid = choose_pool_pid(events, worker.name, task)
            if pid is None:
                continue
            try:
                worker.kill_pool_process(pid)
            except StackError:
                continue  # it exited between the journal line and the kill: nothing acted
            killed.append(pid)
        with context.lock:
            context.shared[applied_details_key(fault.fault_id)] = {
                "killed": len(killed), "pids": killed,
            }  # fmt: skip

    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        """Nothing to undo: the pool starts a new process by itself."""

    def effects(self, params: Mapping[str, Any]) -> frozenset[Effect]:
        return frozenset({Effect.WORKERS_DISRUPTED})

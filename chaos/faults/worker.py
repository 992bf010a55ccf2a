"""Faults on the Celery workers, through ``stack.workers`` and ``stack.scale``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from chaos.errors import StackError
from chaos.faults.entry import Duration, TimedFault
from chaos.faults.registry import Effect, FaultContext, FaultType, Resolution, register
from chaos.stack._ping import redis_ping

if TYPE_CHECKING:
    from chaos.scenario.timeline import ResolvedFault

#: Worker targets besides a worker's name: one drawn from the seed, or every worker.
WORKER_CHOICES = ("any", "all")


class WorkerFault(TimedFault):
    """One worker (by name, ``any`` drawn from the seed, or ``all``): kill or warm shutdown."""

    type: Literal["worker.kill", "worker.terminate", "worker.restart"]
    worker: str = "any"
    grace: Duration = Field(10.0, description="worker.terminate: SIGKILL after this")

    @model_validator(mode="after")
    def _restart_is_instant(self) -> WorkerFault:
        if self.type == "worker.restart" and (self.for_ is not None or self.until is not None):
            raise ValueError("worker.restart is instantaneous; use worker.kill with for:")
        return self

    @property
    def instantaneous(self) -> bool:
        return self.type == "worker.restart"


class WorkerScale(TimedFault):
    """Run ``count`` workers; healed by scaling back to the topology's count."""

    type: Literal["worker.scale"]
    count: int = Field(ge=0, le=8)


def _workers(context: FaultContext, target: str) -> list[Any]:
    workers = [w for w in context.stack.workers if target in ("all", w.name)]
    if not workers:
        raise StackError("workers", f"no worker named {target!r} is running")
    return workers


def _broker_answers(context: FaultContext) -> bool:
    """True when Redis answers PING through the proxy, where the workers dial it."""
    url = urlsplit(context.stack.producer_broker_url)
    return redis_ping(url.hostname or "127.0.0.1", url.port or 6379)


class _OneOrAll(FaultType):
    """A signal to one named worker, one drawn from the seed (``any``) or ``all``."""

    model = WorkerFault
    tag = "kind:worker"

    def resource(self, fault: Any) -> str | None:
        return "workers" if fault.worker in WORKER_CHOICES else f"worker:{fault.worker}"

    def resolve(self, fault: Any, resolution: Resolution) -> tuple[str, dict[str, Any]]:
        worker = fault.worker
        if worker == "any":
            worker = resolution.rng("worker").choice(resolution.worker_names)
        return worker, self.params(fault)

    def params(self, fault: Any) -> dict[str, Any]:
        return {}

    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        # With the broker unreachable (killed, hung, behind a downed proxy) the worker is started
        # and left to Celery's own connection retry at start-up, as a supervisor's restart is in
        # production: waiting for it to be ready would hold the fault timeline, the broker's own
        # heal included, until start_timeout.
        reachable = _broker_answers(context)
        for worker in _workers(context, fault.target):
            if not worker.is_alive():
                if reachable:
                    worker.start()
                else:
                    worker.spawn()

    def effects(self, params: Mapping[str, Any]) -> frozenset[Effect]:
        return frozenset({Effect.WORKERS_DISRUPTED})


@register
class WorkerKill(_OneOrAll):
    name = "worker.kill"
    past_tense = "killed"
    label = "SIGKILL a worker and its pool; started again when healed"

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        for worker in _workers(context, fault.target):
            worker.kill()


@register
class WorkerTerminate(_OneOrAll):
    name = "worker.terminate"
    past_tense = "terminated"
    label = "SIGTERM a worker (warm shutdown), SIGKILL after grace; started again when healed"

    def params(self, fault: Any) -> dict[str, Any]:
        return {"grace": fault.grace}

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        for worker in _workers(context, fault.target):
            worker.terminate(grace=float(fault.params.get("grace", 10.0)))


@register
class WorkerRestart(_OneOrAll):
    name = "worker.restart"
    past_tense = "restarted"
    label = "stop then start a worker at once (instantaneous)"

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        for worker in _workers(context, fault.target):
            worker.restart()

    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        """Nothing to undo: the restart is over when it is applied."""


@register
class WorkerScaleType(FaultType):
    name = "worker.scale"
    model = WorkerScale
    past_tense = "scaled"
    label = "run this many workers; back to the topology's count when healed"

    def resource(self, fault: Any) -> str | None:
        return "workers"

    def resolve(self, fault: Any, resolution: Resolution) -> tuple[str, dict[str, Any]]:
        return "workers", {"count": fault.count, "topology_count": len(resolution.worker_names)}

    def apply(self, context: FaultContext, fault: ResolvedFault) -> None:
        context.stack.scale(int(fault.params["count"]))

    def heal(self, context: FaultContext, fault: ResolvedFault) -> None:
        context.stack.scale(int(fault.params["topology_count"]))

    def effects(self, params: Mapping[str, Any]) -> frozenset[Effect]:
        return frozenset({Effect.WORKERS_DISRUPTED})

"""The fault timeline resolved before a run: every random choice drawn from the seed, up front.

Relative times stay relative to an event (``first_task_started + 1s``), because when that event
happens is the system's business; everything the suite itself chooses (a time drawn from a range,
which worker ``any`` means, a failpoint's probability stream) is fixed here. The same scenario and
seed always give the same resolved timeline, and a replay runs the recorded one.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from chaos.faults import Resolution, fault_type
from chaos.scenario.model import RandomRange, Scenario
from chaos.scenario.semantics import worker_names

TIMELINE_FILE = "timeline.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FaultEnd(_Frozen):
    """How a fault heals: at once (instant), a time after it was applied, on a condition, or at
    the end of the run (the runner's heal-everything step)."""

    kind: Literal["instant", "after", "until", "end_of_run"]
    seconds: float | None = None
    condition: str | None = None
    deadline: float | None = None


class ResolvedFault(_Frozen):
    fault_id: str
    type: str
    target: str
    """``broker``, ``proxy``, a worker name, ``all`` workers, or a failpoint name."""
    params: dict[str, Any]
    start_event: str
    """``run_started``, another run event, or ``<fault id>.applied`` / ``.healed``."""
    start_offset: float
    end: FaultEnd


class ResolvedStream(_Frozen):
    index: int
    path: str
    task: str | None
    args: list[Any]
    kwargs: dict[str, Any]
    count: int
    start: float
    interval: float
    options: dict[str, Any] = {}
    """``countdown`` / ``eta`` (seconds from each send) / ``queue`` / ``routing_key``."""
    http: dict[str, Any] | None = None
    """``path: http``: method, url, body, headers, expected statuses, host."""

    def send_times(self) -> list[float]:
        """Offsets from the run's start at which each message of this stream is sent."""
        return [self.start + number * self.interval for number in range(self.count)]


class ResolvedTimeline(_Frozen):
    scenario: str
    seed: int
    workers: list[str]
    faults: list[ResolvedFault]
    workload: list[ResolvedStream]

    @property
    def expected_tasks(self) -> int:
        return sum(stream.count for stream in self.workload)

    def static_span(self) -> float:
        """Seconds from the run's start to the last workload send or the last fault end that is
        known in advance (faults tied to events are counted from their offset only)."""
        ends = [stream.send_times()[-1] for stream in self.workload]
        for fault in self.faults:
            if fault.start_event != "run_started":
                continue
            end = fault.start_offset
            if fault.end.kind == "after" and fault.end.seconds is not None:
                end += fault.end.seconds
            ends.append(end)
        return max(ends, default=0.0)


def _rng(seed: int, *parts: str) -> random.Random:
    """A random stream per (seed, fault, purpose): adding a fault never changes another's draws."""
    digest = hashlib.sha256("/".join([str(seed), *parts]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _draw_time(value: float | RandomRange | None, seed: int, *parts: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, RandomRange):
        low, high = value.between
        return round(_rng(seed, *parts).uniform(low, high), 3)
    return float(value)


def resolve_timeline(scenario: Scenario, seed: int) -> ResolvedTimeline:
    """Fix every choice of ``scenario`` from ``seed``."""
    names = worker_names(scenario.topology.workers)
    faults = []
    for fault, fault_id in zip(scenario.faults, scenario.fault_ids(), strict=True):
        after = fault.after_event
        if after is not None:
            start_event, start_offset = after
        else:
            start_event, start_offset = "run_started", _draw_time(fault.at, seed, fault_id, "at")
        if fault.instantaneous:
            end = FaultEnd(kind="instant")
        elif fault.for_ is not None:
            end = FaultEnd(kind="after", seconds=fault.for_)
        elif fault.until is not None:
            end = FaultEnd(kind="until", condition=fault.until, deadline=fault.deadline)
        else:
            end = FaultEnd(kind="end_of_run")
        target, params = _target_and_params(fault, fault_id, seed, names)
        faults.append(
            ResolvedFault(
                fault_id=fault_id,
                type=fault.type,
                target=target,
                params=params,
                start_event=start_event,
                start_offset=start_offset,
                end=end,
            )
        )
    streams = [
        ResolvedStream(
            index=index,
            path=stream.path,
            task=stream.task,
            args=list(stream.args),
            kwargs=dict(stream.kwargs),
            count=stream.count,
            start=_draw_time(stream.at, seed, f"workload-{index}", "at"),
            interval=1.0 / stream.rate,
            options=stream.publish_options,
            http=stream.http_request(),
        )
        for index, stream in enumerate(scenario.workload)
    ]
    return ResolvedTimeline(
        scenario=scenario.name, seed=seed, workers=names, faults=faults, workload=streams
    )


def _target_and_params(
    fault: Any, fault_id: str, seed: int, names: list[str]
) -> tuple[str, dict[str, Any]]:
    registered = fault_type(fault.type)
    if registered is None:  # the model admits only registered types
        raise AssertionError(f"no fault type {fault.type!r} is registered")
    resolution = Resolution(
        fault_id=fault_id,
        worker_names=names,
        rng=lambda purpose: _rng(seed, fault_id, purpose),
    )
    return registered.resolve(fault, resolution)


def new_seed() -> int:
    """A fresh seed for a run whose scenario and command line name none (it is recorded)."""
    return random.SystemRandom().randrange(1, 2**31)

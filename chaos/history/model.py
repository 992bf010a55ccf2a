"""The history's domain model: one record per task (its publishes, receipts and attempts), the
fault windows, the producer's and the workers' events, and the run as a whole, all on one
timeline in seconds since the run started.

Checks and reports read these and nothing else; how they are built from a journal lives in
``chaos.history.builder``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.faults import past_tense
from chaos.timebase import format_seconds as format_seconds  # the name checks import here


#: Producer events after which the broker holds the task.
ACCEPTED_KINDS = frozenset({"enqueue.accepted", "outbox.relayed"})
#: Producer events after which the task must run (the outbox row is a promise too).
PROMISED_KINDS = frozenset({"enqueue.accepted", "outbox.relayed", "outbox.saved"})
#: Attempt outcomes that end a task.
DONE_OUTCOMES = frozenset({"success", "failure", "revoked", "rejected"})


def _first_at(enqueues: list[EnqueueEvent], kinds: frozenset[str]) -> float | None:
    """The earliest time of an event of these kinds (called per task by several checks)."""
    first = None
    for e in enqueues:
        if e.kind in kinds and (first is None or e.at < first):
            first = e.at
    return first


@dataclass(slots=True)
class EnqueueEvent:
    """One producer-side event about a task: a publish tried, accepted or refused, or the outbox."""

    kind: str
    at: float
    wall: float
    task_id: str | None
    task: str | None
    path: str | None
    key: str | None
    seconds: float | None = None
    exc_type: str | None = None
    exc_message: str | None = None
    uncertain: bool = False
    queue: str | None = None
    """The queue (or routing key) the caller asked for, when it asked for one."""
    countdown: float | None = None
    """The countdown (or eta, as seconds from the publish) the caller asked for."""
    chain: tuple[tuple[str, str], ...] = ()
    """The chain the caller sent this task at the head of: (task name, task id), in run order."""

    @property
    def outcome(self) -> str:
        """``tried``, ``accepted``, ``refused``, ``uncertain``, ``saved`` or ``relayed``."""
        if self.kind == "enqueue.refused" and self.uncertain:
            return "uncertain"
        return self.kind.split(".", 1)[1]


@dataclass(slots=True)
class Receipt:
    """A worker took a message for the task (``task.received``), before any execution."""

    attempt: int | None
    at: float
    wall: float
    hostname: str | None
    eta: float | None
    eta_at: float | None
    redelivered: bool
    pid: int
    routing_key: str | None = None
    """The routing key the message was delivered with (None: an older probe did not say)."""


@dataclass(slots=True)
class Attempt:
    """One execution of a task on a worker. Two with the same number are a duplicate delivery."""

    attempt: int | None
    worker: str | None
    pid: int | None
    started_at: float | None = None
    started_wall: float | None = None
    started_mono: float | None = None
    ended_at: float | None = None
    ended_wall: float | None = None
    ended_mono: float | None = None
    received_at: float | None = None
    outcome: str | None = None
    state: str | None = None
    exc_type: str | None = None
    exc_message: str | None = None
    eta: float | None = None
    eta_at: float | None = None
    redelivered: bool = False
    countdown: float | None = None
    retry_eta: float | None = None
    retry_eta_at: float | None = None
    retried_at: float | None = None
    policy: Mapping[str, Any] = field(default_factory=dict)
    runtime: float | None = None
    writer: str | None = None
    routing_key: str | None = None

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def label(self) -> str:
        return f"attempt {self.attempt}" if self.attempt is not None else "attempt ?"


@dataclass(slots=True)
class FailpointFiring:
    name: str
    at: float
    action: str | None
    hit: int | None
    exc_type: str | None
    delay: float | None
    task_id: str | None


@dataclass(slots=True)
class TaskHistory:
    """Everything the journal says about one task id, retries included (they share the id)."""

    task_id: str
    name: str | None = None
    key: str | None = None
    enqueues: list[EnqueueEvent] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    failpoints: list[FailpointFiring] = field(default_factory=list)
    first_at: float = 0.0
    args_digest: str | None = None
    """The call's arguments as ``args_digest`` writes them (from the probe's ``task.started``):
    what a per-call expectation (``args: [2]``) matches."""

    @property
    def label(self) -> str:
        """``send_invoice_email[order=17]``: how messages name a task."""
        name = (self.name or "?").rsplit(".", 1)[-1]
        return f"{name}[{self.key or self.task_id}]"

    def enqueues_of(self, outcome: str) -> list[EnqueueEvent]:
        return [e for e in self.enqueues if e.outcome == outcome]

    @property
    def tried(self) -> bool:
        return bool(self.enqueues)

    @property
    def accepted_at(self) -> float | None:
        """When the broker first accepted the task (a publish or the outbox relay), else None."""
        return _first_at(self.enqueues, ACCEPTED_KINDS)

    @property
    def promised_at(self) -> float | None:
        """When the producer could tell its caller "done": the broker accepted the publish, or
        (durable path) the outbox row was committed. From then on the task must run."""
        return _first_at(self.enqueues, PROMISED_KINDS)

    @property
    def accepted(self) -> bool:
        return self.accepted_at is not None

    @property
    def refused(self) -> bool:
        return any(e.outcome in ("refused", "uncertain") for e in self.enqueues)

    @property
    def paths(self) -> set[str]:
        return {e.path for e in self.enqueues if e.path}

    @property
    def executions(self) -> list[Attempt]:
        """Attempts that really started on a worker."""
        return [a for a in self.attempts if a.started_at is not None]

    @property
    def executed(self) -> bool:
        for a in self.attempts:
            if a.started_at is not None:
                return True
        return False

    @property
    def final_attempt(self) -> Attempt | None:
        finished = [a for a in self.attempts if a.outcome is not None]
        return finished[-1] if finished else None

    @property
    def final_outcome(self) -> str | None:
        """``success`` or ``failure`` (the task is done), else the last attempt's outcome."""
        for a in reversed(self.attempts):
            if a.outcome in ("success", "failure", "revoked", "rejected"):
                return a.outcome
        final = self.final_attempt
        return final.outcome if final else None

    @property
    def completed(self) -> bool:
        """True once an attempt ended the task (what ``final_outcome`` then names)."""
        for a in self.attempts:
            if a.outcome in DONE_OUTCOMES:
                return True
        return False

    @property
    def completed_at(self) -> float | None:
        for a in reversed(self.attempts):
            if a.outcome in ("success", "failure", "revoked", "rejected"):
                return a.ended_at
        return None

    @property
    def policy(self) -> Mapping[str, Any]:
        for a in reversed(self.attempts):
            if a.policy:
                return a.policy
        return {}

    def duplicated_attempts(self) -> dict[int | None, int]:
        """Attempt numbers executed more than once, with how many times."""
        executions = self.executions
        if len(executions) < 2:
            return {}
        counts: dict[int | None, int] = defaultdict(int)
        for a in executions:
            counts[a.attempt] += 1
        return {n: c for n, c in counts.items() if c > 1}

    @property
    def last_seen_at(self) -> float:
        times = [e.at for e in self.enqueues] + [r.at for r in self.receipts]
        for a in self.attempts:
            times += [t for t in (a.started_at, a.ended_at) if t is not None]
        return max(times, default=self.first_at)


@dataclass(slots=True)
class FaultWindow:
    """A fault the runner applied, from ``fault.applied`` to ``fault.healed`` (end None: never
    healed)."""

    fault_id: str
    type: str
    target: str
    start: float
    end: float | None
    params: Mapping[str, Any] = field(default_factory=dict)
    how: str | None = None

    def covers(self, at: float, margin: float = 0.0) -> bool:
        """True if ``at`` lies inside the window shrunk by ``margin`` at both ends."""
        end = float("inf") if self.end is None else self.end
        return self.start + margin < at < end - margin

    def overlaps(self, start: float, end: float | None) -> bool:
        mine_end = float("inf") if self.end is None else self.end
        other_end = float("inf") if end is None else end
        return self.start <= other_end and start <= mine_end

    @property
    def kind(self) -> str:
        """``broker.kill``, ``proxy.toxic``, ``worker.kill``: the type with its family."""
        kind = self.type.lower()
        if "." in kind or self.target.lower() not in ("broker", "proxy", "redis"):
            return kind
        return f"{self.target}.{kind}".lower()

    def describe(self) -> str:
        """``broker killed 12.10 to 15.10 s``: how messages name a fault window."""
        family, _, verb = self.kind.rpartition(".")
        words = f"{family} {past_tense(self.kind)}".strip()
        toxic = self.params.get("toxic")
        if toxic:
            words += f" {toxic}"
        if self.target and self.target != family:
            words += f" ({self.target})"
        end = "the end of the run" if self.end is None else f"{self.end:.2f} s"
        return f"{words} {self.start:.2f} to {end}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "fault_id": self.fault_id,
            "type": self.type,
            "target": self.target,
            "start": self.start,
            "end": self.end,
            "params": dict(self.params),
            "how": self.how,
        }


@dataclass(slots=True)
class WorkerEvent:
    kind: str
    at: float
    hostname: str | None
    pid: int
    writer: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RunMeta:
    """What the runner said about the run (all None when the journal has no runner lines)."""

    run_id: str | None = None
    scenario: str | None = None
    seed: int | None = None
    backend: str | None = None
    started_wall: float | None = None
    outcome: str | None = None
    finished_at: float | None = None
    phases: list[tuple[str, float]] = field(default_factory=list)
    extra: Mapping[str, Any] = field(default_factory=dict)
    results_snapshot: Mapping[str, Any] | None = None
    """The runner's ``results.snapshot``: what the app's result backend held after the drain."""
    control_pings: list[tuple[float, Mapping[str, Any]]] = field(default_factory=list)
    """The runner's ``control.ping`` attempts after the drain (time, asked, answered)."""
    restore_locks: list[Mapping[str, Any]] = field(default_factory=list)
    """kombu's restore locks still held after the drain (key, ttl in Redis's seconds)."""
    plan: Mapping[str, Any] | None = None
    """What the runner's ``run.plan`` said it would do (None: a journal from before plans)."""
    judged: str | None = None
    """The outcome ``run.judged`` gave after the checks, if any."""

    @property
    def dilation(self) -> float:
        """App seconds per real second the run's app clock ran at (run.started's ``clock``)."""
        clock = self.extra.get("clock")
        return float(clock.get("dilation", 1.0)) if isinstance(clock, Mapping) else 1.0

    @property
    def clock_label(self) -> str:
        """``dilated x10`` for a dilated run ('' in real time): every time shown is the app's."""
        return f"dilated x{self.dilation:g}" if self.dilation != 1.0 else ""


@dataclass(slots=True)
class RunHistory:
    """The whole run on one timeline (seconds since the run started)."""

    meta: RunMeta
    tasks: dict[str, TaskHistory]
    fault_windows: list[FaultWindow]
    producer_events: list[EnqueueEvent]
    worker_events: list[WorkerEvent]
    failpoint_firings: list[FailpointFiring]
    clock_skews: dict[str, float]
    end_at: float
    event_count: int
    partial_last_line: bool = False
    source: Path | None = None
    writer_seqs: dict[str, list[int]] = field(default_factory=dict, repr=False)
    """Each writer's ``seq`` numbers by ``writer/pid``, sorted (unstamped ones left out)."""
    damage: list[str] = field(default_factory=list)
    """What the loader found broken in the journal's file: lines cut short, failed appends."""
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Results several checks share (the delivery classification), computed once."""

    def task(self, task_id: str) -> TaskHistory:
        return self.tasks[task_id]

    def windows_around(
        self, start: float | None, end: float | None, margin: float = 1.0
    ) -> list[FaultWindow]:
        """Fault windows overlapping ``[start - margin, end + margin]``: a message's context."""
        if start is None:
            return []
        lo = start - margin
        hi = None if end is None else end + margin
        return [w for w in self.fault_windows if w.overlaps(lo, hi)]

    def windows_for_task(self, task: TaskHistory, margin: float = 1.0) -> list[FaultWindow]:
        return self.windows_around(task.first_at, task.last_seen_at, margin)

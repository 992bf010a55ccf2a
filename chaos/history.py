"""The journal read back as a history: one record per task, the fault windows, the producer's and
the workers' events, on one timeline that starts at the run's start.

Checks are pure functions over a ``RunHistory``, so the same history can be judged live by the
runner and offline by ``chaos check``. Building it must not depend on the order of the journal's
lines: writers append concurrently, so lines from different processes arrive in any order.

Ordering: within one writer process (writer, pid) events are ordered by their monotonic clock
(then their sequence number). Across writers, by a common timeline: a writer whose wall-minus-
monotonic offset is within ``SHARED_CLOCK_WINDOW`` of the runner's shares the runner's monotonic
clock (same kernel: processes and containers on one host), so it is placed by monotonic time,
which also corrects a skewed or stepped wall clock; any other writer is placed by its own wall
clock. The correction applied to each writer is kept in ``RunHistory.clock_skews``.
"""

from __future__ import annotations

import gc
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.journal import JOURNAL_FILE, Event, read_journal

try:  # orjson parses a large journal about three times faster; json is the fallback
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - depends on the environment
    from json import loads as _loads

#: Offsets (wall - mono) further apart than this belong to different monotonic clocks
#: (different boots); closer ones are one clock read through skewed wall clocks.
SHARED_CLOCK_WINDOW = 600.0

#: Smaller wall-clock differences between writers are NTP slew and rounding, not worth a word.
REPORTED_SKEW = 0.001

#: Journal lines parsed in one go when loading (bounds the parser's transient memory).
PARSE_CHUNK_LINES = 10_000

#: Outcome of an attempt, from the probe's event that ended it.
OUTCOME_BY_KIND = {
    "task.succeeded": "success",
    "task.retried": "retry",
    "task.failed": "failure",
    "task.revoked": "revoked",
    "task.rejected": "rejected",
}

#: Celery's final states mapped to the same outcome words (``task.finished`` carries a state).
OUTCOME_BY_STATE = {
    "SUCCESS": "success",
    "RETRY": "retry",
    "FAILURE": "failure",
    "REVOKED": "revoked",
    "REJECTED": "rejected",
}

ENQUEUE_KINDS = frozenset(
    {"enqueue.tried", "enqueue.accepted", "enqueue.refused", "outbox.saved", "outbox.relayed"}
)
WORKER_KINDS = frozenset(
    {"worker.ready", "worker.connection_lost", "worker.connection_restored", "worker.shutdown"}
)

StreamKey = tuple[str, int]

#: How messages say what a fault did ("broker killed 12.10 to 15.10 s").
PAST_TENSE = {
    "kill": "killed",
    "stop": "stopped",
    "pause": "paused",
    "restart": "restarted",
    "terminate": "terminated",
    "scale": "scaled",
    "toxic": "toxic",
}


def format_seconds(at: float | None) -> str:
    """``12.03 s``: how every message writes a time relative to the run's start."""
    return "never" if at is None else f"{at:.2f} s"


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
        times = [e.at for e in self.enqueues if e.kind in ("enqueue.accepted", "outbox.relayed")]
        return min(times) if times else None

    @property
    def promised_at(self) -> float | None:
        """When the producer could tell its caller "done": the broker accepted the publish, or
        (durable path) the outbox row was committed. From then on the task must run."""
        times = [
            e.at
            for e in self.enqueues
            if e.kind in ("enqueue.accepted", "outbox.relayed", "outbox.saved")
        ]
        return min(times) if times else None

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
        return any(a.started_at is not None for a in self.attempts)

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
        return self.final_outcome in ("success", "failure", "revoked", "rejected")

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
        counts: dict[int | None, int] = defaultdict(int)
        for a in self.executions:
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
        words = f"{family} {PAST_TENSE.get(verb, verb)}".strip()
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


def _stream_key(event: Event) -> StreamKey:
    return (event.writer, event.pid)


def _timeline(events: list[Event]) -> tuple[dict[StreamKey, float], dict[str, float], float]:
    """Offset per writer process that maps its monotonic time onto the common timeline, the
    wall-clock correction applied to each writer, and the run's start on that timeline."""
    offsets_by_stream: dict[StreamKey, list[float]] = {}
    for e in events:
        key = (e.writer, e.pid)
        stream = offsets_by_stream.get(key)
        if stream is None:
            stream = offsets_by_stream[key] = []
        stream.append(e.wall - e.mono)
    own_offset = {k: statistics.median(v) for k, v in offsets_by_stream.items()}
    run_started = [e for e in events if e.kind == "run.started"]
    if run_started:
        first = min(run_started, key=lambda e: (e.wall, e.writer, e.pid, e.seq))
        reference = own_offset[_stream_key(first)]
    else:
        # No runner: the busiest writer process anchors the timeline (deterministic tie-break).
        busiest = max(own_offset, key=lambda k: (len(offsets_by_stream[k]), k))
        reference = own_offset[busiest]
    offsets: dict[StreamKey, float] = {}
    skews: dict[str, float] = {}
    for stream, offset in own_offset.items():
        if abs(offset - reference) <= SHARED_CLOCK_WINDOW:
            offsets[stream] = reference
            skew = offset - reference
            if abs(skew) > abs(skews.get(stream[0], 0.0)):
                skews[stream[0]] = skew
        else:
            offsets[stream] = offset
    if run_started:
        first = min(run_started, key=lambda e: (e.wall, e.writer, e.pid, e.seq))
        start = first.mono + offsets[_stream_key(first)]
    else:
        start = min((e.mono + offsets[_stream_key(e)] for e in events), default=0.0)
    return offsets, {w: s for w, s in sorted(skews.items()) if abs(s) >= REPORTED_SKEW}, start


def _as_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _as_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


class _Builder:
    """Folds ordered events into a RunHistory; one method per family of event kinds."""

    def __init__(self, offsets: dict[StreamKey, float], start: float) -> None:
        self.offsets = offsets
        self.start = start
        self.meta = RunMeta()
        self.tasks: dict[str, TaskHistory] = {}
        self.windows: dict[str, FaultWindow] = {}
        self.window_order: list[FaultWindow] = []
        self.producer_events: list[EnqueueEvent] = []
        self.worker_events: list[WorkerEvent] = []
        self.firings: list[FailpointFiring] = []
        self.pending_by_key: dict[str, list[EnqueueEvent]] = defaultdict(list)
        self.task_by_key: dict[str, str] = {}
        self.used_receipts: set[int] = set()
        self.handlers: dict[str, Callable[[Event, float], None]] = {
            **dict.fromkeys(ENQUEUE_KINDS, self.add_enqueue),
            **dict.fromkeys(WORKER_KINDS, self.add_worker_event),
            **dict.fromkeys(("fault.applied", "fault.healed"), self.add_fault),
            "failpoint.fired": self.add_failpoint,
            **dict.fromkeys(("run.started", "run.finished", "phase"), self.add_run),
        }

    def wall_to_at(self, wall: float | None, event: Event) -> float | None:
        """A wall time written by ``event``'s writer (an eta), on the common timeline."""
        if wall is None:
            return None
        return wall - (event.wall - event.mono) + self.offsets[_stream_key(event)] - self.start

    def task_for(self, task_id: str, at: float) -> TaskHistory:
        task = self.tasks.get(task_id)
        if task is None:
            task = self.tasks[task_id] = TaskHistory(task_id=task_id, first_at=at)
        return task

    def add(self, event: Event, at: float) -> None:
        handler = self.handlers.get(event.kind)
        if handler is not None:
            handler(event, at)
        elif event.kind.startswith("task."):
            self.add_task_event(event, at)

    def add_worker_event(self, event: Event, at: float) -> None:
        self.worker_events.append(
            WorkerEvent(
                kind=event.kind,
                at=at,
                hostname=event.data.get("hostname"),
                pid=event.pid,
                writer=event.writer,
                detail=dict(event.data),
            )
        )

    def add_run(self, event: Event, at: float) -> None:
        data = event.data
        if event.kind == "run.started" and self.meta.run_id is None:
            self.meta.run_id = data.get("run_id")
            self.meta.scenario = data.get("scenario")
            self.meta.seed = _as_int(data.get("seed"))
            self.meta.backend = data.get("backend")
            self.meta.started_wall = event.wall
            known = {"run_id", "scenario", "seed", "backend"}
            self.meta.extra = {k: v for k, v in data.items() if k not in known}
        elif event.kind == "run.finished":
            self.meta.outcome = data.get("outcome")
            self.meta.finished_at = at
        elif event.kind == "phase":
            self.meta.phases.append((str(data.get("name")), at))

    def add_enqueue(self, event: Event, at: float) -> None:
        data = event.data
        record = EnqueueEvent(
            kind=event.kind,
            at=at,
            wall=event.wall,
            task_id=event.task_id,
            task=event.task,
            path=data.get("path"),
            key=data.get("key"),
            seconds=_as_float(data.get("seconds")),
            exc_type=data.get("exc_type"),
            exc_message=data.get("exc_message"),
            uncertain=bool(data.get("uncertain", False)),
        )
        self.producer_events.append(record)
        if record.task_id is None:
            if record.key is None:
                return
            known = self.task_by_key.get(record.key)
            if known is None:
                # Attached once an event names both this key and a task id.
                self.pending_by_key[record.key].append(record)
                return
            record.task_id = known
        self.attach_enqueue(record)

    def attach_enqueue(self, record: EnqueueEvent) -> None:
        assert record.task_id is not None
        task = self.task_for(record.task_id, record.at)
        task.enqueues.append(record)
        task.first_at = min(task.first_at, record.at)
        if record.task and not task.name:
            task.name = record.task
        if record.key:
            task.key = task.key or record.key
            self.task_by_key.setdefault(record.key, record.task_id)
            for waiting in self.pending_by_key.pop(record.key, []):
                waiting.task_id = record.task_id
                self.attach_enqueue(waiting)

    def add_fault(self, event: Event, at: float) -> None:
        data = event.data
        fault_id = str(data.get("fault_id"))
        window = self.windows.get(fault_id)
        if event.kind == "fault.applied":
            window = FaultWindow(
                fault_id=fault_id,
                type=str(data.get("type")),
                target=str(data.get("target")),
                start=at,
                end=None,
                params=dict(data.get("params") or {}),
            )
            self.windows[fault_id] = window
            self.window_order.append(window)
        elif window is not None and window.end is None:
            window.end = at
            window.how = data.get("how")

    def add_failpoint(self, event: Event, at: float) -> None:
        data = event.data
        firing = FailpointFiring(
            name=str(data.get("name")),
            at=at,
            action=data.get("action"),
            hit=_as_int(data.get("hit")),
            exc_type=data.get("exc_type"),
            delay=_as_float(data.get("delay")),
            task_id=event.task_id,
        )
        self.firings.append(firing)
        if event.task_id:
            self.task_for(event.task_id, firing.at).failpoints.append(firing)

    def add_task_event(self, event: Event, at: float) -> None:
        if event.task_id is None:
            return
        task = self.task_for(event.task_id, at)
        if event.task and not task.name:
            task.name = event.task
        data = event.data
        attempt_no = _as_int(data.get("attempt"))
        kind = event.kind
        if kind == "task.received":
            eta = _as_float(data.get("eta"))
            task.receipts.append(
                Receipt(
                    attempt=attempt_no,
                    at=at,
                    wall=event.wall,
                    hostname=data.get("hostname"),
                    eta=eta,
                    eta_at=self.wall_to_at(eta, event),
                    redelivered=bool(data.get("redelivered", False)),
                    pid=event.pid,
                )
            )
            return
        if kind == "task.started":
            eta = _as_float(data.get("eta"))
            receipt = self.unmatched_receipt(task, attempt_no)
            task.attempts.append(
                Attempt(
                    attempt=attempt_no,
                    worker=data.get("hostname") or (receipt.hostname if receipt else None),
                    pid=event.pid,
                    started_at=at,
                    started_wall=event.wall,
                    started_mono=event.mono,
                    received_at=receipt.at if receipt else None,
                    eta=eta,
                    eta_at=self.wall_to_at(eta, event),
                    redelivered=bool(data.get("redelivered", False))
                    or (receipt.redelivered if receipt else False),
                    policy=data.get("policy") or {},  # shared, read-only: no copy per attempt
                    writer=event.writer,
                )
            )
            return
        if kind == "task.unknown":
            return
        attempt = self.open_attempt(task, attempt_no, event, final=kind == "task.finished")
        if kind == "task.finished":
            attempt.state = data.get("state")
            if attempt.outcome is None and attempt.state in OUTCOME_BY_STATE:
                attempt.outcome = OUTCOME_BY_STATE[attempt.state]
                self.end(attempt, event, at)
            return
        attempt.outcome = OUTCOME_BY_KIND.get(kind, attempt.outcome)
        self.end(attempt, event, at)
        if kind == "task.retried":
            attempt.countdown = _as_float(data.get("countdown"))
            retry_eta = _as_float(data.get("retry_eta"))
            attempt.retry_eta = retry_eta
            attempt.retry_eta_at = self.wall_to_at(retry_eta, event)
            attempt.retried_at = at
        if kind in ("task.retried", "task.failed"):
            attempt.exc_type = data.get("exc_type")
            attempt.exc_message = data.get("exc_message")
        if kind == "task.succeeded":
            attempt.runtime = _as_float(data.get("runtime"))

    @staticmethod
    def end(attempt: Attempt, event: Event, at: float) -> None:
        if attempt.ended_at is None:
            attempt.ended_at = at
            attempt.ended_wall = event.wall
            attempt.ended_mono = event.mono

    def unmatched_receipt(self, task: TaskHistory, attempt_no: int | None) -> Receipt | None:
        for receipt in task.receipts:
            if id(receipt) not in self.used_receipts and receipt.attempt in (attempt_no, None):
                self.used_receipts.add(id(receipt))
                return receipt
        return None

    def open_attempt(
        self, task: TaskHistory, attempt_no: int | None, event: Event, *, final: bool
    ) -> Attempt:
        """The execution an ending event belongs to: same attempt number and still open,
        preferring the same process, then the same writer (a parent reporting its child's loss)."""

        def is_open(a: Attempt) -> bool:
            return a.state is None if final else a.outcome is None

        if task.attempts:  # the common case: the process's own attempt, started last
            last = task.attempts[-1]
            if (
                is_open(last)
                and last.pid == event.pid
                and last.writer == event.writer
                and last.attempt == attempt_no
            ):
                return last
        candidates = [
            a
            for a in task.attempts
            if is_open(a) and (attempt_no is None or a.attempt in (attempt_no, None))
        ]
        for same in (
            lambda a: a.pid == event.pid and a.writer == event.writer,
            lambda a: a.writer == event.writer,
            lambda a: True,
        ):
            chosen = [a for a in candidates if same(a)]
            if chosen:
                return chosen[0]
        # An end without a start (its start line was lost): keep it as an attempt of its own.
        attempt = Attempt(attempt=attempt_no, worker=None, pid=event.pid, writer=event.writer)
        task.attempts.append(attempt)
        return attempt


def order_events(events: Iterable[Event]) -> tuple[list[Event], list[float], dict[str, float]]:
    """Events in timeline order, independent of the order they were read in, each with its time
    on the common timeline (seconds since the run started), and the per-writer clock skews."""
    ordered, times, _, skews, _ = _ordered(list(events))
    return ordered, times, skews


def _ordered(
    listed: list[Event],
) -> tuple[list[Event], list[float], dict[StreamKey, float], dict[str, float], float]:
    if not listed:
        return [], [], {}, {}, 0.0
    offsets, skews, start = _timeline(listed)
    keyed = sorted(
        ((e.mono + offsets[(e.writer, e.pid)], e.writer, e.pid, e.seq, e.mono), index)
        for index, e in enumerate(listed)
    )
    ordered = [listed[i] for _, i in keyed]
    return ordered, [key[0] - start for key, _ in keyed], offsets, skews, start


def build_history(events: Iterable[Event]) -> RunHistory:
    """One RunHistory from events in any order."""
    # Building allocates several objects per event and frees none of them; the cyclic
    # collector's repeated passes over that growing heap cost more than the build itself.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(events)
    finally:
        if collecting:
            gc.enable()


def _build(events: Iterable[Event]) -> RunHistory:
    ordered, times, offsets, skews, start = _ordered(list(events))
    builder = _Builder(offsets, start)
    for event, at in zip(ordered, times):
        builder.add(event, at)
    # Keys never matched to a task id are still producer events: a task of their own, by key.
    for key, waiting in builder.pending_by_key.items():
        for record in waiting:
            record.task_id = f"key:{key}"
            builder.attach_enqueue(record)
    for task in builder.tasks.values():
        task.enqueues.sort(key=lambda e: e.at)  # stable: ties keep timeline order
    tasks = dict(sorted(builder.tasks.items(), key=lambda kv: (kv[1].first_at, kv[0])))
    return RunHistory(
        meta=builder.meta,
        tasks=tasks,
        fault_windows=builder.window_order,
        producer_events=builder.producer_events,
        worker_events=builder.worker_events,
        failpoint_firings=builder.firings,
        clock_skews=skews,
        end_at=times[-1] if times else 0.0,
        event_count=len(ordered),
    )


def journal_path(run_dir_or_journal: Path | str) -> Path:
    path = Path(run_dir_or_journal)
    return path / JOURNAL_FILE if path.is_dir() else path


def load_history(run_dir_or_journal: Path | str) -> RunHistory:
    """Read a run directory's journal (or a journal file) into a RunHistory.

    A last line without its newline (a writer that crashed mid-write) is skipped and flagged in
    ``partial_last_line``; a missing journal is a ConfigError naming the path.
    """
    from chaos.errors import ConfigError, Problem

    path = journal_path(run_dir_or_journal)
    if not path.is_file():
        raise ConfigError(
            [
                Problem(
                    "no journal here",
                    file=path,
                    expected=f"a run directory holding {JOURNAL_FILE} or a journal file",
                )
            ]
        )
    events, partial = _read_events(path)
    history = build_history(events)
    history.partial_last_line = partial
    history.source = path
    return history


class _Line:
    """A journal line read for building only: an Event's attributes without the cost of a frozen
    dataclass (about a third of the load time for a large journal)."""

    __slots__ = ("kind", "wall", "mono", "writer", "pid", "seq", "task_id", "task", "data")

    def __init__(self, record: Mapping[str, Any]) -> None:
        self.kind = record["kind"]
        self.wall = float(record["wall"])
        self.mono = float(record["mono"])
        self.writer = record["writer"]
        self.pid = int(record["pid"])
        self.seq = int(record["seq"])
        self.task_id = record.get("task_id")
        self.task = record.get("task")
        self.data = record.get("data") or {}


def _read_events(path: Path) -> tuple[list[Event], bool]:
    """The journal's events and whether its last line was partial.

    One parse over the whole file is several times faster than one per line; a file that does
    not parse that way is read again line by line by ``read_journal``, whose error names the bad
    line.
    """
    lines = path.read_bytes().split(b"\n")
    partial = lines.pop() != b""  # text after the last newline: a writer died mid-line
    events: list[Event] = []
    try:
        # In chunks, so that the parsed dicts of only one chunk are alive at a time.
        for first in range(0, len(lines), PARSE_CHUNK_LINES):
            chunk = [line for line in lines[first : first + PARSE_CHUNK_LINES] if line.strip()]
            records = _loads(b"[" + b",".join(chunk) + b"]")
            events += [_Line(record) for record in records]  # type: ignore[misc]
    except (ValueError, KeyError, TypeError):
        return list(read_journal(path)), partial
    return events, partial

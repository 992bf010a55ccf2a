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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import compress, count, islice, repeat
from operator import add, attrgetter, eq, itemgetter, sub
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

#: Bytes of journal parsed in one go when loading (bounds the parser's transient memory).
PARSE_BLOCK_BYTES = 2**20

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


class _EventColumns:
    """The events as one list per field. Reading a field of every event is then one C-level
    ``map`` instead of an attribute lookup per event, and no object is built per journal line:
    at 100,000 events the per-line objects cost more than the parse itself."""

    __slots__ = (
        "datas",
        "kinds",
        "monos",
        "pids",
        "seqs",
        "task_ids",
        "task_names",
        "walls",
        "writers",
    )

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.walls: list[float] = []
        self.monos: list[float] = []
        self.writers: list[str] = []
        self.pids: list[int] = []
        self.seqs: list[int] = []
        self.task_ids: list[str | None] = []
        self.task_names: list[str | None] = []
        self.datas: list[Mapping[str, Any]] = []

    def __len__(self) -> int:
        return len(self.kinds)

    @classmethod
    def of_events(cls, events: list[Event]) -> _EventColumns:
        columns = cls()
        columns.kinds = list(map(attrgetter("kind"), events))
        columns.walls = list(map(attrgetter("wall"), events))
        columns.monos = list(map(attrgetter("mono"), events))
        columns.writers = list(map(attrgetter("writer"), events))
        columns.pids = list(map(attrgetter("pid"), events))
        columns.seqs = list(map(attrgetter("seq"), events))
        columns.task_ids = list(map(attrgetter("task_id"), events))
        columns.task_names = list(map(attrgetter("task"), events))
        columns.datas = list(map(attrgetter("data"), events))
        return columns

    def extend_records(self, records: list[dict[str, Any]]) -> None:
        """Add parsed journal lines, converted as ``Event.from_dict`` converts them; KeyError,
        TypeError or ValueError for a line that is not an event."""
        self.kinds += map(itemgetter("kind"), records)
        self.walls += map(float, map(itemgetter("wall"), records))
        self.monos += map(float, map(itemgetter("mono"), records))
        self.writers += map(itemgetter("writer"), records)
        self.pids += map(int, map(itemgetter("pid"), records))
        self.seqs += map(int, map(itemgetter("seq"), records))
        self.task_ids += map(dict.get, records, repeat("task_id"))
        self.task_names += map(dict.get, records, repeat("task"))
        self.datas += [record.get("data") or {} for record in records]


class _Timeline:
    """Where each event falls on the common timeline (see the module's docstring)."""

    def __init__(self, columns: _EventColumns) -> None:
        streams = list(zip(columns.writers, columns.pids))
        offsets_by_stream: dict[StreamKey, list[float]] = defaultdict(list)
        for stream, offset in zip(streams, map(sub, columns.walls, columns.monos)):
            offsets_by_stream[stream].append(offset)
        own_offset = {k: statistics.median(v) for k, v in offsets_by_stream.items()}
        run_started = list(compress(count(), map("run.started".__eq__, columns.kinds)))
        first_start: int | None = None
        reference = 0.0
        if run_started:
            first_start = min(
                run_started,
                key=lambda i: (
                    columns.walls[i],
                    columns.writers[i],
                    columns.pids[i],
                    columns.seqs[i],
                ),
            )
            reference = own_offset[streams[first_start]]
        elif own_offset:
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
        #: Per event, what maps its writer's monotonic time onto the common timeline.
        self.event_offsets = list(map(offsets.__getitem__, streams))
        #: The wall-clock correction applied to each writer, where it is worth a word.
        self.skews = {w: s for w, s in sorted(skews.items()) if abs(s) >= REPORTED_SKEW}
        raw_times = list(map(add, columns.monos, self.event_offsets))
        if first_start is not None:
            self.start = raw_times[first_start]
        else:
            self.start = min(raw_times, default=0.0)
        #: Event indices in timeline order, and each one's seconds since the run started.
        self.order: list[int] = _timeline_order(raw_times, columns)
        self.times: list[float] = list(
            map(sub, map(raw_times.__getitem__, self.order), repeat(self.start))
        )


def _timeline_order(raw_times: list[float], columns: _EventColumns) -> list[int]:
    """Event indices ordered by (time, writer, pid, seq, mono, index).

    Sorting by the time alone, then putting each run of equal times in order, is about three
    times faster than sorting tuples: ties are rare in a real journal (and pairs in a synthetic
    one, where a task's end and its final state share a time)."""
    order = sorted(range(len(raw_times)), key=raw_times.__getitem__)
    in_order = list(map(raw_times.__getitem__, order))
    # Positions whose event has the same time as the next one.
    tied = list(compress(count(), map(eq, in_order, islice(in_order, 1, None))))
    if not tied:
        return order
    writers, pids, seqs, monos = columns.writers, columns.pids, columns.seqs, columns.monos

    def full_key(index: int) -> tuple[str, int, int, float, int]:
        return (writers[index], pids[index], seqs[index], monos[index], index)

    def put_in_order(first: int, last: int) -> None:
        """The run of ties order[first : last + 2]: mostly a pair."""
        if first == last:
            one, other = order[first], order[first + 1]
            if full_key(other) < full_key(one):
                order[first], order[first + 1] = other, one
        else:
            order[first : last + 2] = sorted(order[first : last + 2], key=full_key)

    first = last = tied[0]
    for position in islice(tied, 1, None):
        if position != last + 1:
            put_in_order(first, last)
            first = position
        last = position
    put_in_order(first, last)
    return order


def _new_task(task_id: str, first_at: float) -> TaskHistory:
    """A task seen for the first time (positional arguments: a third of the keyword cost)."""
    return TaskHistory(task_id, None, None, [], [], [], [], first_at)


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
    """Folds the events into a RunHistory, one family of kinds at a time (the probe's, the
    producer's, the rest), each in timeline order.

    The families touch one another only through a task's ``first_at`` (the earliest event, of any
    family) and its ``name`` (from the first event in timeline order that names it), which the
    folds settle by time and by position; everything else a family builds depends on its own
    events alone, so folding them apart gives the history one pass in timeline order would.
    """

    def __init__(self, columns: _EventColumns, timeline: _Timeline) -> None:
        self.kinds = columns.kinds
        self.walls = columns.walls
        self.monos = columns.monos
        self.writers = columns.writers
        self.pids = columns.pids
        self.task_ids = columns.task_ids
        self.task_names = columns.task_names
        self.datas = columns.datas
        self.event_offsets = timeline.event_offsets
        self.start = timeline.start
        self.meta = RunMeta()
        self.tasks: dict[str, TaskHistory] = {}
        self.windows: dict[str, FaultWindow] = {}
        self.window_order: list[FaultWindow] = []
        self.producer_events: list[EnqueueEvent] = []
        self.worker_events: list[WorkerEvent] = []
        self.firings: list[FailpointFiring] = []
        self.pending_by_key: dict[str, list[EnqueueEvent]] = {}
        self.task_by_key: dict[str, str] = {}
        self.unused_receipts: dict[str, list[Receipt]] = {}
        #: Tasks given enqueue events out of timeline order (by key, once their id was known).
        self.unsorted_enqueues: set[str] = set()
        #: Position in timeline order of the event each task's name was taken from.
        self.name_position: dict[str, int] = {}
        self.other_handlers: dict[str, Callable[[int, float], None]] = {
            **dict.fromkeys(WORKER_KINDS, self.add_worker_event),
            **dict.fromkeys(("fault.applied", "fault.healed"), self.add_fault),
            "failpoint.fired": self.add_failpoint,
            **dict.fromkeys(("run.started", "run.finished", "phase"), self.add_run),
        }

    def fold(self, timeline: _Timeline) -> None:
        """Every event into the history: the probe's fold first (it names tasks), then the
        producer's (an earlier name wins), then the runner's, the workers' and failpoints'."""
        order, times = timeline.order, timeline.times
        kinds_in_order = list(map(self.kinds.__getitem__, order))
        self.fold_probe_events(
            list(compress(count(), map(str.startswith, kinds_in_order, repeat("task.")))),
            order,
            times,
        )
        self.fold_enqueues(
            list(compress(count(), map(ENQUEUE_KINDS.__contains__, kinds_in_order))), order, times
        )
        others = self.other_handlers
        for position in compress(count(), map(others.__contains__, kinds_in_order)):
            index = order[position]
            others[self.kinds[index]](index, times[position])
        # Keys never matched to a task id are still producer events: a task of their own, by key.
        pending, self.pending_by_key = self.pending_by_key, {}
        for key, waiting in pending.items():
            for record in waiting:
                record.task_id = f"key:{key}"
                self.attach_enqueue(record, len(order))
            self.unsorted_enqueues.add(f"key:{key}")
        for task_id in self.unsorted_enqueues:
            self.tasks[task_id].enqueues.sort(key=attrgetter("at"))  # stable: ties keep order

    def fold_probe_events(self, positions: list[int], order: list[int], times: list[float]) -> None:
        """The probe's ``task.*`` events, in timeline order (the first fold: it names tasks)."""
        tasks, task_ids, task_names, kinds = self.tasks, self.task_ids, self.task_names, self.kinds
        datas, walls, monos, pids, writers = (
            self.datas,
            self.walls,
            self.monos,
            self.pids,
            self.writers,
        )
        unused_receipts = self.unused_receipts
        for position in positions:
            index = order[position]
            task_id = task_ids[index]
            if task_id is None:
                continue
            at = times[position]
            task = tasks.get(task_id)
            if task is None:
                task = tasks[task_id] = _new_task(task_id, at)
            name = task_names[index]
            if name and not task.name:
                task.name = name
                self.name_position[task_id] = position
            kind = kinds[index]
            if kind == "task.received":
                data = datas[index]
                attempt_no = data.get("attempt")
                eta = data.get("eta")
                if eta is not None:
                    eta = _as_float(eta)
                receipt = Receipt(
                    attempt_no if type(attempt_no) is int else _as_int(attempt_no),  # attempt
                    at,
                    walls[index],  # wall
                    data.get("hostname"),
                    eta,
                    None if eta is None else self.wall_to_at(eta, index),  # eta_at
                    bool(data.get("redelivered", False)),  # redelivered
                    pids[index],  # pid
                )
                task.receipts.append(receipt)
                unused = unused_receipts.get(task_id)
                if unused is None:
                    unused_receipts[task_id] = [receipt]
                else:
                    unused.append(receipt)
            elif kind == "task.started":
                data = datas[index]
                attempt_no = data.get("attempt")
                if type(attempt_no) is not int:
                    attempt_no = _as_int(attempt_no)
                eta = data.get("eta")
                if eta is not None:
                    eta = _as_float(eta)
                receipt = self.take_receipt(task_id, attempt_no)
                # Positional: keyword arguments would double the cost of building attempts.
                task.attempts.append(
                    Attempt(
                        attempt_no,
                        data.get("hostname") or (receipt.hostname if receipt else None),  # worker
                        pids[index],  # pid
                        at,  # started_at
                        walls[index],  # started_wall
                        monos[index],  # started_mono
                        None,  # ended_at
                        None,  # ended_wall
                        None,  # ended_mono
                        receipt.at if receipt else None,  # received_at
                        None,  # outcome
                        None,  # state
                        None,  # exc_type
                        None,  # exc_message
                        eta,
                        None if eta is None else self.wall_to_at(eta, index),  # eta_at
                        bool(data.get("redelivered", False))
                        or (receipt.redelivered if receipt else False),  # redelivered
                        None,  # countdown
                        None,  # retry_eta
                        None,  # retry_eta_at
                        None,  # retried_at
                        data.get("policy") or {},  # policy: shared, read-only, not copied
                        None,  # runtime
                        writers[index],  # writer
                    )
                )
            elif kind != "task.unknown":  # any other task.* kind ends an attempt
                self.add_task_end(task, index, at, kind)

    def fold_enqueues(self, positions: list[int], order: list[int], times: list[float]) -> None:
        """The producer's events, in timeline order."""
        kinds, walls, task_ids, task_names, datas = (
            self.kinds,
            self.walls,
            self.task_ids,
            self.task_names,
            self.datas,
        )
        tasks, name_position, task_by_key = self.tasks, self.name_position, self.task_by_key
        records = self.producer_events
        for position in positions:
            index = order[position]
            data = datas[index]
            seconds = data.get("seconds")
            # Positional: keyword arguments would double the cost of building these records.
            record = EnqueueEvent(
                kinds[index],  # kind
                times[position],  # at
                walls[index],  # wall
                task_ids[index],  # task_id
                task_names[index],  # task
                data.get("path"),
                data.get("key"),
                seconds if type(seconds) is float else _as_float(seconds),
                data.get("exc_type"),
                data.get("exc_message"),
                bool(data.get("uncertain", False)),
            )
            records.append(record)
            task_id, key = record.task_id, record.key
            if task_id is None:
                if key is None:
                    continue
                task_id = task_by_key.get(key)
                if task_id is None:
                    # Attached once an event names both this key and a task id.
                    self.pending_by_key.setdefault(key, []).append(record)
                    continue
                record.task_id = task_id
            if self.pending_by_key:  # records waiting for a key's task id: attach_enqueue
                self.attach_enqueue(record, position)
                continue
            # What attach_enqueue does when nothing waits for a key, inline: the common case.
            task = tasks.get(task_id)
            if task is None:
                task = tasks[task_id] = _new_task(task_id, record.at)
            task.enqueues.append(record)
            task.first_at = min(task.first_at, record.at)
            if record.task:
                named_at = name_position.get(task_id)
                if named_at is None or named_at > position:
                    task.name = record.task
                    name_position[task_id] = position
            if key:
                task.key = task.key or key
                task_by_key.setdefault(key, task_id)

    def wall_to_at(self, wall: float | None, index: int) -> float | None:
        """A wall time written by this event's writer (an eta), on the common timeline."""
        if wall is None:
            return None
        own_offset = self.walls[index] - self.monos[index]
        return wall - own_offset + self.event_offsets[index] - self.start

    def task_for(self, task_id: str, at: float) -> TaskHistory:
        task = self.tasks.get(task_id)
        if task is None:
            task = self.tasks[task_id] = _new_task(task_id, at)
        else:
            task.first_at = min(task.first_at, at)  # another family's fold may have created it
        return task

    def add_worker_event(self, index: int, at: float) -> None:
        data = self.datas[index]
        self.worker_events.append(
            WorkerEvent(
                kind=self.kinds[index],
                at=at,
                hostname=data.get("hostname"),
                pid=self.pids[index],
                writer=self.writers[index],
                detail=dict(data),
            )
        )

    def add_run(self, index: int, at: float) -> None:
        data = self.datas[index]
        kind = self.kinds[index]
        if kind == "run.started" and self.meta.run_id is None:
            self.meta.run_id = data.get("run_id")
            self.meta.scenario = data.get("scenario")
            self.meta.seed = _as_int(data.get("seed"))
            self.meta.backend = data.get("backend")
            self.meta.started_wall = self.walls[index]
            known = {"run_id", "scenario", "seed", "backend"}
            self.meta.extra = {k: v for k, v in data.items() if k not in known}
        elif kind == "run.finished":
            self.meta.outcome = data.get("outcome")
            self.meta.finished_at = at
        elif kind == "phase":
            self.meta.phases.append((str(data.get("name")), at))

    def attach_enqueue(self, record: EnqueueEvent, position: int) -> None:
        """Give a producer record to its task; ``position``: where in timeline order it is
        attached (a record waiting for its key is attached when the key's task id shows up)."""
        task_id = record.task_id
        assert task_id is not None
        task = self.tasks.get(task_id)
        if task is None:
            task = self.tasks[task_id] = _new_task(task_id, record.at)
        task.enqueues.append(record)
        task.first_at = min(task.first_at, record.at)
        if record.task:
            named_at = self.name_position.get(task_id)
            if named_at is None or named_at > position:
                task.name = record.task
                self.name_position[task_id] = position
        key = record.key
        if key:
            task.key = task.key or key
            self.task_by_key.setdefault(key, task_id)
            waiting = self.pending_by_key.pop(key, None) if self.pending_by_key else None
            if waiting:
                self.unsorted_enqueues.add(task_id)
                for earlier in waiting:
                    earlier.task_id = task_id
                    self.attach_enqueue(earlier, position)

    def add_fault(self, index: int, at: float) -> None:
        data = self.datas[index]
        fault_id = str(data.get("fault_id"))
        window = self.windows.get(fault_id)
        if self.kinds[index] == "fault.applied":
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

    def add_failpoint(self, index: int, at: float) -> None:
        data = self.datas[index]
        task_id = self.task_ids[index]
        firing = FailpointFiring(
            name=str(data.get("name")),
            at=at,
            action=data.get("action"),
            hit=_as_int(data.get("hit")),
            exc_type=data.get("exc_type"),
            delay=_as_float(data.get("delay")),
            task_id=task_id,
        )
        self.firings.append(firing)
        if task_id:
            self.task_for(task_id, firing.at).failpoints.append(firing)

    def take_receipt(self, task_id: str, attempt_no: int | None) -> Receipt | None:
        """The first receipt of the task no start has claimed yet, for this attempt number."""
        unused = self.unused_receipts.get(task_id)
        if not unused:
            return None
        for position, receipt in enumerate(unused):
            if receipt.attempt == attempt_no or receipt.attempt is None:
                del unused[position]
                return receipt
        return None

    def add_task_end(self, task: TaskHistory, index: int, at: float, kind: str) -> None:
        """An event that ends an attempt (or, ``task.finished``, gives its final state)."""
        data = self.datas[index]
        attempt_no = data.get("attempt")
        if type(attempt_no) is not int:
            attempt_no = _as_int(attempt_no)
        final = kind == "task.finished"
        attempts = task.attempts
        last = attempts[-1] if attempts else None
        if (  # the common case: the process's own attempt, started last, still open
            last is not None
            and (last.state is None if final else last.outcome is None)
            and last.pid == self.pids[index]
            and last.writer == self.writers[index]
            and last.attempt == attempt_no
        ):
            attempt = last
        else:
            attempt = self.open_attempt(task, attempt_no, index, final=final)
        if final:
            attempt.state = data.get("state")
            if attempt.outcome is None and attempt.state in OUTCOME_BY_STATE:
                attempt.outcome = OUTCOME_BY_STATE[attempt.state]
                self.end(attempt, index, at)
            return
        attempt.outcome = OUTCOME_BY_KIND.get(kind, attempt.outcome)
        if attempt.ended_at is None:
            attempt.ended_at = at
            attempt.ended_wall = self.walls[index]
            attempt.ended_mono = self.monos[index]
        if kind == "task.succeeded":
            runtime = data.get("runtime")
            attempt.runtime = runtime if type(runtime) is float else _as_float(runtime)
            return
        if kind == "task.retried":
            attempt.countdown = _as_float(data.get("countdown"))
            retry_eta = _as_float(data.get("retry_eta"))
            attempt.retry_eta = retry_eta
            attempt.retry_eta_at = self.wall_to_at(retry_eta, index)
            attempt.retried_at = at
        if kind in ("task.retried", "task.failed"):
            attempt.exc_type = data.get("exc_type")
            attempt.exc_message = data.get("exc_message")

    def end(self, attempt: Attempt, index: int, at: float) -> None:
        if attempt.ended_at is None:
            attempt.ended_at = at
            attempt.ended_wall = self.walls[index]
            attempt.ended_mono = self.monos[index]

    def open_attempt(
        self, task: TaskHistory, attempt_no: int | None, index: int, *, final: bool
    ) -> Attempt:
        """The execution an ending event belongs to: same attempt number and still open,
        preferring the same process, then the same writer (a parent reporting its child's loss)."""
        pid, writer = self.pids[index], self.writers[index]
        attempts = task.attempts
        candidates = [
            a
            for a in attempts
            if (a.state is None if final else a.outcome is None)
            and (attempt_no is None or a.attempt in (attempt_no, None))
        ]
        for same in (
            lambda a: a.pid == pid and a.writer == writer,
            lambda a: a.writer == writer,
            lambda a: True,
        ):
            chosen = [a for a in candidates if same(a)]
            if chosen:
                return chosen[0]
        # An end without a start (its start line was lost): keep it as an attempt of its own.
        attempt = Attempt(attempt=attempt_no, worker=None, pid=pid, writer=writer)
        attempts.append(attempt)
        return attempt


def order_events(events: Iterable[Event]) -> tuple[list[Event], list[float], dict[str, float]]:
    """Events in timeline order, independent of the order they were read in, each with its time
    on the common timeline (seconds since the run started), and the per-writer clock skews."""
    listed = list(events)
    timeline = _Timeline(_EventColumns.of_events(listed))
    return [listed[i] for i in timeline.order], timeline.times, timeline.skews


def build_history(events: Iterable[Event]) -> RunHistory:
    """One RunHistory from events in any order."""
    return _build(_EventColumns.of_events(list(events)))


def _build(columns: _EventColumns) -> RunHistory:
    # Building allocates several objects per event and frees none of them; the cyclic
    # collector's repeated passes over that growing heap cost more than the build itself.
    with _no_cyclic_gc():
        timeline = _Timeline(columns)
        builder = _Builder(columns, timeline)
        builder.fold(timeline)
    tasks = dict(sorted(builder.tasks.items(), key=lambda kv: (kv[1].first_at, kv[0])))
    return RunHistory(
        meta=builder.meta,
        tasks=tasks,
        fault_windows=builder.window_order,
        producer_events=builder.producer_events,
        worker_events=builder.worker_events,
        failpoint_firings=builder.firings,
        clock_skews=timeline.skews,
        end_at=timeline.times[-1] if timeline.times else 0.0,
        event_count=len(columns),
    )


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Reading and building allocate several objects per event and free none of them; the cyclic
    collector's repeated passes over that growing heap cost more than the build itself.

    On the way out what was allocated is moved to the oldest generation in one step
    (``gc.freeze`` then ``gc.unfreeze``: a list splice, no traversal). The history is one
    long-lived structure without cycles; left in the youngest generation, the next two
    collections would each walk all of it (about 0.17 s each at 100,000 events) only to promote
    it. Nothing is exempted from collection: the next full collection sees it all as usual. Not
    done when the process froze objects of its own (``gc.unfreeze`` would thaw them too).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


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
    with _no_cyclic_gc():
        columns, partial = _read_columns(path)
        history = _build(columns)
    history.partial_last_line = partial
    history.source = path
    return history


def _read_columns(path: Path) -> tuple[_EventColumns, bool]:
    """The journal's events and whether its last line was partial.

    Whole lines are parsed a block at a time, as one JSON array (one parser call per block is
    several times faster than one per line; a block bounds the parser's transient memory). A block
    that does not parse as one event per line sends the whole file to ``read_journal``, line by
    line, whose error names the bad line (or which skips the blank lines it tolerates).
    """
    columns = _EventColumns()
    tail = b""
    try:
        with path.open("rb") as handle:
            while block := handle.read(PARSE_BLOCK_BYTES):
                block = tail + block
                cut = block.rfind(b"\n")
                tail = block[cut + 1 :]
                if cut < 0:
                    continue
                lines = block[:cut]
                records = _loads(b"[" + lines.replace(b"\n", b",") + b"]")
                if len(records) != lines.count(b"\n") + 1:
                    raise ValueError("a line holding other than one event")
                columns.extend_records(records)
    except (ValueError, KeyError, TypeError):
        return _EventColumns.of_events(list(read_journal(path))), tail != b""
    return columns, tail != b""

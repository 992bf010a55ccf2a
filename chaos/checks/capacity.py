"""Workers' capacity over time, from the history alone: when each worker was up and connected,
which queues it consumed, how many pool slots it had and how many were busy.

The liveness and retry-schedule invariants ask one question of it: for how long, inside a span of
time, did some worker that consumes a queue have a free pool slot? "Free" comes from our own
started/finished accounting, never from the worker's word (a stuck worker reports itself idle).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chaos.checks.allowance import machine_allowance
from chaos.checks.faults import effects
from chaos.history.model import FaultWindow, RunHistory

#: Fault types that change nothing about the broker or the workers (a failpoint slows task
#: code, which the busy accounting already sees).
_QUIET_FAMILIES = ("failpoint",)
#: A worker's ``worker.ready`` may be journaled after its first receipt or start (real s: the
#: machine's latency, N times as many app seconds under a dilated clock).
READY_LAG_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class WorkerSpan:
    """One life of a worker, from its ``worker.ready`` to its shutdown or next ready."""

    hostname: str
    start: float
    end: float
    concurrency: int
    queues: frozenset[str] | None
    """Names and routing keys of the queues it consumed at ready (None: the probe did not say)."""
    visibility_timeout: float | None
    prefetch_multiplier: int | None = None
    """``worker_prefetch_multiplier`` at ready (None: the probe did not say)."""
    disable_prefetch: bool | None = None
    """``worker_disable_prefetch`` at ready (None: unknown, or a Celery without the setting)."""

    def consumes(self, routing_key: str | None) -> bool:
        return self.queues is None or routing_key is None or routing_key in self.queues


def _queues(detail: dict) -> frozenset[str] | None:
    listed = detail.get("queues")
    if not isinstance(listed, list):
        return None
    names: set[str] = set()
    for queue in listed:
        if isinstance(queue, dict):
            names.update(str(v) for v in (queue.get("name"), queue.get("routing_key")) if v)
    return frozenset(names)


def _concurrency(detail: dict) -> int:
    if str(detail.get("pool") or "").lower() == "solo":
        return 1  # a solo pool runs one task at a time whatever ``concurrency`` says
    value = detail.get("concurrency")
    return value if isinstance(value, int) and value > 0 else 1


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _optional_bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def worker_spans(history: RunHistory) -> list[WorkerSpan]:
    """Every worker life the journal shows (cached per history)."""
    cached = history.derived.get("worker_spans")
    if cached is None:
        cached = history.derived["worker_spans"] = _spans(history)
    return cached


def _spans(history: RunHistory) -> list[WorkerSpan]:
    end_of_run = history.meta.finished_at if history.meta.finished_at is not None else history.end_at
    events = sorted(history.worker_events, key=lambda e: e.at)
    spans = []
    for index, ready in enumerate(events):
        if ready.kind != "worker.ready" or not ready.hostname:
            continue
        end = end_of_run
        for later in events[index + 1 :]:
            if later.hostname != ready.hostname:
                continue
            if later.kind == "worker.ready" or (
                later.kind == "worker.shutdown" and later.detail.get("phase") != "completed"
            ):
                end = later.at
                break
        detail = dict(ready.detail)
        timeout = detail.get("visibility_timeout")
        spans.append(
            WorkerSpan(
                hostname=ready.hostname,
                start=ready.at,
                end=max(end, ready.at),
                concurrency=_concurrency(detail),
                queues=_queues(detail),
                visibility_timeout=float(timeout) if isinstance(timeout, (int, float)) else None,
                prefetch_multiplier=_optional_int(detail.get("prefetch_multiplier")),
                disable_prefetch=_optional_bool(detail.get("disable_prefetch")),
            )
        )
    return spans


def span_at(history: RunHistory, hostname: str | None, at: float) -> WorkerSpan | None:
    """The life of ``hostname`` that ``at`` falls in (the latest ready before it)."""
    found = None
    lag = machine_allowance(history, READY_LAG_SECONDS)
    for span in worker_spans(history):
        if span.hostname == hostname and span.start <= at + lag:
            found = span
    return found


def disruptive_windows(history: RunHistory) -> list[FaultWindow]:
    """Fault windows that touch the broker, the link or the workers (not failpoints)."""
    return [
        w
        for w in history.fault_windows
        if effects(w) or not w.kind.startswith(_QUIET_FAMILIES)
    ]


def last_heal(history: RunHistory) -> float | None:
    """When the last disruptive fault healed (0.0: there was none; None: one never healed)."""
    windows = disruptive_windows(history)
    if any(w.end is None for w in windows):
        return None
    return max((w.end for w in windows if w.end is not None), default=0.0)


def _merge(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(i for i in intervals if i[1] > i[0]):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _subtract(
    intervals: list[tuple[float, float]], holes: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    result = []
    for lo, hi in intervals:
        pieces = [(lo, hi)]
        for h_lo, h_hi in holes:
            pieces = [
                part
                for a, b in pieces
                for part in ((a, min(b, h_lo)), (max(a, h_hi), b))
                if part[1] > part[0]
            ]
        result.extend(pieces)
    return result


def _disconnected(history: RunHistory, hostname: str, end: float) -> list[tuple[float, float]]:
    """From each ``connection_lost`` to the next ``connection_restored`` (or the end)."""
    holes = []
    lost_at = None
    for event in sorted(history.worker_events, key=lambda e: e.at):
        if event.hostname != hostname:
            continue
        if event.kind == "worker.connection_lost" and lost_at is None:
            lost_at = event.at
        elif event.kind == "worker.connection_restored" and lost_at is not None:
            holes.append((lost_at, event.at))
            lost_at = None
    if lost_at is not None:
        holes.append((lost_at, end))
    return holes


def _free_of_span(history: RunHistory, span: WorkerSpan) -> list[tuple[float, float]]:
    """When this worker life had a free slot, was connected, and no disruptive fault acted."""
    changes: list[tuple[float, int]] = []
    lag = machine_allowance(history, READY_LAG_SECONDS)
    for task in history.tasks.values():
        for attempt in task.attempts:
            if attempt.worker != span.hostname or attempt.started_at is None:
                continue
            if not span.start - lag <= attempt.started_at <= span.end:
                continue
            ended = attempt.ended_at if attempt.ended_at is not None else span.end
            changes += [(attempt.started_at, 1), (ended, -1)]
    changes.sort()
    free = []
    running, cursor = 0, span.start
    for at, delta in changes:
        at = min(max(at, span.start), span.end)
        if running < span.concurrency and at > cursor:
            free.append((cursor, at))
        cursor = max(cursor, at)
        running += delta
    if running < span.concurrency and span.end > cursor:
        free.append((cursor, span.end))
    holes = _disconnected(history, span.hostname, span.end)
    holes += [
        (w.start, w.end if w.end is not None else span.end) for w in disruptive_windows(history)
    ]
    return _subtract(_merge(free), _merge(holes))


@dataclass(frozen=True, slots=True)
class FreeTime:
    """Merged intervals in which some eligible worker had a free slot; measured by bisection."""

    intervals: tuple[tuple[float, float], ...]
    slots: int
    hostnames: tuple[str, ...]

    def within(self, lo: float, hi: float) -> float:
        """Seconds of free capacity inside ``[lo, hi]``."""
        if hi <= lo or not self.intervals:
            return 0.0
        starts = [i[0] for i in self.intervals]
        index = max(0, bisect.bisect_right(starts, lo) - 1)
        total = 0.0
        for a, b in self.intervals[index:]:
            if a >= hi:
                break
            total += max(0.0, min(b, hi) - max(a, lo))
        return total


def free_time(history: RunHistory, routing_key: str | None) -> FreeTime:
    """Free capacity of the workers that consume ``routing_key`` (all, when it is unknown)."""
    cache = history.derived.setdefault("free_time", {})
    found = cache.get(routing_key)
    if found is None:
        spans: Sequence[WorkerSpan] = [
            s for s in worker_spans(history) if s.consumes(routing_key)
        ]
        intervals = _merge(i for s in spans for i in _free_of_span(history, s))
        slots: dict[str, int] = {}
        for span in spans:
            slots[span.hostname] = max(slots.get(span.hostname, 0), span.concurrency)
        found = cache[routing_key] = FreeTime(
            tuple(intervals), sum(slots.values()), tuple(sorted(slots))
        )
    return found

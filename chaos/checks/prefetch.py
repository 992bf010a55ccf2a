"""Invariant ``prefetch``: no worker holds more messages than the prefetch bound it was given.

A message is *held* by worker W from its ``task.received`` on W until it starts there, until it is
received again (by any worker), until W loses its broker connection (the channel's close gives
unacknowledged messages back to Redis, and the consumer drops what it reserved), or until W's life
ends. ETA and countdown messages are not counted: Celery raises the QoS for each of them. The
bound is what W was configured with at ``worker.ready``, counted by our own received/started/
finished accounting, never by W's (a worker whose own count is wrong is the bug):

- ``worker_disable_prefetch`` (celery 5.6+, Redis): held + running <= concurrency, i.e. W takes a
  message only while a pool slot is free;
- otherwise held <= ``worker_prefetch_multiplier`` x concurrency (0 is unbounded: not judged).

Why it matters: a message a busy worker holds waits for that worker while another may be idle.
Catches celery#10345 (5.6.0-5.6.3: a reconnect clears the reserved set, the disable-prefetch gate
reports free, and a busy worker takes a second message). An excess shorter than
``JOURNAL_ORDER_SECONDS`` (real) is not judged: the pool child journals a start after the main
process may already have acknowledged it and fetched the next, and Celery's QoS changes land on
the next loop tick.
"""

from __future__ import annotations

from dataclasses import dataclass

from chaos.checks.allowance import dilated_note, machine_allowance
from chaos.checks.capacity import READY_LAG_SECONDS, WorkerSpan, free_time, worker_spans
from chaos.checks.registry import register_invariant
from chaos.checks.verdict import Finding, Verdict, verdict_from_findings
from chaos.history.model import Receipt, RunHistory, TaskHistory, format_seconds

#: Journal order between a worker's main process and its pool, and a QoS update's loop tick (s).
JOURNAL_ORDER_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Holding:
    """One message worker ``hostname`` held, unstarted, from ``start`` to ``end``."""

    task: TaskHistory
    start: float
    end: float
    routing_key: str | None


def _bound(span: WorkerSpan) -> str | None:
    """How the bound reads, or None when the worker's configuration sets none we can judge."""
    if span.disable_prefetch:
        return f"worker_disable_prefetch: a message only with a free slot of {span.concurrency}"
    multiplier = span.prefetch_multiplier
    if multiplier is None or multiplier <= 0:
        return None
    limit = multiplier * span.concurrency
    return f"worker_prefetch_multiplier {multiplier} x {span.concurrency} slots = {limit} held"


def _over(span: WorkerSpan, held: int, running: int) -> bool:
    if span.disable_prefetch:
        return held > 0 and held + running > span.concurrency
    return held > (span.prefetch_multiplier or 0) * span.concurrency


def _connection_losses(history: RunHistory, hostname: str) -> list[float]:
    return sorted(
        e.at for e in history.worker_events
        if e.hostname == hostname and e.kind == "worker.connection_lost"
    )  # fmt: skip


def _release(
    history: RunHistory, task: TaskHistory, receipt: Receipt, span: WorkerSpan, losses: list[float]
) -> float:
    """When the worker stopped holding ``receipt``'s message (see the module's list)."""
    ends = [span.end]
    number = receipt.attempt or 0
    ends += [
        a.started_at for a in task.attempts
        if a.worker == span.hostname and (a.attempt or 0) == number
        and a.started_at is not None and a.started_at >= receipt.at
    ]  # fmt: skip
    ends += [r.at for r in task.receipts if r.at > receipt.at]
    ends += [at for at in losses if at >= receipt.at]
    return min(ends)


def _already_done(task: TaskHistory, receipt: Receipt) -> bool:
    """A redelivered copy of a task that had succeeded: the worker may ack it unstarted
    (``worker_deduplicate_successful_tasks``), so its holding is not counted."""
    return receipt.redelivered and any(
        a.outcome == "success" and a.ended_at is not None and a.ended_at <= receipt.at
        for a in task.attempts
    )


def holdings(history: RunHistory, span: WorkerSpan) -> list[Holding]:
    """The non-ETA messages this worker life held before starting them."""
    lag = machine_allowance(history, READY_LAG_SECONDS)
    losses = _connection_losses(history, span.hostname)
    found = []
    for task in history.tasks.values():
        for receipt in task.receipts:
            if receipt.hostname != span.hostname or receipt.eta is not None:
                continue
            if not span.start - lag <= receipt.at <= span.end or _already_done(task, receipt):
                continue
            end = _release(history, task, receipt, span, losses)
            if end > receipt.at:
                found.append(Holding(task, receipt.at, end, receipt.routing_key))
    return found


def _running(history: RunHistory, span: WorkerSpan) -> list[tuple[float, float, TaskHistory]]:
    lag = machine_allowance(history, READY_LAG_SECONDS)
    result = []
    for task in history.tasks.values():
        for a in task.attempts:
            if a.worker != span.hostname or a.started_at is None:
                continue
            if span.start - lag <= a.started_at <= span.end:
                end = a.ended_at if a.ended_at is not None else span.end
                result.append((a.started_at, max(end, a.started_at), task))
    return result


def _excess_intervals(
    span: WorkerSpan, held: list[Holding], running: list[tuple[float, float, TaskHistory]]
) -> list[tuple[float, float]]:
    """When this worker held more than its bound (releases before takes at equal times)."""
    changes = [(h.start, 1, 1, 0) for h in held] + [(h.end, 0, -1, 0) for h in held]
    changes += [(lo, 1, 0, 1) for lo, _, _ in running] + [(hi, 0, 0, -1) for _, hi, _ in running]
    changes.sort()
    intervals: list[tuple[float, float]] = []
    holding = busy = 0
    opened: float | None = None
    for at, _order, d_held, d_busy in changes:
        holding += d_held
        busy += d_busy
        over = _over(span, holding, busy)
        if over and opened is None:
            opened = at
        elif not over and opened is not None:
            intervals.append((opened, at))
            opened = None
    if opened is not None:
        intervals.append((opened, span.end))
    return intervals


def _finding(
    history: RunHistory, span: WorkerSpan, bound: str, interval: tuple[float, float],
    held: list[Holding], running: list[tuple[float, float, TaskHistory]],
) -> Finding:  # fmt: skip
    lo, hi = interval
    inside = [h for h in held if h.start < hi and h.end > lo]
    busy = [task.label for a, b, task in running if a < hi and b > lo]
    labels = ", ".join(h.task.label for h in inside[:3]) + (
        f" (and {len(inside) - 3} more)" if len(inside) > 3 else ""
    )
    message = (
        f"{_short(span.hostname)} held {labels} unstarted for {hi - lo:.2f} s "
        f"({format_seconds(lo)} to {format_seconds(hi)}) while its pool ran "
        f"{', '.join(busy[:3]) or 'nothing'}; bound: {bound}"
    )
    free = free_time(history, inside[0].routing_key if inside else None)
    others = [_short(name) for name in free.hostnames if name != span.hostname]
    idle = free.within(lo, hi)
    if others and idle > 0:
        message += f"; {idle:.2f} s of it with a free slot on {', '.join(others)}"
    task_id = inside[0].task.task_id if inside else None
    return Finding(message, task_id, tuple(history.windows_around(lo, hi)))


def _short(hostname: str) -> str:
    """``worker-2`` for ``worker-2@run-id``: the name the scenario gives it."""
    return hostname.split("@", 1)[0]


@register_invariant("prefetch")
def check_prefetch(history: RunHistory) -> Verdict:
    """No worker held more unstarted messages than its configured prefetch bound."""
    shortest = machine_allowance(history, JOURNAL_ORDER_SECONDS)
    findings = []
    judged = unknown = 0
    for span in worker_spans(history):
        bound = _bound(span)
        if bound is None:
            unknown += 1
            continue
        judged += 1
        held = holdings(history, span)
        running = _running(history, span)
        for interval in _excess_intervals(span, held, running):
            if interval[1] - interval[0] > shortest:
                findings.append(_finding(history, span, bound, interval, held, running))
    observed = f"{len(findings)} holdings over the bound in {judged} worker lives"
    if unknown:
        observed += f"; {unknown} without a prefetch bound (multiplier 0 or not said: not judged)"
    return verdict_from_findings(
        "prefetch",
        findings,
        expected="no worker holds more unstarted messages than its prefetch bound for more than "
        f"{shortest:.2f} s ({JOURNAL_ORDER_SECONDS:g} s real{dilated_note(history)})",
        observed=observed,
        held=f"{judged} worker lives, none held more than its prefetch bound",
        details={"journal_order_seconds": JOURNAL_ORDER_SECONDS},
    )

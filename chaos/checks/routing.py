"""Invariant ``routing``: a task executes only on a worker that consumes the queue it was
published to.

Evidence: the routing key the broker delivered each message with (the probe's ``task.received``
and ``task.started``), the queues each worker's consumer read at ``worker.ready``, and the queue
the caller asked for (the producer's ``enqueue.tried``). Exact, no tolerance. Catches a worker
started without ``-Q`` that consumes a queue it never declared after a reconnect (celery#9462,
fixed by #10335).
"""

from __future__ import annotations

from chaos.checks.capacity import span_at
from chaos.checks.registry import register_invariant
from chaos.checks.verdict import Finding, Verdict, verdict_from_findings
from chaos.history.model import Attempt, RunHistory, TaskHistory, format_seconds


def _asked_queue(task: TaskHistory) -> str | None:
    for enqueue in task.enqueues:
        if enqueue.queue:
            return enqueue.queue
    return None


def _attempt_finding(history: RunHistory, task: TaskHistory, attempt: Attempt) -> Finding | None:
    at = attempt.started_at if attempt.started_at is not None else 0.0
    where = (
        f"{task.label}: {attempt.label()} delivered from {attempt.routing_key!r} ran on "
        f"{attempt.worker or '?'} at {format_seconds(at)}"
    )
    windows = tuple(history.windows_around(task.first_at, at))
    asked = _asked_queue(task)
    if asked is not None and attempt.routing_key != asked:
        return Finding(f"{where}, but it was published to {asked!r}", task.task_id, windows)
    span = span_at(history, attempt.worker, at)
    if span is None or span.queues is None or attempt.routing_key in span.queues:
        return None
    consumed = ", ".join(sorted(span.queues)) or "nothing"
    return Finding(
        f"{where}, a worker that consumes only {consumed} (since its ready at "
        f"{format_seconds(span.start)})",
        task.task_id,
        windows,
    )


@register_invariant("routing")
def check_routing(history: RunHistory) -> Verdict:
    """Every execution ran on a worker consuming the queue its message came from."""
    findings = []
    judged = unknown = 0
    for task in history.tasks.values():
        for attempt in task.executions:
            if not attempt.routing_key:
                unknown += 1
                continue
            judged += 1
            finding = _attempt_finding(history, task, attempt)
            if finding is not None:
                findings.append(finding)
    observed = f"{len(findings)} of {judged} executions off their queue"
    if unknown:
        observed += f"; {unknown} without a recorded routing key (not judged)"
    return verdict_from_findings(
        "routing",
        findings,
        expected="each execution on a worker that consumes the queue it was published to",
        observed=observed,
        held=f"{judged} executions, each on a worker consuming its queue",
    )

"""Invariant ``duplicates``: every duplicate execution is one of the at-least-once cases, named.

An attempt number that ran twice is *explained* when the history shows why Redis handed the
message out again:

- ``worker lost``: the first copy's worker died under it (a worker fault window over it, no end
  for it, or a ``WorkerLostError``), so its unacknowledged message came back;
- ``ack lost with the connection``: the broker link failed while the first copy ran or right
  after (a broker/link fault window, or the worker's own ``connection_lost``), so its ack never
  reached Redis and the restore handed it out again;
- ``publish retried after a lost reply``: the producer's publish spanned a fault or was
  answered uncertainly, so the client sent the message twice;
- ``visibility timeout``: the second copy came after the first was received plus
  ``visibility_timeout`` (kombu's restore of old unacked messages, by design on Redis).

Anything else fails, naming the task, both copies and the fault windows: e.g. ETA tasks run
twice at their ETA after a connection reset while they waited (celery 5.6.1-5.6.2).
"""

from __future__ import annotations

from collections import defaultdict

from chaos.checks.allowance import machine_allowance
from chaos.checks.capacity import disruptive_windows, span_at
from chaos.checks.faults import effects, is_worker_fault
from chaos.checks.registry import register_invariant
from chaos.checks.verdict import Finding, Verdict, verdict_from_findings
from chaos.history.model import Attempt, RunHistory, TaskHistory, format_seconds

#: kombu's default visibility_timeout when the worker did not say (s: a policy, never scaled).
DEFAULT_VISIBILITY_TIMEOUT = 3600.0
#: An ack is sent just after the task ends; a link failing within this long loses it (real s,
#: the machine's latency: N times as many app seconds under a dilated clock).
ACK_SECONDS = 1.0


def _worker_lost(history: RunHistory, first: Attempt, second: Attempt) -> bool:
    if first.outcome is None or "WorkerLostError" in (first.exc_type or ""):
        return True
    end = first.ended_at if first.ended_at is not None else second.started_at
    return any(
        is_worker_fault(w) and w.overlaps(first.started_at or 0.0, end)
        for w in history.fault_windows
    )


def _connection_lost(history: RunHistory, first: Attempt) -> bool:
    start = first.started_at or 0.0
    end = first.ended_at if first.ended_at is not None else start
    end += machine_allowance(history, ACK_SECONDS)
    link = [w for w in disruptive_windows(history) if effects(w) and not is_worker_fault(w)]
    if any(w.overlaps(start, end) for w in link):
        return True
    return any(
        e.kind == "worker.connection_lost" and e.hostname == first.worker and start <= e.at <= end
        for e in history.worker_events
    )


def _publish_retried(history: RunHistory, task: TaskHistory) -> bool:
    tried = [e for e in task.enqueues if e.kind == "enqueue.tried"]
    if len(tried) > 1 or any(e.outcome == "uncertain" for e in task.enqueues):
        return True
    accepted = task.accepted_at
    if not tried or accepted is None:
        return False
    return any(w.overlaps(tried[0].at, accepted) for w in disruptive_windows(history))


def _visibility_timeout(history: RunHistory, first: Attempt) -> float:
    span = span_at(history, first.worker, first.started_at or 0.0)
    if span is not None and span.visibility_timeout is not None:
        return span.visibility_timeout
    return DEFAULT_VISIBILITY_TIMEOUT


def explain(history: RunHistory, task: TaskHistory, first: Attempt, second: Attempt) -> str | None:
    """The at-least-once case that explains ``second`` repeating ``first``, or None."""
    if not second.redelivered and _publish_retried(history, task):
        return "publish retried after a lost reply"
    if _worker_lost(history, first, second):
        return "worker lost"
    if _connection_lost(history, first):
        return "ack lost with the connection"
    if _publish_retried(history, task):
        return "publish retried after a lost reply"
    held_since = first.received_at if first.received_at is not None else first.started_at
    timeout = _visibility_timeout(history, first)
    if (
        second.redelivered
        and held_since is not None
        and second.started_at is not None
        and second.started_at - held_since >= timeout - machine_allowance(history, ACK_SECONDS)
    ):
        return f"visibility timeout ({timeout:g} s)"
    return None


def duplicate_pairs(task: TaskHistory) -> list[tuple[Attempt, Attempt]]:
    """(first copy, later copy) for every extra execution of one attempt number."""
    by_number: dict[int | None, list[Attempt]] = defaultdict(list)
    for attempt in task.executions:
        by_number[attempt.attempt].append(attempt)
    pairs = []
    for copies in by_number.values():
        copies.sort(key=lambda a: a.started_at or 0.0)
        pairs += [(copies[0], later) for later in copies[1:]]
    return pairs


def _copy(attempt: Attempt) -> str:
    return f"{format_seconds(attempt.started_at)} on {attempt.worker or '?'}"


@register_invariant("duplicates")
def check_explained_duplicates(history: RunHistory) -> Verdict:
    """Every duplicate execution is a named at-least-once case."""
    findings = []
    explained: dict[str, list[str]] = defaultdict(list)
    for task in history.tasks.values():
        if len(task.executions) < 2:
            continue
        for first, second in duplicate_pairs(task):
            reason = explain(history, task, first, second)
            if reason is not None:
                explained[reason].append(task.task_id)
                continue
            windows = tuple(history.windows_around(first.received_at or first.started_at,
                                                   second.ended_at or second.started_at))  # fmt: skip
            eta = f" (eta {format_seconds(first.eta_at)})" if first.eta_at is not None else ""
            findings.append(
                Finding(
                    f"{task.label}: {first.label()} ran twice{eta}, at {_copy(first)} and at "
                    f"{_copy(second)}: unexplained (no worker lost, no connection lost while it "
                    "ran, one publish, within visibility_timeout)",
                    task.task_id,
                    windows,
                )
            )
    named = "; ".join(f"{reason}: {len(ids)}" for reason, ids in sorted(explained.items()))
    count = sum(len(ids) for ids in explained.values())
    return verdict_from_findings(
        "duplicates",
        findings,
        expected="every duplicate execution an at-least-once case",
        observed=f"{len(findings)} unexplained, {count} explained" + (f" ({named})" if named else ""),
        held="no duplicates" if not count else f"{count} duplicates, all explained: {named}",
        details={"explained": dict(explained)},
    )

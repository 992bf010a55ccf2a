"""A message a worker died holding: when Redis gives it back (kombu's visibility_timeout restore).

A worker that takes a message (``task.received``) and dies before running it leaves the message
in Redis's ``unacked`` hash; the Redis transport hands it out again only once it is older than
``visibility_timeout`` (kombu's default one hour) and a restore scan runs. Until then nobody can
run it: the liveness and retry-schedule invariants count a wait from that moment, not from the
due time, and report the delay as the transport's, never as a stalled worker. Whether the app
can live with that wait is a scenario's question (``retries_as_declared``, ``delivery``), and
the library's ``worker-kill-holding-eta`` scenarios ask it.
"""

from __future__ import annotations

from chaos.checks.capacity import span_at
from chaos.checks.explained import DEFAULT_VISIBILITY_TIMEOUT
from chaos.history.model import RunHistory, TaskHistory


def restored_at(history: RunHistory, task: TaskHistory, attempt: int) -> float | None:
    """When the broker gives back attempt ``attempt``'s message after the worker that received
    it died (or restarted) before starting it; None when no worker died holding it."""
    latest = None
    for receipt in task.receipts:
        if (receipt.attempt or 0) != attempt:
            continue
        span = span_at(history, receipt.hostname, receipt.at)
        if span is None or span.end <= receipt.at:
            continue
        ran_there = any(
            (a.attempt or 0) == attempt and a.worker == receipt.hostname
            and a.started_at is not None and receipt.at <= a.started_at <= span.end
            for a in task.attempts
        )  # fmt: skip
        died_holding = not ran_there and span.end < _end_of_run(history)
        if not died_holding:
            continue
        timeout = span.visibility_timeout
        restore = receipt.at + (DEFAULT_VISIBILITY_TIMEOUT if timeout is None else timeout)
        latest = restore if latest is None else max(latest, restore)
    return latest


def _end_of_run(history: RunHistory) -> float:
    finished = history.meta.finished_at
    return finished if finished is not None else history.end_at

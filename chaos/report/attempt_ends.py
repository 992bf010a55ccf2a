"""Where an attempt ends on the reports' timeline: its recorded end, else the kill that ended it.

A worker killed with SIGKILL writes nothing for the attempts it was running, so the journal has
their start and no end. Drawn up to the run's end they would read as still running, which they
were not: they stopped when the worker died. The kill is the first worker fault on the attempt's
worker after it started (a warm shutdown's escalation to SIGKILL, when journaled, is more exact).
"""

from __future__ import annotations

from dataclasses import dataclass

from chaos.history import Attempt, RunHistory


@dataclass(frozen=True, slots=True)
class AttemptEnd:
    """The time an attempt stopped, and how: ``ended`` (recorded), ``killed`` (its worker was
    killed then: ``by`` names the fault) or ``unfinished`` (no end and no kill: the run's end)."""

    at: float
    how: str
    by: str | None = None


def _node(hostname: str | None) -> str | None:
    """``worker-1`` for the Celery hostname ``worker-1@run-id`` (a worker fault's target)."""
    return None if hostname is None else hostname.split("@", 1)[0]


def kill_time(attempt: Attempt, history: RunHistory) -> tuple[float, str] | None:
    """When the attempt's worker was killed after the attempt started, and what did it."""
    from chaos.checks.faults import is_worker_fault

    if attempt.started_at is None:
        return None
    node = _node(attempt.worker)
    started = attempt.started_at
    for event in history.worker_events:
        if event.kind == "worker.escalated" and event.at >= started and (
            event.hostname is None or _node(event.hostname) == node
        ):
            return event.at, f"SIGKILL after the warm shutdown's grace ({event.hostname or '?'})"
    for window in history.fault_windows:
        if window.start < started or not is_worker_fault(window):
            continue
        if window.target in ("all", node) or node is None:
            return window.start, window.describe()
    return None


def attempt_end(attempt: Attempt, history: RunHistory, run_end: float) -> AttemptEnd:
    """Where the attempt's bar stops (see the module's docstring)."""
    if attempt.ended_at is not None:
        return AttemptEnd(attempt.ended_at, "ended")
    killed = kill_time(attempt, history)
    if killed is not None:
        return AttemptEnd(killed[0], "killed", killed[1])
    return AttemptEnd(run_end, "unfinished")

"""Resume: how long after the last fault healed the workers executed again and drained the backlog.

Measured (reference §3): a worker retries its broker connection after 2, 4, 6 ... 30 s, so the
time to the first execution after a restart is at most the current sleep, 30 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from chaos.checks.faults import describe_window, outage_windows
from chaos.checks.registry import register
from chaos.checks.verdict import NO_FINDINGS, Finding, Verdict, verdict_from_findings
from chaos.history.model import FaultWindow, RunHistory, TaskHistory

_at = attrgetter("at")


def _healed_window(history: RunHistory, fault: str | None) -> FaultWindow | None:
    if fault is not None:
        chosen = [w for w in history.fault_windows if w.fault_id == fault]
    else:
        chosen = outage_windows(history) or list(history.fault_windows)
    healed = [w for w in chosen if w.end is not None]
    return max(healed, key=lambda w: (w.end or 0.0, w.fault_id)) if healed else None


def _pending_at(task: TaskHistory, heal: float) -> bool:
    """Work the system owed at the heal: tried before it and not done by then, or tried after."""
    if not task.enqueues:
        return False
    done = task.completed_at
    if done is not None and done <= heal:
        return False
    return task.promised_at is not None or task.executed or min(map(_at, task.enqueues)) >= heal


@dataclass(slots=True)
class Backlog:
    """The work pending at the heal and how the workers got through it."""

    heal: float
    healed: str
    """``after broker killed 10.00 to 13.00 s ...``: how messages name the heal."""
    pending: list[TaskHistory]
    unfinished: list[TaskHistory]
    resume_seconds: float | None
    """From the heal to the first execution after it (None: none)."""
    drain_seconds: float | None
    """From the heal to the last pending task's end (None: some never ended)."""


def measure_backlog(history: RunHistory, window: FaultWindow, heal: float) -> Backlog:
    """What was pending when ``window`` healed (at ``heal``) and when it was done."""
    pending = [t for t in history.tasks.values() if _pending_at(t, heal)]
    first = min(
        (
            a.started_at
            for t in history.tasks.values()
            for a in t.attempts
            if a.started_at is not None and a.started_at >= heal
        ),
        default=None,
    )
    completed_at = [t.completed_at for t in pending]
    unfinished = [t for t, done in zip(pending, completed_at) if done is None]
    drained_at = None if unfinished else max((done or heal for done in completed_at), default=heal)
    return Backlog(
        heal=heal,
        healed=f"after {describe_window(window, history)}",
        pending=pending,
        unfinished=unfinished,
        resume_seconds=None if first is None else first - heal,
        drain_seconds=None if drained_at is None else max(0.0, drained_at - heal),
    )


def never_healed(history: RunHistory, fault: str | None) -> Finding:
    """No healed fault to resume from (the one named, or any)."""
    if fault is not None:
        known = ", ".join(w.fault_id for w in history.fault_windows) or "none"
        return Finding(f"fault {fault!r} has no healed window in this run (faults: {known})")
    return Finding("no fault was healed in this run: nothing to resume from")


def never_resumed(backlog: Backlog) -> Sequence[Finding]:
    """Work was pending at the heal and nothing executed afterwards."""
    if backlog.resume_seconds is not None:
        return NO_FINDINGS
    pending = len(backlog.pending)
    return [Finding(f"{backlog.healed}: {pending} tasks pending, none executed afterwards")]


def resumed_too_late(backlog: Backlog, seconds: float | None) -> Sequence[Finding]:
    """The first execution after the heal later than the bound."""
    resume_seconds = backlog.resume_seconds
    if seconds is None or resume_seconds is None or resume_seconds <= seconds:
        return NO_FINDINGS
    return [
        Finding(
            f"{backlog.healed}: first task executed {resume_seconds:.2f} s after the heal, "
            f"bound {seconds:.2f} s"
        )
    ]


def never_drained(backlog: Backlog, drained_within: float | None) -> Sequence[Finding]:
    """A bound on draining, and pending tasks that never ended."""
    if drained_within is None or backlog.drain_seconds is not None:
        return NO_FINDINGS
    unfinished = backlog.unfinished
    labels = ", ".join(t.label for t in unfinished[:3])
    return [
        Finding(
            f"{backlog.healed}: backlog never drained, {len(unfinished)} of "
            f"{len(backlog.pending)} pending tasks unfinished ({labels})"
        )
    ]


def drained_too_late(backlog: Backlog, drained_within: float | None) -> Sequence[Finding]:
    """The backlog's last task ended later than the bound."""
    drain_seconds = backlog.drain_seconds
    if drained_within is None or drain_seconds is None or drain_seconds <= drained_within:
        return NO_FINDINGS
    return [
        Finding(
            f"{backlog.healed}: backlog of {len(backlog.pending)} drained {drain_seconds:.2f} s "
            f"after the heal, bound {drained_within:.2f} s"
        )
    ]


def _expected(seconds: float | None, drained_within: float | None) -> str:
    expected = []
    if seconds is not None:
        expected.append(f"first execution within {seconds:.2f} s of the heal")
    if drained_within is not None:
        expected.append(f"backlog drained within {drained_within:.2f} s")
    return ", ".join(expected) or "execution resumes after the heal"


def _seconds_text(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.2f} s"


@register("resume_within")
def check_resume_within(
    history: RunHistory,
    seconds: float | None = None,
    drained_within: float | None = None,
    fault: str | None = None,
) -> Verdict:
    """First execution within ``seconds`` of the heal; backlog done within ``drained_within``."""
    expected_text = _expected(seconds, drained_within)
    window = _healed_window(history, fault)
    if window is None or window.end is None:
        observed = "no fault healed" if fault is None else f"fault {fault!r} never healed"
        return verdict_from_findings(
            "resume_within",
            [never_healed(history, fault)],
            expected=expected_text,
            observed=observed,
            held="",
        )
    backlog = measure_backlog(history, window, window.end)
    if not backlog.pending:
        return verdict_from_findings(
            "resume_within",
            NO_FINDINGS,
            expected=expected_text,
            observed="no work pending",
            held=f"{backlog.healed}: no task was pending, nothing to resume",
            fault_windows=[window],
        )
    findings = [
        *never_resumed(backlog),
        *resumed_too_late(backlog, seconds),
        *never_drained(backlog, drained_within),
        *drained_too_late(backlog, drained_within),
    ]
    resume_text = _seconds_text(backlog.resume_seconds)
    drain_text = _seconds_text(backlog.drain_seconds)
    unfinished_ids = [t.task_id for t in backlog.unfinished]
    return verdict_from_findings(
        "resume_within",
        findings,
        expected=expected_text,
        observed=f"resumed after {resume_text}, drained after {drain_text}",
        held=(
            f"{backlog.healed}: first task executed {resume_text} after the heal, backlog of "
            f"{len(backlog.pending)} drained {drain_text} after it"
        ),
        tasks=unfinished_ids,
        fault_windows=[window],
        details={
            "heal_at": backlog.heal,
            "resume_seconds": backlog.resume_seconds,
            "drain_seconds": backlog.drain_seconds,
            "pending": len(backlog.pending),
            "unfinished": list(unfinished_ids),
        },
        count_others=False,  # the first problem says it; the observed line gives both numbers
    )

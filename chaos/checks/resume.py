"""Resume: how long after the last fault healed the workers executed again and drained the backlog.

Measured (reference §3): a worker retries its broker connection after 2, 4, 6 ... 30 s, so the
time to the first execution after a restart is at most the current sleep, 30 s.
"""

from __future__ import annotations

from operator import attrgetter

from chaos.checks.registry import register
from chaos.checks.faults import describe_window, outage_windows
from chaos.checks.verdict import Verdict
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


@register("resume_within")
def check_resume_within(
    history: RunHistory,
    seconds: float | None = None,
    drained_within: float | None = None,
    fault: str | None = None,
) -> Verdict:
    """First execution within ``seconds`` of the heal; backlog done within ``drained_within``."""
    expected = []
    if seconds is not None:
        expected.append(f"first execution within {seconds:.2f} s of the heal")
    if drained_within is not None:
        expected.append(f"backlog drained within {drained_within:.2f} s")
    expected_text = ", ".join(expected) or "execution resumes after the heal"
    window = _healed_window(history, fault)
    if window is None or window.end is None:
        if fault is not None:
            known = ", ".join(w.fault_id for w in history.fault_windows) or "none"
            observed = f"fault {fault!r} never healed"
            message = f"fault {fault!r} has no healed window in this run (faults: {known})"
        else:
            observed = "no fault healed"
            message = "no fault was healed in this run: nothing to resume from"
        return Verdict(
            name="resume_within",
            ok=False,
            expected=expected_text,
            observed=observed,
            message=message,
        )
    heal = window.end
    healed = f"after {describe_window(window, history)}"
    pending = [t for t in history.tasks.values() if _pending_at(t, heal)]
    if not pending:
        return Verdict(
            name="resume_within",
            ok=True,
            expected=expected_text,
            observed="no work pending",
            message=f"{healed}: no task was pending, nothing to resume",
            fault_windows=[window],
        )
    first = min(
        (
            a.started_at
            for t in history.tasks.values()
            for a in t.attempts
            if a.started_at is not None and a.started_at >= heal
        ),
        default=None,
    )
    resume_seconds = None if first is None else first - heal
    completed_at = [t.completed_at for t in pending]
    unfinished = [t for t, done in zip(pending, completed_at) if done is None]
    drained_at = None if unfinished else max(done or heal for done in completed_at)
    drain_seconds = None if drained_at is None else max(0.0, drained_at - heal)
    problems = []
    if resume_seconds is None:
        problems.append(f"{healed}: {len(pending)} tasks pending, none executed afterwards")
    elif seconds is not None and resume_seconds > seconds:
        problems.append(
            f"{healed}: first task executed {resume_seconds:.2f} s after the heal, "
            f"bound {seconds:.2f} s"
        )
    if drained_within is not None:
        if drain_seconds is None:
            labels = ", ".join(t.label for t in unfinished[:3])
            problems.append(
                f"{healed}: backlog never drained, {len(unfinished)} of {len(pending)} pending "
                f"tasks unfinished ({labels})"
            )
        elif drain_seconds > drained_within:
            problems.append(
                f"{healed}: backlog of {len(pending)} drained {drain_seconds:.2f} s after "
                "the heal, "
                f"bound {drained_within:.2f} s"
            )
    resume_text = "never" if resume_seconds is None else f"{resume_seconds:.2f} s"
    drain_text = "never" if drain_seconds is None else f"{drain_seconds:.2f} s"
    observed = f"resumed after {resume_text}, drained after {drain_text}"
    message = (
        problems[0]
        if problems
        else (
            f"{healed}: first task executed {resume_text} after the heal, backlog of "
            f"{len(pending)} drained {drain_text} after it"
        )
    )
    return Verdict(
        name="resume_within",
        ok=not problems,
        expected=expected_text,
        observed=observed,
        message=message,
        tasks=[t.task_id for t in unfinished],
        fault_windows=[window],
        details={
            "heal_at": heal,
            "resume_seconds": resume_seconds,
            "drain_seconds": drain_seconds,
            "pending": len(pending),
            "unfinished": [t.task_id for t in unfinished],
        },
    )
